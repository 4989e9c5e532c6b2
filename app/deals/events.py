"""The append-only deal event log: who did what and when, and idempotent retries."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.auth.principal import Principal
from app.db import persisted_id
from app.deals.models import Deal, DealEvent
from app.deals.states import DealAction, DealState
from app.errors import Conflict, ValidationFailed

SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class StepResult:
    """A deal after a step, the event of that step, and whether it replayed an earlier request."""

    deal: Deal
    event: DealEvent
    replayed: bool


def invalid_field(field: str, message: str) -> ValidationFailed:
    """A 422 naming one field."""
    return ValidationFailed(message, errors=[{"field": field, "message": message}])


def request_hash(kind: str, deal_id: int | None, body: BaseModel) -> str:
    """Fingerprint of a request, to tell a retry from another request reusing its key."""
    payload = body.model_dump(mode="json", exclude={"transition_id"})
    raw = json.dumps([kind, deal_id, payload], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def find_replay(
    session: Session, principal: Principal, key: str | None, digest: str
) -> DealEvent | None:
    """The event recorded for an earlier request with this key; 409 if that request differed."""
    if key is None:
        return None
    stmt = select(DealEvent).where(
        DealEvent.actor_key_id == principal.key_id, DealEvent.idempotency_key == key
    )
    event = session.exec(stmt).first()
    if event is None:
        return None
    if event.request_hash != digest:
        raise Conflict(
            f"idempotency key {key!r} was already used for a different request",
            extra={"event_id": event.id},
        )
    return event


def record_event(
    session: Session,
    deal: Deal,
    action: DealAction,
    from_state: DealState | None,
    actor: Principal | None,
    *,
    now: datetime,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
    key: str | None = None,
    digest: str | None = None,
    touch: bool = True,
) -> DealEvent:
    """Append one event for ``deal`` (already in its new state); ``actor`` None is the system.

    ``touch`` False keeps the deal's last-transition time (notes do not stop it being overdue).
    """
    deal_id = persisted_id(deal)
    event = DealEvent(
        deal_id=deal_id,
        action=action,
        from_state=from_state,
        to_state=deal.state,
        actor_key_id=actor.key_id if actor else None,
        actor_org_id=actor.org_id if actor else None,
        actor_role=actor.role.value if actor else SYSTEM_ROLE,
        note=(note or "").strip() or None,
        detail=detail or {},
        idempotency_key=key,
        request_hash=digest if key else None,
        created_at=now,
    )
    if touch:
        deal.updated_at = now
    session.add(deal)
    session.add(event)
    return event


def deal_events(session: Session, deal_id: int) -> list[DealEvent]:
    """A deal's events, oldest first."""
    stmt = select(DealEvent).where(DealEvent.deal_id == deal_id).order_by(col(DealEvent.id))
    return list(session.exec(stmt))


def flush_step(
    session: Session, principal: Principal, key: str | None, digest: str, result: StepResult
) -> StepResult:
    """Flush a step; a concurrent retry with the same key that won the race answers instead."""
    try:
        session.flush()
    except IntegrityError:
        # A concurrent retry with the same key won the race: answer with its result.
        session.rollback()
        replay = find_replay(session, principal, key, digest)
        if replay is None:
            raise
        deal = session.get(Deal, replay.deal_id)
        assert deal is not None
        return StepResult(deal, replay, True)
    return result
