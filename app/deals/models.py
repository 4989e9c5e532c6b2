"""Deal workflow tables: deals, their append-only event log, contracts, alerts and deliveries."""

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.catalog.models import enum_type
from app.deals.states import DealAction, DealState, DeclineReason
from app.types import utcnow


def aware(moment: datetime) -> datetime:
    """The moment as timezone-aware UTC; SQLite hands back naive values that were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# The webhook_url column width; request schemas refuse longer URLs before they reach it.
WEBHOOK_URL_MAX = 500


class ContractType(StrEnum):
    """Kind of technology contract (技术合同) signed at the end of a deal."""

    ASSIGNMENT = "assignment"  # 专利权转让
    EXCLUSIVE_LICENCE = "exclusive_licence"  # 独占许可
    SOLE_LICENCE = "sole_licence"  # 排他许可
    ORDINARY_LICENCE = "ordinary_licence"  # 普通许可
    OPEN_LICENCE = "open_licence"  # 开放许可


class Deal(SQLModel, table=True):
    """A contact request between a need (or an enterprise) and a patent (or a tto)."""

    id: int | None = Field(default=None, primary_key=True)
    need_id: int | None = Field(default=None, foreign_key="techneed.id", index=True)
    patent_id: int | None = Field(default=None, foreign_key="patent.id", index=True)
    requester_org_id: int = Field(foreign_key="organisation.id", index=True)
    # The supply side: the patent's owner, or the tto contacted directly.
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    station_org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    # The station's specialist (服务专员) handling the deal, by the API key they act through.
    handler_key_id: int | None = Field(default=None, foreign_key="api_key.id", index=True)
    state: DealState = Field(default=DealState.REQUESTED, sa_type=enum_type(DealState), index=True)
    # Where and in which industry the demand lies: drives broker assignment and figures.
    region: str | None = Field(default=None, max_length=6)
    industry_code: str | None = Field(default=None, max_length=5)
    message: str | None = Field(default=None, sa_type=sa.Text())
    consent_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    decline_reason: DeclineReason | None = Field(default=None, sa_type=enum_type(DeclineReason))
    decline_text: str | None = Field(default=None, sa_type=sa.Text())
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # Time of the last transition; a deal idle for too long is overdue.
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=sa.DateTime(timezone=True), index=True
    )


class DealEvent(SQLModel, table=True):
    """One transition of a deal, never updated or deleted."""

    __tablename__ = "deal_event"
    # A retried request with the same key from the same API key is answered from its event.
    __table_args__ = (sa.UniqueConstraint("actor_key_id", "idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deal.id", index=True)
    action: DealAction = Field(sa_type=enum_type(DealAction))
    from_state: DealState | None = Field(default=None, sa_type=enum_type(DealState))
    to_state: DealState = Field(sa_type=enum_type(DealState))
    actor_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    actor_org_id: int | None = Field(default=None, foreign_key="organisation.id")
    # The caller's role, or "system" for automatic steps such as auto-assignment.
    actor_role: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_type=sa.Text())
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    idempotency_key: str | None = Field(default=None, max_length=100)
    request_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class DealContract(SQLModel, table=True):
    """The contract that a deal ended in."""

    __tablename__ = "deal_contract"

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deal.id", unique=True)
    contract_type: ContractType = Field(sa_type=enum_type(ContractType), index=True)
    amount_yuan: int | None = Field(default=None, sa_type=sa.BigInteger())
    # 技术合同登记号, given once the contract is registered.
    registration_number: str | None = Field(default=None, max_length=40)
    signed_on: date
    licence_end: date | None = None
    patent_licence_id: int | None = Field(default=None, foreign_key="patent_licence.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class SubscriptionKind(StrEnum):
    """What an alert subscription watches for."""

    SEARCH = "search"  # a saved search: query text + filters
    NEED = "need"  # a technology need


class AlertSubscription(SQLModel, table=True):
    """A webhook subscription for patents matching a saved search or a need."""

    __tablename__ = "alert_subscription"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    key_id: int | None = Field(default=None, foreign_key="api_key.id")
    kind: SubscriptionKind = Field(sa_type=enum_type(SubscriptionKind))
    query_text: str = Field(default="", sa_type=sa.Text())
    need_id: int | None = Field(default=None, foreign_key="techneed.id")
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    min_score: float = 0.5
    webhook_url: str = Field(max_length=WEBHOOK_URL_MAX)
    # Needed in clear to sign deliveries; it is shown to the subscriber only once.
    secret: str = Field(max_length=100)
    active: bool = Field(default=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    unsubscribed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class DeliveryStatus(StrEnum):
    """Where a webhook delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt
    CANCELLED = "cancelled"  # the subscriber unsubscribed first


class AlertDelivery(SQLModel, table=True):
    """One event for one subscription; the event id deduplicates it."""

    __tablename__ = "alert_delivery"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="alert_subscription.id", index=True)
    event_id: str = Field(max_length=80)
    event_type: str = Field(max_length=40)
    patent_id: int | None = Field(default=None, foreign_key="patent.id")
    # The exact JSON body, so that every retry sends (and signs) the same bytes.
    payload: str = Field(sa_type=sa.Text())
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_type=enum_type(DeliveryStatus), index=True
    )
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = Field(
        default_factory=utcnow, sa_type=sa.DateTime(timezone=True), index=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class DeliveryAttempt(SQLModel, table=True):
    """One HTTP attempt of a delivery: the delivery log."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="alert_delivery.id", index=True)
    attempt_no: int
    attempted_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)


class AlertCursor(SQLModel, table=True):
    """How far the alert scanner has read a source (the index change log, declarations)."""

    __tablename__ = "alert_cursor"

    name: str = Field(primary_key=True, max_length=40)
    last_id: int = 0


class AlertPatentState(SQLModel, table=True):
    """The statuses the scanner last saw for a patent, so that it can tell a status change."""

    __tablename__ = "alert_patent_state"

    patent_id: int = Field(primary_key=True, foreign_key="patent.id")
    legal_status: str = Field(max_length=32)
    conversion_status: str = Field(max_length=32)
