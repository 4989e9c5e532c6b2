"""The tagger: tags every patent and need to chain nodes, incrementally, off the request path.

A round (``tag_round``) reads in short transactions and writes one transaction per node or
batch of changed entities; the encoder (node descriptions, for text similarity) runs with no
transaction open. What it recomputes:
- nodes whose definition changed since their tags were computed (``content_hash`` ≠
  ``tagged_hash``): against every patent and need;
- patents and needs named in the catalog's change log since the tagger's cursor: against
  every node (deleted ones lose their tags).
Similarity hits are a node's ``chain_tag_similar_k`` nearest documents in the match engine's
indexes, so the cursor never passes the changes the engine has indexed. Tags a person
confirmed or removed keep their status: a removed tag stays removed, a confirmed one stays.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from app.catalog.enums import EntityKind
from app.catalog.models import IndexChange, Patent
from app.chains.models import ChainNode, ChainTaggerState, TagEntity
from app.chains.rules import NodeRule
from app.chains.tag_scan import (
    Desired,
    Similar,
    desire_needs,
    desire_patents,
    need_rows,
    patent_rows,
    read_rules,
)
from app.chains.tag_writes import TagCounts, write_entity_tags, write_node_tags
from app.search.nearest import Near
from app.settings import Settings

Progress = Callable[[str, int, int], None]


class Neighbours(Protocol):
    """Nearest documents of texts (``MatchEngine`` is one)."""

    def nearest(self, texts: list[str], k: int, *, needs: bool = False) -> list[list[Near]]:
        """Per text: its ``k`` nearest patents or needs."""
        ...

    def stats(self) -> dict[str, object]:
        """What the indexes hold, ``last_change_id`` among it."""
        ...


@dataclass
class Changed:
    """Entities named in the change log between the cursor and ``upto``."""

    upto: int
    patents: set[int]
    needs: set[int]


@dataclass
class TagReport:
    """What a round did."""

    nodes: int
    patents: int
    needs: int
    counts: TagCounts
    last_change_id: int


def _cursor(session: Session) -> ChainTaggerState:
    state = session.get(ChainTaggerState, 1)
    return state or ChainTaggerState(id=1, last_change_id=0)


def _changed(session: Session, after: int, upper: int, limit: int | None) -> Changed:
    stmt = (
        select(IndexChange.id, IndexChange.entity, IndexChange.entity_id)
        .where(col(IndexChange.id) > after, col(IndexChange.id) <= upper)
        .order_by(col(IndexChange.id))
        .limit(limit)
    )
    found = Changed(after, set(), set())
    for change_id, entity, entity_id in session.exec(stmt):
        found.upto = change_id or found.upto
        (found.patents if entity == EntityKind.PATENT else found.needs).add(int(entity_id))
    return found


def _similar(
    neighbours: Neighbours | None, rules: Sequence[NodeRule], settings: Settings
) -> Similar:
    """The nearest patents and needs of each node's description (encodes: no transaction)."""
    found = Similar()
    if neighbours is None or not rules:
        return found
    texts = [rule.text for rule in rules]
    k = settings.chain_tag_similar_k
    for entity in (TagEntity.PATENT, TagEntity.NEED):
        lists = neighbours.nearest(texts, k, needs=entity is TagEntity.NEED)
        for rule, hits in zip(rules, lists, strict=True):
            found.hits[(rule.node_id, entity)] = {hit.id: hit for hit in hits}
    return found


def _scan(
    db: Engine, rules: Sequence[NodeRule], similar: Similar, settings: Settings,
    ids: Changed | None, progress: Progress | None,
) -> Desired:  # fmt: skip
    """Desired tags between ``rules`` and every patent and need (or those of ``ids``)."""
    desired: Desired = {}
    min_z = settings.chain_tag_min_z
    with Session(db) as session:
        total = len(ids.patents) if ids else _patent_total(session)
        done = 0
        for batch in patent_rows(session, sorted(ids.patents) if ids else None):
            desire_patents(batch, rules, similar, min_z, desired)
            done += len(batch)
            if progress:
                progress("tagging patents", done, total)
        for need_batch in need_rows(session, sorted(ids.needs) if ids else None):
            desire_needs(need_batch, rules, similar, min_z, desired)
    return desired


