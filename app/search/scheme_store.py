"""The engine's CNIPA scheme prior (``SchemePrior``): built once per scheme file and model, kept.

The prior embeds ~8,100 IPC subclass and main-group titles, which takes minutes with a real
model on CPU, so it is saved under ``index_dir`` as ``scheme-<file digest>-<model tag>.npz``
(named by what it was built from) and reused by every rebuild while the scheme file and the
model stay the same. The engine manifest names the file; loading checks its model and dimension.
The title vectors themselves come from the model folder, where ``patentmatch model fetch`` stores
them once per model (``model_vectors``), or from ``eval``'s cache (``var/cache``) when present.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.catalog.ipc import SCHEME_RELATIVE_PATH
from app.errors import ServiceUnavailable
from app.search.encoder import HASHING_MODEL, Encoder, model_folder, vectors_tag
from app.search.evaldata import embedding_key, file_digest
from app.search.index_manifest import fsync_file
from app.search.ipc_inference import SchemePrior, read_scheme_titles
from app.search.model_vectors import encode_in_batches, find_model_vectors
from app.settings import Settings

log = logging.getLogger(__name__)

SCHEME_PREFIX = "scheme-"
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
    encoder: Encoder, titles: list[str], dirs: tuple[Path | None, Path], progress: Progress | None
) -> np.ndarray:
    """Scheme title vectors: from the model folder (``model fetch`` stores them) or the eval
    cache when either has them, else encoded in batches."""
    model_dir, cache_dir = dirs
    key = embedding_key(vectors_tag(encoder), "d", titles)
    stored = find_model_vectors(model_dir, key, (len(titles), encoder.dim))
    cached = cache_dir / f"{key}.npy"
    if stored is None and cached.is_file():
        stored = np.load(cached)
        # The hashing encoder keeps its name whatever its dimension: check the shape.
        stored = stored if stored.shape == (len(titles), encoder.dim) else None
    if stored is not None:
        if progress is not None:
            progress("scheme", len(titles), len(titles))
        return np.asarray(stored, dtype=np.float32)
    return encode_in_batches(encoder, titles, "scheme", progress)


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
    name = scheme_file_name(csv_path, vectors_tag(encoder), encoder.dim)
    if (index_dir / name).is_file():
        saved = load_scheme(index_dir, name, encoder.name, encoder.dim)
        if saved is not None:
            return saved, name
    entries = read_scheme_titles(csv_path)
    if not entries:
        log.warning("IPC scheme %s has no subclass or group titles; ignoring it", csv_path)
        return None, ""
    titles = [title for _, title in entries]
    model_dir = None if encoder.name == HASHING_MODEL else model_folder(settings)
    vectors = _encode_titles(encoder, titles, (model_dir, settings.var_dir / "cache"), progress)
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
