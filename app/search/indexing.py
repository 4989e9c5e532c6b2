"""Filling the engine's indexes from the database: the full rebuild (change-log replay: ``replay``).

Patents are indexed whatever their legal status (filters decide visibility per query); needs are
indexed only while published, since only published needs may be matched.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np
from sqlmodel import Session, col, select

from app.catalog.changes import last_change_id
from app.catalog.enums import NeedStatus
from app.catalog.models import Patent, TechNeed
from app.search.documents import all_chunk_keys, need_text, patent_chunks, patent_text
from app.search.encoder import Encoder
from app.search.fusion import collection_moments
from app.search.querying import QueryContext, infer_subclasses, many_query_vectors
from app.search.split_encoder import passage_encoder
from app.search.store import EngineIndexes

# (stage, done, total) → None; stage is "patents" or "needs".
Progress = Callable[[str, int, int], None]
# Rows read and encoded per round of a rebuild: bounds memory, paces progress reports.
REBUILD_BATCH = 2_000
Row = TypeVar("Row", Patent, TechNeed)


def _batches(session: Session, model: type[Patent] | type[TechNeed]) -> Iterator[list[int]]:
    """Ids of a table (published only, for needs), in id order, in batches."""
    stmt = select(model.id).order_by(col(model.id))
    if model is TechNeed:
        stmt = stmt.where(col(TechNeed.status) == NeedStatus.PUBLISHED)
    ids = [int(i) for i in session.exec(stmt) if i is not None]
    for start in range(0, len(ids), REBUILD_BATCH):
        yield ids[start : start + REBUILD_BATCH]


def _load_rows(session: Session, model: type[Row], ids: Sequence[int]) -> list[Row]:
    """Rows of ``model`` with ``ids`` (missing ones are left out), ordered by id."""
    rows: list[Row] = []
    # In batches: SQLite caps the number of bound parameters of one statement.
    for start in range(0, len(ids), REBUILD_BATCH):
        batch = list(ids[start : start + REBUILD_BATCH])
        stmt = select(model).where(col(model.id).in_(batch)).order_by(col(model.id))
        rows.extend(session.exec(stmt))
    return rows


def load_patents(session: Session, ids: Sequence[int]) -> list[Patent]:
    """Patent rows of ``ids`` (missing ones are left out), ordered by id."""
    return _load_rows(session, Patent, ids)


def load_needs(session: Session, ids: Sequence[int]) -> list[TechNeed]:
    """Need rows of ``ids`` (missing ones are left out), ordered by id."""
    return _load_rows(session, TechNeed, ids)


def index_patents(
    indexes: EngineIndexes, encoder: Encoder, patents: Sequence[Patent], max_chars: int
) -> None:
    """Add or replace ``patents`` (every old chunk is dropped first: the count may shrink)."""
    if not patents:
        return
    ids = [int(p.id) for p in patents if p.id is not None]
    # Only patents already indexed can have chunks to drop (an import adds mostly new ones).
    indexes.patent_vectors.delete(all_chunk_keys([i for i in ids if i in indexes.patent_ids]))
    keys, texts = patent_chunks(patents, max_chars)
    vectors = encoder.encode_documents(texts)
    indexes.patent_vectors.upsert(np.asarray(keys, dtype=np.int64), vectors)
    indexes.patent_lexical.upsert(ids, [patent_text(p) for p in patents])
    indexes.patent_ipc.upsert(ids, [p.ipc_codes for p in patents])
    indexes.patent_ids.update(ids)
    refresh_moments(indexes)
    indexes.changed()


# The patent vectors' moments are recomputed when the count moved by more than this share.
MOMENTS_DRIFT = 0.25


def refresh_moments(indexes: EngineIndexes, *, force: bool = False) -> None:
    """Recompute the patent vectors' mean and covariance when missing or the catalog grew or
    shrank by more than ``MOMENTS_DRIFT`` since (a sample of 20,000 vectors at most)."""
    count = len(indexes.patent_vectors)
    known = indexes.moments_count
    if (
        not force
        and indexes.patent_moments is not None
        and abs(count - known) <= MOMENTS_DRIFT * known
    ):
        return
    indexes.patent_moments = (
        collection_moments(indexes.patent_vectors.live_vectors()) if count else None
    )
    indexes.moments_count = count
    indexes.changed()


def remove_patents(indexes: EngineIndexes, ids: Sequence[int]) -> None:
    """Drop patents from both patent indexes."""
    if ids:
        indexes.patent_vectors.delete(all_chunk_keys(ids))
        indexes.patent_lexical.delete(ids)
        indexes.patent_ipc.delete(ids)
        indexes.patent_ids.difference_update(ids)
        indexes.changed()


def index_needs(
    indexes: EngineIndexes, encoder: Encoder, needs: Sequence[TechNeed], ctx: QueryContext
) -> None:
    """Add published needs (with the IPC subclasses their nearest patents suggest), drop others."""
    published = [n for n in needs if n.id is not None and n.status == NeedStatus.PUBLISHED]
    remove_needs(
        indexes, [n.id for n in needs if n.id is not None and n.status != NeedStatus.PUBLISHED]
    )
    if not published:
        return
    ids = [int(n.id) for n in published if n.id is not None]
    texts = [need_text(n) for n in published]
    indexes.need_vectors.upsert(np.asarray(ids, dtype=np.int64), encoder.encode_documents(texts))
    # Patents are indexed before needs (rebuild and sync alike), so the votes are current.
    # Stored once per need, off the request path: the passage precision's session.
    queries = many_query_vectors(passage_encoder(encoder), texts)
    inferred = [infer_subclasses(indexes, t, q, ctx) for t, q in zip(texts, queries, strict=True)]
    indexes.need_ipc.upsert(ids, inferred)
    indexes.need_queries.update(zip(ids, queries, strict=True))
    indexes.need_ids.update(ids)
    indexes.changed()


def remove_needs(indexes: EngineIndexes, ids: Sequence[int]) -> None:
    """Drop needs from the need index."""
    if ids:
        indexes.need_vectors.delete(ids)
        indexes.need_ipc.delete(ids)
        for need_id in ids:
            indexes.need_queries.pop(need_id, None)
        indexes.need_ids.difference_update(ids)
        indexes.changed()


def build_all(
    session: Session,
    encoder: Encoder,
    indexes: EngineIndexes,
    ctx: QueryContext,
    progress: Progress | None = None,
) -> None:
    """Fill empty ``indexes`` with every patent and published need of the database."""
    # Read the log position first: a write committed while we read is replayed by the next sync.
    indexes.last_change_id = last_change_id(session)
    for kind, model in (("patents", Patent), ("needs", TechNeed)):
        batches = list(_batches(session, model))
        total = sum(len(b) for b in batches)
        done = 0
        if progress is not None:
            progress(kind, 0, total)
        for batch in batches:
            if model is Patent:
                index_patents(indexes, encoder, load_patents(session, batch), ctx.max_chars)
            else:
                index_needs(indexes, encoder, load_needs(session, batch), ctx)
            done += len(batch)
            if progress is not None:
                progress(kind, done, total)
            session.expunge_all()  # keep memory flat on big catalogs
