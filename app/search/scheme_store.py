"""The engine's CNIPA scheme prior (``SchemePrior``): built once per scheme file and model, kept.

The prior embeds ~8,100 IPC subclass and main-group titles, which takes minutes with a real
model on CPU, so it is saved under ``index_dir`` as ``scheme-<file digest>-<model tag>.npz``
(named by what it was built from) and reused by every rebuild while the scheme file and the
model stay the same. The engine manifest names the file; loading checks its model and dimension.
Vectors that ``patentmatch eval`` already computed for the same titles (``var/cache``) are reused.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.catalog.ipc import SCHEME_RELATIVE_PATH
from app.errors import ServiceUnavailable
from app.search.encoder import Encoder
from app.search.evaldata import embedding_key, file_digest
from app.search.index_manifest import fsync_file
from app.search.ipc_inference import SchemePrior, read_scheme_titles
from app.settings import Settings

log = logging.getLogger(__name__)

SCHEME_PREFIX = "scheme-"
# Titles encoded per progress report.
SCHEME_BATCH = 512

# (stage, done, total) → None, as for the rest of a rebuild.
Progress = Callable[[str, int, int], None]


def scheme_path(settings: Settings) -> Path:
    """Where the CNIPA IPC scheme file is expected (shared data)."""
    return settings.shared_dir / SCHEME_RELATIVE_PATH


def scheme_file_name(csv_path: Path, model: str, dim: int) -> str:
    """The prior's file name: a digest of the scheme file's bytes and a tag of the model."""
    digest = file_digest(csv_path)
    tag = hashlib.sha256(f"{model}:{dim}".encode()).hexdigest()[:8]
    return f"{SCHEME_PREFIX}{digest}-{tag}.npz"


def load_scheme(index_dir: Path, name: str, model: str, dim: int) -> SchemePrior | None:
    """The saved prior ``name``, or None (logged) when it is missing or of another model/dim."""
    path = index_dir / name
    if not path.is_file():
        log.warning("scheme prior %s is missing; run `patentmatch index rebuild`", path)
        return None
    try:
        prior = SchemePrior.load(path, model=model)
    except (ServiceUnavailable, OSError, KeyError, ValueError) as exc:
        log.warning("scheme prior %s is unusable (%s); run `patentmatch index rebuild`", path, exc)
        return None
    if prior.vectors.ndim != 2 or prior.vectors.shape[1] != dim:
        log.warning("scheme prior %s is not %d-dimensional; ignoring it", path, dim)
        return None
    return prior


def _encode_titles(
    encoder: Encoder, titles: list[str], cache_dir: Path | None, progress: Progress | None
) -> np.ndarray:
    """Scheme title vectors: from the eval cache when it has them, else encoded in batches."""
    key = embedding_key(encoder.name, "d", titles) + ".npy"
    cached = None if cache_dir is None else cache_dir / key
    if cached is not None and cached.is_file():
        vectors = np.load(cached)
        # The hashing encoder keeps its name whatever its dimension: check the shape.
        if vectors.shape == (len(titles), encoder.dim):
            if progress is not None:
                progress("scheme", len(titles), len(titles))
            return np.asarray(vectors, dtype=np.float32)
    parts: list[np.ndarray] = []
    for start in range(0, len(titles), SCHEME_BATCH):
        parts.append(encoder.encode_documents(titles[start : start + SCHEME_BATCH]))
        if progress is not None:
            progress("scheme", min(start + SCHEME_BATCH, len(titles)), len(titles))
    return np.vstack(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)


def prepare_scheme(
    settings: Settings, encoder: Encoder, progress: Progress | None = None
) -> tuple[SchemePrior | None, str]:
    """The prior for a rebuild and its file name: reused when saved, else built and saved.

    Without the scheme file the engine ranks on neighbour votes alone (logged), as before.
    """
    csv_path = scheme_path(settings)
    if not csv_path.is_file():
        log.warning("IPC scheme %s not found: ranking without the scheme-title evidence", csv_path)
        return None, ""
    index_dir = settings.index_dir
    name = scheme_file_name(csv_path, encoder.name, encoder.dim)
    if (index_dir / name).is_file():
        saved = load_scheme(index_dir, name, encoder.name, encoder.dim)
        if saved is not None:
            return saved, name
    entries = read_scheme_titles(csv_path)
    if not entries:
        log.warning("IPC scheme %s has no subclass or group titles; ignoring it", csv_path)
        return None, ""
    titles = [title for _, title in entries]
    vectors = _encode_titles(encoder, titles, settings.var_dir / "cache", progress)
    prior = SchemePrior([code for code, _ in entries], vectors, model=encoder.name)
    index_dir.mkdir(parents=True, exist_ok=True)
    prior.save(index_dir / name)
    # Durable before a manifest names it.
    fsync_file(index_dir / name)
    return prior, name


def remove_stale_schemes(index_dir: Path, keep: set[str]) -> None:
    """Delete saved priors that neither the current nor the previous manifest names."""
    for path in index_dir.glob(f"{SCHEME_PREFIX}*.npz"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
