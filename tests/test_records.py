"""Row validation: dates, multi-valued cells, budgets, patent and need records."""

from datetime import date, datetime

import pytest

from app.catalog.enums import CooperationMode, LegalStatus, NeedStatus, PatentType
from app.catalog.need_records import build_need_record
from app.catalog.records import build_patent_record
from app.catalog.values import (
    parse_budget,
    parse_cooperation_modes,
    parse_date,
    publication_kind,
    split_multi,
)

TODAY = date(2026, 1, 1)


@pytest.mark.parametrize(
    "raw",
    [
        "2014-05-06",
        "2014/5/6",
        "20140506",
        "2014年5月6日",
        "2014.05.06",
        "2014-05-06 00:00:00",
        "2014-05-06T08:30:00",
        "41765",
        "41765.0",
        datetime(2014, 5, 6, 12),
        date(2014, 5, 6),
    ],
)
def test_parse_date_formats(raw: str | date) -> None:
    assert parse_date(raw) == date(2014, 5, 6)


@pytest.mark.parametrize("raw", ["2014-13-45", "2015-02-29", "20141345", "2014年2月30日"])
def test_impossible_dates_are_errors(raw: str) -> None:
    with pytest.raises(ValueError, match="impossible date"):
        parse_date(raw)


def test_unparseable_dates_and_blanks() -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_date("next spring")
    assert parse_date(None) is None
    assert parse_date("  ") is None


def test_split_multi() -> None:
    cell = "张三; 李四；王五,赵六，钱七、孙八\n周九;;张三"
    assert split_multi(cell) == ["张三", "李四", "王五", "赵六", "钱七", "孙八", "周九"]
    assert split_multi(None) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("50-100万", (500_000, 1_000_000)),
        ("50万-100万元", (500_000, 1_000_000)),
        ("100万元以下", (None, 1_000_000)),
        ("50万以上", (500_000, None)),
        ("200000", (200_000, 200_000)),
        ("1.5亿", (150_000_000, 150_000_000)),
        ("１０万", (100_000, 100_000)),
        ("面议", (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_budget(raw: str, expected: tuple[int | None, int | None]) -> None:
    assert parse_budget(raw) == expected


def test_parse_budget_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_budget("很多")
    with pytest.raises(ValueError, match="reversed"):
        parse_budget("100-50万")


def test_cooperation_modes() -> None:
    assert parse_cooperation_modes("转让、许可、开放许可、合作开发、委托研发/委托开发") == [
        CooperationMode.TRANSFER,
        CooperationMode.LICENCE,
        CooperationMode.OPEN_LICENCE,
        CooperationMode.JOINT_DEVELOPMENT,
        CooperationMode.COMMISSIONED_RD,
    ]
    with pytest.raises(ValueError, match="技术入股"):
        parse_cooperation_modes("技术入股")


def test_patent_record_collects_every_field_error() -> None:
    row = {
        "application_number": "2014102705968",
        "title": "",
        "filing_date": "2014-13-45",
        "grant_date": "2015/2/30",
    }
    record, issues = build_patent_record(row, today=TODAY)
    assert record is None
    assert [i.field for i in issues.errors] == [
        "title",
        "application_number",
        "filing_date",
        "grant_date",
    ]
    assert issues.errors[1].value == "2014102705968"


def test_the_application_number_wins_with_warnings() -> None:
    row = {
        "application_number": "201310164122X",
        "title": "压力数显遥控防超载汽车尾板",
        "patent_type": "3",
        "filing_date": "2012-05-07",
    }
    record, issues = build_patent_record(row, today=TODAY)
    assert record is not None
    assert record.natural_key == record.application_number == "201310164122.X"
    assert record.patent_type is PatentType.INVENTION
    assert record.filing_date == date(2012, 5, 7)
    assert [w.field for w in issues.warnings] == ["patent_type", "filing_date"]
    # Filed 2012 as an invention: 20-year term, still pending as stated by nobody.
    assert record.expiry_date == date(2032, 5, 7)
    assert record.legal_status is LegalStatus.PENDING


def test_expired_patents_and_publication_keys() -> None:
    row = {
        "publication_number": "CN 203 123456 U",
        "title": "一種散熱裝置",
        "filing_date": "2013-01-02",
    }
    record, issues = build_patent_record(row, today=TODAY)
    assert record is not None
    assert not issues.errors
    assert record.natural_key == "pub:CN203123456U"
    assert record.patent_type is PatentType.UTILITY_MODEL
    # U = granted utility model, 10 years from 2013-01-02: expired by 2026.
    assert record.legal_status is LegalStatus.EXPIRED
    assert record.language == "zh-Hant"
    assert publication_kind("CN115883397B") == (PatentType.INVENTION, LegalStatus.GRANTED)
    record, issues = build_patent_record({"title": "no key"}, today=TODAY)
    assert record is None
    assert issues.errors[0].field == "application_number"


def test_need_record_defaults_and_errors() -> None:
    row = {"title": "需求", "region": "330100 杭州市", "industry": "c3841", "status": "草稿"}
    record, issues = build_need_record(row, has_org=True)
    assert record is not None
    assert not issues.errors
    assert (record.region, record.industry_code, record.status) == (
        "330100",
        "C3841",
        NeedStatus.DRAFT,
    )
    record, issues = build_need_record({"title": "需求"}, has_org=False)
    assert record is None
    assert issues.errors[0].field == "enterprise"
    record, issues = build_need_record(
        {"title": "需求", "enterprise": "甲", "budget_min": "50万", "budget_max": "10万"},
        has_org=False,
    )
    assert record is None
    assert "above the maximum" in issues.errors[0].reason
