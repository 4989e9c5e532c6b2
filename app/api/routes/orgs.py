"""/api/v1/organisations: create (admin), read, update (self/admin), list."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import col, select

from app.api.deps import PrincipalDep, SessionDep, require_roles
from app.api.schemas.common import Page, problem_responses
from app.api.views import org_view
from app.api.writes import commit_and_sync
from app.auth.access import sees_private
from app.auth.principal import Principal, Role
from app.catalog import service
from app.catalog.codes import clean_region_prefix
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.catalog.schemas.orgs import OrgCreate, OrgPrivate, OrgPublic, OrgUpdate
from app.db import get_or_404
from app.errors import Forbidden
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate_by_id
from app.types import DbId, Line

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.post(
    "",
    status_code=201,
    response_model=OrgPrivate,
    summary="Create an organisation",
    description="Admins register universities, institutes, enterprises (企业), service "
    "stations (知识产权服务站) and government offices. Returns the full record. 409 when the "
    "USCC is taken or another organisation has the same name (compared after NFKC, ignoring "
    "case and spaces; `existing_org_id` names it): merge duplicates in the console.",
    responses=problem_responses(401, 403, 409, 422),
)
def create_org(
    body: OrgCreate,
    session: SessionDep,
    _admin: Annotated[Principal, Depends(require_roles(Role.ADMIN))],
) -> OrgPrivate:
    """Create an organisation (admin)."""
    org = service.create_org(session, body)
    commit_and_sync(session, None)
    session.refresh(org)
    return OrgPrivate.model_validate(org)


@router.get(
    "/{org_id}",
    response_model=OrgPrivate | OrgPublic,
    summary="Read an organisation",
    description="Public fields for everyone; the private contact fields (联系人, phone, email) "
    "only for the organisation itself and admins.",
    responses=problem_responses(401, 404),
)
def read_org(org_id: DbId, session: SessionDep, principal: PrincipalDep) -> OrgPublic | OrgPrivate:
    """Read one organisation in the view the caller is entitled to."""
    return org_view(get_or_404(session, Organisation, org_id, "organisation"), principal)


@router.patch(
    "/{org_id}",
    response_model=OrgPrivate,
    summary="Update an organisation",
    description="The organisation itself or an admin changes its fields; omitted fields stay.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_org(
    org_id: DbId, body: OrgUpdate, session: SessionDep, principal: PrincipalDep
) -> OrgPrivate:
    """Update an organisation (self or admin)."""
    org = get_or_404(session, Organisation, org_id, "organisation")
    if principal.role is Role.GOVERNMENT:
        # The office's region is its jurisdiction: only an admin may move it.
        raise Forbidden("government officials read; an admin updates their organisation")
    if not sees_private(principal, org.id):
        raise Forbidden(f"you may only update your own organisation, not organisation {org_id}")
    service.update_org(session, org, body)
    commit_and_sync(session, None)
    session.refresh(org)
    return OrgPrivate.model_validate(org)


@router.get(
    "",
    response_model=Page[OrgPrivate | OrgPublic],
    summary="List organisations",
    description="Filter by kind and by GB/T 2260 region prefix (e.g. 33 = Zhejiang, 3301 = "
    "Hangzhou); ordered by id, cursor-paginated.",
    responses=problem_responses(401, 422),
)
def list_orgs(
    session: SessionDep,
    principal: PrincipalDep,
    kind: Annotated[list[OrgKind] | None, Query(description="Organisation kinds")] = None,
    region_prefix: Annotated[Line | None, Query(max_length=12, examples=["3301"])] = None,
    cursor: Annotated[
        Line | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[OrgPrivate | OrgPublic]:
    """List organisations the caller may see, in their views."""
    stmt = select(Organisation)
    if kind:
        stmt = stmt.where(col(Organisation.kind).in_(kind))
    prefix = clean_region_prefix(region_prefix)
    if prefix:
        stmt = stmt.where(col(Organisation.region).startswith(prefix, autoescape=True))
    items, next_cursor = paginate_by_id(
        session, stmt, col(Organisation.id), descending=False, cursor=cursor, limit=limit
    )
    return Page(items=[org_view(o, principal) for o in items], next_cursor=next_cursor)
