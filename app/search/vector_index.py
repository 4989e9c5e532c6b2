"""``VectorIndex``: dense vectors keyed by database ids; exact below a threshold, HNSW above.

Layouts live in ``ann_backends``; the save format (data files + ``manifest.json`` as the atomic
commit point) in ``index_manifest``. See docs/architecture.md for the contract.
"""

import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from app.errors import BadRequest, ServiceUnavailable
from app.search.ann_backends import Backend, FlatBackend, HnswBackend, positions_of
from app.search.ann_params import AnnParams
from app.search.index_manifest import (
    Manifest,
    check_files,
    commit_manifest,
    fsync_file,
    read_manifest,
)


class VectorIndex:
    """Inner-product search on L2-normalised float32 vectors whose ids are database keys."""

    def __init__(
        self, dim: int, *, model: str, params: AnnParams, backend: Backend, mmap: bool = False
    ) -> None:
        self.dim = dim
        self.model = model
        # Replaceable (e.g. ``dataclasses.replace(index.params, hnsw_ef_search=...)``): search-time
        # fields apply from the next call; structural ones from the next build.
        self.params = params
        self.last_change_id = 0
        self._backend = backend
        # Graphs are read as shared views of their files (``load(mmap=True)``), also after a save.
        self._mmap = mmap
        # FAISS objects are not safe to mutate while another thread searches them.
        self._lock = threading.Lock()

    @classmethod
    def create(cls, dim: int, *, model: str, params: AnnParams) -> "VectorIndex":
        """A new, empty (flat) index."""
        if dim <= 0:
            raise BadRequest(f"vector dimension must be positive, got {dim}")
        faiss.omp_set_num_threads(params.search_threads)
        return cls(dim, model=model, params=params, backend=FlatBackend.empty(dim))

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        model: str,
        dim: int,
        params: AnnParams | None = None,
        mmap: bool = False,
    ) -> "VectorIndex":
        """Load a saved index; refuse one built with another model or dimension.

        ``params`` overrides the saved search-time parameters (threshold, efSearch, threads);
        structural ones (HNSW M) are those the index was built with. ``mmap``: an HNSW graph is
        searched in place in its memory-mapped file, so processes loading the same files share
        one copy (see ``HnswBackend``).
        """
        manifest = read_manifest(directory)
        if manifest.model != model or manifest.dim != dim:
            raise ServiceUnavailable(
                f"vector index at {directory} was built with model {manifest.model!r} "
                f"(dim {manifest.dim}); expected model {model!r} (dim {dim})"
            )
        check_files(directory, manifest)
        params = params or AnnParams.from_dict(manifest.params)
        faiss.omp_set_num_threads(params.search_threads)
        backend = _read_backend(directory, manifest, mmap)
        if len(backend) != manifest.count or backend.dim != dim:
            raise ServiceUnavailable(
                f"vector index at {directory} holds {len(backend)} vectors of dim {backend.dim}; "
                f"manifest says {manifest.count} of dim {dim}"
            )
        index = cls(dim, model=model, params=params, backend=backend, mmap=mmap)
        index.last_change_id = manifest.last_change_id
        return index

    @property
    def kind(self) -> str:
        """``flat`` or ``hnsw``."""
        return self._backend.kind

    @property
    def tombstones(self) -> int:
        """Removed or replaced vectors still held by an HNSW graph until its next compaction."""
        return self._backend.stored() - len(self._backend)

    def __len__(self) -> int:
        return len(self._backend)

    def index(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace everything with these vectors (HNSW when there are more than the threshold)."""
        ids, vectors = self._check(ids, vectors)
        backend = self._build(ids, vectors)
        with self._lock:
            self._backend = backend

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors, replacing those already stored under the same ids."""
        ids, vectors = self._check(ids, vectors)
        if ids.size:
            with self._lock:
                self._backend.upsert(ids, vectors)

    def delete(self, ids: Iterable[int]) -> None:
        """Remove these ids; unknown ids are ignored."""
        array = np.fromiter((int(i) for i in ids), dtype=np.int64)
        if array.size:
            with self._lock:
                self._backend.delete(array)

    def live_vectors(self) -> np.ndarray:
        """Every live vector (n, dim): for the collection's moments, computed off requests."""
        with self._lock:
            _, vectors = self._backend.live()
        return np.asarray(vectors, dtype=np.float32)

    def vectors_of(self, ids: Iterable[int]) -> np.ndarray:
        """The stored vectors of those ``ids`` that are indexed, in the order given (n, dim)."""
        array = np.fromiter((int(i) for i in ids), dtype=np.int64)
        if not array.size or not len(self):
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            positions = positions_of(self._backend.labels(), array)
            vectors = self._backend.vectors_at(positions)
        return np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` per query: (scores float32 (n, k), ids int64 (n, k)); id -1 means none."""
        if k <= 0:
            raise BadRequest(f"k must be positive, got {k}")
        queries = self._normalised(queries, "queries")
        # OpenMP's thread count is per calling thread: a request thread would otherwise search
        # with one thread per core (spinning between queries), whatever the loader set.
        faiss.omp_set_num_threads(self.params.search_threads)
        with self._lock:
            scores, ids = self._backend.search(queries, k, self.params)
        return scores, ids.astype(np.int64, copy=False)

    def scores_where(
        self, queries: np.ndarray, keep: Callable[[np.ndarray], np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact scores against the live vectors whose ids ``keep`` (ids → bool mask) selects:
        (ids int64 (m,), scores float32 (n, m)). For filters that allow few vectors."""
        queries = self._normalised(queries, "queries")
        with self._lock:
            labels = self._backend.labels()
            positions = np.flatnonzero((labels >= 0) & keep(labels))
            vectors = self._backend.vectors_at(positions)
            ids = labels[positions]
        return ids, queries @ vectors.T

    def save(self, directory: Path, *, last_change_id: int) -> None:
        """Save atomically to ``directory``, first switching to HNSW or compacting if due."""
        with self._lock:
            self._maintain()
            directory.mkdir(parents=True, exist_ok=True)
            files = self._backend.write(directory, secrets.token_hex(6))
            for name in files.values():
                fsync_file(directory / name)
            manifest = Manifest(
                model=self.model,
                dim=self.dim,
                count=len(self._backend),
                kind=self._backend.kind,
                params=self.params.to_dict(),
                last_change_id=last_change_id,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                files=files,
                sizes={role: (directory / name).stat().st_size for role, name in files.items()},
            )
            commit_manifest(directory, manifest)
            self.last_change_id = last_change_id
            if self._mmap and isinstance(self._backend, HnswBackend):
                self._backend = HnswBackend.read(directory, files, mmap=True)

    def _maintain(self) -> None:
        """Flat → HNSW past the threshold; rebuild HNSW when tombstones pass their fraction."""
        backend = self._backend
        grown = isinstance(backend, FlatBackend) and len(backend) > self.params.threshold
        dirty = (
            isinstance(backend, HnswBackend)
            and backend.dead_fraction() > self.params.compact_fraction
        )
        if grown or dirty:
            self._backend = self._build(*backend.live())

    def _build(self, ids: np.ndarray, vectors: np.ndarray) -> Backend:
        """A fresh layout for this many vectors."""
        if len(ids) > self.params.threshold:
            return HnswBackend.build(ids, vectors, self.params)
        flat = FlatBackend.empty(self.dim)
        if len(ids):
            flat.upsert(ids, vectors)
        return flat

    def _check(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Validate ids (unique, non-negative int64) against vectors; normalise the vectors."""
        ids = np.asarray(ids)
        if ids.ndim != 1 or not (ids.size == 0 or np.issubdtype(ids.dtype, np.integer)):
            raise BadRequest(f"ids must be a 1-d integer array, got {ids.dtype} {ids.shape}")
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = self._normalised(vectors, "vectors")
        if len(vectors) != len(ids):
            raise BadRequest(f"{len(ids)} ids for {len(vectors)} vectors")
        if ids.size and ids.min() < 0:
            raise BadRequest(f"ids must be non-negative, got {int(ids.min())}")
        if np.unique(ids).size != ids.size:
            raise BadRequest("ids must be unique within one call")
        return ids, vectors

    def _normalised(self, vectors: np.ndarray, what: str) -> np.ndarray:
        """A C-contiguous float32 (n, dim) copy with unit rows (zero rows stay zero)."""
        array = np.asarray(vectors)
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise BadRequest(f"{what} must have shape (n, {self.dim}), got {array.shape}")
        array = np.array(array, dtype=np.float32, order="C", copy=True)
        if not np.isfinite(array).all():
            raise BadRequest(f"{what} contain NaN or infinite values")
        faiss.normalize_L2(array)
        return array


def _read_backend(directory: Path, manifest: Manifest, mmap: bool) -> Backend:
    """Read the layout the manifest names (an HNSW graph as a shared view when ``mmap``)."""
    if manifest.kind == FlatBackend.kind:
        return FlatBackend.read(directory, manifest.files)
    if manifest.kind == HnswBackend.kind:
        return HnswBackend.read(directory, manifest.files, mmap=mmap)
    raise ServiceUnavailable(f"vector index at {directory} has unknown kind {manifest.kind!r}")
