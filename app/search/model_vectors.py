"""Vectors that depend only on the model, computed once at ``patentmatch model fetch``.

The CNIPA scheme titles (~8,100 subclass and main-group titles) are the same for every catalog,
so their vectors are stored in the model folder (``vectors/<embedding key>.npy``, the key format
of ``evaldata.embedding_key``, recorded with its sha256 under ``vectors`` in ``patentmatch.json``)
and every index build and ``eval`` reads them instead of encoding the titles again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.catalog.ipc import SCHEME_RELATIVE_PATH
from app.progress import RateReporter
from app.search.encoder import Encoder, vectors_tag
from app.search.evaldata import embedding_key
from app.search.ipc_inference import read_scheme_titles
from app.search.onnx_export import read_manifest, update_manifest
from app.search.provision import sha256_of

VECTORS_DIR = "vectors"
# Titles per encode call: one progress line each.
SCHEME_BATCH = 512

Progress = Callable[[str, int, int], None]


def vectors_path(model_dir: Path, key: str) -> Path:
    """Where the model folder keeps the vectors of embedding key ``key``."""
    return model_dir / VECTORS_DIR / f"{key}.npy"


def find_model_vectors(
    model_dir: Path | None, key: str, shape: tuple[int, int]
) -> np.ndarray | None:
    """The stored vectors of ``key`` when the model folder has them in this shape, else None."""
    if model_dir is None:
        return None
    path = vectors_path(model_dir, key)
    if not path.is_file():
        return None
    vectors = np.load(path)
    if vectors.shape != shape:
        return None
    return np.ascontiguousarray(vectors, dtype=np.float32)


def encode_in_batches(
    encoder: Encoder, texts: list[str], stage: str, progress: Progress | None
) -> np.ndarray:
    """Documents encoded ``SCHEME_BATCH`` at a time, reporting ``(stage, done, total)``."""
    parts: list[np.ndarray] = []
    if progress is not None:
        progress(stage, 0, len(texts))
    for start in range(0, len(texts), SCHEME_BATCH):
        parts.append(encoder.encode_documents(texts[start : start + SCHEME_BATCH]))
        if progress is not None:
            progress(stage, min(start + SCHEME_BATCH, len(texts)), len(texts))
    return np.vstack(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)


def ensure_scheme_vectors(
    model_dir: Path,
    encoder: Encoder,
    shared_dir: Path,
    say: Callable[[str], None],
    progress: Progress | None = None,
) -> Path | None:
    """Encode the scheme titles into the model folder unless already there; returns the file."""
    csv_path = shared_dir / SCHEME_RELATIVE_PATH
    if not csv_path.is_file():
        say(f"IPC scheme {csv_path} not found: scheme-title vectors not precomputed")
        return None
    titles = [title for _, title in read_scheme_titles(csv_path)]
    key = embedding_key(vectors_tag(encoder), "d", titles)
    path = vectors_path(model_dir, key)
    if find_model_vectors(model_dir, key, (len(titles), encoder.dim)) is not None:
        return path
    say(
        f"encoding {len(titles):,} IPC scheme titles with {vectors_tag(encoder)} "
        "(once per model: every index build and eval reuses them)"
    )
    vectors = encode_in_batches(encoder, titles, "scheme titles", progress or RateReporter())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.npy")
    np.save(tmp, np.ascontiguousarray(vectors, dtype=np.float32))
    tmp.replace(path)
    path.chmod(0o644)
    record = dict(read_manifest(model_dir).get("vectors") or {})
    record[str(path.relative_to(model_dir))] = {
        "what": "IPC scheme titles",
        "source_sha256": sha256_of(csv_path),
        "sha256": sha256_of(path),
    }
    update_manifest(model_dir, "vectors", record)
    return path
