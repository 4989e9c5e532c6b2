"""What the tagger reads: node rules, catalog rows as plain values, and their evidence."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.catalog.models import Organisation, Patent, TechNeed
from app.chains.models import ChainNode, IndustryChain, TagEntity
from app.chains.rules import (
    Evidence,
    NodeRule,
    combine,
    compact_code,
    fold,
    need_evidence,
    patent_evidence,
    reasons,
    similar_evidence,
)
from app.search.nearest import Near

SCAN_BATCH = 2000
# (node id, entity, entity id)
TagKey = tuple[int, TagEntity, int]
Desired = dict[TagKey, tuple[float, list[dict[str, str]]]]


@dataclass
class Rules:
    """Every node's rule, and the nodes whose tags were computed for an older definition."""

    rules: list[NodeRule] = field(default_factory=list)
    # node id → the content hash its tags are about to be computed for
    dirty: dict[int, str] = field(default_factory=dict)


@dataclass
class Similar:
    """Text-similarity hits per (node id, entity): entity id → hit."""

    hits: dict[tuple[int, TagEntity], dict[int, Near]] = field(default_factory=dict)

    def of(self, node_id: int, entity: TagEntity, entity_id: int) -> Near | None:
        """The hit of an entity for a node, if it was among the node's nearest."""
        return self.hits.get((node_id, entity), {}).get(entity_id)


def read_rules(session: Session) -> Rules:
    """The rules of every node of every chain."""
    stmt = select(ChainNode, IndustryChain.owner_region).join(
        IndustryChain, col(IndustryChain.id) == col(ChainNode.chain_id)
    )
    out = Rules()
    for node, region in session.exec(stmt):
        out.rules.append(NodeRule.of(node, region))
        if node.tagged_hash != node.content_hash:
            assert node.id is not None
            out.dirty[node.id] = node.content_hash
    return out


@dataclass(frozen=True)
class PatentRow:
    """What tagging reads of a patent."""

    id: int
    ipc_codes: list[str]
    compact: list[str]  # ``compact_code`` of each
    folded: str  # title and abstract, ``fold``-ed once for every node


@dataclass(frozen=True)
class NeedRow:
    """What tagging reads of a need: its class, region (or its organisation's) and text."""

    id: int
    industry_code: str | None
    region: str | None
    folded: str


def patent_rows(session: Session, ids: Sequence[int] | None = None) -> Iterator[list[PatentRow]]:
    """Patents in id order, a batch at a time (all of them, or those of ``ids``)."""
    after = 0
    while True:
        stmt = select(Patent.id, Patent.ipc_codes, Patent.title, Patent.abstract).where(
            col(Patent.id) > after
        )
        if ids is not None:
            stmt = stmt.where(col(Patent.id).in_(list(ids)))
        batch = [
            PatentRow(
                pid or 0,
                list(codes or []),
                [compact_code(c) for c in codes or []],
                fold(f"{title}\n{abstract or ''}"),
            )
            for pid, codes, title, abstract in session.exec(
                stmt.order_by(col(Patent.id)).limit(SCAN_BATCH)
            )
        ]
        if not batch:
            return
        yield batch
        after = batch[-1].id


def need_rows(session: Session, ids: Sequence[int] | None = None) -> Iterator[list[NeedRow]]:
    """Needs in id order, a batch at a time, with their organisation's region as fallback."""
    after = 0
    while True:
        stmt = (
            select(TechNeed, Organisation.region)
            .join(Organisation, col(Organisation.id) == col(TechNeed.org_id), isouter=True)
            .where(col(TechNeed.id) > after)
        )
        if ids is not None:
            stmt = stmt.where(col(TechNeed.id).in_(list(ids)))
        batch = [
            NeedRow(
                int(need.id), need.industry_code, need.region or region,
                fold(f"{need.title}\n{need.description}"),
            )
            for need, region in session.exec(stmt.order_by(col(TechNeed.id)).limit(SCAN_BATCH))
            if need.id is not None
        ]  # fmt: skip
        if not batch:
            return
        yield batch
        after = batch[-1].id


def _with_similar(
    found: list[Evidence] | None, hit: Near | None, min_z: float
) -> list[Evidence] | None:
    if hit is not None and hit.z >= min_z and found is not None:
        return [*found, similar_evidence(hit.cosine, hit.z, min_z)]
    return found


def desire_patents(
    rows: list[PatentRow], rules: Sequence[NodeRule], similar: Similar, min_z: float,
    desired: Desired,
) -> None:  # fmt: skip
    """Add the tags the evidence asks for between ``rows`` and ``rules``."""
    for row in rows:
        for rule in rules:
            hit = similar.of(rule.node_id, TagEntity.PATENT, row.id)
            found = _with_similar(
                patent_evidence(rule, row.ipc_codes, row.compact, row.folded), hit, min_z
            )
            if found:
                key = (rule.node_id, TagEntity.PATENT, row.id)
                desired[key] = (combine(found), reasons(found))


def desire_needs(
    rows: list[NeedRow], rules: Sequence[NodeRule], similar: Similar, min_z: float,
    desired: Desired,
) -> None:  # fmt: skip
    """Add the tags the evidence asks for between need ``rows`` and ``rules``."""
    for row in rows:
        for rule in rules:
            hit = similar.of(rule.node_id, TagEntity.NEED, row.id)
            found = need_evidence(rule, row.industry_code, row.region, row.folded)
            found = _with_similar(found, hit, min_z)
            if found:
                key = (rule.node_id, TagEntity.NEED, row.id)
                desired[key] = (combine(found), reasons(found))
