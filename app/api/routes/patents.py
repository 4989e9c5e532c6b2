"""/api/v1/patents: CRUD for the owning tto (and admins), search listing for everyone."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlmodel import col, select

from app.api.deps import CatalogHooksDep, MatcherDep, PrincipalDep, SessionDep, require_roles
from app.api.schemas.common import Page, problem_responses
from app.api.writes import commit_and_sync
from app.auth.access import (
    ensure_owner,
    get_readable_patent,
    government_scope,
    owner_for_write,
    owning_org,
)
from app.auth.principal import Principal, Role
from app.catalog import service
from app.catalog.enums import ConversionStatus, LegalStatus, PatentType
from app.catalog.ipc import IpcPrefix
from app.catalog.models import Organisation, Patent
from app.catalog.schemas.patents import PatentCreate, PatentOut, PatentUpdate
from app.catalog.text import converter, to_simplified
from app.db import get_or_404
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, SortSpec, paginate
from app.types import DbId, Line

router = APIRouter(prefix="/patents", tags=["patents"])

TtoOrAdmin = Annotated[Principal, Depends(require_roles(Role.TTO))]


class PatentSort(StrEnum):
    """Sort keys of the patent listing."""

    FILING_DATE = "filing_date"
    UPDATED_AT = "updated_at"


def patent_sort_spec(sort: PatentSort) -> SortSpec[Patent]:
    """The listing's sort key (also the chain pools')."""
    if sort is PatentSort.FILING_DATE:
        # Patents without a filing date sort as the earliest, so the cursor key is never null.
        earliest = date.min
        return SortSpec(
            "filing_date",
            sa.func.coalesce(col(Patent.filing_date), earliest),
            key_of=lambda p: (p.filing_date or earliest).isoformat(),
            parse=date.fromisoformat,
        )
    return SortSpec(
        "updated_at",
        col(Patent.updated_at),
        key_of=lambda p: p.updated_at.isoformat(),
        parse=datetime.fromisoformat,
    )


# Simplified→Traditional conversions tried for title search: standard and Taiwan forms.
_S2T = ("s2t", "s2tw")


@router.post(
    "",
    status_code=201,
    response_model=PatentOut,
    summary="Create a patent",
    description="A tech-transfer office (技术转移机构) adds a patent of its own organisation; "
    "admins name the owner. The application number (申请号) and IPC codes are validated; "
    "the patent type, expiry date and script are derived. Searchable right after.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_patent(
    body: PatentCreate, session: SessionDep, principal: TtoOrAdmin, matcher: MatcherDep
) -> Patent:
    """Create a patent (tto for itself, or admin)."""
    owner = owner_for_write(principal, body.owner_org_id, Role.TTO)
    owning_org(session, owner, Role.TTO, "owner_org_id")
    patent = service.create_patent(session, body, owner)
    commit_and_sync(session, matcher)
    session.refresh(patent)
    return patent


@router.get(
    "/{patent_id}",
    response_model=PatentOut,
    summary="Read a patent",
    description="Any authenticated caller may read a patent's bibliographic data; government "
    "officials only the patents of owners in their jurisdiction (404 for others).",
    responses=problem_responses(401, 404),
)
def read_patent(patent_id: DbId, session: SessionDep, principal: PrincipalDep) -> Patent:
    """Read one patent."""
    return get_readable_patent(session, principal, patent_id)


@router.patch(
    "/{patent_id}",
    response_model=PatentOut,
    summary="Update a patent",
    description="The owning tto or an admin changes fields; derived fields are recomputed.",
    responses=problem_responses(401, 403, 404, 422),
)
def update_patent(
    patent_id: DbId,
    body: PatentUpdate,
    session: SessionDep,
    principal: TtoOrAdmin,
    matcher: MatcherDep,
    hooks: CatalogHooksDep,
) -> Patent:
    """Update a patent (owner or admin)."""
    patent = get_or_404(session, Patent, patent_id, "patent")
    ensure_owner(principal, patent.owner_org_id, f"patent {patent_id}")
    changes = body.model_dump(exclude_unset=True)
    new_owner = changes.get("owner_org_id")
    if "owner_org_id" in changes and not principal.is_admin():
        owner_for_write(principal, new_owner, Role.TTO)
    if new_owner is not None:
        owning_org(session, new_owner, Role.TTO, "owner_org_id")
    service.update_patent(session, patent, changes, hooks)
    commit_and_sync(session, matcher)
    session.refresh(patent)
    return patent


@router.delete(
    "/{patent_id}",
    status_code=204,
    summary="Delete a patent",
    description="The owning tto or an admin removes a patent; it leaves the search index at once.",
    responses=problem_responses(401, 403, 404, 409),
)
def delete_patent(
    patent_id: DbId,
    session: SessionDep,
    principal: TtoOrAdmin,
    matcher: MatcherDep,
    hooks: CatalogHooksDep,
) -> Response:
    """Delete a patent (owner or admin)."""
    patent = get_or_404(session, Patent, patent_id, "patent")
    ensure_owner(principal, patent.owner_org_id, f"patent {patent_id}")
    service.delete_patent(session, patent, hooks)
    commit_and_sync(session, matcher)
    return Response(status_code=204)


def _has_ipc_prefix(prefix: IpcPrefix) -> Any:
    """Any of the patent's IPC codes starts with ``prefix`` (typed with or without the space)."""
    # The codes are a JSON list of normalised strings; a quote anchors the prefix at a code start.
    return sa.cast(col(Patent.ipc_codes), sa.String).contains(f'"{prefix.stored}', autoescape=True)


