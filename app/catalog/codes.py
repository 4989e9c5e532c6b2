"""Optional administrative codes of API input: None passes, anything else is validated.

Each validator raises an ``InvalidValue`` naming ``field``, which the API renders as a 422.
Region prefixes and IPC prefixes have their value objects (``RegionPrefix``, ``IpcPrefix``).
"""

import re

from app.catalog.region import RegionPrefix, validate_region
from app.catalog.uscc import InvalidUscc, validate_uscc
from app.errors import InvalidValue
from app.types import dedupe

# GB/T 4754-2017 codes: a section letter (门类) and/or 2–4 digits (大类/中类/小类), e.g. C3841.
_INDUSTRY = re.compile(r"[A-T](?:\d{2,4})?|\d{2,4}")


def clean_region(value: str | None, field: str = "region") -> str | None:
    """A GB/T 2260 six-digit code, or None."""
    return None if value is None else validate_region(value, field)


def clean_region_prefix(value: str | None, field: str = "region_prefix") -> str | None:
    """The significant digits of a region filter (``330000`` → ``33``), or None."""
    return None if value is None else RegionPrefix.parse(value, field).digits


def clean_uscc(value: str | None, field: str = "uscc") -> str | None:
    """A verified 统一社会信用代码, or None."""
    if value is None:
        return None
    try:
        return validate_uscc(value)
    except InvalidUscc as exc:
        raise exc.for_field(field) from None


def industry_code(value: str, field: str = "industry_code") -> str:
    """A GB/T 4754-2017 industry code such as ``C3841``, ``3841`` or ``C``, upper-cased."""
    code = value.strip().upper()
    if not _INDUSTRY.fullmatch(code):
        raise InvalidValue(f"{value!r} is not a GB/T 4754-2017 code (e.g. C3841)", field=field)
    return code


def clean_industry(value: str | None, field: str = "industry_code") -> str | None:
    """``industry_code``, or None."""
    return None if value is None else industry_code(value, field)


def clean_coverage(regions: list[str], industries: list[str]) -> tuple[list[str], list[str]]:
    """A station's coverage: GB/T 2260 region prefixes and GB/T 4754 codes, validated."""
    clean_regions = [
        RegionPrefix.parse(code, f"coverage_regions.{i}").digits for i, code in enumerate(regions)
    ]
    clean_industries = [
        clean_industry(code, f"coverage_industries.{i}") or "" for i, code in enumerate(industries)
    ]
    # Different spellings of one code ("330100", "3301") are one entry once normalised.
    return dedupe(clean_regions), dedupe(clean_industries)
