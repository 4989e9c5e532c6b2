"""GB/T 2260 region codes and prefix matching."""

import pytest

from app.catalog.region import (
    InvalidRegionCode,
    RegionPrefix,
    region_matches,
    validate_region,
)


@pytest.mark.parametrize(
    "code", ["110000", "110108", "330106", "440305", "650100", "710000", "810000", "820000"]
)
def test_valid_codes(code: str) -> None:
    assert validate_region(code) == code


def test_whitespace_and_full_width_digits() -> None:
    assert validate_region(" 330106 ") == "330106"
    assert validate_region("３３０１０６") == "330106"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("33010", "6 digits"),
        ("3301060", "6 digits"),
        ("33O106", "6 digits"),
        ("", "6 digits"),
        ("160000", "16 is not a province"),
        ("000000", "00 is not a province"),
        ("550100", "55 is not a province"),
        ("830000", "83 is not a province"),
    ],
)
def test_invalid_codes_are_refused(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidRegionCode, match=fragment):
        validate_region(raw)


@pytest.mark.parametrize(
    ("code", "prefix", "expected"),
    [
        ("330100", "33", True),
        ("330106", "330000", True),  # the whole province
        ("330106", "330100", True),  # the whole city
        ("330106", "3301", True),
        ("330106", "330106", True),
        ("330206", "330100", False),  # Ningbo is not Hangzhou
        ("320106", "330000", False),
        ("330106", "330105", False),
        ("110108", "110000", True),
    ],
)
def test_region_matches(code: str, prefix: str, expected: bool) -> None:
    assert region_matches(code, prefix) is expected


def test_region_prefix_keeps_only_significant_digits() -> None:
    assert RegionPrefix.parse("330000").digits == "33"
    assert RegionPrefix.parse("330100").digits == "3301"
    assert RegionPrefix.parse("330106").digits == "330106"
    assert RegionPrefix.parse("33").digits == "33"
    assert RegionPrefix.parse(" ３３０１ ").digits == "3301"  # full-width, as typed in Chinese IMEs


def test_bad_prefix_names_its_field() -> None:
    with pytest.raises(InvalidRegionCode) as error:
        RegionPrefix.parse("990000", field="filters.region_prefix")
    assert error.value.field == "filters.region_prefix"
    assert error.value.extra["errors"][0]["field"] == "filters.region_prefix"
    assert "not a province-level code" in str(error.value)


@pytest.mark.parametrize("prefix", ["3", "330", "33010", "3301000", "xx", "990000"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(InvalidRegionCode):
        region_matches("330106", prefix)


def test_bad_code_is_refused_even_with_a_good_prefix() -> None:
    with pytest.raises(InvalidRegionCode):
        region_matches("33", "33")
