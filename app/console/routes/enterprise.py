"""Enterprise workbench (企业): needs, their matches and open-licence candidates, contact
requests (deals), and the organisation's deals."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.auth.principal import Principal, Role
from app.catalog.enums import CooperationMode, NeedStatus
from app.catalog.models import Patent, TechNeed
from app.console.deal_view import org_names, patent_titles
from app.console.forms import enum_values, optional_date, optional_int
from app.console.need_writes import NeedForm, owned_need, save_need, set_status
from app.console.web import ConsoleRoute, DbSession, FormUser, User, redirect, render, require_role
from app.deals.access import parties_of
from app.deals.desk import waiting_on
from app.deals.models import Deal
from app.deals.requests import request_deal
from app.deals.schemas import DealCreate
from app.deals.states import Party
from app.licensing.advice import open_licence_candidates
from app.search.engine import Explanation, MatchFilters

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
MATCHES_SHOWN = 10


def _own_needs(session: Session, principal: Principal) -> list[TechNeed]:
    stmt = select(TechNeed).order_by(col(TechNeed.id).desc()).limit(200)
    if principal.role is not Role.ADMIN:
        stmt = stmt.where(TechNeed.org_id == principal.org_id)
    return list(session.exec(stmt))


@router.get("/needs")
def needs(request: Request, session: DbSession, signed: User) -> Response:
    """The enterprise's needs, newest first."""
    principal = require_role(signed, Role.ENTERPRISE)
    return render(request, "needs.html", needs=_own_needs(session, principal))


def _need_form(
    request: Request,
    need: TechNeed | None,
    *,
    status: int = 200,
    errors: list[dict[str, str]] | None = None,
) -> Response:
    return render(
        request,
        "need_form.html",
        status=status,
        need=need,
        modes=list(CooperationMode),
        errors=errors or [],
    )


@router.get("/needs/new")
def new_need_form(request: Request, signed: User) -> Response:
    """The form to post a need."""
    require_role(signed, Role.ENTERPRISE)
    return _need_form(request, None)


Text = Annotated[str, Form(max_length=300)]
LongText = Annotated[str, Form(max_length=20_000)]
Short = Annotated[str, Form(max_length=20)]
Modes = Annotated[list[str] | None, Form()]


@dataclass(frozen=True)
class NeedFields:
    """A need form's fields as posted (checked by ``_parse`` after the role check)."""

    title: str
    description: str
    industry_code: str
    region: str
    modes: list[str]
    budget_min: str
    budget_max: str
    deadline: str


def need_fields(
    title: Text,
    description: LongText = "",
    industry_code: Short = "",
    region: Short = "",
    cooperation_modes: Modes = None,
    budget_min: Short = "",
    budget_max: Short = "",
    deadline: Short = "",
) -> NeedFields:
    """The posted need form, shared by the new and edit routes."""
    return NeedFields(
        title,
        description,
        industry_code,
        region,
        cooperation_modes or [],
        budget_min,
        budget_max,
        deadline,
    )


Fields = Annotated[NeedFields, Depends(need_fields)]


def _parse(fields: NeedFields) -> NeedForm:
    return NeedForm(
        title=fields.title,
        description=fields.description,
        industry_code=fields.industry_code.strip() or None,
        region=fields.region,
        cooperation_modes=enum_values(CooperationMode, fields.modes, "cooperation_modes"),
        budget_min=optional_int(fields.budget_min, "budget_min", high=2**31 - 1),
        budget_max=optional_int(fields.budget_max, "budget_max", high=2**31 - 1),
        deadline=optional_date(fields.deadline, "deadline"),
    )


@router.post("/needs/new")
def create_need(
    request: Request,
    session: DbSession,
    signed: FormUser,
    fields: Fields,
) -> Response:
    """Save a new draft need."""
    principal = require_role(signed, Role.ENTERPRISE)
    form = _parse(fields)
    need = save_need(session, principal, None, form)
    session.commit()
    return redirect(f"/needs/{need.id}")


@router.get("/needs/{need_id}/edit")
def edit_need_form(request: Request, need_id: int, session: DbSession, signed: User) -> Response:
    """The form to edit a need."""
    principal = require_role(signed, Role.ENTERPRISE)
    return _need_form(request, owned_need(session, principal, need_id))


