"""Alert subscriptions: saved searches and needs, matched lexically against patent events."""

import hashlib
import json
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.auth.principal import Principal
from app.catalog.enums import LegalStatus, NeedStatus
from app.catalog.models import Organisation, Patent, TechNeed
from app.db import persisted_id
from app.deals.alert_schemas import SubscriptionCreate
from app.deals.events import invalid_field
from app.deals.models import (
    AlertDelivery,
    AlertSubscription,
    DeliveryStatus,
    SubscriptionKind,
)
from app.deals.similarity import bigrams, coverage, overlap
from app.errors import Forbidden, InvalidValue, NotFound
from app.search.documents import need_text, patent_text
from app.search.filters import MatchFilters
from app.types import utcnow

DEFAULT_MIN_SCORE = {SubscriptionKind.SEARCH: 0.5, SubscriptionKind.NEED: 0.3}


@dataclass(frozen=True)
class PatentEvent:
    """Something that happened to a patent and may interest subscribers."""

    event_type: str  # patent.created | patent.status_changed | open_licence.declared
    patent_id: int
    source_id: int  # the change or declaration that revealed it, for a stable event id
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        """Stable id: the same event found twice is delivered once."""
        raw = f"{self.event_type}:{self.patent_id}:{self.source_id}"
        return "evt_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def _subscriber(principal: Principal, requested: int | None) -> int | None:
    if principal.is_admin():
        return requested
    if principal.org_id is None:
        raise Forbidden("this API key belongs to no organisation")
    if requested not in (None, principal.org_id):
        raise Forbidden("you may only subscribe for your own organisation")
    return principal.org_id


def _check_target(session: Session, org_id: int | None, body: SubscriptionCreate) -> str:
    if body.kind is SubscriptionKind.SEARCH:
        text = (body.query_text or "").strip()
        if not text:
            raise invalid_field("query_text", "a saved search needs query text")
        return text
    if body.need_id is None:
        raise invalid_field("need_id", "a need subscription names the need")
    need = session.get(TechNeed, body.need_id)
    foreign = org_id is not None and need is not None and need.org_id != org_id
    if need is None or (foreign and need.status is NeedStatus.DRAFT):
        raise NotFound(f"need {body.need_id} does not exist")
    if foreign:
        # Alerts on a need tell its enterprise about new supply: only its own needs qualify.
        raise Forbidden(f"need {body.need_id} belongs to another organisation")
    return (body.query_text or "").strip()


def _clean_filters(body: SubscriptionCreate) -> dict[str, Any]:
    # Stored as MatchFilters.to_json (canonical prefixes), read back by _stored_filters.
    wanted = body.filters
    try:
        filters = MatchFilters(
            ipc_prefix=wanted.ipc_prefix,
            region_prefix=wanted.region_prefix,
            patent_type=wanted.patent_type,
            open_licence_only=wanted.open_licence_only,
        )
    except InvalidValue as error:
        raise error.for_field(f"filters.{error.field}") from None
    return filters.to_json()


def _stored_filters(subscription: AlertSubscription) -> MatchFilters | None:
    """The subscription's filters; None when a stored value no longer parses (never matches)."""
    try:
        filters = MatchFilters.from_json(subscription.filters or {})
    except InvalidValue:
        # Written before the prefixes were validated as they are now (e.g. region "99").
        return None
    if filters.legal_status is None:
        # Alerts report status changes too, lapses included: no status is hidden.
        filters = replace(filters, legal_status=list(LegalStatus))
    return filters


def subscribe(
    session: Session, principal: Principal, body: SubscriptionCreate
) -> tuple[AlertSubscription, str]:
    """Create a subscription; returns it with its signing secret (shown only this once)."""
    org_id = _subscriber(principal, body.org_id)
    text = _check_target(session, org_id, body)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = AlertSubscription(
        org_id=org_id,
        key_id=principal.key_id,
        kind=body.kind,
        query_text=text,
        need_id=body.need_id if body.kind is SubscriptionKind.NEED else None,
        filters=_clean_filters(body),
        min_score=body.min_score or DEFAULT_MIN_SCORE[body.kind],
        webhook_url=str(body.webhook_url),
        secret=secret,
    )
    session.add(subscription)
    session.flush()
    return subscription, secret


