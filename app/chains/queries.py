"""Reading chains: listings with counts, one chain with its nodes, tagged ids for views."""

from collections import defaultdict
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.chains.models import ChainNode, ChainTag, IndustryChain, TagEntity, TagStatus
from app.chains.schemas import ChainOut, ChainSummary, NodeOut, TagCountsOut
from app.chains.store import chain_nodes, node_counts
from app.errors import NotFound


def all_chains(session: Session, scope: str | None = None) -> list[IndustryChain]:
    """Chains by region and key; ``scope`` (a GB/T 2260 prefix) keeps that region's only."""
    stmt = select(IndustryChain).order_by(col(IndustryChain.owner_region), col(IndustryChain.key))
    if scope:
        stmt = stmt.where(col(IndustryChain.owner_region).startswith(scope))
    return list(session.exec(stmt))


def chain_by_key(session: Session, key: str) -> IndustryChain | None:
    """The chain loaded under ``key``, if any."""
    return session.exec(select(IndustryChain).where(IndustryChain.key == key)).first()


def resolve_chain(session: Session, ref: str) -> IndustryChain:
    """A chain by id or key (NotFound)."""
    chain = session.get(IndustryChain, int(ref)) if ref.isdigit() else None
    chain = chain or chain_by_key(session, ref)
    if chain is None:
        raise NotFound(f"chain {ref} does not exist")
    return chain


def _live() -> Any:
    return col(ChainTag.status) != TagStatus.REMOVED


def _counts(session: Session, column: Any, ids: list[int]) -> dict[int, TagCountsOut]:
    """Distinct tagged patents and needs per ``column`` value (chain or node id)."""
    stmt = (
        select(column, ChainTag.entity, func.count(func.distinct(ChainTag.entity_id)))
        .where(column.in_(ids), _live())
        .group_by(column, col(ChainTag.entity))
    )
    out: dict[int, TagCountsOut] = defaultdict(TagCountsOut)
    for owner, entity, count in session.exec(stmt):
        counts = out[int(owner)]
        if entity == TagEntity.PATENT:
            counts.patents = int(count)
        else:
            counts.needs = int(count)
    return out


def node_tag_counts(session: Session, chain_ids: list[int]) -> dict[int, TagCountsOut]:
    """Tag counts per node id of the given chains."""
    node_ids = select(ChainNode.id).where(col(ChainNode.chain_id).in_(chain_ids))
    return _counts(session, col(ChainTag.node_id), [int(i) for i in session.exec(node_ids) if i])


def chain_summaries(session: Session, scope: str | None) -> list[ChainSummary]:
    """Every chain (of ``scope``) with its node and tag counts."""
    chains = all_chains(session, scope)
    ids = [c.id for c in chains if c.id is not None]
    nodes = node_counts(session, ids)
    tags = _counts(session, col(ChainTag.chain_id), ids)
    return [
        ChainSummary(
            id=c.id or 0, key=c.key, name=c.name, owner_region=c.owner_region,
            illustrative=c.illustrative, nodes=nodes.get(c.id or 0, 0),
            patents=tags[c.id or 0].patents, needs=tags[c.id or 0].needs,
        )
        for c in chains
    ]  # fmt: skip


def chain_view(session: Session, chain: IndustryChain) -> ChainOut:
    """A chain with its nodes and their tag counts."""
    assert chain.id is not None
    counts = node_tag_counts(session, [chain.id])
    nodes = []
    for node in chain_nodes(session, chain.id):
        out = NodeOut.model_validate(node)
        out.tags = counts.get(node.id or 0, TagCountsOut())
        nodes.append(out)
    return ChainOut(
        id=chain.id, key=chain.key, name=chain.name, owner_region=chain.owner_region,
        description=chain.description, illustrative=chain.illustrative,
        updated_at=chain.updated_at, nodes=nodes,
    )  # fmt: skip


def node_of(session: Session, chain: IndustryChain, node_id: int | None) -> ChainNode | None:
    """The chain's node ``node_id`` (NotFound when it is another chain's); None for none."""
    if node_id is None:
        return None
    node = session.get(ChainNode, node_id)
    if node is None or node.chain_id != chain.id:
        raise NotFound(f"node {node_id} is not a node of chain {chain.id}")
    return node


def tagged_ids(chain_id: int, entity: TagEntity, node_id: int | None = None) -> Any:
    """A subquery: ids of the entities tagged to the chain (or one node), removed tags not."""
    stmt = select(ChainTag.entity_id).where(
        col(ChainTag.chain_id) == chain_id, col(ChainTag.entity) == entity, _live()
    )
    if node_id is not None:
        stmt = stmt.where(col(ChainTag.node_id) == node_id)
    return stmt
