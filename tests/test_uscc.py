"""Unified social credit codes: published codes validate, corruptions are refused."""

import pytest

from app.catalog.uscc import CHARSET, InvalidUscc, compute_uscc_check, uscc_region, validate_uscc

# Codes published in business registrations and annual reports.
PUBLISHED = [
    "91350100M000100Y43",  # the example commonly cited with GB 32100-2015
    "914403001922038216",  # 华为技术有限公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "12100000400000624D",  # 清华大学 (a public institution: 12…)
]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_validate(code: str) -> None:
    assert validate_uscc(code) == code


def test_input_is_stripped_and_upper_cased() -> None:
    assert validate_uscc("  91330100716105852f ") == "91330100716105852F"
    assert validate_uscc("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"


@pytest.mark.parametrize("code", PUBLISHED)
def test_every_single_character_change_is_caught(code: str) -> None:
    # The mod-31 check detects any single substitution.
    for position in range(18):
        for char in CHARSET[::5]:
            if char == code[position]:
                continue
            corrupted = code[:position] + char + code[position + 1 :]
            if not corrupted[2:8].isdigit():
                continue
            with pytest.raises(InvalidUscc):
                validate_uscc(corrupted)


def test_check_message_names_given_and_expected() -> None:
    with pytest.raises(InvalidUscc, match="check character is 1, expected 6"):
        validate_uscc("914403001922038211")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("9135010M000100Y43", "17 characters"),
        ("91350100M000100Y431", "19 characters"),
        ("", "0 characters"),
        ("91350100M0001OOY43", "contains O"),
        ("91350100I000100Y43", "contains I"),
        ("9135A100M000100Y43", "region code"),
    ],
)
def test_malformed_codes_are_refused(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidUscc, match=fragment):
        validate_uscc(raw)


def test_check_computation_and_region() -> None:
    assert compute_uscc_check("91350100M000100Y4") == "3"
    with pytest.raises(InvalidUscc):
        compute_uscc_check("91350100M000100Y")
    assert uscc_region("914403001922038216") == "440300"
