"""Chain tables: a chain of a region, its nodes, the tags of patents and needs, the tagger state."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.catalog.models import enum_type, json_list
from app.types import utcnow


class NodePosition(StrEnum):
    """Where a node sits in its chain."""

    UPSTREAM = "upstream"  # 上游
    MIDSTREAM = "midstream"  # 中游
    DOWNSTREAM = "downstream"  # 下游


class TagEntity(StrEnum):
    """What a tag attaches to a node."""

    PATENT = "patent"
    NEED = "need"


class TagStatus(StrEnum):
    """A tag as computed, or as a person decided it (decisions survive recomputation)."""

    AUTO = "auto"
    CONFIRMED = "confirmed"
    REMOVED = "removed"


class IndustryChain(SQLModel, table=True):
    """A key industry chain (重点产业链) of a region, loaded from a chain file by its key."""

    __tablename__ = "industry_chain"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=200)
    # GB/T 2260 prefix of the region that runs the chain (2, 4 or 6 digits).
    owner_region: str = Field(max_length=6, index=True)
    description: str = Field(default="", sa_type=sa.Text())
    # Nodes or codes guessed by us rather than taken from the region's own documents.
    illustrative: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class ChainNode(SQLModel, table=True):
    """A node of a chain and what defines it: IPC prefixes, GB/T 4754 classes, key phrases."""

    __tablename__ = "chain_node"
    __table_args__ = (sa.UniqueConstraint("chain_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    chain_id: int = Field(foreign_key="industry_chain.id", index=True)
    key: str = Field(max_length=80)
    name: str = Field(max_length=200)
    position: NodePosition = Field(sa_type=enum_type(NodePosition))
    description: str = Field(default="", sa_type=sa.Text())
    ipc_prefixes: list[str] = Field(default_factory=list, sa_type=json_list())
    industry_codes: list[str] = Field(default_factory=list, sa_type=json_list())
    key_phrases: list[str] = Field(default_factory=list, sa_type=json_list())
    sort_order: int = 0
    # Hash of the defining fields; the tagger recomputes a node whose tags were computed
    # for another hash (``tagged_hash``), so a chain edit re-tags only the nodes it changed.
    content_hash: str = Field(default="", max_length=64)
    tagged_hash: str = Field(default="", max_length=64)


class ChainTag(SQLModel, table=True):
    """A patent or need tagged to a node, with its score and the evidence for it."""

    __tablename__ = "chain_tag"
    __table_args__ = (sa.UniqueConstraint("node_id", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    node_id: int = Field(foreign_key="chain_node.id", index=True)
    # The node's chain, repeated so that per-chain reads need no join.
    chain_id: int = Field(foreign_key="industry_chain.id", index=True)
    entity: TagEntity = Field(sa_type=enum_type(TagEntity))
    entity_id: int = Field(index=True)
    score: float = 0.0
    # [{"kind": "ipc" | "industry" | "phrase" | "similar", "detail": "..."}]
    reasons: list[dict[str, str]] = Field(default_factory=list, sa_type=sa.JSON())
    status: TagStatus = Field(default=TagStatus.AUTO, sa_type=enum_type(TagStatus), index=True)
    decided_by_key_id: int | None = None
    decided_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class ChainTaggerState(SQLModel, table=True):
    """How far the tagger has read the catalog's change log (one row)."""

    __tablename__ = "chain_tagger_state"

    id: int | None = Field(default=None, primary_key=True)
    last_change_id: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
