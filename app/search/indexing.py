"""Filling the engine's indexes from the database: full rebuild and replay of the change log.

Patents are indexed whatever their legal status (filters decide visibility per query); needs are
indexed only while published, since only published needs may be matched.
"""

from collections.abc import Callable, Iterator, Sequence

import numpy as np
from sqlmodel import Session, col, select

from app.catalog.changes import changes_since, last_change_id
from app.catalog.enums import ChangeOp, EntityKind, NeedStatus
from app.catalog.models import IndexChange, Patent, TechNeed
from app.search.documents import all_chunk_keys, need_text, patent_chunks, patent_text
from app.search.encoder import Encoder
from app.search.store import EngineIndexes

# (stage, done, total) → None; stage is "patents" or "needs".
Progress = Callable[[str, int, int], None]
# Rows read and encoded per round of a rebuild: bounds memory, paces progress reports.
REBUILD_BATCH = 2_000


def _batches(session: Session, model: type[Patent] | type[TechNeed]) -> Iterator[list[int]]:
    """Ids of a table (published only, for needs), in id order, in batches."""
    stmt = select(model.id).order_by(col(model.id))
    if model is TechNeed:
        stmt = stmt.where(col(TechNeed.status) == NeedStatus.PUBLISHED)
    ids = [int(i) for i in session.exec(stmt) if i is not None]
    for start in range(0, len(ids), REBUILD_BATCH):
        yield ids[start : start + REBUILD_BATCH]


def load_patents(session: Session, ids: Sequence[int]) -> list[Patent]:
    """Patent rows of ``ids`` (missing ones are left out), ordered by id."""
    if not ids:
        return []
    stmt = select(Patent).where(col(Patent.id).in_(list(ids))).order_by(col(Patent.id))
    return list(session.exec(stmt))


def load_needs(session: Session, ids: Sequence[int]) -> list[TechNeed]:
    """Need rows of ``ids`` (missing ones are left out), ordered by id."""
    if not ids:
        return []
    stmt = select(TechNeed).where(col(TechNeed.id).in_(list(ids))).order_by(col(TechNeed.id))
    return list(session.exec(stmt))


def index_patents(
    indexes: EngineIndexes, encoder: Encoder, patents: Sequence[Patent], max_chars: int
) -> None:
    """Add or replace ``patents`` (every old chunk is dropped first: the count may shrink)."""
    if not patents:
        return
    ids = [int(p.id) for p in patents if p.id is not None]
    indexes.patent_vectors.delete(all_chunk_keys(ids))
    keys, texts = patent_chunks(patents, max_chars)
    vectors = encoder.encode_documents(texts)
    indexes.patent_vectors.upsert(np.asarray(keys, dtype=np.int64), vectors)
    indexes.patent_lexical.upsert(ids, [patent_text(p) for p in patents])
    indexes.patent_ids.update(ids)


def remove_patents(indexes: EngineIndexes, ids: Sequence[int]) -> None:
    """Drop patents from both patent indexes."""
    if ids:
        indexes.patent_vectors.delete(all_chunk_keys(ids))
        indexes.patent_lexical.delete(ids)
        indexes.patent_ids.difference_update(ids)


def index_needs(indexes: EngineIndexes, encoder: Encoder, needs: Sequence[TechNeed]) -> None:
    """Add published needs, drop the others."""
    published = [n for n in needs if n.id is not None and n.status == NeedStatus.PUBLISHED]
    remove_needs(
        indexes, [n.id for n in needs if n.id is not None and n.status != NeedStatus.PUBLISHED]
    )
    if published:
        ids = np.asarray([n.id for n in published], dtype=np.int64)
        indexes.need_vectors.upsert(ids, encoder.encode_documents([need_text(n) for n in published]))
        indexes.need_ids.update(int(i) for i in ids)


def remove_needs(indexes: EngineIndexes, ids: Sequence[int]) -> None:
    """Drop needs from the need index."""
    if ids:
        indexes.need_vectors.delete(ids)
        indexes.need_ids.difference_update(ids)


def build_all(
    session: Session,
    encoder: Encoder,
    indexes: EngineIndexes,
    max_chars: int,
    progress: Progress | None = None,
) -> None:
    """Fill empty ``indexes`` with every patent and published need of the database."""
    # Read the log position first: a write committed while we read is replayed by the next sync.
    indexes.last_change_id = last_change_id(session)
    for kind, model in (("patents", Patent), ("needs", TechNeed)):
        batches = list(_batches(session, model))
        total = sum(len(b) for b in batches)
        done = 0
        for batch in batches:
            if model is Patent:
                index_patents(indexes, encoder, load_patents(session, batch), max_chars)
            else:
                index_needs(indexes, encoder, load_needs(session, batch))
            done += len(batch)
            if progress is not None:
                progress(kind, done, total)
            session.expunge_all()  # keep memory flat on big catalogs


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


def apply_changes(
    session: Session, encoder: Encoder, indexes: EngineIndexes, max_chars: int
) -> int:
    """Replay changes newer than ``indexes.last_change_id``; returns how many were replayed."""
    changes = changes_since(session, indexes.last_change_id)
    if not changes:
        return 0
    final = latest_ops(changes)
    patents = load_patents(session, sorted(_ids_of(final, EntityKind.PATENT, ChangeOp.UPSERT)))
    found = {p.id for p in patents if p.id is not None}
    remove_patents(indexes, _gone(final, EntityKind.PATENT, found))
    index_patents(indexes, encoder, patents, max_chars)
    needs = load_needs(session, sorted(_ids_of(final, EntityKind.NEED, ChangeOp.UPSERT)))
    found = {n.id for n in needs if n.id is not None}
    remove_needs(indexes, _gone(final, EntityKind.NEED, found))
    index_needs(indexes, encoder, needs)
    last = changes[-1].id
    indexes.last_change_id = int(last) if last is not None else indexes.last_change_id
    return len(changes)
