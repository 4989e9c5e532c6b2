"""Replaying the change log into the indexes in three phases: read, encode, apply.

Each phase holds only what it needs: ``read_pending`` runs in a short read transaction and returns
plain data (no ORM rows); ``encode_pending`` runs the encoder with no transaction and no lock;
``apply_encoded`` changes the in-memory indexes and is the only phase run under the engine's lock.
So a round of the background indexer never keeps the database or the searches waiting while it
encodes.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.catalog.enums import ChangeOp, EntityKind, NeedStatus
from app.catalog.models import IndexChange
from app.search.documents import all_chunk_keys, need_text, patent_chunks, patent_text
from app.search.encoder import Encoder
from app.search.indexing import (
    load_needs,
    load_patents,
    refresh_moments,
    remove_needs,
    remove_patents,
)
from app.search.querying import QueryContext, infer_subclasses, many_query_vectors
from app.search.split_encoder import passage_encoder
from app.search.store import EngineIndexes
from app.types import assume_utc, utcnow

# How long a skipped change id is looked for again (an open transaction may still commit it),
# and how many such ids are remembered at most.
GAP_TIMEOUT_S = 300.0
MAX_GAPS = 10_000


@dataclass
class PendingDocs:
    """What one round indexes, read from the database as plain values."""

    change_ids: set[int] = field(default_factory=set)
    patent_ids: list[int] = field(default_factory=list)
    patent_texts: list[str] = field(default_factory=list)
    patent_ipc: list[list[str]] = field(default_factory=list)
    chunk_keys: list[int] = field(default_factory=list)
    chunk_texts: list[str] = field(default_factory=list)
    gone_patents: list[int] = field(default_factory=list)
    need_ids: list[int] = field(default_factory=list)
    need_texts: list[str] = field(default_factory=list)
    gone_needs: list[int] = field(default_factory=list)


@dataclass
class EncodedDocs:
    """A round's documents with their vectors."""

    docs: PendingDocs
    chunk_vectors: np.ndarray
    need_vectors: np.ndarray
    # Each need's query vectors (whole posting, title, problem statements): one array per need.
    need_queries: list[np.ndarray]


@dataclass(frozen=True)
class IndexLag:
    """How far the in-memory indexes are behind the change log."""

    pending_changes: int
    seconds_behind: float


def index_lag(session: Session, after_id: int) -> IndexLag:
    """Changes newer than ``after_id`` and the age of the oldest (0 s when there is none)."""
    stmt = select(func.count(), func.min(IndexChange.created_at)).where(
        col(IndexChange.id) > after_id
    )
    count, oldest = session.exec(stmt).one()
    if not count or oldest is None:
        return IndexLag(0, 0.0)
    age = (utcnow() - assume_utc(oldest)).total_seconds()
    return IndexLag(int(count), max(0.0, age))


def pending_count(session: Session, after_id: int) -> int:
    """How many changes in the log are newer than ``after_id``."""
    stmt = select(func.count()).select_from(IndexChange).where(col(IndexChange.id) > after_id)
    return int(session.exec(stmt).one())


def latest_ops(changes: Sequence[IndexChange]) -> dict[tuple[EntityKind, int], ChangeOp]:
    """The last operation per entity: only the final state of each entity matters."""
    final: dict[tuple[EntityKind, int], ChangeOp] = {}
    for change in changes:
        final[(change.entity, change.entity_id)] = change.op
    return final


def _ids_of(
    final: dict[tuple[EntityKind, int], ChangeOp], kind: EntityKind, op: ChangeOp
) -> set[int]:
    """Entity ids of one kind whose final operation is ``op``."""
    return {i for (e, i), o in final.items() if e == kind and o == op}


def _gone(
    final: dict[tuple[EntityKind, int], ChangeOp], kind: EntityKind, found: set[int]
) -> list[int]:
    """Ids to drop: deletes, and upserts whose row no longer exists (deleted since)."""
    upserts = _ids_of(final, kind, ChangeOp.UPSERT)
    return sorted(_ids_of(final, kind, ChangeOp.DELETE) | (upserts - found))


def _changes(session: Session, indexes: EngineIndexes, limit: int | None) -> list[IndexChange]:
    """Up to ``limit`` changes after the indexes' position, plus any that filled a gap."""
    stmt = (
        select(IndexChange)
        .where(col(IndexChange.id) > indexes.last_change_id)
        .order_by(col(IndexChange.id))
    )
    changes = list(session.exec(stmt if limit is None else stmt.limit(limit)))
    if indexes.gaps:
        gaps = select(IndexChange).where(col(IndexChange.id).in_(sorted(indexes.gaps)))
        changes = [*session.exec(gaps), *changes]
    return sorted(changes, key=lambda c: c.id or 0)


