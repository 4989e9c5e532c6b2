"""One deal's page for its parties and station: the timeline, the moves each may make
(through ``app.deals.service.apply_transition``, as the API does), notes, and contacts."""

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.auth.principal import Role
from app.console.deal_view import deal_page
from app.console.forms import enum_value, optional_date, optional_int, pydantic_failure
from app.console.web import ConsoleRoute, DbSession, FormUser, User, redirect, render, require_role
from app.deals.models import ContractType
from app.deals.schemas import TransitionRequest
from app.deals.service import apply_transition
from app.deals.states import DealAction, DeclineReason
from app.types import YUAN_MAX, DbId

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
_PARTIES = (Role.ENTERPRISE, Role.TTO, Role.STATION)


@router.get("/deals/{deal_id}")
def deal(request: Request, deal_id: DbId, session: DbSession, signed: User) -> Response:
    """A deal: its parties, event timeline, the viewer's moves, and contacts after consent."""
    principal = require_role(signed, *_PARTIES)
    view = deal_page(session, principal, deal_id)
    # A fresh id per page view: a double-submitted form replays instead of stepping twice.
    return render(request, "deal.html", view=view, step_id=secrets.token_urlsafe(12))


Short = Annotated[str, Form(max_length=40)]
Note = Annotated[str, Form(max_length=2000)]


@dataclass(frozen=True)
class StepFields:
    """A deal form as posted; each form sends only the fields of its move."""

    action: str
    note: str
    transition_id: str
    reason: str
    reason_text: str
    station_org_id: str
    handler_key_id: str
    contract: dict[str, str]


def step_fields(
    action: Short,
    note: Note = "",
    transition_id: Short = "",
    reason: Short = "",
    reason_text: Note = "",
    station_org_id: Short = "",
    handler_key_id: Short = "",
    contract_type: Short = "",
    amount_yuan: Short = "",
    registration_number: Short = "",
    signed_on: Short = "",
    licence_end: Short = "",
) -> StepFields:
    """The posted fields of any deal form."""
    contract = {
        "contract_type": contract_type,
        "amount_yuan": amount_yuan,
        "registration_number": registration_number,
        "signed_on": signed_on,
        "licence_end": licence_end,
    }
    return StepFields(
        action, note, transition_id, reason, reason_text, station_org_id, handler_key_id, contract
    )


def _contract(raw: dict[str, str]) -> dict[str, Any]:
    return {
        "contract_type": enum_value(ContractType, raw["contract_type"], "contract_type"),
        "amount_yuan": optional_int(raw["amount_yuan"], "amount_yuan", high=YUAN_MAX),
        "registration_number": raw["registration_number"].strip() or None,
        "signed_on": optional_date(raw["signed_on"], "signed_on"),
        "licence_end": optional_date(raw["licence_end"], "licence_end"),
    }


def _body(fields: StepFields) -> TransitionRequest:
    action = enum_value(DealAction, fields.action, "action")
    data: dict[str, Any] = {"action": action, "note": fields.note.strip() or None}
    data["transition_id"] = fields.transition_id.strip() or None
    if fields.reason:
        data["reason"] = enum_value(DeclineReason, fields.reason, "reason")
        data["reason_text"] = fields.reason_text.strip() or None
    for name in ("station_org_id", "handler_key_id"):
        data[name] = optional_int(getattr(fields, name), name, low=1, high=2**31 - 1)
    if action is DealAction.SIGN:
        data["contract"] = _contract(fields.contract)
    try:
        return TransitionRequest.model_validate(data)
    except ValidationError as exc:
        raise pydantic_failure(exc, "invalid step") from None


Fields = Annotated[StepFields, Depends(step_fields)]


@router.post("/deals/{deal_id}/step")
def step(
    request: Request, deal_id: DbId, session: DbSession, signed: FormUser, fields: Fields
) -> Response:
    """Take one move on the deal (or write a note), then show the deal again."""
    principal = require_role(signed, *_PARTIES)
    body = _body(fields)
    apply_transition(session, principal, deal_id, body)
    session.commit()
    if body.action is DealAction.SIGN:
        request.app.state.matcher.mark_written()  # signing changed the patent
    return redirect(f"/deals/{deal_id}#timeline")
