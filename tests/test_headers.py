"""Header mapping: Chinese and English export headers to canonical fields."""

import csv
from pathlib import Path

import pytest

from app.catalog.headers import NeedField, PatentField, is_null, map_headers, normalise_header
from app.catalog.readers import read_rows

SAMPLES = Path("data/patents/cn_full_record_samples")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  申请号 ", "申请号"),
        ("公开（公告）号", "公开(公告)号"),
        ("Application_Number", "application number"),
        ("ＩＰＣ分类号", "ipc分类号"),
        ("需求名称*", "需求名称"),
        ("app-no", "app no"),
    ],
)
def test_normalise_header(raw: str, expected: str) -> None:
    assert normalise_header(raw) == expected


def test_application_list_headers(shared_dir: Path) -> None:
    with (shared_dir / "data/patents/cn_application_list.csv").open(encoding="utf-8") as handle:
        headers = next(csv.reader(handle))
    mapped = map_headers(headers, "patent")
    assert mapped.sources[PatentField.APPLICATION_NUMBER] == ["app_no"]
    assert mapped.sources[PatentField.TITLE] == ["patent_name"]
    assert mapped.sources[PatentField.PATENT_TYPE] == ["patent_type"]
    assert mapped.sources[PatentField.FILING_DATE] == ["app_date"]
    assert mapped.sources[PatentField.APPLICANTS] == ["app_person"]
    # patent_status is an agency workflow code, not a legal status: it must not be mapped.
    assert "patent_status" in mapped.ignored
    assert PatentField.LEGAL_STATUS not in mapped.sources


def test_patentsemantix_headers_map_everything_useful(shared_dir: Path) -> None:
    row = next(read_rows(shared_dir / SAMPLES / "PatentSemantix_10_records.csv")).cells
    mapped = map_headers(row, "patent")
    expected = {
        PatentField.APPLICATION_NUMBER: "申请号",
        PatentField.PUBLICATION_NUMBER: "公开号",
        PatentField.GRANT_NUMBER: "授权公告号",
        PatentField.TITLE: "专利名称",
        PatentField.ABSTRACT: "申请摘要",
        PatentField.FIRST_CLAIM: "主权项",
        PatentField.IPC_MAIN: "主分类号",
        PatentField.IPC: "分类号",
        PatentField.APPLICANTS: "申请人",
        PatentField.PATENTEES: "当前权利人",
        PatentField.INVENTORS: "发明人",
        PatentField.FILING_DATE: "申请日",
        PatentField.PUBLICATION_DATE: "公开日",
        PatentField.GRANT_DATE: "授权公告日",
        PatentField.LEGAL_STATUS: "法律状态",
        PatentField.PATENT_TYPE: "专利类型",
    }
    for canonical, header in expected.items():
        assert mapped.sources[canonical][0] == header, canonical
    assert "申请人地址" in mapped.ignored
    assert "许可次数" in mapped.ignored


def test_lower_priority_headers_fill_empty_cells() -> None:
    mapped = map_headers(["第一权利人", "当前权利人", "专利名称", "授权名称"], "patent")
    assert mapped.sources[PatentField.PATENTEES] == ["当前权利人", "第一权利人"]
    row = {"第一权利人": "甲大学", "当前权利人": "", "专利名称": "-", "授权名称": "一种装置"}
    applied = mapped.apply(row)
    assert applied[PatentField.PATENTEES] == "甲大学"
    assert applied[PatentField.TITLE] == "一种装置"


def test_cnki_headers_only_in_a_cnki_export(shared_dir: Path) -> None:
    row = next(read_rows(shared_dir / SAMPLES / "zhiwang_MaterialChemistry_18_19.csv")).cells
    mapped = map_headers(row, "patent")
    assert mapped.sources[PatentField.APPLICANTS] == ["com"]
    assert mapped.sources[PatentField.INVENTORS] == ["author"]
    assert mapped.sources[PatentField.FILING_DATE] == ["sql"]
    assert mapped.sources[PatentField.PUBLICATION_DATE] == ["quote"]
    assert mapped.sources[PatentField.ABSTRACT] == ["ChDiv_summary"]
    assert mapped.sources[PatentField.FIRST_CLAIM] == ["claim_text"]
    assert mapped.sources[PatentField.LINK] == ["href"]
    # Outside a CNKI export, "sql" or "com" mean nothing.
    plain = map_headers(["title", "sql", "com"], "patent")
    assert plain.ignored == ["sql", "com"]


def test_need_headers() -> None:
    headers = [
        "编号",
        "需求名称",
        "需求描述",
        "需求方",
        "统一社会信用代码",
        "行业代码",
        "行政区划代码",
    ]
    headers += ["合作方式", "预算", "截止日期", "状态", "备注"]
    mapped = map_headers(headers, "need")
    assert mapped.sources[NeedField.EXTERNAL_REF] == ["编号"]
    assert mapped.sources[NeedField.TITLE] == ["需求名称"]
    assert mapped.sources[NeedField.DESCRIPTION] == ["需求描述"]
    assert mapped.sources[NeedField.ENTERPRISE] == ["需求方"]
    assert mapped.sources[NeedField.USCC] == ["统一社会信用代码"]
    assert mapped.sources[NeedField.INDUSTRY] == ["行业代码"]
    assert mapped.sources[NeedField.REGION] == ["行政区划代码"]
    assert mapped.sources[NeedField.COOPERATION_MODES] == ["合作方式"]
    assert mapped.sources[NeedField.BUDGET] == ["预算"]
    assert mapped.sources[NeedField.DEADLINE] == ["截止日期"]
    assert mapped.sources[NeedField.STATUS] == ["状态"]
    assert mapped.ignored == ["备注"]


def test_null_placeholders() -> None:
    assert all(is_null(cell) for cell in (None, "", "  ", "-", "无", "NULL", "0"))
    assert not any(is_null(cell) for cell in ("0.5", "无人机", "a"))
