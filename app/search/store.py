"""Persistence of the whole match engine: three indexes saved together, committed atomically.

Layout under ``<index_dir>/``::

    manifest.json            model, dim, vectors tag, counts, last IndexChange id, generation
    gen-<stamp>-<token>/     patent-vectors/  (VectorIndex of patent chunks)
                             patent-lexical/  (LexicalIndex of whole patents)
                             need-vectors/    (VectorIndex of needs)
                             ids.npz          (indexed patent and need ids)
                             ipc.json         (IPC subclasses: patents' own, needs' inferred)
                             need-queries.npz (each published need encoded as a query)
    scheme-<digest>-<tag>.npz  CNIPA scheme prior, shared by generations (``scheme_store``)

A save writes a fresh generation folder, then replaces ``manifest.json`` with ``os.replace``
(the commit point). Until then readers see the previous generation, whole; a failed save removes
its half-written folder. The previous generation is kept one round so that a process that read
the old manifest a moment ago can still load its files.
"""

import json
import logging
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.errors import ServiceUnavailable
from app.search.ann_params import AnnParams
from app.search.engine_manifest import (
    ENGINE_MANIFEST,
    REBUILD_HINT,
    EngineManifest,
    check_compatible,
    read_engine_manifest,
)
from app.search.fusion import collection_moments
from app.search.index_manifest import fsync_file, write_atomic
from app.search.ipc_inference import IpcTable, SchemePrior
from app.search.lexical import LexicalIndex, Tokenizer
from app.search.memo import LruMemo
from app.search.scheme_store import load_scheme, remove_stale_schemes
from app.search.vector_index import VectorIndex

if TYPE_CHECKING:
    from app.search.calibration import CalibrationSet
    from app.search.querying import PatentRanking

log = logging.getLogger(__name__)

# Recent queries' patent rankings kept per indexes version (each ~0.1 MB at pool 200).
RANKING_MEMO = 128


@dataclass
class EngineIndexes:
    """The in-memory indexes of the engine and the ids they hold."""

    patent_vectors: VectorIndex
    patent_lexical: LexicalIndex
    need_vectors: VectorIndex
    patent_ids: set[int] = field(default_factory=set)
    need_ids: set[int] = field(default_factory=set)
    # Patents' IPC subclasses (from the catalog) and needs' (inferred when indexed).
    patent_ipc: IpcTable = field(default_factory=IpcTable)
    need_ipc: IpcTable = field(default_factory=IpcTable)
    # Published needs encoded as queries when indexed, so need → patents skips the encoder.
    need_queries: dict[int, np.ndarray] = field(default_factory=dict)
    last_change_id: int = 0
    # P(subclass | query) from the CNIPA scheme titles, and its file under index_dir.
    scheme: SchemePrior | None = None
    scheme_file: str = ""
    # Mean and covariance of the patent chunk vectors (dense z-scores); computed when the
    # indexes are built or loaded, not refreshed by syncs (a catalog's spread moves slowly).
    patent_moments: tuple[np.ndarray, np.ndarray] | None = None
    moments_count: int = 0
    # Change ids skipped over by a sync (id → monotonic time first missed); not persisted.
    gaps: dict[int, float] = field(default_factory=dict)
    # The saved generation these indexes were loaded from or saved as ("" = never).
    generation: str = ""
    # Bumped by every change to the indexes (``changed``); not persisted. The rankings of
    # recent queries (``querying.search_patents``) are memoised under it.
    version: int = 0
    rankings: "LruMemo[tuple[CalibrationSet, PatentRanking]]" = field(
        default_factory=lambda: LruMemo(RANKING_MEMO)
    )

    def changed(self) -> None:
        """The indexes changed (writes replayed, a graph compacted): memoised rankings go."""
        self.version += 1
        self.rankings.clear()

    @classmethod
    def empty(
        cls, model: str, dim: int, params: AnnParams, tokenizer: Tokenizer | None = None
    ) -> "EngineIndexes":
        """Fresh, empty indexes for ``model``."""
        return cls(
            patent_vectors=VectorIndex.create(dim, model=model, params=params),
            patent_lexical=LexicalIndex(tokenizer=tokenizer),
            need_vectors=VectorIndex.create(dim, model=model, params=params),
        )


def load_indexes(
    index_dir: Path,
    model: str,
    dim: int,
    params: AnnParams,
    tokenizer: Tokenizer | None = None,
    *,
    mmap: bool = False,
    tag: str | None = None,
) -> EngineIndexes:
    """Load the current generation; refuses another model/dim/vectors tag with a rebuild hint.

    ``mmap``: the vector graphs stay in their memory-mapped files (shared between processes).
    """
    manifest = read_engine_manifest(index_dir)
    if manifest is None:
        raise ServiceUnavailable(f"no search index at {index_dir}; {REBUILD_HINT}")
    check_compatible(manifest, index_dir, model, dim, tag)
    folder = index_dir / manifest.generation
    try:
        indexes = _read_generation(folder, model, dim, params, tokenizer, mmap)
    except (OSError, KeyError, ValueError) as exc:
        raise ServiceUnavailable(
            f"the index at {folder} is incomplete or damaged ({exc}); {REBUILD_HINT}"
        ) from exc
    indexes.last_change_id = manifest.last_change_id
    indexes.generation = manifest.generation
    if len(indexes.patent_vectors):
        indexes.patent_moments = collection_moments(indexes.patent_vectors.live_vectors())
        indexes.moments_count = len(indexes.patent_vectors)
    if manifest.scheme:
        indexes.scheme = load_scheme(index_dir, manifest.scheme, model, dim)
        indexes.scheme_file = manifest.scheme if indexes.scheme is not None else ""
    else:
        # Saved before the scheme evidence existed: still serves, ranks on neighbour votes.
        log.warning("the index at %s has no IPC scheme prior; %s", index_dir, REBUILD_HINT)
    return indexes


