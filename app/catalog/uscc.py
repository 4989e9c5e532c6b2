"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters: registration authority, organisation category, 6-digit GB/T 2260 region code,
9-character organisation code, check character. Letters I, O, S, V and Z are never used.
"""

import unicodedata

from app.errors import InvalidValue

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {char: value for value, char in enumerate(CHARSET)}


class InvalidUscc(InvalidValue):
    """A unified social credit code that is malformed or fails its check character."""

    default_field = "uscc"


def compute_uscc_check(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    if len(first17) != 17 or any(char not in _VALUE for char in first17):
        raise InvalidUscc(f"{first17!r} is not 17 characters from {CHARSET}")
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_uscc(raw: str) -> str:
    """Return the code stripped and upper-cased, or raise ``InvalidUscc`` saying what is wrong."""
    code = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    if len(code) != 18:
        raise InvalidUscc(
            f"unified social credit code {raw!r} has {len(code)} characters, expected 18"
        )
    bad = sorted({char for char in code if char not in _VALUE})
    if bad:
        raise InvalidUscc(
            f"unified social credit code {raw!r} contains {', '.join(bad)}, "
            f"which the standard never uses (allowed: {CHARSET})"
        )
    if not code[2:8].isdigit():
        raise InvalidUscc(
            f"unified social credit code {raw!r}: characters 3–8 must be a 6-digit region code"
        )
    expected = compute_uscc_check(code[:17])
    if code[17] != expected:
        raise InvalidUscc(
            f"unified social credit code {raw!r}: check character is {code[17]}, "
            f"expected {expected}"
        )
    return code


def uscc_region(code: str) -> str:
    """The GB/T 2260 region code of registration embedded in a valid code (characters 3–8)."""
    return validate_uscc(code)[2:8]