def filtered_patents(
    ipc_prefix: str | None,
    legal_status: list[LegalStatus] | None,
    patent_type: list[PatentType] | None,
    owner_org_id: int | None,
    conversion_status: list[ConversionStatus] | None,
    q: str | None,
) -> Any:
    """The listing's query with its filters (also the chain pools')."""
    stmt = select(Patent)
    prefix = IpcPrefix.parse_optional(ipc_prefix)
    if prefix is not None:
        stmt = stmt.where(_has_ipc_prefix(prefix))
    if legal_status:
        stmt = stmt.where(col(Patent.legal_status).in_(legal_status))
    if patent_type:
        stmt = stmt.where(col(Patent.patent_type).in_(patent_type))
    if owner_org_id is not None:
        stmt = stmt.where(Patent.owner_org_id == owner_org_id)
    if conversion_status:
        stmt = stmt.where(col(Patent.conversion_status).in_(conversion_status))
    if q:
        # Titles are stored as written (Taiwanese ones in Traditional): try the query in both
        # scripts, Taiwan's Traditional variants included.
        text = q.strip()
        variants = {text, to_simplified(text), *(converter(c).convert(text) for c in _S2T)}
        stmt = stmt.where(
            sa.or_(*(col(Patent.title).contains(v, autoescape=True) for v in variants))
        )
    return stmt


def in_jurisdiction(stmt: Any, principal: Principal) -> Any:
    """A government official's pool: the patents of owners in the jurisdiction (also the
    chain pools'); other callers' statements pass unchanged."""
    scope = government_scope(principal)
    if scope is None:
        return stmt
    in_scope = col(Organisation.region).startswith(scope, autoescape=True)
    owners = select(Organisation.id).where(in_scope)
    return stmt.where(col(Patent.owner_org_id).in_(owners))


@router.get(
    "",
    response_model=Page[PatentOut],
    summary="List and filter patents",
    description="Filter by IPC prefix (any of the codes, e.g. H01M or H01M4/36), legal status "
    "(法律状态), patent type, owner organisation, conversion status (转化状态) and title "
    "text; sort by filing_date or updated_at; cursor-paginated. Government officials see "
    "the patents of owners in their jurisdiction only (their idle-patent pool).",
    responses=problem_responses(401, 422),
)
def list_patents(
    session: SessionDep,
    principal: PrincipalDep,
    ipc_prefix: Annotated[Line | None, Query(max_length=20, examples=["H01M"])] = None,
    legal_status: Annotated[list[LegalStatus] | None, Query()] = None,
    patent_type: Annotated[list[PatentType] | None, Query()] = None,
    owner_org_id: DbId | None = None,
    conversion_status: Annotated[list[ConversionStatus] | None, Query()] = None,
    q: Annotated[
        Line | None, Query(max_length=200, description="Text in the title", examples=["锂电池"])
    ] = None,
    sort: PatentSort = PatentSort.UPDATED_AT,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    cursor: Annotated[Line | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[PatentOut]:
    """List patents with filters, sorting and cursor pagination."""
    stmt = filtered_patents(
        ipc_prefix, legal_status, patent_type, owner_org_id, conversion_status, q
    )
    stmt = in_jurisdiction(stmt, principal)
    items, next_cursor = paginate(
        session,
        stmt,
        sort=patent_sort_spec(sort),
        id_column=col(Patent.id),
        descending=order == "desc",
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[PatentOut.model_validate(p) for p in items], next_cursor=next_cursor)
