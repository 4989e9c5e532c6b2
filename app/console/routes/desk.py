"""The service station's case desk (服务站 / 服务专员): the inbox sorted by what needs action,
the overdue list, the station's coverage, and the workload across its specialists."""

import re
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts import audit
from app.accounts.sessions import SignedIn
from app.auth.principal import Role
from app.catalog import service
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.catalog.schemas.orgs import OrgUpdate
from app.console.deal_view import org_names, patent_titles, people_by_key, specialists
from app.console.forms import invalid, pydantic_failure
from app.console.web import (
    ConsoleRoute,
    DbSession,
    FormUser,
    User,
    is_platform_admin,
    redirect,
    render,
    require_role,
    settings_of,
)
from app.deals.assignment import overdue_deals
from app.deals.desk import station_inbox, station_workload
from app.deals.models import aware
from app.deals.states import DealState
from app.errors import Forbidden, NotFound
from app.types import DbId, utcnow

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
StationId = Annotated[DbId | None, Query(description="platform admins: the station to look at")]


def _station(session: Session, signed: SignedIn, station_id: int | None) -> Organisation:
    principal = require_role(signed, Role.STATION)
    org_id = principal.org_id if principal.role is Role.STATION else station_id
    if org_id is None:
        raise invalid("station_id", "platform admins name the station: ?station_id=")
    org = session.get(Organisation, org_id)
    if org is None or org.kind is not OrgKind.SERVICE_STATION:
        raise NotFound(f"service station {org_id} does not exist")
    return org


def _suffix(signed: SignedIn, station: Organisation) -> str:
    # Admins keep the station they look at across the desk's pages.
    return f"?station_id={station.id}" if signed.user.org_id is None else ""


@router.get("/desk")
def inbox(
    request: Request,
    session: DbSession,
    signed: User,
    station_id: StationId = None,
    mine: bool = False,
) -> Response:
    """The station's active deals and the unassigned ones it covers, what needs action first."""
    station = _station(session, signed, station_id)
    handler = signed.user.actor_key_id if mine else None
    days = settings_of(request).deal_overdue_days
    cases = station_inbox(session, station, utcnow(), days, handler_key_id=handler)
    deals = [c.deal for c in cases]
    return render(
        request,
        "desk.html",
        station=station,
        cases=cases,
        mine=mine,
        days=days,
        suffix=_suffix(signed, station),
        names=org_names(session, [o for d in deals for o in (d.requester_org_id, d.owner_org_id)]),
        titles=patent_titles(session, deals),
        people=people_by_key(session, [d.handler_key_id for d in deals]),
    )


@router.get("/desk/overdue")
def overdue(
    request: Request, session: DbSession, signed: User, station_id: StationId = None
) -> Response:
    """The station's deals without a transition for ``deal_overdue_days`` days, oldest first."""
    station = _station(session, signed, station_id)
    days, now = settings_of(request).deal_overdue_days, utcnow()
    deals = overdue_deals(session, now, days, station.id)
    return render(
        request,
        "desk_overdue.html",
        station=station,
        deals=deals,
        days=days,
        idle={d.id: (now - aware(d.updated_at)).days for d in deals},
        suffix=_suffix(signed, station),
        names=org_names(session, [o for d in deals for o in (d.requester_org_id, d.owner_org_id)]),
        titles=patent_titles(session, deals),
        people=people_by_key(session, [d.handler_key_id for d in deals]),
    )


@router.get("/desk/workload")
def workload(
    request: Request, session: DbSession, signed: User, station_id: StationId = None
) -> Response:
    """Active deals per specialist of the station, by state, and how many are overdue."""
    station = _station(session, signed, station_id)
    assert station.id is not None
    days = settings_of(request).deal_overdue_days
    loads = station_workload(session, station.id, utcnow(), days)
    return render(
        request,
        "desk_workload.html",
        station=station,
        loads=loads,
        members=specialists(session, station.id),
        states=[s for s in DealState if any(s in load.by_state for load in loads.values())],
        suffix=_suffix(signed, station),
    )


def _may_edit_coverage(signed: SignedIn) -> bool:
    return signed.user.is_org_admin or is_platform_admin(signed)


@router.get("/desk/coverage")
def coverage_form(
    request: Request, session: DbSession, signed: User, station_id: StationId = None
) -> Response:
    """The regions and industries the station covers (new deals there are assigned to it)."""
    station = _station(session, signed, station_id)
    return render(
        request,
        "desk_coverage.html",
        station=station,
        editable=_may_edit_coverage(signed),
        suffix=_suffix(signed, station),
    )


def _codes(raw: str) -> list[str]:
    return [code for code in re.split(r"[\s,，、;；]+", raw) if code]


@router.post("/desk/coverage")
def save_coverage(
    session: DbSession,
    signed: FormUser,
    regions: Annotated[str, Form(max_length=2000)] = "",
    industries: Annotated[str, Form(max_length=2000)] = "",
    station_id: Annotated[DbId | None, Form()] = None,
) -> Response:
    """Save the station's coverage (its administrators; audited)."""
    station = _station(session, signed, station_id)
    if not _may_edit_coverage(signed):
        raise Forbidden("only the station's administrators may change its coverage")
    try:
        body = OrgUpdate(coverage_regions=_codes(regions), coverage_industries=_codes(industries))
    except ValidationError as exc:
        raise pydantic_failure(exc, "invalid coverage") from None
    service.update_org(session, station, body)
    audit.record(
        session,
        "coverage_changed",
        f"org:{station.id}",
        actor=signed.user,
        org_id=station.id,
        regions=station.coverage_regions,
        industries=station.coverage_industries,
    )
    session.commit()
    return redirect(f"/desk/coverage{_suffix(signed, station)}")
