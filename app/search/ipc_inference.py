"""IPC evidence for ranking: which subclasses documents have, and which a query likely belongs to.

Two sources of evidence for a query's subclasses (小类): the subclasses of its nearest neighbours
in the catalogue (label propagation), and its similarity to the CNIPA scheme's own subclass and
main-group titles (the scheme is public, so a need can be placed without any patent examples).
"""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from app.catalog.ipc import clean_label, subclass_of
from app.errors import ServiceUnavailable
from app.search.encoder import Encoder

# Scheme kNN: how many titles vote, and the softmax temperature in standard deviations of the
# query's cosines to all titles (scale-free, so one value fits m3e and e5; dev: 0.25–1 similar).
SCHEME_TOP = 20
SCHEME_TEMPERATURE = 0.5
# Parenthesised cross-references in scheme titles ("（…入A01C5/00）") describe other subclasses.
_REFERENCE_OPEN = "（("
_REFERENCE_CLOSE = "）)"


class IpcTable:
    """Document id → IPC subclasses, as a padded (row, slot) array of subclass columns.

    Column numbers only ever grow (a new subclass gets the next column), so a probability vector
    over ``codes`` stays aligned while documents come and go. Updates touch one row each (no
    rebuild), so a write is cheap at any catalogue size. Safe to read from several threads.
    """

    def __init__(self) -> None:
        self._columns: dict[str, int] = {}
        self.codes: list[str] = []
        self._row: dict[int, int] = {}
        # The same map as an array indexed by id (ids are dense database keys), so that a
        # ranking's few thousand candidates are looked up at once; ids past its end use the dict.
        self._row_of = np.full(0, -1, dtype=np.int64)
        self._free: list[int] = []
        self._lock = threading.Lock()
        # Row r: subclass columns of one document, -1 padded; and a key of its subclass set.
        self._cols = np.full((0, 1), -1, dtype=np.int64)
        self._keys = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._row)

    def _column(self, code: str) -> int:
        """The column of a subclass, adding it when new (caller holds the lock)."""
        column = self._columns.get(code)
        if column is None:
            column = self._columns[code] = len(self.codes)
            self.codes.append(code)
        return column

    def _grow(self, rows: int, width: int) -> None:
        """Make room for ``rows`` rows of ``width`` slots (caller holds the lock)."""
        have_rows, have_width = self._cols.shape
        if rows <= have_rows and width <= have_width:
            return
        new_rows = max(rows, 2 * have_rows, 64) if rows > have_rows else have_rows
        cols = np.full((new_rows, max(width, have_width)), -1, dtype=np.int64)
        cols[:have_rows, :have_width] = self._cols
        keys = np.full(new_rows, -1, dtype=np.int64)
        keys[:have_rows] = self._keys
        # Swap whole arrays so that readers see either the old or the new table.
        self._cols, self._keys = cols, keys

    def _set_row(self, doc_id: int, columns: tuple[int, ...]) -> None:
        """Write one document's row (caller holds the lock)."""
        row = self._row.get(doc_id)
        if row is None:
            row = self._free.pop() if self._free else len(self._row)
            self._row[doc_id] = row
            self._index_row(doc_id, row)
        self._grow(row + 1, len(columns))
        self._cols[row] = -1
        self._cols[row, : len(columns)] = columns
        # Equal keys = equal subclass sets (tuple hashes of ints are stable); -1 = none.
        self._keys[row] = hash(tuple(sorted(columns))) if columns else -1

    def _index_row(self, doc_id: int, row: int) -> None:
        """Record a new row in the id-indexed array, growing it (doubling) while ids stay dense
        (at most 8 slots per document); other ids are found through the dict alone."""
        if doc_id < 0:
            return
        if doc_id >= len(self._row_of):
            if doc_id >= 8 * len(self._row) + 65_536:
                return
            grown = np.full(max(2 * len(self._row_of), doc_id + 1, 1024), -1, dtype=np.int64)
            for known, at in self._row.items():
                if 0 <= known < len(grown):
                    grown[known] = at
            self._row_of = grown  # swapped whole: readers see the old or the new array
        self._row_of[doc_id] = row

    def upsert(self, ids: Sequence[int], subclasses: Sequence[Iterable[str]]) -> None:
        """Set the subclasses (``H01M`` or any longer code, cut to 4 characters) of documents."""
        with self._lock:
            for doc_id, codes in zip(ids, subclasses, strict=True):
                unique = dict.fromkeys(subclass_of(c) for c in codes if c.strip())
                self._set_row(int(doc_id), tuple(self._column(c) for c in unique))

    def delete(self, ids: Iterable[int]) -> None:
        """Forget documents; unknown ids are ignored."""
        with self._lock:
            for doc_id in ids:
                row = self._row.pop(int(doc_id), None)
                if 0 <= int(doc_id) < len(self._row_of):
                    self._row_of[int(doc_id)] = -1
                if row is not None:
                    self._cols[row] = -1
                    self._keys[row] = -1
                    self._free.append(row)

    def subclasses(self, doc_id: int) -> list[str]:
        """The subclasses of one document (empty when unknown)."""
        row = self._row.get(int(doc_id))
        if row is None:
            return []
        return [self.codes[c] for c in self._cols[row] if c >= 0]

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id, -1 when unknown (the array, then the dict for ids past its end)."""
        ids = np.asarray(ids, dtype=np.int64)
        table = self._row_of
        inside = (ids >= 0) & (ids < len(table))
        rows = np.where(inside, table[np.where(inside, ids, 0)] if len(table) else -1, -1)
        if not inside.all():
            get = self._row.get
            # tolist() gives Python ints at once: converting numpy scalars one by one costs more.
            rows[~inside] = [get(i, -1) for i in ids[~inside].tolist()]
        return rows

    def lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Subclass columns ((len(ids), width), -1 padded) and subclass-set keys (-1 = none).

        Keys are equal exactly when two documents have the same subclass set; unknown ids get
        all -1.
        """
        cols, keys, rows = self._cols, self._keys, self._rows(np.asarray(ids))
        if not len(cols):
            return np.full((len(rows), 1), -1, np.int64), np.full(len(rows), -1, np.int64)
        safe = np.maximum(rows, 0)
        out_cols, out_keys = cols[safe], keys[safe]
        out_cols[rows < 0] = -1
        out_keys[rows < 0] = -1
        return out_cols, out_keys

    def columns(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), width) subclass columns per id, -1 padded (unknown ids: all -1)."""
        return self.lookup(ids)[0]

    def set_keys(self, ids: np.ndarray) -> np.ndarray:
        """A key per id that is equal exactly when two documents have the same subclass set."""
        return self.lookup(ids)[1]

    def membership(self, ids: np.ndarray) -> sparse.csr_matrix:
        """(len(ids), len(codes)) 0/1 matrix; unknown ids get an empty row."""
        cols = self.columns(ids)
        rows, slots = np.nonzero(cols >= 0)
        data = np.ones(len(rows), dtype=np.float32)
        shape = (len(cols), len(self.codes))
        return sparse.csr_matrix((data, (rows, cols[rows, slots])), shape=shape)


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
                entries.append((subclass_of(code), title))
    return entries


class SchemePrior:
    """P(subclass | query) from the query's similarity to scheme titles (kNN over titles).

    ~8,100 subclass and main-group titles: one (8100 × dim) product per query, about 2 ms.
    """

    def __init__(self, subclasses: Sequence[str], vectors: np.ndarray, *, model: str = "") -> None:
        if len(subclasses) != len(vectors):
            raise ValueError("one vector per scheme entry is needed")
        self.model = model
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
        return cls([code for code, _ in entries], vectors, model=encoder.name)

    def save(self, path: Path) -> None:
        """Write vectors, subclasses and model name to one ``.npz`` file (atomically)."""
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, vectors=self.vectors, subclasses=np.array(self.subclasses), model=self.model)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, *, model: str) -> SchemePrior:
        """Read a saved prior; refuses one embedded with another model."""
        with np.load(path) as data:
            saved_model = str(data["model"])
            if saved_model != model:
                raise ServiceUnavailable(
                    f"scheme prior {path} was built with {saved_model!r}, not {model!r}; rebuild it"
                )
            return cls([str(c) for c in data["subclasses"]], data["vectors"], model=saved_model)

    def probabilities(
        self,
        query_vectors: np.ndarray,
        codes: Sequence[str],
        *,
        top: int = SCHEME_TOP,
        temperature: float = SCHEME_TEMPERATURE,
    ) -> np.ndarray:
        """(n_queries, len(codes)) rows summing to 1 (or 0): softmax over the ``top`` titles."""
        entry_columns = self._entry_columns(codes)
        # einsum, not BLAS: BLAS's threads stall when the other core is busy (0.2 ms became
        # 3–5 ms per query under load here); einsum is one thread, ~0.5 ms, and gives the same
        # bits for one query as for a batch (so the engine and `eval` agree exactly).
        sims = np.einsum("qd,td->qt", np.asarray(query_vectors, np.float32), self.vectors)
        top = min(top, sims.shape[1])
        best = np.argpartition(-sims, top - 1, axis=1)[:, :top]
        out = np.zeros((len(query_vectors), len(codes)), dtype=np.float32)
        # Cosines spread differently per encoder (e5's bunch near 0.8): measure the temperature
        # in standard deviations of the query's similarities to all titles.
        spread = np.maximum(sims.std(axis=1), 1e-6) * temperature
        for row, entries in enumerate(best):
            weights = np.exp((sims[row, entries] - sims[row, entries].max()) / spread[row])
            cols = entry_columns[entries]
            known = cols >= 0
            np.add.at(out[row], cols[known], weights[known])
            total = out[row].sum()
            if total > 0:
                out[row] /= total
        return out
