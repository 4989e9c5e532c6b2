"""/api/v1/alerts: webhook subscriptions for saved searches and needs, delivery log, dispatch."""

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import col, select

from app.api.deps import PrincipalDep, SessionDep, SettingsDep, require_roles
from app.api.schemas.common import problem_responses
from app.auth.principal import Principal, Role
from app.deals.alert_schemas import (
    AttemptOut,
    DeliveryOut,
    DispatchReport,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
)
from app.deals.alerts import list_subscriptions, owned_subscription, subscribe, unsubscribe
from app.deals.models import AlertDelivery, DeliveryAttempt
from app.deals.scanner import ensure_cursors
from app.deals.webhook_targets import check_webhook_target
from app.deals.webhooks import DISPATCHER_LOCK, dispatch
from app.errors import Conflict
from app.locks import named_lock
from app.types import DbId, utcnow

router = APIRouter(prefix="/alerts", tags=["alerts"])

AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionCreated,
    summary="Subscribe a webhook to patent alerts",
    description="A saved search (query text + filters) or a need. When a new patent, a status "
    "change or a new open-licence declaration matches, the webhook receives a JSON event signed "
    "with HMAC-SHA256: header `X-Patentmatch-Signature: t=<unix>,v1=<hex>` over "
    "`<unix>.<body>`, keyed by the `secret` returned here **only once**. Events carry an `id` "
    "(also in `X-Patentmatch-Event-Id`) for deduplication; failures are retried with "
    "exponential backoff. The webhook must be a public host (no loopback or private addresses).",
    responses=problem_responses(401, 403, 404, 422),
)
def create_subscription(
    body: SubscriptionCreate, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> SubscriptionCreated:
    """Create a subscription."""
    check_webhook_target(str(body.webhook_url), allow_private=settings.webhook_allow_private_hosts)
    subscription, secret = subscribe(session, principal, body)
    ensure_cursors(session)
    session.commit()
    session.refresh(subscription)
    return SubscriptionCreated(
        **SubscriptionOut.model_validate(subscription).model_dump(), secret=secret
    )


@router.get(
    "/subscriptions",
    response_model=list[SubscriptionOut],
    summary="List my subscriptions",
    responses=problem_responses(401),
)
def read_subscriptions(session: SessionDep, principal: PrincipalDep) -> list[SubscriptionOut]:
    """The caller's organisation's subscriptions (all for admins); secrets are never shown."""
    return [SubscriptionOut.model_validate(s) for s in list_subscriptions(session, principal)]


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response_model=list[DeliveryOut],
    summary="Delivery log of a subscription",
    description="Every event with its status, attempts, status codes and next retry time.",
    responses=problem_responses(401, 404),
)
def read_deliveries(
    subscription_id: DbId, session: SessionDep, principal: PrincipalDep
) -> list[DeliveryOut]:
    """The delivery log, newest first."""
    owned_subscription(session, principal, subscription_id)
    stmt = select(AlertDelivery).where(AlertDelivery.subscription_id == subscription_id)
    out = []
    for delivery in session.exec(stmt.order_by(col(AlertDelivery.id).desc())):
        attempts = select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id)
        log = [AttemptOut.model_validate(a) for a in session.exec(attempts)]
        out.append(DeliveryOut(**delivery.model_dump(exclude={"payload"}), log=log))
    return out


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    summary="Unsubscribe",
    description="Stops the subscription and cancels its pending deliveries. Idempotent.",
    responses=problem_responses(401, 404),
)
def delete_subscription(
    subscription_id: DbId, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Unsubscribe."""
    unsubscribe(session, principal, subscription_id)
    session.commit()
    return Response(status_code=204)


@router.post(
    "/dispatch",
    response_model=DispatchReport,
    summary="Run the alert dispatcher once",
    description="Admins (or a scheduler using an admin key): find new events, queue deliveries, "
    "send the ones due now. 409 while another dispatcher (e.g. `patentmatch worker`) runs.",
    responses=problem_responses(401, 403, 409),
)
def run_dispatch(
    request: Request, session: SessionDep, settings: SettingsDep, _admin: AdminDep
) -> DispatchReport:
    """One dispatcher run, under the deployment-wide dispatcher lock."""
    lock = named_lock(request.app.state.write_engine, DISPATCHER_LOCK, settings.var_dir)
    if not lock.try_acquire():
        raise Conflict("another alert dispatcher is running; try again later")
    try:
        with httpx.Client() as client:
            report = dispatch(session, client, utcnow(), settings)
        session.commit()
    finally:
        lock.release()
    return report
