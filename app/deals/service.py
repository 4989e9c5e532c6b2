"""Deal transitions: request, assign, contact, consent, negotiate, agree, sign, close, decline.

Every step checks the caller's relation to the deal and the state machine, records an event and
is idempotent under a client-supplied key. Functions flush but do not commit: the caller owns
the transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from app.auth.keys import ApiKey
from app.auth.principal import Principal, Role
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.deals import contracts
from app.deals.access import get_deal, parties_of, unassigned_for_station
from app.deals.events import StepResult, find_replay, flush_step, record_event, request_hash
from app.deals.events import invalid_field as _invalid
from app.deals.models import Deal
from app.deals.schemas import TransitionRequest
from app.deals.states import (
    DealAction,
    DeclineReason,
    Party,
    check_transition,
    may_act,
    required_parties,
)
from app.errors import Conflict, Forbidden


@dataclass(frozen=True)
class StepContext:
    """What a transition handler needs."""

    session: Session
    deal: Deal
    principal: Principal
    body: TransitionRequest
    now: datetime


def _assign(ctx: StepContext) -> dict[str, Any]:
    station_id = ctx.body.station_org_id
    if station_id is None and ctx.principal.role is Role.STATION:
        station_id = ctx.principal.org_id
    if station_id is None:
        raise _invalid("station_org_id", "name the service station")
    taking = ctx.principal.role is Role.STATION and ctx.body.action is DealAction.ASSIGN
    if taking and station_id != ctx.principal.org_id:
        raise Forbidden("a station may take an unassigned deal only for itself")
    station = ctx.session.get(Organisation, station_id)
    if station is None or station.kind is not OrgKind.SERVICE_STATION:
        raise _invalid("station_org_id", f"organisation {station_id} is not a service station")
    if station_id == ctx.deal.station_org_id:
        raise Conflict(f"deal {ctx.deal.id} is already assigned to station {station_id}")
    previous = ctx.deal.station_org_id
    ctx.deal.station_org_id = station_id
    # The specialist who takes a deal handles it; a deal handed to another station is its to give.
    ctx.deal.handler_key_id = ctx.principal.key_id if taking else None
    return {"station_org_id": station_id, "previous_station_org_id": previous}


def _hand_over(ctx: StepContext) -> dict[str, Any]:
    key_id = ctx.body.handler_key_id
    if key_id is None:
        raise _invalid("handler_key_id", "name the specialist to hand the deal to")
    key = ctx.session.get(ApiKey, key_id)
    station = ctx.deal.station_org_id
    if key is None or key.org_id != station or key.role is not Role.STATION or key.revoked_at:
        raise _invalid("handler_key_id", f"key {key_id} is no specialist of station {station}")
    if key_id == ctx.deal.handler_key_id:
        raise Conflict(f"deal {ctx.deal.id} is already handled by key {key_id}")
    previous = ctx.deal.handler_key_id
    ctx.deal.handler_key_id = key_id
    return {"handler_key_id": key_id, "previous_handler_key_id": previous}


def _note(ctx: StepContext) -> dict[str, Any]:
    if not (ctx.body.note or "").strip():
        raise _invalid("note", "a note needs a text")
    return {}


def _accept_contact(ctx: StepContext) -> dict[str, Any]:
    if ctx.deal.consent_at is not None:
        raise Conflict(f"the owner already accepted contact on deal {ctx.deal.id}")
    ctx.deal.consent_at = ctx.now
    return {}


def _negotiate(ctx: StepContext) -> dict[str, Any]:
    if ctx.deal.consent_at is None:
        raise Conflict(
            f"the patent owner has not accepted contact on deal {ctx.deal.id} yet",
            extra={"allowed": [], "allowed_actions": [DealAction.ACCEPT_CONTACT.value]},
        )
    return {}


def _decline(ctx: StepContext) -> dict[str, Any]:
    reason, text = ctx.body.reason, (ctx.body.reason_text or "").strip() or None
    if reason is None:
        raise _invalid("reason", "a decline needs a reason")
    if reason is DeclineReason.OTHER and text is None:
        raise _invalid("reason_text", "reason 'other' needs a text")
    ctx.deal.decline_reason, ctx.deal.decline_text = reason, text
    return {"reason": reason.value, "reason_text": text}


def _sign(ctx: StepContext) -> dict[str, Any]:
    if ctx.body.contract is None:
        raise _invalid("contract", "signing needs the contract")
    today: date = ctx.now.date()
    contract = contracts.record_contract(
        ctx.session, ctx.deal, ctx.body.contract, ctx.principal, today
    )
    ctx.session.flush()
    return {"contract_id": contract.id, "contract_type": contract.contract_type.value}


_HANDLERS: dict[DealAction, Callable[[StepContext], dict[str, Any]]] = {
    DealAction.ASSIGN: _assign,
    DealAction.REASSIGN: _assign,
    DealAction.ACCEPT_CONTACT: _accept_contact,
    DealAction.NEGOTIATE: _negotiate,
    DealAction.DECLINE: _decline,
    DealAction.SIGN: _sign,
    DealAction.HAND_OVER: _hand_over,
    DealAction.NOTE: _note,
}


# Fields that only some actions take; sending one with another action is a client error.
_FIELD_ACTIONS: dict[str, frozenset[DealAction]] = {
    "station_org_id": frozenset({DealAction.ASSIGN, DealAction.REASSIGN}),
    "handler_key_id": frozenset({DealAction.HAND_OVER}),
    "reason": frozenset({DealAction.DECLINE}),
    "reason_text": frozenset({DealAction.DECLINE}),
    "contract": frozenset({DealAction.SIGN}),
}


def _check_fields(body: TransitionRequest) -> None:
    for name, actions in _FIELD_ACTIONS.items():
        if getattr(body, name) is not None and body.action not in actions:
            allowed = ", ".join(sorted(a.value for a in actions))
            raise _invalid(name, f"{name} applies only to {allowed}, not {body.action.value}")


def _check_allowed(deal: Deal, principal: Principal, action: DealAction) -> None:
    parties = parties_of(deal, principal)
    if action is DealAction.ASSIGN and unassigned_for_station(deal, principal):
        parties = parties | {Party.STATION}  # any station may take an unassigned deal
    if not parties and action is not DealAction.ASSIGN:
        raise Forbidden(f"deal {deal.id} is visible only to its parties and station")
    if not may_act(action, parties):
        names = {
            "requester": "requesting enterprise",
            "owner": "patent owner's tto",
            "station": "assigned station",
        }
        who = [names[p] for p in required_parties(action) if p in names]
        allowed = " or ".join([f"the {name}" for name in who] + ["an admin"])
        raise Forbidden(f"only {allowed} may {action.value} on deal {deal.id}")


def _claim(deal: Deal, principal: Principal) -> None:
    # A deal nobody handles yet goes to the first specialist of its station who moves it.
    mine = principal.role is Role.STATION and deal.station_org_id == principal.org_id
    if mine and deal.handler_key_id is None:
        deal.handler_key_id = principal.key_id


def apply_transition(
    session: Session,
    principal: Principal,
    deal_id: int,
    body: TransitionRequest,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> StepResult:
    """Take one step on a deal; a retry with the same key returns the first result."""
    now = now or datetime.now(UTC)
    if body.action is DealAction.REQUEST:
        raise _invalid("action", "open a deal with POST /deals, not as a transition")
    _check_fields(body)
    deal = get_deal(session, deal_id)
    key = idempotency_key or body.transition_id
    digest = request_hash(body.action.value, deal_id, body)
    replay = find_replay(session, principal, key, digest)
    if replay is not None:
        return StepResult(deal, replay, True)
    _check_allowed(deal, principal, body.action)
    before = deal.state
    after = check_transition(before, body.action)
    handler = _HANDLERS.get(body.action)
    detail = handler(StepContext(session, deal, principal, body, now)) if handler else {}
    deal.state = after
    if body.action is not DealAction.NOTE:
        _claim(deal, principal)
    event = record_event(
        session, deal, body.action, before, principal, now=now, note=body.note, detail=detail,
        key=key, digest=digest, touch=body.action is not DealAction.NOTE,
    )  # fmt: skip
    return flush_step(session, principal, key, digest, StepResult(deal, event, False))
