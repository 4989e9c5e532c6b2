"""Patent terms, expiry, types and legal statuses (real database values included)."""

import csv
from datetime import date
from pathlib import Path

import pytest

from app.catalog.enums import LegalStatus, PatentType
from app.catalog.terms import (
    compute_expiry,
    effective_legal_status,
    parse_legal_status,
    parse_patent_type,
    remaining_years,
    term_years,
)


@pytest.mark.parametrize(
    ("patent_type", "filed", "years"),
    [
        (PatentType.INVENTION, date(2015, 9, 25), 20),
        (PatentType.UTILITY_MODEL, date(2015, 9, 25), 10),
        (PatentType.DESIGN, date(2021, 5, 31), 10),
        (PatentType.DESIGN, date(2021, 6, 1), 15),
        (PatentType.DESIGN, date(2023, 1, 1), 15),
    ],
)
def test_term_years(patent_type: PatentType, filed: date, years: int) -> None:
    assert term_years(patent_type, filed) == years


def test_compute_expiry() -> None:
    assert compute_expiry(PatentType.UTILITY_MODEL, date(2015, 9, 25)) == date(2025, 9, 25)
    assert compute_expiry(PatentType.INVENTION, date(2014, 5, 7)) == date(2034, 5, 7)
    assert compute_expiry(PatentType.DESIGN, date(2021, 6, 1)) == date(2036, 6, 1)
    assert compute_expiry(PatentType.DESIGN, date(2021, 5, 31)) == date(2031, 5, 31)
    # 2016-02-29 + 10 years: 2026 has no 29 February.
    assert compute_expiry(PatentType.UTILITY_MODEL, date(2016, 2, 29)) == date(2026, 2, 28)
    # + 20 years lands on a leap year again.
    assert compute_expiry(PatentType.INVENTION, date(2016, 2, 29)) == date(2036, 2, 29)
    assert compute_expiry(None, date(2016, 1, 1)) is None
    assert compute_expiry(PatentType.INVENTION, None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("发明", PatentType.INVENTION),
        ("发明专利", PatentType.INVENTION),
        ("发明授权", PatentType.INVENTION),
        ("发明公开", PatentType.INVENTION),
        ("发明公开;发明授权", PatentType.INVENTION),  # real PatentSemantix value
        ("實用新型", PatentType.UTILITY_MODEL),
        ("实用新型", PatentType.UTILITY_MODEL),
        ("实用新型专利", PatentType.UTILITY_MODEL),
        ("新型專利", PatentType.UTILITY_MODEL),
        ("外观设计", PatentType.DESIGN),
        ("外觀設計專利", PatentType.DESIGN),
        ("設計專利", PatentType.DESIGN),
        ("1", PatentType.INVENTION),
        ("2", PatentType.UTILITY_MODEL),
        (" 3 ", PatentType.DESIGN),
        ("Invention", PatentType.INVENTION),
        ("utility model", PatentType.UTILITY_MODEL),
        ("utility_model", PatentType.UTILITY_MODEL),
        ("DESIGN", PatentType.DESIGN),
    ],
)
def test_parse_patent_type(text: str, expected: PatentType) -> None:
    assert parse_patent_type(text) is expected


@pytest.mark.parametrize("text", ["", "4", "商标", "copyright", "软件著作权"])
def test_unknown_patent_type(text: str) -> None:
    assert parse_patent_type(text) is None


