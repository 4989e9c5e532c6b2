"""CN patent application numbers (申请号) per ZC 0006-2003, including the pre-2004 8-digit form.

A modern number is ``YYYYTNNNNNNN.C`` (4-digit year, type digit, 7-digit serial, check character);
a legacy one is ``YYTNNNNN.C``. The check character is Σ digit × weight mod 11, 10 written ``X``.
"""

import re
import unicodedata
from dataclasses import dataclass

from app.catalog.enums import PatentType
from app.errors import InvalidValue

_MODERN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_LEGACY_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9)
_PREFIXES = ("CN", "ZL")

# 8 and 9 are PCT applications entering the national phase (invention / utility model).
_TYPE_BY_DIGIT = {
    "1": PatentType.INVENTION,
    "8": PatentType.INVENTION,
    "2": PatentType.UTILITY_MODEL,
    "9": PatentType.UTILITY_MODEL,
    "3": PatentType.DESIGN,
}

_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?E[+-]?\d+")
# A spreadsheet that stored the 13-digit number as a float writes it back with ".0".
_FLOAT_ARTEFACT = re.compile(r"(\d{13}|\d{9})\.0")
_WITH_CHECK = re.compile(r"(\d{12}|\d{8})\.?([0-9X])")
_WITHOUT_CHECK = re.compile(r"\d{12}|\d{8}")


class InvalidApplicationNumber(InvalidValue):
    """An application number that is malformed or fails its check character."""

    default_field = "application_number"


@dataclass(frozen=True)
class ApplicationNumber:
    """A validated application number and what it encodes."""

    normalised: str
    year: int
    type_digit: str
    patent_type: PatentType | None
    legacy: bool


def compute_check_char(body: str) -> str:
    """Check character for a 12-digit (modern) or 8-digit (legacy) body: ``0``–``9`` or ``X``."""
    if not body.isdigit() or len(body) not in (8, 12):
        raise InvalidApplicationNumber(
            f"application number body {body!r} must be 8 or 12 digits to compute a check character"
        )
    weights = _MODERN_WEIGHTS if len(body) == 12 else _LEGACY_WEIGHTS
    total = sum(int(digit) * weight for digit, weight in zip(body, weights, strict=True)) % 11
    return "X" if total == 10 else str(total)


def _clean(raw: str) -> str:
    """Full-width to ASCII, upper-case, drop whitespace and the CN/ZL prefixes."""
    text = "".join(unicodedata.normalize("NFKC", raw).upper().split())
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            if text.startswith(prefix):
                text = text[len(prefix) :]
                stripped = True
    return text


def _split_body(raw: str, text: str) -> tuple[str, str]:
    """Return (body, check character) from a cleaned number, or explain what is wrong."""
    artefact = _FLOAT_ARTEFACT.fullmatch(text)
    if artefact:
        digits = artefact.group(1)
        return digits[:-1], digits[-1]
    match = _WITH_CHECK.fullmatch(text)
    if match:
        return match.group(1), match.group(2)
    if _SCIENTIFIC.fullmatch(text):
        raise InvalidApplicationNumber(
            f"application number {raw!r} was mangled by a spreadsheet (scientific notation); "
            "re-export the column as text"
        )
    if _WITHOUT_CHECK.fullmatch(text):
        raise InvalidApplicationNumber(
            f"application number {raw!r} has no check character, so it cannot be verified; "
            "give the full number, e.g. 201410270596.7"
        )
    raise InvalidApplicationNumber(
        f"application number {raw!r} is not a CN application number: expected 12 digits "
        "(or 8 before 2004) followed by a check character, e.g. 201410270596.7"
    )


def _year_of(raw: str, body: str) -> int:
    """The filing year encoded in the body; legacy two-digit years cover 1985–2003."""
    if len(body) == 12:
        year = int(body[:4])
        # The 12-digit scheme started in October 2003.
        if year < 2003:
            raise InvalidApplicationNumber(
                f"application number {raw!r}: year {year} predates the 12-digit scheme (2003)"
            )
        return year
    short = int(body[:2])
    if 85 <= short <= 99:
        return 1900 + short
    if short <= 3:
        return 2000 + short
    raise InvalidApplicationNumber(
        f"application number {raw!r}: two-digit year {body[:2]} is outside 85–03"
    )


def parse_application_number(raw: str) -> ApplicationNumber:
    """Validate and normalise an application number (``YYYYTNNNNNNN.C`` or ``YYTNNNNN.C``)."""
    body, check = _split_body(raw, _clean(raw))
    year = _year_of(raw, body)
    type_digit = body[4] if len(body) == 12 else body[2]
    if type_digit not in _TYPE_BY_DIGIT:
        raise InvalidApplicationNumber(
            f"application number {raw!r}: type digit is {type_digit}, expected 1, 2, 3, 8 or 9"
        )
    expected = compute_check_char(body)
    if check != expected:
        raise InvalidApplicationNumber(
            f"application number {raw!r}: check character is {check}, expected {expected}"
        )
    return ApplicationNumber(
        normalised=f"{body}.{check}",
        year=year,
        type_digit=type_digit,
        patent_type=_TYPE_BY_DIGIT[type_digit],
        legacy=len(body) == 8,
    )


def is_valid_application_number(raw: str) -> bool:
    """True when ``raw`` parses as an application number."""
    try:
        parse_application_number(raw)
    except InvalidApplicationNumber:
        return False
    return True
