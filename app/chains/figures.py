"""What the key figures need of chains: each patent's chains (or nodes), and their labels.

``app.deals.figures`` groups by them (``group_by=chain`` / ``chain_node``): a patent tagged to
two chains counts in both, so the chain rows do not add up to the platform's total.
"""

from collections import defaultdict
from typing import Any, Protocol

from sqlmodel import Session, col, select

from app.chains.models import ChainNode, ChainTag, IndustryChain, TagEntity, TagStatus

CHAIN_GROUPS = frozenset({"chain", "chain_node"})


class Labelled(Protocol):
    """A figure row: its key and label."""

    key: str
    label: str | None


def patent_chain_keys(session: Session, *, by_node: bool) -> dict[int, list[str]]:
    """Patent id → the ids (as text) of the chains, or nodes, it is tagged to (not removed)."""
    column: Any = col(ChainTag.node_id) if by_node else col(ChainTag.chain_id)
    stmt = (
        select(ChainTag.entity_id, column)
        .where(col(ChainTag.entity) == TagEntity.PATENT, col(ChainTag.status) != TagStatus.REMOVED)
        .distinct()
    )
    keys: dict[int, list[str]] = defaultdict(list)
    for patent_id, owner in session.exec(stmt):
        keys[int(patent_id)].append(str(owner))
    return keys


def chain_labels(session: Session, rows: dict[str, Any], *, by_node: bool) -> None:
    """Label chain rows with the chain's name, node rows with "chain · node"."""
    if by_node:
        stmt: Any = select(ChainNode.id, IndustryChain.name, ChainNode.name).join(
            IndustryChain, col(IndustryChain.id) == col(ChainNode.chain_id)
        )
        names = {str(i): f"{chain} · {node}" for i, chain, node in session.exec(stmt)}
    else:
        stmt = select(IndustryChain.id, IndustryChain.name)
        names = {str(i): name for i, name in session.exec(stmt)}
    for key, row in rows.items():
        row.label = names.get(key)
