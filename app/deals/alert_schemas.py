"""Alert subscriptions (订阅提醒) and their webhook delivery log."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, UrlConstraints
from pydantic.config import JsonDict

from app.catalog.enums import PatentType
from app.deals.models import WEBHOOK_URL_MAX, DeliveryStatus, SubscriptionKind
from app.deals.schemas import UtcDatetime
from app.types import DbId, Line, Text, UniqueList


class AlertFilters(BaseModel):
    """Restrictions on the patents that trigger an alert."""

    model_config = ConfigDict(extra="forbid")

    ipc_prefix: Line | None = Field(default=None, max_length=20, examples=["H01M"])
    region_prefix: Line | None = Field(
        default=None, max_length=6, description="GB/T 2260 prefix of the owner's region"
    )
    patent_type: UniqueList[PatentType] | None = None
    open_licence_only: bool = False


class SubscriptionCreate(BaseModel):
    """A saved search (query text + filters) or a need to be alerted about."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "search",
                    "query_text": "高镍正极材料",
                    "filters": {"ipc_prefix": "H01M"},
                    "webhook_url": "https://example.cn/hooks/patentmatch",
                }
            ]
        },
    )

    kind: SubscriptionKind
    query_text: Text | None = Field(default=None, max_length=2000)
    need_id: DbId | None = None
    filters: AlertFilters = Field(default_factory=AlertFilters)
    min_score: float | None = Field(
        default=None, gt=0, le=1, description="Lexical match threshold; default 0.5 (need: 0.3)"
    )
    # The column holds 500 characters: a longer URL is a 422 here, never a database error.
    webhook_url: Annotated[HttpUrl, UrlConstraints(max_length=WEBHOOK_URL_MAX)]
    org_id: DbId | None = Field(default=None, description="Admins only")


class SubscriptionOut(BaseModel):
    """A subscription, without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int | None
    kind: SubscriptionKind
    query_text: str
    need_id: int | None
    filters: dict[str, Any]
    min_score: float
    webhook_url: str
    active: bool
    created_at: UtcDatetime
    unsubscribed_at: UtcDatetime | None


class SubscriptionCreated(SubscriptionOut):
    """A new subscription with its signing secret, shown only this once."""

    secret: str = Field(description="HMAC-SHA256 key of the webhook signatures; shown once")


class AttemptOut(BaseModel):
    """One HTTP attempt."""

    model_config = ConfigDict(from_attributes=True)

    attempt_no: int
    attempted_at: UtcDatetime
    status_code: int | None
    error: str | None


class DeliveryOut(BaseModel):
    """One event for a subscription and its attempts."""

    id: int
    event_id: str
    event_type: str
    patent_id: int | None
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    next_attempt_at: UtcDatetime | None
    delivered_at: UtcDatetime | None
    log: list[AttemptOut]


_DISPATCH_EXAMPLE: JsonDict = {
    "events_found": 1, "deliveries_queued": 1, "attempted": 1, "delivered": 0,
    "retrying": 1, "failed": 0,
}  # fmt: skip


class DispatchReport(BaseModel):
    """What one dispatcher run did."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DISPATCH_EXAMPLE]})

    events_found: int = 0
    deliveries_queued: int = 0
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
