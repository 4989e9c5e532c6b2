"""Chains in the database: upsert by key (idempotent), export, listing with node counts."""

import hashlib
import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.chains.models import ChainNode, ChainTag, IndustryChain
from app.chains.spec import ChainSpec, NodeSpec
from app.types import utcnow


@dataclass
class UpsertResult:
    """What loading one chain did."""

    chain: IndustryChain
    created: bool = False
    changed_nodes: list[str] = field(default_factory=list)
    removed_nodes: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """``created``, ``updated`` or ``unchanged``."""
        if self.created:
            return "created"
        return "updated" if self.changed_nodes or self.removed_nodes else "unchanged"


def node_hash(spec: NodeSpec, owner_region: str) -> str:
    """Hash of what decides a node's tags (the chain's region too: needs are tagged by it)."""
    data = [spec.name, spec.description, spec.ipc, spec.industry, spec.phrases, owner_region]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def _apply_chain(chain: IndustryChain, spec: ChainSpec) -> bool:
    """Copy the chain's own fields; True when one changed."""
    changed = False
    for name in ("name", "owner_region", "description", "illustrative"):
        if getattr(chain, name) != getattr(spec, name):
            setattr(chain, name, getattr(spec, name))
            changed = True
    return changed


def _apply_node(node: ChainNode, spec: NodeSpec, order: int, digest: str) -> bool:
    """Copy a node's fields; True when one changed."""
    values = {
        "name": spec.name, "position": spec.position, "description": spec.description,
        "ipc_prefixes": spec.ipc, "industry_codes": spec.industry, "key_phrases": spec.phrases,
        "sort_order": order, "content_hash": digest,
    }  # fmt: skip
    changed = False
    for name, value in values.items():
        if getattr(node, name) != value:
            setattr(node, name, value)
            changed = True
    return changed


def chain_nodes(session: Session, chain_id: int) -> list[ChainNode]:
    """A chain's nodes in their file order."""
    stmt = (
        select(ChainNode)
        .where(ChainNode.chain_id == chain_id)
        .order_by(col(ChainNode.sort_order), col(ChainNode.id))
    )
    return list(session.exec(stmt))


def upsert_chain(session: Session, spec: ChainSpec) -> UpsertResult:
    """Create or update the chain keyed ``spec.key`` and its nodes (flush, never commit).

    Nodes missing from ``spec`` are deleted with their tags; a node whose defining fields
    changed keeps its tags until the tagger recomputes it (its ``content_hash`` moved on).
    """
    chain = session.exec(select(IndustryChain).where(IndustryChain.key == spec.key)).first()
    result = UpsertResult(chain or IndustryChain(key=spec.key, name=spec.name, owner_region=""))
    result.created = chain is None
    chain = result.chain
    if _apply_chain(chain, spec) and not result.created:
        result.changed_nodes.append("(chain)")
    session.add(chain)
    session.flush()
    assert chain.id is not None
    existing = {node.key: node for node in chain_nodes(session, chain.id)}
    for order, node_spec in enumerate(spec.nodes):
        node = existing.pop(node_spec.key, None) or ChainNode(
            chain_id=chain.id, key=node_spec.key, name=node_spec.name, position=node_spec.position
        )
        if _apply_node(node, node_spec, order, node_hash(node_spec, spec.owner_region)):
            result.changed_nodes.append(node_spec.key)
        session.add(node)
    for gone in existing.values():
        delete_node(session, gone)
        result.removed_nodes.append(gone.key)
    if result.outcome != "unchanged":
        chain.updated_at = utcnow()
    session.flush()
    return result


def delete_node(session: Session, node: ChainNode) -> None:
    """Delete a node and every tag on it."""
    session.execute(sa.delete(ChainTag).where(col(ChainTag.node_id) == node.id))
    session.delete(node)


def delete_chain(session: Session, chain: IndustryChain) -> None:
    """Delete a chain, its nodes and their tags (flush, never commit)."""
    assert chain.id is not None
    session.execute(sa.delete(ChainTag).where(col(ChainTag.chain_id) == chain.id))
    session.execute(sa.delete(ChainNode).where(col(ChainNode.chain_id) == chain.id))
    session.delete(chain)
    session.flush()


def export_chain(session: Session, chain: IndustryChain) -> dict[str, object]:
    """The chain in the file format (``load`` of it gives the same chain back)."""
    assert chain.id is not None
    nodes = [
        {
            "key": n.key, "name": n.name, "position": n.position.value,
            "description": n.description, "ipc": n.ipc_prefixes,
            "industry": n.industry_codes, "phrases": n.key_phrases,
        }
        for n in chain_nodes(session, chain.id)
    ]  # fmt: skip
    return {
        "key": chain.key, "name": chain.name, "owner_region": chain.owner_region,
        "description": chain.description, "illustrative": chain.illustrative, "nodes": nodes,
    }  # fmt: skip


def node_counts(session: Session, chain_ids: list[int]) -> dict[int, int]:
    """How many nodes each chain has."""
    stmt = (
        select(ChainNode.chain_id, func.count())
        .where(col(ChainNode.chain_id).in_(chain_ids))
        .group_by(col(ChainNode.chain_id))
    )
    return {int(cid): int(n) for cid, n in session.exec(stmt)}
