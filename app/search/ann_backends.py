"""The two FAISS layouts behind ``VectorIndex``: exact (flat) and approximate (HNSW).

Both take database ids (int64) and L2-normalised float32 vectors and score by inner product.

* ``FlatBackend``: ``IndexIDMap2(IndexFlatIP)``; ids are FAISS ids, ``remove_ids`` is native.
* ``HnswBackend``: ``IndexHNSWFlat`` cannot remove vectors, so its FAISS labels are positions
  and ``labels[position]`` holds the database id, or -1 for a tombstone (an updated or deleted
  vector). Searches skip tombstones with an ``IDSelectorBitmap`` inside the graph search, so
  results stay exact-k without over-fetching; the graph is rebuilt (compacted) from the live
  vectors once tombstones pass ``AnnParams.compact_fraction``. The trade-off: updates are
  cheap appends, but dead vectors cost memory and traversal time until the next compaction.

Why HNSW and not IVF (scripts/bench_search.py, this machine): IVF-Flat (nlist 4·√n) supports
``remove_ids`` and builds 5× faster, and it won on the synthetic Gaussian mixture, whose clusters
its k-means recovers; but on real m3e-small vectors of the 17,360 eval titles it reached recall@10
0.67/0.88/0.94 at nprobe 8/32/64, against HNSW's 0.95/0.98/0.99 at efSearch 32/64/96.
"""

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from app.errors import ServiceUnavailable
from app.search.ann_params import AnnParams


class Backend(Protocol):
    """What ``VectorIndex`` needs from a layout."""

    kind: str

    @property
    def dim(self) -> int: ...
    def __len__(self) -> int: ...
    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def delete(self, ids: np.ndarray) -> None: ...
    def search(
        self, queries: np.ndarray, k: int, params: AnnParams
    ) -> tuple[np.ndarray, np.ndarray]: ...
    def live(self) -> tuple[np.ndarray, np.ndarray]: ...
    def labels(self) -> np.ndarray: ...
    def vectors_at(self, positions: np.ndarray) -> np.ndarray: ...
    def stored(self) -> int: ...
    def write(self, directory: Path, token: str) -> dict[str, str]: ...


class FlatBackend:
    """Exact inner-product search over every vector."""

    kind = "flat"

    def __init__(self, index: faiss.IndexIDMap2) -> None:
        self._index = index

    @classmethod
    def empty(cls, dim: int) -> "FlatBackend":
        """A new, empty flat index."""
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def stored(self) -> int:
        """Vectors held, dead or alive (flat holds no dead ones)."""
        return len(self)

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace any existing vectors of ``ids``, then add."""
        self.delete(ids)
        self._index.add_with_ids(vectors, ids)

    def delete(self, ids: np.ndarray) -> None:
        """Remove ``ids``; unknown ids are ignored."""
        if len(self):
            self._index.remove_ids(faiss.IDSelectorBatch(ids))

    def search(
        self, queries: np.ndarray, k: int, params: AnnParams
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids), -1 ids where there are fewer than ``k`` vectors."""
        scores, ids = self._index.search(queries, k)
        return scores, ids

    def live(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors)."""
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        return ids, self._index.index.reconstruct_n(0, len(self))

    def labels(self) -> np.ndarray:
        """The id stored at each position."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def vectors_at(self, positions: np.ndarray) -> np.ndarray:
        """The vectors stored at these positions (n, dim)."""
        return _reconstruct(self._index.index, positions)

    def write(self, directory: Path, token: str) -> dict[str, str]:
        """Write the index file; return its role → name."""
        name = f"vectors-{token}.faiss"
        faiss.write_index(self._index, str(directory / name))
        return {"index": name}

    @classmethod
    def read(cls, directory: Path, files: dict[str, str]) -> "FlatBackend":
        """Read what ``write`` wrote."""
        index = _read_faiss(directory / files["index"])
        if not isinstance(index, faiss.IndexIDMap2):
            raise ServiceUnavailable(f"{directory / files['index']} is not a flat id-mapped index")
        return cls(index)


