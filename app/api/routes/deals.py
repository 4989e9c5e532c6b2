"""/api/v1/deals: the contact workflow (对接流程) from request to signed contract."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from sqlmodel import Session, col, or_, select

from app.api.deps import PrincipalDep, SessionDep, SettingsDep, require_roles
from app.api.schemas.common import Page, problem_responses
from app.api.writes import commit_and_sync
from app.auth.principal import Principal, Role
from app.deals.access import visible_deal
from app.deals.assignment import overdue_deals
from app.deals.contacts import release_contacts
from app.deals.declines import decline_report
from app.deals.events import StepResult, deal_events
from app.deals.models import Deal, DealContract
from app.deals.requests import request_deal
from app.deals.schemas import (
    ContractOut,
    DealContacts,
    DealCreate,
    DealDetail,
    DealOut,
    DeclineCount,
    EventOut,
    TransitionOut,
    TransitionRequest,
)
from app.deals.service import apply_transition
from app.deals.states import DealState, allowed_next
from app.errors import Forbidden
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate_by_id
from app.types import DbId, Line, utcnow

router = APIRouter(prefix="/deals", tags=["deals"])

IdempotencyKey = Annotated[
    Line | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="A retry with the same key returns the first result and records nothing new.",
    ),
]
StationOrAdmin = Annotated[Principal, Depends(require_roles(Role.STATION))]


def deal_out(deal: Deal) -> DealOut:
    """The public view of a deal, with the states it may move to."""
    out = DealOut.model_validate(deal)
    out.allowed_next = allowed_next(deal.state)
    return out


def _step_out(result: StepResult) -> TransitionOut:
    return TransitionOut(
        deal=deal_out(result.deal),
        event=EventOut.model_validate(result.event),
        replayed=result.replayed,
    )


def _commit(request: Request, session: Session) -> None:
    # Signing changes patents; replay those changes into the match engine when it is loaded.
    commit_and_sync(session, getattr(request.app.state, "matcher", None))


@router.post(
    "",
    status_code=201,
    response_model=TransitionOut,
    summary="Request contact (对接申请)",
    description="An enterprise asks to be put in touch about a patent (or with a tto), "
    "optionally for one of its needs. The deal is auto-assigned to the covering service "
    "station with the fewest open cases. Send an Idempotency-Key to make retries safe.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_deal(
    body: DealCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> TransitionOut:
    """Open a deal."""
    result = request_deal(session, principal, body, idempotency_key=idempotency_key)
    _commit(request, session)
    session.refresh(result.deal)
    return _step_out(result)


@router.get(
    "",
    response_model=Page[DealOut],
    summary="List my deals",
    description="Deals the caller is a party to or brokers (all deals for admins), newest "
    "first; stations also see unassigned deals, which they may take with `assign`.",
    responses=problem_responses(401, 422),
)
def list_deals(
    session: SessionDep,
    principal: PrincipalDep,
    state: DealState | None = None,
    cursor: Annotated[
        Line | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[DealOut]:
    """List visible deals."""
    stmt = select(Deal)
    if principal.role is Role.GOVERNMENT:
        # Officials oversee figures, not the parties' negotiations.
        raise Forbidden("deals are visible only to their parties, their station and admins")
    if not principal.is_admin():
        org = principal.org_id
        column = {
            Role.ENTERPRISE: col(Deal.requester_org_id),
            Role.TTO: col(Deal.owner_org_id),
            Role.STATION: col(Deal.station_org_id),
        }[principal.role]
        mine = column == org
        # Stations also see the deals no station has taken yet.
        stmt = stmt.where(or_(mine, column.is_(None)) if principal.role is Role.STATION else mine)
    if state is not None:
        stmt = stmt.where(Deal.state == state)
    rows, next_cursor = paginate_by_id(
        session, stmt, col(Deal.id), descending=True, cursor=cursor, limit=limit
    )
    return Page(items=[deal_out(d) for d in rows], next_cursor=next_cursor)


@router.get(
    "/overdue",
    response_model=list[DealOut],
    summary="Stalled deals",
    description="Open deals without a transition for `deal_overdue_days` days, oldest first: "
    "a station sees its own, an admin all (or one station's).",
    responses=problem_responses(401, 403),
)
def list_overdue(
    session: SessionDep,
    settings: SettingsDep,
    principal: StationOrAdmin,
    station_org_id: DbId | None = None,
) -> list[DealOut]:
    """List overdue deals."""
    station = station_org_id if principal.is_admin() else principal.org_id
    rows = overdue_deals(session, utcnow(), settings.deal_overdue_days, station)
    return [deal_out(d) for d in rows]


@router.get(
    "/declines",
    response_model=list[DeclineCount],
    summary="Decline reasons per patent or per tto",
    description="Declined deals by structured reason. Admins and stations see all; a tto sees "
    "its own organisation and patents.",
    responses=problem_responses(401, 403, 422),
)
def list_declines(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(Role.STATION, Role.TTO))],
    by: Annotated[str, Query(pattern="^(patent|org)$")] = "patent",
) -> list[DeclineCount]:
    """Report decline reasons."""
    rows = decline_report(session, by)
    if principal.role is not Role.TTO:
        return rows
    if by == "org":
        return [r for r in rows if r.key == principal.org_id]
    own = select(Deal.patent_id).where(Deal.owner_org_id == principal.org_id)
    mine = {pid for pid in session.exec(own) if pid is not None}
    return [r for r in rows if r.key in mine]


@router.get(
    "/{deal_id}",
    response_model=DealDetail,
    summary="Read a deal with its event log",
    description="Parties, the assigned station and admins only. Private contacts are not part "
    "of a deal: see /deals/{id}/contacts.",
    responses=problem_responses(401, 403, 404),
)
def read_deal(deal_id: DbId, session: SessionDep, principal: PrincipalDep) -> DealDetail:
    """Read one deal."""
    deal = visible_deal(session, principal, deal_id)
    contract = session.exec(select(DealContract).where(DealContract.deal_id == deal_id)).first()
    fields: dict[str, Any] = deal_out(deal).model_dump()
    return DealDetail(
        **fields,
        events=[EventOut.model_validate(e) for e in deal_events(session, deal_id)],
        contract=ContractOut.model_validate(contract) if contract else None,
    )


@router.post(
    "/{deal_id}/transitions",
    response_model=TransitionOut,
    summary="Take a step on a deal",
    description="Actions: assign / reassign (station, admin), contact_owner, negotiate, agree, "
    "close (assigned station, admin), accept_contact (the owner's tto: consent to release "
    "contacts), decline with a reason (either side, the station), withdraw (requester), sign "
    "with the contract (parties, station), hand_over to another specialist of the station "
    "(handler_key_id; station, admin), note (any party; the state stays). An illegal step is a "
    "409 listing `allowed` next "
    "states. Retries with the same Idempotency-Key (or transition_id) return the first result.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def transition_deal(
    deal_id: DbId,
    body: TransitionRequest,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> TransitionOut:
    """Apply one transition."""
    result = apply_transition(session, principal, deal_id, body, idempotency_key=idempotency_key)
    _commit(request, session)
    session.refresh(result.deal)
    return _step_out(result)


@router.get(
    "/{deal_id}/contacts",
    response_model=DealContacts,
    summary="Release private contacts",
    description="Both sides' contact person, phone and e-mail, once the patent owner accepted "
    "contact; only to the deal's parties and its station (403 otherwise).",
    responses=problem_responses(401, 403, 404),
)
def read_contacts(deal_id: DbId, session: SessionDep, principal: PrincipalDep) -> DealContacts:
    """Release contacts after consent."""
    return release_contacts(session, principal, deal_id)
