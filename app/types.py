"""Shared value types: database ids, amounts, UTC timestamps and text bounds."""

from datetime import UTC, datetime
from typing import Annotated

from annotated_types import Le
from pydantic import AfterValidator

# Integer columns are 32-bit on PostgreSQL: no id can be larger, and a larger value sent to
# the database would fail there instead of being reported as the caller's mistake.
INT32_MAX = 2**31 - 1
# Amounts in yuan are 64-bit columns; ten trillion yuan is far beyond any real contract.
YUAN_MAX = 10**13
DbId = Annotated[int, Le(INT32_MAX)]
# Longest free text (abstract, claim, need description) the API accepts: far above real ones.
MAX_TEXT = 20_000


def utcnow() -> datetime:
    """Timezone-aware now, for timestamps."""
    return datetime.now(UTC)


def assume_utc(moment: datetime) -> datetime:
    """``moment`` with UTC attached when it is naive.

    SQLite drops the offset of timestamps that were written in UTC; put it back.
    """
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(assume_utc)]
