"""/api/v1 open-licence routes (专利开放许可): declarations, withdrawals, licences, advice."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from app.api.deps import MatcherDep, PrincipalDep, SessionDep, require_roles
from app.api.schemas.common import Page, problem_responses
from app.api.writes import commit_and_sync
from app.auth.principal import Principal, Role
from app.catalog.models import Patent
from app.db import get_or_404
from app.licensing import listing, service
from app.licensing.advice import AdviceParams, declaration_advice, open_licence_candidates
from app.licensing.models import DeclarationStatus, OpenLicenceDeclaration, PaymentMode
from app.licensing.schemas import (
    AdviceList,
    CandidateList,
    DeclarationCreate,
    DeclarationOut,
    LicenceNotice,
    LicenceOut,
    WithdrawRequest,
    declaration_out,
    licence_out,
)
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.types import DbId, Line

router = APIRouter(tags=["open licensing"])

TtoDep = Annotated[Principal, Depends(require_roles(Role.TTO))]
EnterpriseDep = Annotated[Principal, Depends(require_roles(Role.ENTERPRISE))]


def _out(session: Session, declaration: OpenLicenceDeclaration) -> DeclarationOut:
    patent = get_or_404(session, Patent, declaration.patent_id, "patent")
    return declaration_out(declaration, patent)


@router.get(
    "/open-licences",
    response_model=Page[DeclarationOut],
    summary="List open-licence declarations",
    description="Published declarations (开放许可声明), newest first; filter by IPC prefix of "
    "the main class, payment mode and status (default active). Cursor-paginated.",
    responses=problem_responses(401, 422),
)
def list_open_licences(
    session: SessionDep,
    _principal: PrincipalDep,
    ipc: Annotated[Line | None, Query(description="IPC prefix, e.g. H01M", max_length=20)] = None,
    payment_mode: PaymentMode | None = None,
    status: DeclarationStatus | None = DeclarationStatus.ACTIVE,
    cursor: Annotated[
        Line | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[DeclarationOut]:
    """List declarations."""
    query = listing.DeclarationQuery(ipc, payment_mode, status, cursor, limit)
    rows, next_cursor = listing.list_declarations(session, query)
    return Page(items=[declaration_out(d, p) for d, p in rows], next_cursor=next_cursor)


@router.get(
    "/open-licences/{declaration_id}",
    response_model=DeclarationOut,
    summary="Read an open-licence declaration",
    description="Withdrawn declarations stay readable with their withdrawal time and reason. "
    "The notice contact is public by law.",
    responses=problem_responses(401, 404),
)
def read_open_licence(
    declaration_id: DbId, session: SessionDep, _principal: PrincipalDep
) -> DeclarationOut:
    """Read one declaration."""
    return _out(session, service.get_declaration(session, declaration_id))


@router.post(
    "/patents/{patent_id}/open-licence",
    response_model=DeclarationOut,
    status_code=201,
    summary="Declare an open licence on a patent",
    description="The owner's tto (or an admin) posts payment terms, term and a notice contact. "
    "Only granted patents in force without an exclusive or sole licence; fixed fee ≤ "
    "¥20,000,000, royalty ≤ 20% of net sales or ≤ 40% of profit; one active per patent.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def declare_open_licence(
    patent_id: DbId,
    body: DeclarationCreate,
    session: SessionDep,
    principal: TtoDep,
    matcher: MatcherDep,
) -> DeclarationOut:
    """Declare an open licence."""
    declaration = service.declare(session, principal, patent_id, body)
    commit_and_sync(session, matcher)
    return _out(session, declaration)


@router.post(
    "/open-licences/{declaration_id}/withdraw",
    response_model=DeclarationOut,
    summary="Withdraw an open-licence declaration",
    description="Withdrawal (撤回) is published with its time and reason; licences already "
    "taken stay valid.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def withdraw_open_licence(
    declaration_id: DbId,
    body: WithdrawRequest,
    session: SessionDep,
    principal: TtoDep,
    matcher: MatcherDep,
) -> DeclarationOut:
    """Withdraw a declaration."""
    declaration = service.withdraw(session, principal, declaration_id, body.reason)
    commit_and_sync(session, matcher)
    return _out(session, declaration)


@router.post(
    "/open-licences/{declaration_id}/licences",
    response_model=LicenceOut,
    status_code=201,
    summary="Take an open licence",
    description="An enterprise files the written notice (书面通知) and obtains an ordinary "
    "licence on the declared terms, in its own name.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def take_open_licence(
    declaration_id: DbId, body: LicenceNotice, session: SessionDep, principal: EnterpriseDep
) -> LicenceOut:
    """Take an open licence."""
    licence = service.take_licence(session, principal, declaration_id, body)
    commit_and_sync(session, None)
    return licence_out(licence)


@router.get(
    "/needs/{need_id}/open-licence-candidates",
    response_model=CandidateList,
    summary="Open-licence candidates for a need",
    description="Open-licensed patents matching the need, with their posted terms and the "
    "first-year fee for the need's budget; royalty fees are labelled estimates and state "
    "their assumptions.",
    responses=problem_responses(401, 404),
)
def need_open_licence_candidates(
    need_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    matcher: MatcherDep,
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> CandidateList:
    """Candidates for a need."""
    return open_licence_candidates(session, matcher, principal, need_id, k)


@router.get(
    "/organisations/{org_id}/open-licence-advice",
    response_model=AdviceList,
    summary="Which idle patents to declare",
    description="For the organisation's own tto (or an admin): granted, idle patents with "
    "enough term left, ranked by demand (matching published needs), idleness and term, "
    "each with its reasons.",
    responses=problem_responses(401, 403, 404, 422),
)
def organisation_open_licence_advice(
    org_id: DbId,
    session: SessionDep,
    principal: TtoDep,
    matcher: MatcherDep,
    min_remaining_years: Annotated[float, Query(ge=0, le=20)] = 3.0,
    min_idle_years: Annotated[float, Query(ge=0, le=20)] = 1.0,
    min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.5,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> AdviceList:
    """Declaration advice."""
    params = AdviceParams(
        min_remaining_years=min_remaining_years,
        min_idle_years=min_idle_years,
        min_confidence=min_confidence,
        limit=limit,
    )
    return declaration_advice(session, matcher, principal, org_id, params)
