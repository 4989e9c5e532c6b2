"""Parsing the console's form fields into domain values; bad input is a 422 naming the field."""

from datetime import date
from enum import StrEnum
from typing import TypeVar

from pydantic import ValidationError

from app.catalog.region import InvalidRegionCode, validate_region
from app.errors import ValidationFailed
from app.types import YEARS

EnumT = TypeVar("EnumT", bound=StrEnum)


def invalid(field: str, message: str) -> ValidationFailed:
    """A 422 about one field."""
    return ValidationFailed(f"invalid {field}", errors=[{"field": field, "message": message}])


def pydantic_failure(exc: ValidationError, message: str) -> ValidationFailed:
    """A 422 naming each field a request schema refused."""
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    return ValidationFailed(message, errors=errors)


def clean_region(raw: str | None, field: str = "region") -> str | None:
    """A GB/T 2260 code, or None for an empty field."""
    if not raw or not raw.strip():
        return None
    try:
        return validate_region(raw)
    except InvalidRegionCode as exc:
        raise invalid(field, str(exc)) from None


def optional_int(raw: str | None, field: str, *, low: int = 0, high: int = 10**12) -> int | None:
    """An integer within bounds, or None for an empty field."""
    text = (raw or "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise invalid(field, "must be a whole number") from None
    if not low <= value <= high:
        raise invalid(field, f"must be between {low} and {high}")
    return value


def optional_date(raw: str | None, field: str) -> date | None:
    """An ISO date, or None for an empty field."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise invalid(field, "must be a date, YYYY-MM-DD") from None
    # A day after 9999-12-31 is no date: filters that add a day to it would fail, not refuse.
    if value.year not in YEARS:
        raise invalid(field, f"must be a date between {YEARS.start} and {YEARS.stop - 1}")
    return value


def enum_value(enum: type[EnumT], raw: str, field: str) -> EnumT:
    """A member of ``enum`` by value."""
    try:
        return enum(raw)
    except ValueError:
        raise invalid(field, f"unknown value {raw!r}") from None


def enum_values(enum: type[EnumT], raws: list[str], field: str) -> list[EnumT]:
    """Members of ``enum`` for each selected value."""
    return [enum_value(enum, raw, field) for raw in raws if raw]