def test_real_types_of_the_application_list(shared_dir: Path) -> None:
    path = shared_dir / "data/patents/cn_application_list.csv"
    with path.open(encoding="utf-8") as handle:
        types = {row["patent_type"] for row in csv.DictReader(handle)}
    assert {t: parse_patent_type(t) for t in types} == {
        "1": PatentType.INVENTION,
        "2": PatentType.UTILITY_MODEL,
        "3": PatentType.DESIGN,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("有权-审定授权", LegalStatus.GRANTED),  # real values of the PatentSemantix export
        ("审中-实质审查", LegalStatus.PENDING),
        ("有效", LegalStatus.GRANTED),
        ("授权", LegalStatus.GRANTED),
        ("有权", LegalStatus.GRANTED),
        ("专利权维持", LegalStatus.GRANTED),
        ("有权-部分无效", LegalStatus.GRANTED),
        ("审中", LegalStatus.PENDING),
        ("实质审查", LegalStatus.PENDING),
        ("公开", LegalStatus.PENDING),
        ("审中-公开", LegalStatus.PENDING),
        ("在审", LegalStatus.PENDING),
        ("失效", LegalStatus.LAPSED),
        ("无权", LegalStatus.LAPSED),
        ("未缴年费", LegalStatus.LAPSED),
        ("无权-未缴年费", LegalStatus.LAPSED),
        ("权利终止", LegalStatus.LAPSED),
        ("专利权的终止", LegalStatus.LAPSED),
        ("期限届满", LegalStatus.EXPIRED),
        ("无权-期限届满", LegalStatus.EXPIRED),
        ("撤回", LegalStatus.WITHDRAWN),
        ("视为撤回", LegalStatus.WITHDRAWN),
        ("无权-视为撤回", LegalStatus.WITHDRAWN),
        ("发明专利申请公布后的视为撤回", LegalStatus.WITHDRAWN),
        ("驳回", LegalStatus.WITHDRAWN),
        ("无权-驳回", LegalStatus.WITHDRAWN),
        ("放弃", LegalStatus.WITHDRAWN),
        ("无效", LegalStatus.INVALIDATED),
        ("全部无效", LegalStatus.INVALIDATED),
        ("无权-全部无效", LegalStatus.INVALIDATED),
        ("有權-審定授權", LegalStatus.GRANTED),
        ("granted", LegalStatus.GRANTED),
        ("Granted", LegalStatus.GRANTED),
        ("in force", LegalStatus.GRANTED),
        ("active", LegalStatus.GRANTED),
        ("pending", LegalStatus.PENDING),
        ("lapsed", LegalStatus.LAPSED),
        ("inactive", LegalStatus.LAPSED),
        ("expired", LegalStatus.EXPIRED),
        ("withdrawn", LegalStatus.WITHDRAWN),
        ("rejected", LegalStatus.WITHDRAWN),
        ("invalidated", LegalStatus.INVALIDATED),
        ("invalid", LegalStatus.INVALIDATED),
    ],
)
def test_parse_legal_status(text: str, expected: LegalStatus) -> None:
    assert parse_legal_status(text) is expected


@pytest.mark.parametrize("text", ["", "  ", "7", "unknown", "待定"])
def test_unknown_legal_status(text: str) -> None:
    assert parse_legal_status(text) is None


def test_every_status_of_the_full_record_sample_maps(shared_dir: Path) -> None:
    path = shared_dir / "data/patents/cn_full_record_samples/PatentSemantix_10_records.csv"
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    # The header is shifted by one: the 法律状态 values sit under 申请人地址 (column 15).
    statuses = {row[15] for row in rows[1:]}
    assert statuses == {"有权-审定授权", "审中-实质审查"}
    assert {s: parse_legal_status(s) for s in statuses} == {
        "有权-审定授权": LegalStatus.GRANTED,
        "审中-实质审查": LegalStatus.PENDING,
    }
    types = {row[9] for row in rows[1:]}
    assert {parse_patent_type(t) for t in types} == {PatentType.INVENTION, PatentType.UTILITY_MODEL}


def test_effective_legal_status() -> None:
    expiry = date(2025, 9, 25)
    before, on, after = date(2025, 9, 24), date(2025, 9, 25), date(2026, 1, 1)
    assert effective_legal_status(LegalStatus.GRANTED, expiry, before) is LegalStatus.GRANTED
    assert effective_legal_status(LegalStatus.GRANTED, expiry, on) is LegalStatus.EXPIRED
    assert effective_legal_status(LegalStatus.PENDING, expiry, after) is LegalStatus.EXPIRED
    assert effective_legal_status(LegalStatus.LAPSED, expiry, after) is LegalStatus.LAPSED
    assert effective_legal_status(LegalStatus.WITHDRAWN, expiry, after) is LegalStatus.WITHDRAWN
    assert effective_legal_status(LegalStatus.GRANTED, None, after) is LegalStatus.GRANTED


def test_remaining_years() -> None:
    expiry = date(2035, 9, 25)
    assert remaining_years(expiry, date(2025, 9, 25)) == pytest.approx(10.0, abs=0.01)
    assert remaining_years(expiry, date(2035, 3, 26)) == pytest.approx(0.5, abs=0.01)
    assert remaining_years(expiry, date(2036, 1, 1)) == 0.0
    assert remaining_years(None, date(2025, 1, 1)) is None