def _read_generation(
    folder: Path,
    model: str,
    dim: int,
    params: AnnParams,
    tokenizer: Tokenizer | None,
    mmap: bool,
) -> EngineIndexes:
    """Read every file of one generation."""
    ids = np.load(folder / "ids.npz")
    ipc = json.loads((folder / "ipc.json").read_text(encoding="utf-8"))
    queries = np.load(folder / "need-queries.npz")

    def vectors(name: str) -> VectorIndex:
        return VectorIndex.load(folder / name, model=model, dim=dim, params=params, mmap=mmap)

    indexes = EngineIndexes(
        patent_vectors=vectors("patent-vectors"),
        patent_lexical=LexicalIndex.load(folder / "patent-lexical", tokenizer=tokenizer),
        need_vectors=vectors("need-vectors"),
        patent_ids={int(i) for i in ids["patents"]},
        need_ids={int(i) for i in ids["needs"]},
        need_queries=_group_rows(queries["ids"], queries["vectors"]),
    )
    for table, rows in ((indexes.patent_ipc, ipc["patents"]), (indexes.need_ipc, ipc["needs"])):
        table.upsert([int(i) for i in rows], list(rows.values()))
    return indexes


def _group_rows(ids: np.ndarray, vectors: np.ndarray) -> dict[int, np.ndarray]:
    """Rows of the same id as one (m, dim) array per id, in their stored order."""
    grouped: dict[int, list[np.ndarray]] = {}
    for need_id, vector in zip(ids.tolist(), vectors, strict=True):
        grouped.setdefault(int(need_id), []).append(vector)
    return {need_id: np.stack(rows) for need_id, rows in grouped.items()}


def _write_generation(folder: Path, indexes: EngineIndexes, dim: int) -> None:
    """Write every index of one generation into ``folder``."""
    change = indexes.last_change_id
    indexes.patent_vectors.save(folder / "patent-vectors", last_change_id=change)
    indexes.patent_lexical.save(folder / "patent-lexical")
    indexes.need_vectors.save(folder / "need-vectors", last_change_id=change)
    with (folder / "ids.npz").open("wb") as handle:
        np.savez(
            handle,
            patents=np.fromiter(sorted(indexes.patent_ids), dtype=np.int64),
            needs=np.fromiter(sorted(indexes.need_ids), dtype=np.int64),
        )
    fsync_file(folder / "ids.npz")
    ipc = {
        "patents": {i: indexes.patent_ipc.subclasses(i) for i in sorted(indexes.patent_ids)},
        "needs": {i: indexes.need_ipc.subclasses(i) for i in sorted(indexes.need_ids)},
    }
    (folder / "ipc.json").write_text(json.dumps(ipc), encoding="utf-8")
    fsync_file(folder / "ipc.json")
    # One row per query vector of a need (whole text, title, statements), keyed by its id.
    need_ids = sorted(indexes.need_queries)
    vectors = [np.atleast_2d(indexes.need_queries[i]) for i in need_ids]
    with (folder / "need-queries.npz").open("wb") as handle:
        np.savez(
            handle,
            ids=np.asarray([i for i, v in zip(need_ids, vectors, strict=True) for _ in v]),
            vectors=np.vstack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32),
        )
    fsync_file(folder / "need-queries.npz")


def save_indexes(
    index_dir: Path, indexes: EngineIndexes, model: str, dim: int, tag: str | None = None
) -> EngineManifest:
    """Save all indexes as a new generation and commit it by replacing ``manifest.json``
    (``tag``: the passage vectors' tag; None: the model name, as for the hashing encoder)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = read_engine_manifest(index_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    generation = f"gen-{stamp}-{secrets.token_hex(4)}"
    folder = index_dir / generation
    folder.mkdir()
    committed = False
    try:
        _write_generation(folder, indexes, dim)
        # Saving may compact a graph or switch flat to HNSW: approximate results can move.
        indexes.changed()
        manifest = EngineManifest(
            model=model,
            dim=dim,
            patents=len(indexes.patent_ids),
            patent_chunks=len(indexes.patent_vectors),
            needs=len(indexes.need_ids),
            last_change_id=indexes.last_change_id,
            generation=generation,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            scheme=indexes.scheme_file,
            vectors_tag=tag or model,
        )
        write_atomic(index_dir / ENGINE_MANIFEST, json.dumps(asdict(manifest), indent=2))
        committed = True
        indexes.generation = generation
    finally:
        if not committed:
            shutil.rmtree(folder, ignore_errors=True)
    keep = {generation, previous.generation if previous else ""}
    for stale in index_dir.glob("gen-*"):
        if stale.name not in keep:
            shutil.rmtree(stale, ignore_errors=True)
    remove_stale_schemes(index_dir, {manifest.scheme, previous.scheme if previous else ""})
    return manifest
