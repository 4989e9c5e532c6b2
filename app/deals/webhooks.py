"""Webhook delivery: HMAC-SHA256-signed JSON events, retries with exponential backoff, a log.

The dispatcher is explicit: ``deliver_pending`` sends what is due at ``now`` and returns; a
background task (or a test, with a fake clock) calls it again when the next retry is due.
"""

import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlmodel import Session, col, select

from app.db import persisted_id
from app.deals.alert_schemas import DispatchReport
from app.deals.models import (
    AlertDelivery,
    AlertSubscription,
    DeliveryAttempt,
    DeliveryStatus,
    aware,
)
from app.deals.scanner import collect
from app.deals.webhook_targets import TargetRefused, pin_target
from app.settings import Settings

# The deployment-wide lock (``app.locks.named_lock``) that keeps delivery to one dispatcher.
DISPATCHER_LOCK = "alert-dispatcher"

SIGNATURE_HEADER = "X-Patentmatch-Signature"
TIMESTAMP_HEADER = "X-Patentmatch-Timestamp"
EVENT_HEADER = "X-Patentmatch-Event-Id"
REQUEST_TIMEOUT_SECONDS = 10.0

logger = logging.getLogger("patentmatch.deals.webhooks")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"{timestamp}.{body}"`` under the subscription's secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``t=<unix seconds>,v1=<hex digest>``."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: datetime, tolerance_s: int = 300) -> bool:
    """What a receiver does: recompute the signature and reject stale timestamps (replays)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(fields.get("v1", ""), sign(secret, timestamp, body))


def backoff(settings: Settings, attempts: int) -> timedelta:
    """Wait before retry number ``attempts`` + 1: base, 2×base, 4×base …"""
    return timedelta(seconds=settings.webhook_backoff_seconds * 2 ** (attempts - 1))


def _failure(exc: httpx.HTTPError) -> str:
    # Subscribers see a category only: the exception text can describe the server's network.
    if isinstance(exc, httpx.TimeoutException):
        return "the receiver did not answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect to the receiver"
    return "the request to the receiver failed"


def _post(
    client: httpx.Client,
    sub: AlertSubscription,
    delivery: AlertDelivery,
    now: datetime,
    settings: Settings,
) -> tuple[int | None, str | None]:
    try:
        # Resolved and checked now, and sent to the checked address: no DNS rebinding.
        target = pin_target(sub.webhook_url, allow_private=settings.webhook_allow_private_hosts)
    except TargetRefused as exc:
        logger.warning("webhook of subscription %s refused: %s", sub.id, exc)
        return None, "refused: the webhook host is not a public address or does not resolve"
    body = delivery.payload.encode()
    timestamp = int(now.timestamp())
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        EVENT_HEADER: delivery.event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(sub.secret, timestamp, body),
    }
    request = client.build_request(
        "POST",
        target.url,
        content=body,
        headers=headers,
        timeout=REQUEST_TIMEOUT_SECONDS,
        extensions={"sni_hostname": target.hostname},
    )
    try:
        response = client.send(request, follow_redirects=False)
    except httpx.HTTPError as exc:
        # Unreachable receivers are retried like failing ones; the server log keeps the reason.
        logger.warning("webhook of subscription %s failed: %r", sub.id, exc)
        return None, _failure(exc)
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def _record(
    delivery: AlertDelivery, code: int | None, error: str | None, now: datetime, settings: Settings
) -> DeliveryAttempt:
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = code, error
    if error is None:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            DeliveryStatus.DELIVERED, now, None
        )  # fmt: skip
    elif delivery.attempts >= settings.webhook_max_attempts:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = now + backoff(settings, delivery.attempts)
    delivery_id = persisted_id(delivery)
    return DeliveryAttempt(
        delivery_id=delivery_id, attempt_no=delivery.attempts, attempted_at=now,
        status_code=code, error=error,
    )  # fmt: skip


def deliver_pending(
    session: Session, client: httpx.Client, now: datetime, settings: Settings
) -> DispatchReport:
    """Send every delivery due at ``now`` once; flushes, the caller commits."""
    report = DispatchReport()
    due = (
        select(AlertDelivery, AlertSubscription)
        .join(AlertSubscription, col(AlertSubscription.id) == col(AlertDelivery.subscription_id))
        .where(
            AlertDelivery.status == DeliveryStatus.PENDING,
            col(AlertDelivery.next_attempt_at) <= now,
        )
        .order_by(col(AlertDelivery.next_attempt_at), col(AlertDelivery.id))
    )
    for delivery, subscription in session.exec(due).all():
        if not subscription.active:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.CANCELLED, None
            session.add(delivery)
            continue
        code, error = _post(client, subscription, delivery, now, settings)
        session.add(_record(delivery, code, error, now, settings))
        session.add(delivery)
        report.attempted += 1
        if delivery.status is DeliveryStatus.DELIVERED:
            report.delivered += 1
        elif delivery.status is DeliveryStatus.FAILED:
            report.failed += 1
        else:
            report.retrying += 1
    session.flush()
    return report


def next_due(session: Session) -> datetime | None:
    """When the earliest pending delivery is due, if any."""
    stmt = select(AlertDelivery.next_attempt_at).where(
        AlertDelivery.status == DeliveryStatus.PENDING
    )
    moment = session.exec(stmt.order_by(col(AlertDelivery.next_attempt_at))).first()
    return aware(moment) if moment else None


def drain(
    session: Session,
    client: httpx.Client,
    settings: Settings,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    max_rounds: int = 100,
) -> DispatchReport:
    """Deliver until nothing is pending, sleeping until each retry is due; commits each round."""
    total = DispatchReport()
    for _ in range(max_rounds):
        report = deliver_pending(session, client, clock(), settings)
        session.commit()
        for name in ("attempted", "delivered", "retrying", "failed"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        due = next_due(session)
        if due is None:
            break
        sleep(max(0.0, (due - clock()).total_seconds()))
    return total


def dispatch(
    session: Session, client: httpx.Client, now: datetime, settings: Settings
) -> DispatchReport:
    """One dispatcher run: find new events, queue matching deliveries, send what is due."""
    events, queued = collect(session, now)
    report = deliver_pending(session, client, now, settings)
    report.events_found, report.deliveries_queued = events, queued
    return report