def _patent_total(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Patent)).one())


def tag_round(
    db: Engine,
    settings: Settings,
    neighbours: Neighbours | None = None,
    *,
    progress: Progress | None = None,
) -> TagReport:
    """One round: re-tag the changed nodes, then the changed patents and needs."""
    with Session(db) as session:
        rules = read_rules(session)
        state = _cursor(session)
        upper = _upper(session, neighbours)
        if not rules.rules:
            session.close()
            return _without_chains(db, state.last_change_id, upper)
        # When every node is recomputed this round, that covers the whole log up to `upper`:
        # only deletions are left to apply, so the log is read to the end, not a batch.
        every = all(r.node_id in rules.dirty for r in rules.rules)
        limit = None if every else settings.chain_tag_batch
        changed = _changed(session, state.last_change_id, upper, limit)
    dirty = [r for r in rules.rules if r.node_id in rules.dirty]
    # Recomputed nodes see every row as it is now: the entity pass is for the other nodes
    # (and drops every tag of a deleted patent or need, decided ones included).
    clean = [r for r in rules.rules if r.node_id not in rules.dirty]
    entities = bool(changed.patents or changed.needs)
    counts = TagCounts()
    similar = _similar(neighbours, (clean if entities else []) + dirty, settings)
    if dirty:
        desired = _scan(db, dirty, similar, settings, None, progress)
        write_node_tags(db, dirty, rules.dirty, desired, counts)
    if entities:
        desired = _scan(db, clean, similar, settings, changed, None) if clean else {}
        write_entity_tags(db, clean, changed.patents, changed.needs, desired, counts)
    if changed.upto > state.last_change_id:
        _advance(db, changed.upto)
    return TagReport(len(dirty), len(changed.patents), len(changed.needs), counts, changed.upto)


def _without_chains(db: Engine, cursor: int, upper: int) -> TagReport:
    """No chain node exists, so no tag does: move the cursor past the log without reading it.

    Reading the whole log and rewriting every entity's (empty) tags held the SQLite writer for
    seconds at a time after a demo load, and other writers timed out.
    """
    if upper > cursor:
        _advance(db, upper)
    return TagReport(0, 0, 0, TagCounts(), max(upper, cursor))


def _upper(session: Session, neighbours: Neighbours | None) -> int:
    """The newest change to read: the engine's last indexed one when similarity is on."""
    newest = int(session.exec(select(func.max(IndexChange.id))).one() or 0)
    if neighbours is None:
        return newest
    indexed = neighbours.stats().get("last_change_id", 0)
    return min(newest, int(indexed) if isinstance(indexed, int) else 0)


def _advance(db: Engine, upto: int) -> None:
    with Session(db) as session:
        state = _cursor(session)
        state.last_change_id = max(state.last_change_id, upto)
        session.add(state)
        session.commit()


def tag_until_done(
    db: Engine, settings: Settings, neighbours: Neighbours | None, progress: Progress | None
) -> list[TagReport]:
    """Rounds until no node is stale and the cursor has caught up (``chains tag``)."""
    reports = []
    while True:
        report = tag_round(db, settings, neighbours, progress=progress)
        reports.append(report)
        if not (report.nodes or report.patents or report.needs):
            return reports


def retag_everything(db: Engine) -> int:
    """Mark every node stale, so the next round recomputes all tags; returns how many."""
    with Session(db) as session:
        nodes = list(session.exec(select(ChainNode)))
        for node in nodes:
            node.tagged_hash = ""
            session.add(node)
        session.commit()
    return len(nodes)
