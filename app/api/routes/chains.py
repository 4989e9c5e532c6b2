"""/api/v1/chains: industry chains (产业链), their nodes, and the tags of patents and needs."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlmodel import col, select

from app.api.deps import PrincipalDep, SessionDep
from app.api.schemas.common import Page, problem_responses
from app.api.writes import commit_and_sync
from app.chains import queries
from app.chains.access import ensure_may_decide, ensure_may_edit, ensure_may_read, read_scope
from app.chains.files import dump
from app.chains.models import ChainTag, IndustryChain, TagEntity, TagStatus
from app.chains.schemas import ChainOut, ChainSummary, TagDecision, TagOut
from app.chains.spec import ChainSpec
from app.chains.store import delete_chain, export_chain, upsert_chain
from app.db import get_or_404
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate_by_id
from app.types import DbId, Line, utcnow

router = APIRouter(prefix="/chains", tags=["chains"])


def readable_chain(session: SessionDep, principal: PrincipalDep, chain_id: int) -> IndustryChain:
    """The chain, or 404; 403 when it is outside the caller's regions."""
    chain = get_or_404(session, IndustryChain, chain_id, "chain")
    ensure_may_read(principal, chain)
    return chain


@router.get(
    "",
    response_model=list[ChainSummary],
    summary="List industry chains",
    description="Chains with their node counts and how many patents and needs are tagged to "
    "them, by region (GB/T 2260 prefix of the region running the chain) and key.",
    responses=problem_responses(401),
)
def list_chains(session: SessionDep, principal: PrincipalDep) -> list[ChainSummary]:
    """The chains the caller reads."""
    return queries.chain_summaries(session, read_scope(principal))


@router.post(
    "",
    response_model=ChainOut,
    summary="Create or update a chain",
    description="The chain file format (one chain) as JSON: upserted by `key`, nodes by their "
    "key; nodes left out are deleted with their tags. Tags follow in the background.",
    responses=problem_responses(401, 403, 422),
)
def put_chain(body: ChainSpec, session: SessionDep, principal: PrincipalDep) -> ChainOut:
    """Create or update a chain (admin)."""
    ensure_may_edit(principal, body.owner_region)
    existing = queries.chain_by_key(session, body.key)
    if existing is not None:
        ensure_may_edit(principal, existing.owner_region)
    chain = upsert_chain(session, body).chain
    commit_and_sync(session, None)
    return queries.chain_view(session, chain)


@router.get(
    "/{chain_id}",
    response_model=ChainOut,
    summary="Read a chain",
    description="A chain with its nodes (position, IPC ranges, GB/T 4754 classes, key "
    "phrases) and each node's tagged patents and needs.",
    responses=problem_responses(401, 403, 404),
)
def read_chain(chain_id: DbId, session: SessionDep, principal: PrincipalDep) -> ChainOut:
    """Read one chain."""
    return queries.chain_view(session, readable_chain(session, principal, chain_id))


@router.get(
    "/{chain_id}/export",
    summary="Export a chain as YAML or JSON",
    description="The chain file format: `patentmatch chains load` reads it back.",
    responses={**problem_responses(401, 403, 404), 200: {"content": {"application/yaml": {}}}},
)
def export_one(
    chain_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    output: Annotated[Literal["yaml", "json"], Query(alias="format")] = "yaml",
) -> Response:
    """Export one chain."""
    chain = readable_chain(session, principal, chain_id)
    media = "application/json" if output == "json" else "application/yaml"
    return Response(
        dump([export_chain(session, chain)], output),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{chain.key}.{output}"'},
    )


@router.delete(
    "/{chain_id}",
    status_code=204,
    summary="Delete a chain",
    description="The chain, its nodes and their tags.",
    responses=problem_responses(401, 403, 404),
)
def remove_chain(chain_id: DbId, session: SessionDep, principal: PrincipalDep) -> Response:
    """Delete a chain (admin)."""
    chain = get_or_404(session, IndustryChain, chain_id, "chain")
    ensure_may_edit(principal, chain.owner_region)
    delete_chain(session, chain)
    commit_and_sync(session, None)
    return Response(status_code=204)


@router.get(
    "/{chain_id}/tags",
    response_model=Page[TagOut],
    summary="Tags of a chain",
    description="Patents and needs tagged to the chain's nodes, with the score and the evidence "
    "(IPC range, GB/T 4754 class, key phrase, text similarity), for review. Highest id first.",
    responses=problem_responses(401, 403, 404, 422),
)
def list_tags(
    chain_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    node_id: DbId | None = None,
    entity: TagEntity | None = None,
    status: Annotated[list[TagStatus] | None, Query()] = None,
    cursor: Annotated[Line | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[TagOut]:
    """List a chain's tags."""
    chain = readable_chain(session, principal, chain_id)
    node = queries.node_of(session, chain, node_id)
    stmt = select(ChainTag).where(ChainTag.chain_id == chain_id)
    if node is not None:
        stmt = stmt.where(ChainTag.node_id == node.id)
    if entity is not None:
        stmt = stmt.where(ChainTag.entity == entity)
    if status:
        stmt = stmt.where(col(ChainTag.status).in_(status))
    items, next_cursor = paginate_by_id(
        session, stmt, col(ChainTag.id), descending=True, cursor=cursor, limit=limit
    )
    return Page(items=[TagOut.model_validate(t) for t in items], next_cursor=next_cursor)


@router.patch(
    "/tags/{tag_id}",
    response_model=TagOut,
    summary="Confirm or remove a tag",
    description="`confirmed` keeps the tag whatever later evidence says; `removed` keeps it off "
    "(recomputation never brings it back); `auto` hands it back to the tagger. Admins, and "
    "the tech-transfer office owning the tagged patent.",
    responses=problem_responses(401, 403, 404, 422),
)
def decide_tag(
    tag_id: DbId, body: TagDecision, session: SessionDep, principal: PrincipalDep
) -> ChainTag:
    """Record a person's decision on a tag."""
    tag = get_or_404(session, ChainTag, tag_id, "tag")
    ensure_may_decide(session, principal, tag)
    tag.status = TagStatus(body.status)
    tag.decided_by_key_id = principal.key_id
    tag.decided_at = utcnow()
    session.add(tag)
    commit_and_sync(session, None)
    session.refresh(tag)
    return tag
