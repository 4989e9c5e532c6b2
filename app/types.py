"""Shared value types: database ids, amounts, UTC timestamps, text and list bounds.

Every id, text and list a caller sends goes through one of these, so that the bounds the
database needs (32-bit ids, no NUL or lone surrogates in text, bounded lists) are checked
once, at the edge, and reported as the caller's mistake (422) instead of failing inside.
"""

import re
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, Strict

# Integer columns are 32-bit on PostgreSQL: no id can be larger, and a larger value sent to
# the database would fail there instead of being reported as the caller's mistake.
INT32_MAX = 2**31 - 1
# Amounts in yuan are 64-bit columns; ten trillion yuan is far beyond any real contract.
YUAN_MAX = 10**13
# Longest free text (abstract, claim, need description) the API accepts: far above real ones.
MAX_TEXT = 20_000
# The years a date or month filter accepts: outside them a year is a typo, and the day after
# the last one must still be a date (filters add a day to their end).
YEARS = range(1900, 3000)
# Most names in one list field (applicants, patentees, inventors): real patents have < 30.
MAX_NAMES = 100
# Most codes in one list field (IPC codes, coverage regions/industries, enum filters).
MAX_CODES = 200
# Longest name (person, organisation) in a list field.
MAX_NAME = 200


def _refuse_bool(value: object) -> object:
    # JSON true/false are not ids: lax int parsing would take false as 0 and true as 1.
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


# Ids start at 1 (AUTOINCREMENT / identity columns) and fit the 32-bit columns.
# (Bounds before the validator: FastAPI documents parameters right only in this order.)
DbId = Annotated[int, Field(ge=1, le=INT32_MAX), BeforeValidator(_refuse_bool)]
# An integer count or amount in a body: never a boolean.
Int = Annotated[int, Strict()]

# C0 controls, DEL, C1 controls, and lone UTF-16 surrogates (JSON "\ud800" decodes to one):
# PostgreSQL refuses NUL, no encoder can write a lone surrogate, and the rest is no text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Multi-line text may keep tabs and line breaks.
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _checker(pattern: re.Pattern[str]) -> Any:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            code = f"U+{ord(found.group()):04X}"
            raise ValueError(f"contains a control character ({code}) at position {found.start()}")
        return value

    return check


def strip_control(text: str) -> str:
    """``text`` without the characters no text field may hold (tabs and newlines stay)."""
    return _CONTROL_MULTILINE.sub("", text)


# One line of text (names, titles, codes, query parameters): no control characters at all.
Line = Annotated[str, AfterValidator(_checker(_CONTROL))]
# Free text over several lines (abstracts, claims, descriptions, notes): tabs and newlines too.
Text = Annotated[str, AfterValidator(_checker(_CONTROL_MULTILINE))]

H = TypeVar("H", bound=Hashable)


def dedupe(values: list[H]) -> list[H]:
    """The values without repeats, first occurrence kept, in order."""
    return list(dict.fromkeys(values))


# A person's or organisation's name in a list.
Name = Annotated[Line, Field(min_length=1, max_length=MAX_NAME)]
# A list of names: bounded and without repeats.
NameList = Annotated[list[Name], Field(max_length=MAX_NAMES), AfterValidator(dedupe)]
# A short code (IPC, region, industry) in a list.
Code = Annotated[Line, Field(min_length=1, max_length=100)]
# A list of codes: bounded and without repeats.
CodeList = Annotated[list[Code], Field(max_length=MAX_CODES), AfterValidator(dedupe)]
# A list of enum members (filters, modes): bounded and without repeats.
UniqueList = Annotated[list[H], Field(max_length=MAX_CODES), AfterValidator(dedupe)]


def utcnow() -> datetime:
    """Timezone-aware now, for timestamps."""
    return datetime.now(UTC)


def assume_utc(moment: datetime) -> datetime:
    """``moment`` with UTC attached when it is naive.

    SQLite drops the offset of timestamps that were written in UTC; put it back.
    """
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(assume_utc)]
