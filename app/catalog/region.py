"""Administrative division codes (行政区划代码, GB/T 2260): six digits, province-city-county.

``330000`` is Zhejiang as a whole, ``330100`` the city of Hangzhou, ``330106`` a district.
A ``RegionPrefix`` (``33``, ``3301``, ``330100`` …) is the one parsed form of a region filter
or a station's coverage.
"""

import unicodedata
from dataclasses import dataclass

from app.errors import InvalidValue

# First two digits of province-level divisions, including Taiwan (71), Hong Kong and Macao.
PROVINCE_PREFIXES = frozenset(
    f"{number:02d}"
    for low, high in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65))
    for number in range(low, high + 1)
) | {"71", "81", "82"}


class InvalidRegionCode(InvalidValue):
    """Text that is not a GB/T 2260 region code (or prefix)."""

    default_field = "region"


def _digits(raw: str) -> str:
    """Full-width digits to ASCII, surrounding whitespace removed."""
    return unicodedata.normalize("NFKC", raw).strip()


def validate_region(raw: str, field: str = "region") -> str:
    """Return the 6-digit region code, or raise ``InvalidRegionCode`` saying what is wrong."""
    code = _digits(raw)
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise InvalidRegionCode(f"region code {raw!r} must be 6 digits, e.g. 330100", field=field)
    if code[:2] not in PROVINCE_PREFIXES:
        raise InvalidRegionCode(
            f"region code {raw!r}: {code[:2]} is not a province-level code (11–82)", field=field
        )
    return code


@dataclass(frozen=True)
class RegionPrefix:
    """The significant digits of a region filter: ``330000`` → ``33``, ``330100`` → ``3301``."""

    digits: str

    @classmethod
    def parse(cls, raw: str, field: str = "region_prefix") -> "RegionPrefix":
        """2, 4 or 6 digits (full-width accepted) of a real province; ``InvalidRegionCode``."""
        text = _digits(raw)
        if len(text) not in (2, 4, 6) or not text.isascii() or not text.isdigit():
            raise InvalidRegionCode(
                f"region prefix {raw!r} must be 2, 4 or 6 digits, e.g. 33, 3301 or 330100",
                field=field,
            )
        if text[:2] not in PROVINCE_PREFIXES:
            raise InvalidRegionCode(
                f"region prefix {raw!r}: {text[:2]} is not a province-level code (11–82)",
                field=field,
            )
        # Trailing "00" pairs mean "the whole province / city", so they do not narrow the match.
        while len(text) > 2 and text.endswith("00"):
            text = text[:-2]
        return cls(text)

    def covers(self, region: str | None) -> bool:
        """True when the six-digit ``region`` lies within this prefix (no region: False)."""
        return bool(region) and str(region).startswith(self.digits)

    def __str__(self) -> str:
        return self.digits


def region_matches(code: str, prefix: str) -> bool:
    """True when region ``code`` lies within ``prefix`` (``33``, ``3301``, ``330000`` …)."""
    return RegionPrefix.parse(prefix).covers(validate_region(code))