def owned_subscription(
    session: Session, principal: Principal, subscription_id: int
) -> AlertSubscription:
    """The subscription if the caller's organisation (or an admin) owns it; 404 otherwise."""
    subscription = session.get(AlertSubscription, subscription_id)
    mine = subscription is not None and (
        principal.is_admin() or subscription.org_id == principal.org_id
    )
    if subscription is None or not mine:
        raise NotFound(f"subscription {subscription_id} does not exist")
    return subscription


def unsubscribe(session: Session, principal: Principal, subscription_id: int) -> None:
    """Stop a subscription and cancel its pending deliveries (idempotent)."""
    subscription = owned_subscription(session, principal, subscription_id)
    if subscription.active:
        subscription.active = False
        subscription.unsubscribed_at = utcnow()
        session.add(subscription)
    pending = select(AlertDelivery).where(
        AlertDelivery.subscription_id == subscription_id,
        AlertDelivery.status == DeliveryStatus.PENDING,
    )
    for delivery in session.exec(pending):
        delivery.status = DeliveryStatus.CANCELLED
        delivery.next_attempt_at = None
        session.add(delivery)


def list_subscriptions(session: Session, principal: Principal) -> list[AlertSubscription]:
    """The caller's organisation's subscriptions (all for admins), oldest first."""
    stmt = select(AlertSubscription).order_by(col(AlertSubscription.id))
    if not principal.is_admin():
        stmt = stmt.where(AlertSubscription.org_id == principal.org_id)
    return list(session.exec(stmt))


def match_score(
    session: Session, subscription: AlertSubscription, patent: Patent, grams: set[str]
) -> float:
    """How well a patent (``grams``: its text's bigrams) fits a subscription (0 if filtered out)."""
    owner = session.get(Organisation, patent.owner_org_id) if patent.owner_org_id else None
    filters = _stored_filters(subscription)
    if filters is None or not filters.accepts(patent, owner, utcnow().date()):
        return 0.0
    if subscription.kind is SubscriptionKind.SEARCH:
        return coverage(bigrams(subscription.query_text), grams)
    need = session.get(TechNeed, subscription.need_id) if subscription.need_id else None
    return overlap(bigrams(need_text(need)), grams) if need else 0.0


def _payload(event: PatentEvent, patent: Patent, subscription_id: int, score: float) -> str:
    body = {
        "id": event.event_id,
        "type": event.event_type,
        "subscription_id": subscription_id,
        "created_at": utcnow().isoformat(),
        "score": round(score, 4),
        "patent": {
            "id": patent.id,
            "title": patent.title,
            "application_number": patent.application_number,
            "ipc_main": patent.ipc_main,
            "legal_status": patent.legal_status,
            "conversion_status": patent.conversion_status,
            "owner_org_id": patent.owner_org_id,
        },
        "detail": event.detail,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)


def enqueue(session: Session, event: PatentEvent, now: datetime) -> int:
    """Queue a delivery of ``event`` for every matching active subscription; returns how many."""
    patent = session.get(Patent, event.patent_id)
    if patent is None:
        return 0
    queued = 0
    active = select(AlertSubscription).where(col(AlertSubscription.active).is_(True))
    subscriptions = session.exec(active).all()
    # The patent's bigrams once per event, not once per subscription (text normalisation is slow).
    grams = bigrams(patent_text(patent)) if subscriptions else set()
    for subscription in subscriptions:
        subscription_id = persisted_id(subscription)
        score = match_score(session, subscription, patent, grams)
        seen = select(AlertDelivery.id).where(
            AlertDelivery.subscription_id == subscription_id,
            AlertDelivery.event_id == event.event_id,
        )
        if score < subscription.min_score or session.exec(seen).first() is not None:
            continue
        session.add(
            AlertDelivery(
                subscription_id=subscription_id,
                event_id=event.event_id,
                event_type=event.event_type,
                patent_id=patent.id,
                payload=_payload(event, patent, subscription_id, score),
                next_attempt_at=now,
            )
        )
        queued += 1
    session.flush()
    return queued
