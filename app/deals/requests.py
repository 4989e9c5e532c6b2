"""Opening a deal: a contact request (对接申请) by an enterprise, auto-assigned to a station."""

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from app.auth.principal import Principal, Role
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation, Patent, TechNeed
from app.db import get_or_404, persisted_id
from app.deals.access import get_deal
from app.deals.assignment import pick_station
from app.deals.events import StepResult, find_replay, flush_step, record_event, request_hash
from app.deals.events import invalid_field as _invalid
from app.deals.models import Deal
from app.deals.schemas import DealCreate
from app.deals.states import ACTIVE_STATES, DealAction, DealState
from app.errors import Conflict, Forbidden

_SUPPLY_KINDS = (OrgKind.UNIVERSITY, OrgKind.RESEARCH_INSTITUTE)


def _requester(session: Session, principal: Principal, body: DealCreate) -> Organisation:
    if principal.is_admin():
        if body.requester_org_id is None:
            raise _invalid("requester_org_id", "an admin must name the requesting enterprise")
        org_id = body.requester_org_id
    elif principal.role is Role.ENTERPRISE and principal.org_id is not None:
        if body.requester_org_id not in (None, principal.org_id):
            raise Forbidden("an enterprise may only request contact in its own name")
        org_id = principal.org_id
    else:
        raise Forbidden(f"role {principal.role.value} may not request contact; enterprises do")
    org = session.get(Organisation, org_id)
    if org is None or org.kind is not OrgKind.ENTERPRISE:
        raise _invalid("requester_org_id", f"organisation {org_id} is not an enterprise")
    return org


def _owner_id(session: Session, body: DealCreate) -> int:
    if body.patent_id is not None:
        patent = get_or_404(session, Patent, body.patent_id, "patent")
        if patent.owner_org_id is None:
            raise _invalid("patent_id", f"patent {patent.id} has no owning organisation here")
        if body.owner_org_id not in (None, patent.owner_org_id):
            raise _invalid("owner_org_id", "differs from the owner of the named patent")
        return patent.owner_org_id
    if body.owner_org_id is None:
        raise _invalid("patent_id", "name a patent, or the tto to contact as owner_org_id")
    owner = session.get(Organisation, body.owner_org_id)
    if owner is None or owner.kind not in _SUPPLY_KINDS:
        raise _invalid(
            "owner_org_id", f"organisation {body.owner_org_id} is no university/institute"
        )
    return body.owner_org_id


def _need(session: Session, requester: Organisation, need_id: int | None) -> TechNeed | None:
    if need_id is None:
        return None
    need = session.get(TechNeed, need_id)
    if need is None or need.org_id != requester.id:
        raise _invalid("need_id", f"need {need_id} is not a need of organisation {requester.id}")
    return need


def _ensure_no_open_duplicate(session: Session, deal: Deal) -> None:
    stmt = select(Deal.id).where(
        Deal.requester_org_id == deal.requester_org_id,
        Deal.owner_org_id == deal.owner_org_id,
        Deal.patent_id == deal.patent_id,
        Deal.need_id == deal.need_id,
        col(Deal.state).in_(ACTIVE_STATES),
    )
    existing = session.exec(stmt).first()
    if existing is not None:
        raise Conflict(f"an open deal for this request exists already: deal {existing}")


def _auto_assign(session: Session, deal: Deal, now: datetime) -> None:
    station_id = pick_station(session, deal.region, deal.industry_code)
    if station_id is None:
        return  # stays requested; an admin or a station assigns it by hand
    deal.station_org_id = station_id
    deal.state = DealState.ASSIGNED
    detail = {"station_org_id": station_id, "auto": True}
    record_event(
        session, deal, DealAction.ASSIGN, DealState.REQUESTED, None, now=now, detail=detail
    )


def request_deal(
    session: Session,
    principal: Principal,
    body: DealCreate,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> StepResult:
    """Open a deal for a contact request and auto-assign a covering station."""
    now = now or datetime.now(UTC)
    key = idempotency_key or body.transition_id
    digest = request_hash(DealAction.REQUEST.value, None, body)
    replay = find_replay(session, principal, key, digest)
    if replay is not None:
        return StepResult(get_deal(session, replay.deal_id), replay, True)
    requester = _requester(session, principal, body)
    need = _need(session, requester, body.need_id)
    requester_id = persisted_id(requester)
    deal = Deal(
        need_id=body.need_id,
        patent_id=body.patent_id,
        requester_org_id=requester_id,
        owner_org_id=_owner_id(session, body),
        region=(need.region if need else None) or requester.region,
        industry_code=need.industry_code if need else None,
        message=body.message,
        created_at=now,
    )
    _ensure_no_open_duplicate(session, deal)
    session.add(deal)
    session.flush()
    event = record_event(
        session, deal, DealAction.REQUEST, None, principal, now=now, note=body.message,
        key=key, digest=digest,
    )  # fmt: skip
    _auto_assign(session, deal, now)
    return flush_step(session, principal, key, digest, StepResult(deal, event, False))
