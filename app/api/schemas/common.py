"""Shared response shapes: pages and problem documents."""

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from annotated_types import Le
from pydantic import AfterValidator, BaseModel, Field

T = TypeVar("T")


def _assume_utc(moment: datetime) -> datetime:
    # SQLite drops the offset of timestamps that were written in UTC; put it back.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_assume_utc)]

# Integer columns are 32-bit on PostgreSQL: no id can be larger, and a larger value sent to
# the database would fail there instead of being reported as the caller's mistake.
INT32_MAX = 2**31 - 1
# Amounts in yuan are 64-bit columns; ten trillion yuan is far beyond any real contract.
YUAN_MAX = 10**13
DbId = Annotated[int, Le(INT32_MAX)]
# Longest free text (abstract, claim, need description) the API accepts: far above real ones.
MAX_TEXT = 20_000


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next_cursor`` as ``cursor`` to get the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Opaque cursor of the next page; null on the last page."
    )


class FieldError(BaseModel):
    """One invalid field."""

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(examples=["/problems/not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["patent 42 does not exist"])
    instance: str = Field(examples=["/api/v1/patents/42"])
    request_id: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="Present on 422: the fields at fault."
    )
    retry_after: int | None = Field(default=None, description="Present on 429: seconds to wait.")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries documenting problem+json for the given statuses."""
    descriptions = {
        401: "Missing, invalid, expired or revoked API key.",
        403: "The caller's role or organisation may not do this.",
        404: "No such resource (or not visible to the caller).",
        409: "Conflicts with existing data, e.g. a duplicate application number.",
        422: "Invalid input; `errors` names the fields.",
        429: "Rate limit exceeded; see the Retry-After header.",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions.get(status, "Error"),
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }
