"""IPC evidence for ranking: which subclasses documents have, and which a query likely belongs to.

Two sources of evidence for a query's subclasses (小类): the subclasses of its nearest neighbours
in the catalogue (label propagation), and its similarity to the CNIPA scheme's own subclass and
main-group titles (the scheme is public, so a need can be placed without any patent examples).
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from app.catalog.ipc import clean_label
from app.search.encoder import Encoder

# Parenthesised cross-references in scheme titles ("（…入A01C5/00）") describe other subclasses.
_REFERENCE_OPEN = "（("
_REFERENCE_CLOSE = "）)"


class IpcTable:
    """Document id → IPC subclasses, as a sparse document × subclass matrix over sorted ids.

    Column numbers only ever grow (a new subclass gets the next column), so a probability vector
    over ``codes`` stays aligned while documents come and go. Safe to read from several threads.
    """

    def __init__(self) -> None:
        self._docs: dict[int, tuple[int, ...]] = {}
        self._columns: dict[str, int] = {}
        self.codes: list[str] = []
        self._lock = threading.Lock()
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = sparse.csr_matrix((0, 0), dtype=np.float32)
        self._set_keys = np.zeros(0, dtype=np.int64)
        self._dirty = False

    def __len__(self) -> int:
        return len(self._docs)

    def _column(self, code: str) -> int:
        """The column of a subclass, adding it when new (caller holds the lock)."""
        column = self._columns.get(code)
        if column is None:
            column = self._columns[code] = len(self.codes)
            self.codes.append(code)
        return column

    def upsert(self, ids: Sequence[int], subclasses: Sequence[Iterable[str]]) -> None:
        """Set the subclasses (``H01M`` or any longer code, cut to 4 characters) of documents."""
        with self._lock:
            for doc_id, codes in zip(ids, subclasses, strict=True):
                unique = dict.fromkeys(c.strip().upper()[:4] for c in codes if c.strip())
                self._docs[int(doc_id)] = tuple(self._column(c) for c in unique)
            self._dirty = True

    def delete(self, ids: Iterable[int]) -> None:
        """Forget documents; unknown ids are ignored."""
        with self._lock:
            for doc_id in ids:
                self._docs.pop(int(doc_id), None)
            self._dirty = True

    def subclasses(self, doc_id: int) -> list[str]:
        """The subclasses of one document (empty when unknown)."""
        return [self.codes[c] for c in self._docs.get(int(doc_id), ())]

    def _snapshot(self) -> tuple[np.ndarray, sparse.csr_matrix, np.ndarray]:
        """Sorted ids, their membership matrix and subclass-set keys, rebuilt after changes."""
        with self._lock:
            if self._dirty or self._matrix.shape[1] != len(self.codes):
                ids = np.array(sorted(self._docs), dtype=np.int64)
                rows = [self._docs[int(i)] for i in ids]
                indptr = np.cumsum([0, *map(len, rows)], dtype=np.int64)
                indices = np.fromiter((c for r in rows for c in r), dtype=np.int64)
                data = np.ones(len(indices), dtype=np.float32)
                shape = (len(ids), len(self.codes))
                self._ids = ids
                self._matrix = sparse.csr_matrix((data, indices, indptr), shape=shape)
                # Equal keys = equal subclass sets (tuple hashes of ints are stable); -1 = none.
                self._set_keys = np.array(
                    [hash(tuple(sorted(r))) if r else -1 for r in rows], dtype=np.int64
                )
                self._dirty = False
            return self._ids, self._matrix, self._set_keys

    def _positions(self, known_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of each id in ``known_ids`` (clipped) and whether it is really there."""
        pos = np.minimum(np.searchsorted(known_ids, ids), max(len(known_ids) - 1, 0))
        found = known_ids[pos] == ids if len(known_ids) else np.zeros(len(ids), dtype=bool)
        return pos, found

    def set_keys(self, ids: np.ndarray) -> np.ndarray:
        """A key per id that is equal exactly when two documents have the same subclass set."""
        known_ids, _, keys = self._snapshot()
        ids = np.asarray(ids, dtype=np.int64)
        if not len(known_ids):
            return np.full(len(ids), -1, dtype=np.int64)
        pos, found = self._positions(known_ids, ids)
        return np.where(found, keys[pos], -1)

    def membership(self, ids: np.ndarray) -> sparse.csr_matrix:
        """(len(ids), len(codes)) 0/1 matrix; unknown ids get an empty row."""
        known_ids, matrix, _ = self._snapshot()
        ids = np.asarray(ids, dtype=np.int64)
        if not len(known_ids):
            return sparse.csr_matrix((len(ids), len(self.codes)), dtype=np.float32)
        pos, found = self._positions(known_ids, ids)
        rows = matrix[pos]
        # Zero the rows of ids the table does not know (searchsorted pointed at a neighbour).
        keep = sparse.diags(found.astype(np.float32))
        return sparse.csr_matrix(keep @ rows)


