"""Response shapes of chains, nodes and tags."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.chains.models import NodePosition, TagEntity, TagStatus


class TagCountsOut(BaseModel):
    """Tagged patents and needs (removed tags not counted)."""

    patents: int = 0
    needs: int = 0


class ChainSummary(BaseModel):
    """A chain in a listing."""

    id: int
    key: str
    name: str
    owner_region: str = Field(description="GB/T 2260 prefix of the region running the chain")
    illustrative: bool
    nodes: int = Field(description="how many nodes")
    patents: int = Field(description="patents tagged to any node")
    needs: int = Field(description="needs tagged to any node")


class NodeOut(BaseModel):
    """A node and what defines it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str
    position: NodePosition
    description: str
    ipc_prefixes: list[str]
    industry_codes: list[str]
    key_phrases: list[str]
    tags: TagCountsOut = Field(default_factory=TagCountsOut)


class ChainOut(BaseModel):
    """A chain with its nodes in order."""

    id: int
    key: str
    name: str
    owner_region: str
    description: str
    illustrative: bool
    updated_at: datetime
    nodes: list[NodeOut]


class TagOut(BaseModel):
    """A patent or need on a node, with its score and the evidence."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    chain_id: int
    node_id: int
    entity: TagEntity
    entity_id: int
    score: float
    reasons: list[dict[str, str]]
    status: TagStatus
    decided_at: datetime | None = None


class TagDecision(BaseModel):
    """A person's decision on a tag: keep it whatever the tagger says, or keep it off."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["confirmed", "removed", "auto"] = Field(
        description="confirmed / removed survive recomputation; auto hands it back to the tagger"
    )
