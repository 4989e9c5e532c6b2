"""Application numbers: real numbers from the shared list, prefixes, legacy forms, corruptions."""

import csv
from pathlib import Path

import pytest

from app.catalog.appno import (
    InvalidApplicationNumber,
    compute_check_char,
    is_valid_application_number,
    parse_application_number,
)
from app.catalog.enums import PatentType

# Real numbers from cn_application_list.csv (first column, as stored there).
REAL_X = "201520221031X"
REAL_FLOAT = "2015207546755"  # stored without a dot
TYPE_OF_DIGIT = {"1": PatentType.INVENTION, "2": PatentType.UTILITY_MODEL, "3": PatentType.DESIGN}


def reference_check(body: str) -> str:
    """Independent restatement of ZC 0006-2003 for test data: weights 2..9 then 2..5, mod 11."""
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5][: len(body)]
    total = 0
    for position, digit in enumerate(body):
        total += int(digit) * weights[position]
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def corrupt(check: str) -> str:
    """A different check character."""
    return "1" if check != "1" else "2"


def read_application_list(shared_dir: Path) -> list[dict[str, str]]:
    path = shared_dir / "data" / "patents" / "cn_application_list.csv"
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_row_of_the_shared_list_parses(shared_dir: Path) -> None:
    rows = read_application_list(shared_dir)
    assert len(rows) == 6699
    parsed = [parse_application_number(row["app_no"]) for row in rows]
    assert len({number.normalised for number in parsed}) == 6691
    for row, number in zip(rows, parsed, strict=True):
        digits = row["app_no"].removesuffix(".0")
        assert number.normalised == f"{digits[:12]}.{digits[12]}"
        assert number.year == int(digits[:4])
        assert 2011 <= number.year <= 2016
        assert not number.legacy
        assert number.patent_type == TYPE_OF_DIGIT[digits[4]]


def test_float_artefacts_in_the_shared_list_are_normalised(shared_dir: Path) -> None:
    artefacts = [
        r["app_no"] for r in read_application_list(shared_dir) if r["app_no"].endswith(".0")
    ]
    assert len(artefacts) > 1000
    for raw in artefacts[:50]:
        assert parse_application_number(raw).normalised == raw[:12] + "." + raw[12]


def test_corrupted_check_characters_from_the_shared_list_are_refused(shared_dir: Path) -> None:
    for row in read_application_list(shared_dir)[:300]:
        digits = row["app_no"].removesuffix(".0")
        bad = digits[:12] + corrupt(digits[12])
        with pytest.raises(InvalidApplicationNumber, match=f"expected {digits[12]}"):
            parse_application_number(bad)


def test_check_character_agrees_with_reference_on_real_bodies(shared_dir: Path) -> None:
    for row in read_application_list(shared_dir):
        body = row["app_no"][:12]
        assert compute_check_char(body) == reference_check(body)


def test_x_check_character_in_either_case() -> None:
    number = parse_application_number(REAL_X.lower())
    assert number.normalised == "201520221031.X"
    assert number.patent_type is PatentType.UTILITY_MODEL
    assert parse_application_number("201520221031.x").normalised == "201520221031.X"


@pytest.mark.parametrize(
    "raw",
    [
        "CN201520754675.5",
        "cn 2015 2075 4675.5",
        "ZL201520754675.5",
        "ZL 201520754675.5",
        "ZLCN201520754675.5",
        "zl201520754675.5",
        "２０１５２０７５４６７５．５",  # full-width, as typed with a Chinese IME
        " 201520754675.5 ",
        REAL_FLOAT,
        REAL_FLOAT + ".0",
    ],
)
def test_prefixes_spaces_and_dots(raw: str) -> None:
    assert parse_application_number(raw).normalised == "201520754675.5"


def test_error_message_names_given_and_expected_check() -> None:
    with pytest.raises(InvalidApplicationNumber) as info:
        parse_application_number("201520754675.3")
    message = str(info.value)
    assert "201520754675.3" in message
    assert "check character is 3, expected 5" in message


def test_scientific_notation_is_refused_as_spreadsheet_damage() -> None:
    with pytest.raises(InvalidApplicationNumber, match="spreadsheet"):
        parse_application_number("2.01410270597E+12")


@pytest.mark.parametrize("raw", ["201520754675", "CN201520754675", "93100001"])
def test_missing_check_character_is_refused(raw: str) -> None:
    with pytest.raises(InvalidApplicationNumber, match="no check character"):
        parse_application_number(raw)


@pytest.mark.parametrize(
    "raw", ["", "abc", "2015207546755.55", "20152075467.5", "201520754675.55", "2015-2075-4675"]
)
def test_malformed_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidApplicationNumber):
        parse_application_number(raw)
    assert not is_valid_application_number(raw)


def test_type_digit_must_be_known() -> None:
    body = "201540754675"
    with pytest.raises(InvalidApplicationNumber, match="type digit is 4"):
        parse_application_number(body + reference_check(body))


@pytest.mark.parametrize(
    ("body", "year", "patent_type"),
    [
        ("98100001", 1998, PatentType.INVENTION),
        ("85200123", 1985, PatentType.UTILITY_MODEL),
        ("01312345", 2001, PatentType.DESIGN),
        ("03800007", 2003, PatentType.INVENTION),
        ("99900010", 1999, PatentType.UTILITY_MODEL),
    ],
)
def test_legacy_eight_digit_numbers(body: str, year: int, patent_type: PatentType) -> None:
    check = reference_check(body)
    for raw in (f"{body}.{check}", f"ZL{body}{check}", f"CN {body[:2]} {body[2:]}.{check}"):
        number = parse_application_number(raw)
        assert number.normalised == f"{body}.{check}"
        assert number.legacy
        assert number.year == year
        assert number.patent_type is patent_type
        assert number.type_digit == body[2]


def test_legacy_float_artefact_and_bad_year() -> None:
    body = "98100001"
    check = reference_check(body)
    assert parse_application_number(f"{body}{check}.0").normalised == f"{body}.{check}"
    bad_year = "50100001"
    with pytest.raises(InvalidApplicationNumber, match="outside 85–03"):
        parse_application_number(bad_year + reference_check(bad_year))


def test_modern_year_before_2003_is_refused() -> None:
    body = "199810012345"
    with pytest.raises(InvalidApplicationNumber, match="predates"):
        parse_application_number(body + reference_check(body))


def test_pct_type_digits_map_to_invention_and_utility_model() -> None:
    for digit, expected in (("8", PatentType.INVENTION), ("9", PatentType.UTILITY_MODEL)):
        body = f"2016{digit}0012345"
        number = parse_application_number(body + reference_check(body))
        assert number.patent_type is expected
        assert number.type_digit == digit
