"""Validate administrative codes in API input, turning domain errors into 422 field errors."""

from app.catalog.region import InvalidRegionCode, region_prefix, validate_region
from app.catalog.uscc import InvalidUscc, validate_uscc
from app.errors import ValidationFailed


def _fail(field: str, exc: ValueError) -> ValidationFailed:
    return ValidationFailed(f"invalid {field}", errors=[{"field": field, "message": str(exc)}])


def clean_region(value: str | None, field: str = "region") -> str | None:
    """A GB/T 2260 six-digit code, or None."""
    if value is None:
        return None
    try:
        return validate_region(value)
    except InvalidRegionCode as exc:
        raise _fail(field, exc) from None


def clean_region_prefix(value: str | None, field: str = "region_prefix") -> str | None:
    """The significant digits of a region filter (``330000`` → ``33``), or None."""
    if value is None:
        return None
    try:
        return region_prefix(value)
    except InvalidRegionCode as exc:
        raise _fail(field, exc) from None


def clean_uscc(value: str | None, field: str = "uscc") -> str | None:
    """A verified 统一社会信用代码, or None."""
    if value is None:
        return None
    try:
        return validate_uscc(value)
    except InvalidUscc as exc:
        raise _fail(field, exc) from None
