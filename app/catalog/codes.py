"""Validate administrative codes in API input, turning domain errors into 422 field errors."""

import re

from app.catalog.region import InvalidRegionCode, region_prefix, validate_region
from app.catalog.uscc import InvalidUscc, validate_uscc
from app.errors import ValidationFailed

# GB/T 4754-2017 codes: a section letter (门类) and/or 2–4 digits (大类/中类/小类), e.g. C3841.
_INDUSTRY = re.compile(r"[A-T](?:\d{2,4})?|\d{2,4}")

# An IPC code or any leading part of it: H, H01, H01M, H01M4, H01M4/3, H01M4/36.
_IPC_PREFIX = re.compile(r"[A-H](?:\d{2}(?:[A-Z](?:\d{1,4}(?:/\d{0,6})?)?)?)?")


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


def clean_industry(value: str | None, field: str = "industry_code") -> str | None:
    """A GB/T 4754-2017 industry code such as ``C3841``, ``3841`` or ``C``, upper-cased; or None."""
    if value is None:
        return None
    code = value.strip().upper()
    if not _INDUSTRY.fullmatch(code):
        raise _fail(field, ValueError(f"{value!r} is not a GB/T 4754-2017 code (e.g. C3841)"))
    return code


def clean_coverage(regions: list[str], industries: list[str]) -> tuple[list[str], list[str]]:
    """A station's coverage: GB/T 2260 region prefixes and GB/T 4754 codes, validated."""
    clean_regions = [
        clean_region_prefix(code, f"coverage_regions.{i}") or "" for i, code in enumerate(regions)
    ]
    clean_industries = [
        clean_industry(code, f"coverage_industries.{i}") or "" for i, code in enumerate(industries)
    ]
    return clean_regions, clean_industries


def clean_ipc_prefix(value: str | None, field: str = "ipc_prefix") -> str | None:
    """An IPC code prefix, upper case without spaces (``h01m 4/36`` → ``H01M4/36``), or None."""
    if value is None or not value.strip():
        return None
    compact = "".join(value.split()).upper()
    if not _IPC_PREFIX.fullmatch(compact):
        raise _fail(field, ValueError(f"{value!r} is not an IPC code prefix (e.g. H01M)"))
    return compact