def clean_scheme_title(title: str) -> str:
    """A scheme title without its parenthesised cross-references and stray CJK spaces."""
    out: list[str] = []
    depth = 0
    for char in clean_label(title):
        if char in _REFERENCE_OPEN:
            depth += 1
        elif char in _REFERENCE_CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(char)
    return "".join(out).strip()


def read_scheme_titles(
    path: Path, levels: Sequence[str] = ("subclass", "main_group")
) -> list[tuple[str, str]]:
    """(subclass, cleaned title) for scheme entries of the given levels, in scheme order."""
    entries: list[tuple[str, str]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            code = (row.get("code") or "").replace(" ", "").upper()
            if row.get("level") not in levels or len(code) < 4:
                continue
            title = clean_scheme_title(row.get("title_zh") or "")
            if title:
                entries.append((code[:4], title))
    return entries


class SchemePrior:
    """P(subclass | query) from the query's similarity to scheme titles (kNN over titles)."""

    def __init__(self, subclasses: Sequence[str], vectors: np.ndarray) -> None:
        if len(subclasses) != len(vectors):
            raise ValueError("one vector per scheme entry is needed")
        self.subclasses = list(subclasses)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # Entry → column map for the last ``codes`` list seen (an IpcTable's, which only grows,
        # so its identity and length identify its content).
        self._columns_for: tuple[tuple[int, int], np.ndarray] = ((0, -1), np.zeros(0, np.int64))

    def _entry_columns(self, codes: Sequence[str]) -> np.ndarray:
        """Column of each entry's subclass in ``codes`` (-1 when absent), cached."""
        key = (id(codes), len(codes))
        if self._columns_for[0] != key:
            column = {code: i for i, code in enumerate(codes)}
            cols = np.array([column.get(c, -1) for c in self.subclasses], dtype=np.int64)
            self._columns_for = (key, cols)
        return self._columns_for[1]

    @classmethod
    def build(cls, encoder: Encoder, entries: Sequence[tuple[str, str]]) -> SchemePrior:
        """Embed scheme titles as documents (slow for real models: cache the vectors)."""
        vectors = encoder.encode_documents([title for _, title in entries])
        return cls([code for code, _ in entries], vectors)

    def probabilities(
        self, query_vectors: np.ndarray, codes: Sequence[str], *, top: int, temperature: float
    ) -> np.ndarray:
        """(n_queries, len(codes)) rows summing to 1 (or 0): softmax over the ``top`` titles."""
        entry_columns = self._entry_columns(codes)
        sims = query_vectors @ self.vectors.T
        top = min(top, sims.shape[1])
        best = np.argpartition(-sims, top - 1, axis=1)[:, :top]
        out = np.zeros((len(query_vectors), len(codes)), dtype=np.float32)
        for row, entries in enumerate(best):
            weights = np.exp((sims[row, entries] - sims[row, entries].max()) / temperature)
            cols = entry_columns[entries]
            known = cols >= 0
            np.add.at(out[row], cols[known], weights[known])
            total = out[row].sum()
            if total > 0:
                out[row] /= total
        return out