class HnswBackend:
    """Approximate inner-product search on an HNSW graph, with tombstones for removals.

    A graph read in place from a memory-mapped file (``read(..., mmap=True)``: the server's
    workers then share its pages) must never be written to (FAISS aborts the process): vectors
    added since go to a small exact index beside it, searched with it and merged by score, and
    ``write`` saves the two as one graph.
    """

    kind = "hnsw"

    def __init__(
        self, index: faiss.IndexHNSWFlat, labels: np.ndarray, *, viewed: bool = False
    ) -> None:
        self._index = index
        self._labels = labels
        self._dead = int(np.count_nonzero(labels < 0))
        # The selector reads this buffer through a raw pointer: keep both alive together.
        self._bitmap: np.ndarray | None = None
        self._selector: faiss.IDSelectorBitmap | None = None
        self._extra = FlatBackend.empty(int(index.d)) if viewed else None

    @property
    def viewed(self) -> bool:
        """True when the graph is a read-only view of a memory-mapped file."""
        return self._extra is not None

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, params: AnnParams) -> "HnswBackend":
        """A new graph over ``vectors`` (which may be empty)."""
        dim = vectors.shape[1]
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.hnsw_ef_construction
        backend = cls(index, np.empty(0, dtype=np.int64))
        backend.upsert(ids, vectors)
        return backend

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    def __len__(self) -> int:
        return len(self._labels) - self._dead + (len(self._extra) if self._extra else 0)

    def stored(self) -> int:
        """Vectors held, tombstones included."""
        return len(self._labels) + (len(self._extra) if self._extra else 0)

    def dead_fraction(self) -> float:
        """Share of stored vectors that are tombstones."""
        return self._dead / len(self._labels) if len(self._labels) else 0.0

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Tombstone the current vectors of ``ids`` and append the new ones."""
        self.delete(ids)
        if self._extra is not None:
            self._extra.upsert(ids, vectors)
            return
        self._index.add(vectors)
        self._labels = np.concatenate([self._labels, ids])
        self._selector = self._bitmap = None

    def delete(self, ids: np.ndarray) -> None:
        """Tombstone ``ids``; unknown ids are ignored."""
        if self._extra is not None:
            self._extra.delete(ids)
        positions = np.flatnonzero(np.isin(self._labels, ids))
        if positions.size:
            self._labels[positions] = -1
            self._dead += int(positions.size)
            self._selector = self._bitmap = None

    def search(
        self, queries: np.ndarray, k: int, params: AnnParams
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) among live vectors, -1 ids where none."""
        search = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # missing in stubs
        search.efSearch = max(params.hnsw_ef_search, k)
        if self._dead:
            search.sel = self._live_selector()
        scores, positions = self._index.search(queries, k, params=search)
        ids = np.where(positions >= 0, self._labels[np.maximum(positions, 0)], -1)
        if self._extra is not None and len(self._extra):
            more = self._extra.search(queries, min(k, len(self._extra)), params)
            return _merge((scores, ids), more, k)
        return scores, ids

    def _live_selector(self) -> faiss.IDSelectorBitmap:
        """Bitmap of live positions: bit ``i % 8`` of byte ``i // 8`` (little-endian bit order)."""
        if self._selector is None:
            self._bitmap = np.packbits(self._labels >= 0, bitorder="little")
            # ``n`` is the bitmap's size in bytes, not in bits.
            self._selector = faiss.IDSelectorBitmap(self._bitmap.size, faiss.swig_ptr(self._bitmap))
        return self._selector

    def live(self) -> tuple[np.ndarray, np.ndarray]:
        """Live (ids, vectors), for compaction or a switch of layout."""
        alive = self._labels >= 0
        vectors = self._index.storage.reconstruct_n(0, len(self._labels))
        ids, vectors = self._labels[alive].copy(), vectors[alive]
        if self._extra is not None and len(self._extra):
            more_ids, more = self._extra.live()
            return np.concatenate([ids, more_ids]), np.vstack([vectors, more])
        return ids, vectors

    def labels(self) -> np.ndarray:
        """The id stored at each position, -1 for a tombstone (the added vectors last)."""
        if self._extra is None or not len(self._extra):
            return self._labels
        return np.concatenate([self._labels, self._extra.labels()])

    def vectors_at(self, positions: np.ndarray) -> np.ndarray:
        """The vectors stored at these positions (n, dim), as numbered by ``labels``."""
        positions = np.asarray(positions, dtype=np.int64)
        graph = len(self._labels)
        if self._extra is None or not len(self._extra) or not (positions >= graph).any():
            return _reconstruct(self._index.storage, positions)
        out = np.zeros((len(positions), self.dim), dtype=np.float32)
        inside = positions < graph
        out[inside] = _reconstruct(self._index.storage, positions[inside])
        out[~inside] = self._extra.vectors_at(positions[~inside] - graph)
        return out

    def write(self, directory: Path, token: str) -> dict[str, str]:
        """Write graph and labels; return role → name."""
        index: faiss.Index = self._index
        labels = self._labels
        if self._extra is not None and len(self._extra):
            # An owned copy of the viewed graph takes the added vectors (the view cannot).
            index = faiss.deserialize_index(faiss.serialize_index(index))
            more_ids, more = self._extra.live()
            index.add(np.ascontiguousarray(more, dtype=np.float32))
            labels = np.concatenate([labels, more_ids])
        index_name, labels_name = f"vectors-{token}.faiss", f"labels-{token}.npy"
        faiss.write_index(index, str(directory / index_name))
        np.save(directory / labels_name, labels, allow_pickle=False)
        return {"index": index_name, "labels": labels_name}

    @classmethod
    def read(cls, directory: Path, files: dict[str, str], *, mmap: bool = False) -> "HnswBackend":
        """Read what ``write`` wrote and check the two files agree; ``mmap``: a shared view."""
        index = _read_faiss(directory / files["index"], mmap=mmap)
        if not isinstance(index, faiss.IndexHNSWFlat):
            raise ServiceUnavailable(f"{directory / files['index']} is not an HNSW index")
        try:
            labels = np.load(directory / files["labels"], allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ServiceUnavailable(f"vector index labels are unreadable: {exc}") from exc
        if labels.dtype != np.int64 or labels.shape != (index.ntotal,):
            raise ServiceUnavailable(
                f"vector index labels hold {labels.shape} {labels.dtype}, "
                f"expected ({index.ntotal},) int64"
            )
        return cls(index, labels, viewed=mmap)


def _merge(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` (scores, ids) per row of two result sets (-1 ids last)."""
    scores = np.concatenate([first[0], second[0]], axis=1)
    ids = np.concatenate([first[1], second[1]], axis=1)
    scores = np.where(ids >= 0, scores, -np.inf).astype(np.float32)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def positions_of(labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions in ``labels`` of the ``ids`` present there, in the order of ``ids``."""
    hit = np.flatnonzero(np.isin(labels, ids))
    where = dict(zip(labels[hit].tolist(), hit.tolist(), strict=True))
    return np.asarray([where[i] for i in ids.tolist() if i in where], dtype=np.int64)


def _reconstruct(index: faiss.Index, positions: np.ndarray) -> np.ndarray:
    """Stored vectors by position (an empty selection gives an empty (0, dim) array)."""
    if not len(positions):
        return np.zeros((0, index.d), dtype=np.float32)
    return np.asarray(index.reconstruct_batch(np.asarray(positions, dtype=np.int64)))


def _read_faiss(path: Path, *, mmap: bool = False) -> faiss.Index:
    """``faiss.read_index`` with its RuntimeError on damaged files turned into a clear error;
    ``mmap``: in place from the mapped file (pages shared by every process that maps it)."""
    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
    except RuntimeError as exc:
        raise ServiceUnavailable(f"vector index file {path} is damaged: {exc}") from exc
