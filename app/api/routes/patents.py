"""/api/v1/patents: CRUD for the owning tto (and admins), search listing for everyone."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlmodel import col, select

from app.api.deps import MatcherDep, PrincipalDep, SessionDep, require_roles
from app.api.patent_input import apply_update, new_patent
from app.api.schemas.common import Page, problem_responses
from app.api.schemas.patents import PatentCreate, PatentOut, PatentUpdate
from app.api.writes import commit_and_sync
from app.auth.access import ensure_owner, owner_for_write, owning_org
from app.auth.principal import Principal, Role
from app.catalog.changes import record_change
from app.catalog.codes import clean_ipc_prefix
from app.catalog.enums import ChangeOp, ConversionStatus, EntityKind, LegalStatus, PatentType
from app.catalog.models import Patent
from app.catalog.text import converter, to_simplified
from app.db import get_or_404
from app.deals.models import Deal
from app.deals.scanner import forget_patent
from app.errors import Conflict
from app.licensing.models import OpenLicenceDeclaration, PatentLicence
from app.licensing.service import active_declaration
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, SortSpec, paginate
from app.types import DbId

router = APIRouter(prefix="/patents", tags=["patents"])

TtoOrAdmin = Annotated[Principal, Depends(require_roles(Role.TTO))]


class PatentSort(StrEnum):
    """Sort keys of the patent listing."""

    FILING_DATE = "filing_date"
    UPDATED_AT = "updated_at"


def _sort_spec(sort: PatentSort) -> SortSpec[Patent]:
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


def _save(session: SessionDep, matcher: Any, patent: Patent, op: ChangeOp) -> None:
    session.add(patent)
    session.flush()
    assert patent.id is not None
    record_change(session, EntityKind.PATENT, patent.id, op)
    commit_and_sync(session, matcher)


def _ensure_deletable(session: SessionDep, patent_id: int) -> None:
    """409 when deals or licences refer to the patent: their history must keep it."""
    referrers = {
        "deals": select(Deal.id).where(Deal.patent_id == patent_id),
        "open-licence declarations": select(OpenLicenceDeclaration.id).where(
            OpenLicenceDeclaration.patent_id == patent_id
        ),
        "licences": select(PatentLicence.id).where(PatentLicence.patent_id == patent_id),
    }
    found = [name for name, stmt in referrers.items() if session.exec(stmt).first() is not None]
    if found:
        raise Conflict(
            f"patent {patent_id} has {' and '.join(found)} on record and cannot be deleted; "
            "update its legal_status instead (e.g. lapsed or withdrawn)"
        )


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
    patent = new_patent(body, owner)
    stmt = select(Patent).where(Patent.natural_key == patent.natural_key)
    existing = session.exec(stmt).first()
    if existing is not None:
        raise Conflict(
            f"application number {patent.application_number} already exists as patent {existing.id}"
        )
    _save(session, matcher, patent, ChangeOp.UPSERT)
    session.refresh(patent)
    return patent


@router.get(
    "/{patent_id}",
    response_model=PatentOut,
    summary="Read a patent",
    description="Any authenticated caller may read a patent's bibliographic data.",
    responses=problem_responses(401, 404),
)
def read_patent(patent_id: DbId, session: SessionDep, _principal: PrincipalDep) -> Patent:
    """Read one patent."""
    return get_or_404(session, Patent, patent_id, "patent")


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
    apply_update(patent, changes, declared=active_declaration(session, patent_id) is not None)
    _save(session, matcher, patent, ChangeOp.UPSERT)
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
    patent_id: DbId, session: SessionDep, principal: TtoOrAdmin, matcher: MatcherDep
) -> Response:
    """Delete a patent (owner or admin)."""
    patent = get_or_404(session, Patent, patent_id, "patent")
    ensure_owner(principal, patent.owner_org_id, f"patent {patent_id}")
    _ensure_deletable(session, patent_id)
    forget_patent(session, patent_id)
    record_change(session, EntityKind.PATENT, patent_id, ChangeOp.DELETE)
    session.delete(patent)
    commit_and_sync(session, matcher)
    return Response(status_code=204)


def _has_ipc_prefix(prefix: str) -> Any:
    """Any of the patent's IPC codes starts with ``prefix`` (typed with or without the space)."""
    compact = clean_ipc_prefix(prefix) or ""
    stored = compact[:4] + (" " + compact[4:] if len(compact) > 4 else "")
    # The codes are a JSON list of normalised strings; a quote anchors the prefix at a code start.
    return sa.cast(col(Patent.ipc_codes), sa.String).contains(f'"{stored}')


def _filtered(
    ipc_prefix: str | None,
    legal_status: list[LegalStatus] | None,
    patent_type: list[PatentType] | None,
    owner_org_id: int | None,
    conversion_status: list[ConversionStatus] | None,
    q: str | None,
) -> Any:
    stmt = select(Patent)
    if ipc_prefix:
        stmt = stmt.where(_has_ipc_prefix(ipc_prefix))
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
        stmt = stmt.where(sa.or_(*(col(Patent.title).contains(v) for v in variants)))
    return stmt


@router.get(
    "",
    response_model=Page[PatentOut],
    summary="List and filter patents",
    description="Filter by IPC prefix (any of the codes, e.g. H01M or H01M4/36), legal status "
    "(法律状态), patent type, owner organisation, conversion status (转化状态) and title "
    "text; sort by filing_date or updated_at; cursor-paginated.",
    responses=problem_responses(401, 422),
)
def list_patents(
    session: SessionDep,
    _principal: PrincipalDep,
    ipc_prefix: Annotated[str | None, Query(examples=["H01M"])] = None,
    legal_status: Annotated[list[LegalStatus] | None, Query()] = None,
    patent_type: Annotated[list[PatentType] | None, Query()] = None,
    owner_org_id: DbId | None = None,
    conversion_status: Annotated[list[ConversionStatus] | None, Query()] = None,
    q: Annotated[str | None, Query(description="Text in the title", examples=["锂电池"])] = None,
    sort: PatentSort = PatentSort.UPDATED_AT,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[PatentOut]:
    """List patents with filters, sorting and cursor pagination."""
    stmt = _filtered(ipc_prefix, legal_status, patent_type, owner_org_id, conversion_status, q)
    items, next_cursor = paginate(
        session,
        stmt,
        sort=_sort_spec(sort),
        id_column=col(Patent.id),
        descending=order == "desc",
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[PatentOut.model_validate(p) for p in items], next_cursor=next_cursor)