def read_pending(
    session: Session, indexes: EngineIndexes, max_chars: int, limit: int | None = None
) -> PendingDocs | None:
    """The documents the next ``limit`` changes touch; None when the indexes are current."""
    changes = _changes(session, indexes, limit)
    if not changes:
        return None
    final = latest_ops(changes)
    docs = PendingDocs(change_ids={int(c.id) for c in changes if c.id is not None})
    patents = load_patents(session, sorted(_ids_of(final, EntityKind.PATENT, ChangeOp.UPSERT)))
    docs.patent_ids = [int(p.id) for p in patents if p.id is not None]
    docs.gone_patents = _gone(final, EntityKind.PATENT, set(docs.patent_ids))
    docs.patent_texts = [patent_text(p) for p in patents]
    docs.patent_ipc = [list(p.ipc_codes) for p in patents]
    docs.chunk_keys, docs.chunk_texts = patent_chunks(patents, max_chars)
    needs = load_needs(session, sorted(_ids_of(final, EntityKind.NEED, ChangeOp.UPSERT)))
    found = {int(n.id) for n in needs if n.id is not None}
    published = [n for n in needs if n.id is not None and n.status == NeedStatus.PUBLISHED]
    docs.need_ids = [int(n.id) for n in published if n.id is not None]
    docs.need_texts = [need_text(n) for n in published]
    # Unpublished (draft, closed) needs leave the need index like deleted ones.
    docs.gone_needs = sorted(set(_gone(final, EntityKind.NEED, found)) | found - set(docs.need_ids))
    return docs


def encode_pending(encoder: Encoder, docs: PendingDocs) -> EncodedDocs:
    """Encode a round's documents (no transaction, no lock: this is the slow part)."""
    dim = encoder.dim
    empty = np.zeros((0, dim), dtype=np.float32)
    return EncodedDocs(
        docs,
        encoder.encode_documents(docs.chunk_texts) if docs.chunk_texts else empty,
        encoder.encode_documents(docs.need_texts) if docs.need_texts else empty,
        # Stored need query vectors are encoded here, not per request: passage precision.
        many_query_vectors(passage_encoder(encoder), docs.need_texts),
    )


def apply_encoded(indexes: EngineIndexes, encoded: EncodedDocs, ctx: QueryContext) -> int:
    """Put a round into the indexes (callers hold the engine lock); returns changes applied."""
    docs = encoded.docs
    remove_patents(indexes, docs.gone_patents)
    ids = docs.patent_ids
    if ids:
        # Every old chunk goes first: a patent's chunk count may shrink.
        indexes.patent_vectors.delete(all_chunk_keys([i for i in ids if i in indexes.patent_ids]))
        keys = np.asarray(docs.chunk_keys, dtype=np.int64)
        indexes.patent_vectors.upsert(keys, encoded.chunk_vectors)
        indexes.patent_lexical.upsert(ids, docs.patent_texts)
        indexes.patent_ipc.upsert(ids, docs.patent_ipc)
        indexes.patent_ids.update(ids)
    if ids or docs.gone_patents:
        refresh_moments(indexes)
    remove_needs(indexes, docs.gone_needs)
    if docs.need_ids:
        # Patents went in first, so the neighbours' IPC votes are current.
        pairs = zip(docs.need_texts, encoded.need_queries, strict=True)
        inferred = [infer_subclasses(indexes, text, query, ctx) for text, query in pairs]
        need_keys = np.asarray(docs.need_ids, dtype=np.int64)
        indexes.need_vectors.upsert(need_keys, encoded.need_vectors)
        indexes.need_ipc.upsert(docs.need_ids, inferred)
        indexes.need_queries.update(zip(docs.need_ids, encoded.need_queries, strict=True))
        indexes.need_ids.update(docs.need_ids)
    _track_gaps(indexes, docs.change_ids, time.monotonic())
    indexes.last_change_id = max(indexes.last_change_id, *docs.change_ids)
    indexes.changed()
    return len(docs.change_ids)


def _track_gaps(indexes: EngineIndexes, seen: set[int], now: float) -> None:
    """Remember ids skipped over, and forget those that turned up or waited too long.

    On PostgreSQL an id is handed out at insert but becomes visible at commit, so a lower id
    can appear after a higher one; a rolled-back write leaves a hole that never fills.
    """
    for gap in [g for g, since in indexes.gaps.items() if g in seen or now - since > GAP_TIMEOUT_S]:
        del indexes.gaps[gap]
    top = max(seen, default=indexes.last_change_id)
    holes = [i for i in range(indexes.last_change_id + 1, top) if i not in seen]
    for hole in holes[-MAX_GAPS:]:
        indexes.gaps.setdefault(hole, now)
