"""Per-chain views: a chain's (or node's) idle-patent pool and needs, chain-scoped matching."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col

from app.api.deps import MatcherDep, PrincipalDep, SessionDep
from app.api.routes.chains import readable_chain
from app.api.routes.matching import FiltersDep, KQuery, patent_matches, scoped_filters
from app.api.routes.patents import (
    PatentSort,
    filtered_patents,
    in_jurisdiction,
    patent_sort_spec,
)
from app.api.schemas.common import Page, problem_responses
from app.api.schemas.matching import NeedBrief, PatentMatches
from app.auth.access import get_visible_need
from app.catalog.enums import ConversionStatus, LegalStatus, PatentType
from app.catalog.models import Patent
from app.catalog.schemas.patents import PatentOut
from app.chains import queries
from app.chains.matching import MAX_PUSH_NEEDS, chain_filters, chain_needs, chain_patent_ids
from app.chains.models import TagEntity
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate
from app.types import DbId, Line

router = APIRouter(prefix="/chains", tags=["chains"])
_IN_FORCE = [LegalStatus.GRANTED, LegalStatus.PENDING]


@router.get(
    "/{chain_id}/patents",
    response_model=Page[PatentOut],
    summary="A chain's idle-patent pool",
    description="Patents tagged to the chain (or to `node_id`), with the patent list's filters, "
    "sorting and cursor pagination. Without `conversion_status` and `legal_status` it is the "
    "pool (闲置专利池): idle patents, granted or pending.",
    responses=problem_responses(401, 403, 404, 422),
)
def chain_pool(
    chain_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    node_id: DbId | None = None,
    ipc_prefix: Annotated[Line | None, Query(max_length=20, examples=["H01M"])] = None,
    legal_status: Annotated[list[LegalStatus] | None, Query()] = None,
    patent_type: Annotated[list[PatentType] | None, Query()] = None,
    owner_org_id: DbId | None = None,
    conversion_status: Annotated[list[ConversionStatus] | None, Query()] = None,
    q: Annotated[Line | None, Query(max_length=200, description="Text in the title")] = None,
    sort: PatentSort = PatentSort.UPDATED_AT,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    cursor: Annotated[Line | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[PatentOut]:
    """The chain's patents, the idle ones in force by default."""
    chain = readable_chain(session, principal, chain_id)
    queries.node_of(session, chain, node_id)  # 404 unless a node of this chain
    stmt = filtered_patents(
        ipc_prefix,
        legal_status or _IN_FORCE,
        patent_type,
        owner_org_id,
        conversion_status or [ConversionStatus.IDLE],
        q,
    ).where(col(Patent.id).in_(queries.tagged_ids(chain_id, TagEntity.PATENT, node_id)))
    stmt = in_jurisdiction(stmt, principal)
    items, next_cursor = paginate(
        session, stmt, sort=patent_sort_spec(sort), id_column=col(Patent.id),
        descending=order == "desc", cursor=cursor, limit=limit,
    )  # fmt: skip
    return Page(items=[PatentOut.model_validate(p) for p in items], next_cursor=next_cursor)


@router.get(
    "/{chain_id}/needs",
    response_model=Page[NeedBrief],
    summary="A chain's needs",
    description="Published technology needs tagged to the chain (or to `node_id`): the "
    "chain's enterprises' demand. By id, cursor-paginated.",
    responses=problem_responses(401, 403, 404, 422),
)
def chain_need_list(
    chain_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    node_id: DbId | None = None,
    cursor: Annotated[DbId | None, Query(description="the last id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[NeedBrief]:
    """The chain's published needs."""
    chain = readable_chain(session, principal, chain_id)
    queries.node_of(session, chain, node_id)  # 404 unless a node of this chain
    needs = chain_needs(session, chain_id, node_id, cursor, limit + 1)
    more = len(needs) > limit
    items = [NeedBrief.model_validate(n) for n in needs[:limit]]
    return Page(items=items, next_cursor=str(items[-1].id) if more else None)


@router.get(
    "/{chain_id}/needs/{need_id}/matches",
    response_model=PatentMatches,
    summary="Patents of the chain for a need",
    description="A need matched within the chain's tagged patents (or `node_id`'s), with the "
    "filters of need → patents; ranked by the engine as `GET /needs/{id}/matches`.",
    responses=problem_responses(401, 403, 404, 422),
)
def chain_need_matches(
    chain_id: DbId,
    need_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    matcher: MatcherDep,
    filters: FiltersDep,
    node_id: DbId | None = None,
    k: KQuery = 10,
) -> PatentMatches:
    """Need → the chain's patents."""
    chain = readable_chain(session, principal, chain_id)
    queries.node_of(session, chain, node_id)  # 404 unless a node of this chain
    get_visible_need(session, principal, need_id)
    ids = chain_patent_ids(session, chain_id, node_id)
    narrowed = chain_filters(scoped_filters(principal, filters), ids)
    result = matcher.match_need(session, need_id, narrowed, k)
    return patent_matches(session, result)


class PushItem(BaseModel):
    """One of the chain's needs and the chain's idle patents that could meet it."""

    need: NeedBrief
    matches: PatentMatches


class PushPage(BaseModel):
    """A page of the chain's needs with their matches."""

    items: list[PushItem]
    next_cursor: str | None


@router.get(
    "/{chain_id}/push",
    response_model=PushPage,
    summary="Push a chain's idle patents to its enterprises' needs",
    description="For each published need tagged to the chain (or `node_id`), the chain's idle "
    "patents in force that could meet it (链上推送). At most 20 needs per page, by id.",
    responses=problem_responses(401, 403, 404, 422),
)
def chain_push(
    chain_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    matcher: MatcherDep,
    filters: FiltersDep,
    node_id: DbId | None = None,
    k: Annotated[int, Query(ge=1, le=10, description="patents per need")] = 3,
    cursor: Annotated[DbId | None, Query(description="the last need id of the page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PUSH_NEEDS)] = 10,
) -> PushPage:
    """The chain's needs, each with the chain's best idle patents."""
    chain = readable_chain(session, principal, chain_id)
    queries.node_of(session, chain, node_id)  # 404 unless a node of this chain
    pool = chain_patent_ids(session, chain_id, node_id, idle_only=True)
    narrowed = chain_filters(scoped_filters(principal, filters), pool)
    needs = chain_needs(session, chain_id, node_id, cursor, limit + 1)
    items = [
        PushItem(
            need=NeedBrief.model_validate(need),
            matches=patent_matches(session, matcher.match_need(session, need.id or 0, narrowed, k)),
        )
        for need in needs[:limit]
    ]
    more = len(needs) > limit
    return PushPage(items=items, next_cursor=str(items[-1].need.id) if more else None)