@router.post("/needs/{need_id}/edit")
def edit_need(
    request: Request,
    need_id: int,
    session: DbSession,
    signed: FormUser,
    fields: Fields,
) -> Response:
    """Save the changes of a need."""
    principal = require_role(signed, Role.ENTERPRISE)
    need = owned_need(session, principal, need_id)
    form = _parse(fields)
    save_need(session, principal, need, form)
    session.commit()
    request.app.state.matcher.mark_written()  # the indexer makes it searchable shortly
    return redirect(f"/needs/{need_id}")


@router.post("/needs/{need_id}/{action}")
def change_status(
    request: Request, need_id: int, action: str, session: DbSession, signed: FormUser
) -> Response:
    """Publish or close a need."""
    principal = require_role(signed, Role.ENTERPRISE)
    targets = {"publish": NeedStatus.PUBLISHED, "close": NeedStatus.CLOSED}
    need = owned_need(session, principal, need_id)
    if action not in targets:
        return redirect(f"/needs/{need_id}")
    set_status(session, need, targets[action])
    session.commit()
    request.app.state.matcher.mark_written()  # the indexer makes it searchable shortly
    return redirect(f"/needs/{need_id}")


def _matches(
    session: Session, request: Request, need: TechNeed
) -> tuple[list[tuple[Patent, float, Explanation]], bool]:
    assert need.id is not None
    result = request.app.state.matcher.match_need(session, need.id, MatchFilters(), MATCHES_SHOWN)
    rows = []
    for match in result.matches:
        patent = session.get(Patent, match.id)
        if patent is not None:
            rows.append((patent, match.confidence, match.explanation))
    return rows, result.no_good_match


@router.get("/needs/{need_id}")
def need_page(request: Request, need_id: int, session: DbSession, signed: User) -> Response:
    """A need with its matches (confidence, why), open-licence candidates and contact buttons."""
    principal = require_role(signed, Role.ENTERPRISE)
    need = owned_need(session, principal, need_id)
    matches: list[tuple[Patent, float, Explanation]] = []
    no_good, candidates = False, None
    if need.status is NeedStatus.PUBLISHED:
        matches, no_good = _matches(session, request, need)
        candidates = open_licence_candidates(session, request.app.state.matcher, principal, need_id)
    requested = {d.patent_id for d in session.exec(select(Deal).where(Deal.need_id == need_id))}
    return render(
        request,
        "need.html",
        need=need,
        matches=matches,
        no_good_match=no_good,
        candidates=candidates,
        requested=requested,
    )


@router.post("/needs/{need_id}/contact/{patent_id}")
def request_contact(
    need_id: int,
    patent_id: int,
    session: DbSession,
    signed: FormUser,
    message: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Ask for contact about a matched patent: a deal starts and a station is assigned."""
    principal = require_role(signed, Role.ENTERPRISE)
    owned_need(session, principal, need_id)
    body = DealCreate(need_id=need_id, patent_id=patent_id, message=message.strip() or None)
    request_deal(session, principal, body)
    session.commit()
    return redirect("/deals")


@router.get("/deals")
def deals(request: Request, session: DbSession, signed: User) -> Response:
    """The organisation's deals (as requester or owner) and their states."""
    principal = require_role(signed, Role.ENTERPRISE, Role.TTO, Role.STATION)
    stmt = select(Deal).order_by(col(Deal.id).desc()).limit(200)
    if principal.role is not Role.ADMIN:
        org = principal.org_id
        stmt = stmt.where(
            (Deal.requester_org_id == org)
            | (Deal.owner_org_id == org)
            | (Deal.station_org_id == org)
        )
    rows = list(session.exec(stmt))
    # The deals waiting for this viewer's move: what the list flags first.
    todo = {d.id for d in rows if waiting_on(d) & (parties_of(d, principal) - {Party.ADMIN})}
    return render(
        request,
        "deals.html",
        deals=rows,
        names=org_names(session, [o for d in rows for o in (d.requester_org_id, d.owner_org_id)]),
        titles=patent_titles(session, rows),
        todo=todo,
    )
