"""/api/v1/needs: technology needs (技术需求) of enterprises: CRUD, publish, close, list."""

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlmodel import col, select

from app.api.deps import MatcherDep, PrincipalDep, SessionDep, require_roles
from app.api.schemas.common import Page, problem_responses
from app.api.writes import commit_and_sync
from app.auth.access import ensure_owner, get_visible_need, owner_for_write, owning_org
from app.auth.principal import Principal, Role
from app.catalog import service
from app.catalog.codes import clean_industry, clean_region_prefix
from app.catalog.enums import NeedStatus
from app.catalog.models import TechNeed
from app.catalog.schemas.needs import NeedCreate, NeedOut, NeedUpdate
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate_by_id
from app.types import DbId, Line

router = APIRouter(prefix="/needs", tags=["needs"])

EnterpriseOrAdmin = Annotated[Principal, Depends(require_roles(Role.ENTERPRISE))]


def _owned(session: SessionDep, principal: Principal, need_id: int) -> TechNeed:
    need = get_visible_need(session, principal, need_id)
    ensure_owner(principal, need.org_id, f"need {need_id}")
    return need


def _saved(session: SessionDep, matcher: Any, need: TechNeed) -> TechNeed:
    commit_and_sync(session, matcher)
    session.refresh(need)
    return need


@router.post(
    "",
    status_code=201,
    response_model=NeedOut,
    summary="Post a technology need",
    description="An enterprise (企业) posts a technology need (技术需求) as a draft; admins name "
    "the enterprise. Publish it to make it visible and matchable.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_need(
    body: NeedCreate, session: SessionDep, principal: EnterpriseOrAdmin, matcher: MatcherDep
) -> TechNeed:
    """Create a draft need (enterprise for itself, or admin)."""
    org_id = owner_for_write(principal, body.org_id, Role.ENTERPRISE, "org_id")
    owning_org(session, org_id, Role.ENTERPRISE, "org_id")
    return _saved(session, matcher, service.create_need(session, body, org_id))


@router.get(
    "/{need_id}",
    response_model=NeedOut,
    summary="Read a need",
    description="Published and closed needs are visible to everyone; drafts only to their "
    "enterprise and admins (others get 404).",
    responses=problem_responses(401, 404),
)
def read_need(need_id: DbId, session: SessionDep, principal: PrincipalDep) -> TechNeed:
    """Read one need."""
    return get_visible_need(session, principal, need_id)


@router.patch(
    "/{need_id}",
    response_model=NeedOut,
    summary="Update a need",
    description="The owning enterprise or an admin changes fields; omitted fields stay.",
    responses=problem_responses(401, 403, 404, 422),
)
def update_need(
    need_id: DbId,
    body: NeedUpdate,
    session: SessionDep,
    principal: EnterpriseOrAdmin,
    matcher: MatcherDep,
) -> TechNeed:
    """Update a need (owner or admin)."""
    need = _owned(session, principal, need_id)
    return _saved(session, matcher, service.update_need(session, need, body))


@router.post(
    "/{need_id}/publish",
    response_model=NeedOut,
    summary="Publish a need",
    description="Draft → published (发布): visible to everyone and matchable. 409 if closed or "
    "already published.",
    responses=problem_responses(401, 403, 404, 409),
)
def publish_need(
    need_id: DbId, session: SessionDep, principal: EnterpriseOrAdmin, matcher: MatcherDep
) -> TechNeed:
    """Publish a draft need."""
    need = _owned(session, principal, need_id)
    return _saved(session, matcher, service.publish_need(session, need))


@router.post(
    "/{need_id}/close",
    response_model=NeedOut,
    summary="Close a need",
    description="Draft or published → closed (关闭): no longer matchable. 409 if already closed.",
    responses=problem_responses(401, 403, 404, 409),
)
def close_need(
    need_id: DbId, session: SessionDep, principal: EnterpriseOrAdmin, matcher: MatcherDep
) -> TechNeed:
    """Close a need."""
    need = _owned(session, principal, need_id)
    return _saved(session, matcher, service.close_need(session, need))


@router.delete(
    "/{need_id}",
    status_code=204,
    summary="Delete a need",
    description="The owning enterprise or an admin deletes a need.",
    responses=problem_responses(401, 403, 404, 409),
)
def delete_need(
    need_id: DbId, session: SessionDep, principal: EnterpriseOrAdmin, matcher: MatcherDep
) -> Response:
    """Delete a need (owner or admin)."""
    service.delete_need(session, _owned(session, principal, need_id))
    commit_and_sync(session, matcher)
    return Response(status_code=204)


def _industry_filter(prefix: str) -> Any:
    """Codes starting with ``prefix``; a digit prefix also matches after the section letter."""
    code = clean_industry(prefix, "industry_prefix") or ""
    column = col(TechNeed.industry_code)
    if code[0].isdigit():
        # "38" finds both "3841" and "C3841": codes are stored as they were written.
        return sa.or_(column.startswith(code), column.like(f"_{code}%"))
    return column.startswith(code)


@router.get(
    "",
    response_model=Page[NeedOut],
    summary="List needs",
    description="Filter by status, enterprise, region prefix and industry code prefix (GB/T "
    "4754); drafts of other organisations are never listed. Newest first, cursor-paginated.",
    responses=problem_responses(401, 422),
)
def list_needs(
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[list[NeedStatus] | None, Query()] = None,
    org_id: DbId | None = None,
    region_prefix: Annotated[Line | None, Query(max_length=12, examples=["3301"])] = None,
    industry_prefix: Annotated[Line | None, Query(max_length=5, examples=["38"])] = None,
    cursor: Annotated[Line | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[NeedOut]:
    """List the needs the caller may see."""
    stmt = select(TechNeed)
    if not principal.is_admin():
        published = col(TechNeed.status) != NeedStatus.DRAFT
        own = col(TechNeed.org_id) == (principal.org_id or -1)
        stmt = stmt.where(sa.or_(published, own))
    if status:
        stmt = stmt.where(col(TechNeed.status).in_(status))
    if org_id is not None:
        stmt = stmt.where(TechNeed.org_id == org_id)
    prefix = clean_region_prefix(region_prefix)
    if prefix:
        stmt = stmt.where(col(TechNeed.region).startswith(prefix, autoescape=True))
    if industry_prefix:
        stmt = stmt.where(_industry_filter(industry_prefix))
    items, next_cursor = paginate_by_id(
        session, stmt, col(TechNeed.id), descending=True, cursor=cursor, limit=limit
    )
    return Page(items=[NeedOut.model_validate(n) for n in items], next_cursor=next_cursor)
