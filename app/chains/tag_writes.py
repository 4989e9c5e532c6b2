"""Writing computed tags: a diff against the stored ones that keeps people's decisions.

A computed tag that is stored gets its score and reasons refreshed (whatever its status); one
that is not stored is added as ``auto``; a stored ``auto`` tag the evidence no longer supports
is dropped, while ``confirmed`` and ``removed`` tags stay as decided.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.catalog.models import Patent, TechNeed
from app.chains.models import ChainNode, ChainTag, TagEntity, TagStatus
from app.chains.rules import NodeRule
from app.chains.tag_scan import Desired, TagKey
from app.types import utcnow


@dataclass
class TagCounts:
    """Tags added, refreshed and dropped by a round."""

    added: int = 0
    updated: int = 0
    dropped: int = 0


def _key(tag: ChainTag) -> TagKey:
    return (tag.node_id, TagEntity(tag.entity), tag.entity_id)


def apply_diff(
    session: Session, stored: Iterable[ChainTag], desired: Desired, chain_of: dict[int, int],
    counts: TagCounts,
) -> None:  # fmt: skip
    """Bring ``stored`` (every stored tag within the recomputed scope) in line with ``desired``."""
    seen: set[TagKey] = set()
    now = utcnow()
    for tag in stored:
        key = _key(tag)
        want = desired.get(key)
        if want is None:
            if tag.status is TagStatus.AUTO:
                session.delete(tag)
                counts.dropped += 1
            continue
        seen.add(key)
        if (tag.score, tag.reasons) != (want[0], want[1]):
            tag.score, tag.reasons, tag.updated_at = want[0], want[1], now
            session.add(tag)
            counts.updated += 1
    for key, (score, why) in desired.items():
        if key in seen or key[0] not in chain_of:  # node deleted since the round read it
            continue
        node_id, entity, entity_id = key
        session.add(
            ChainTag(
                node_id=node_id, chain_id=chain_of[node_id], entity=entity,
                entity_id=entity_id, score=score, reasons=why,
            )
        )  # fmt: skip
        counts.added += 1


def _live_nodes(session: Session, ids: Iterable[int]) -> dict[int, int]:
    """node id → chain id, for the nodes among ``ids`` that still exist."""
    stmt = select(ChainNode.id, ChainNode.chain_id).where(col(ChainNode.id).in_(list(ids)))
    return {nid: cid for nid, cid in session.exec(stmt) if nid is not None}


def write_node_tags(
    db: Engine, rules: Sequence[NodeRule], hashes: dict[int, str], desired: Desired,
    counts: TagCounts,
) -> None:  # fmt: skip
    """Replace the tags of each recomputed node (one transaction per node)."""
    for rule in rules:
        mine = {k: v for k, v in desired.items() if k[0] == rule.node_id}
        with Session(db) as session:
            node = session.get(ChainNode, rule.node_id)
            if node is None:
                continue
            stored = session.exec(select(ChainTag).where(ChainTag.node_id == rule.node_id))
            apply_diff(session, list(stored), mine, {rule.node_id: rule.chain_id}, counts)
            # The hash the tags were computed for: an edit made meanwhile re-tags next round.
            node.tagged_hash = hashes[rule.node_id]
            session.add(node)
            session.commit()


def _existing(session: Session, entity: TagEntity, ids: set[int]) -> set[int]:
    model: type[Patent] | type[TechNeed] = Patent if entity is TagEntity.PATENT else TechNeed
    stmt = select(model.id).where(col(model.id).in_(list(ids)))
    return {int(i) for i in session.exec(stmt) if i is not None}


def write_entity_tags(
    db: Engine, rules: Sequence[NodeRule], patents: set[int], needs: set[int],
    desired: Desired, counts: TagCounts,
) -> None:  # fmt: skip
    """Replace the tags of changed patents and needs on the nodes of ``rules``; deleted
    patents and needs lose every tag."""
    with Session(db) as session:
        chain_of = _live_nodes(session, (r.node_id for r in rules))
        for entity, ids in ((TagEntity.PATENT, patents), (TagEntity.NEED, needs)):
            if not ids:
                continue
            gone = ids - _existing(session, entity, ids)
            if gone:
                session.execute(
                    sa.delete(ChainTag).where(
                        col(ChainTag.entity) == entity, col(ChainTag.entity_id).in_(list(gone))
                    )
                )
            stored = session.exec(
                select(ChainTag).where(
                    col(ChainTag.entity) == entity,
                    col(ChainTag.entity_id).in_(list(ids - gone)),
                    col(ChainTag.node_id).in_(list(chain_of)),
                )
            )
            mine = {k: v for k, v in desired.items() if k[1] is entity}
            apply_diff(session, list(stored), mine, chain_of, counts)
        session.commit()
