"""Real-world exports: title rows, merged cells, several sheets, GBK/GB18030/BOM csv."""

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session, col, select

from app.catalog.importer import import_patents
from app.catalog.ipc import load_ipc_scheme
from app.catalog.models import Patent
from app.catalog.readers import TableInfo, UnreadableFile, read_rows
from app.catalog.records import UNKNOWN_IPC_REASON
from tests.export_builders import (
    Row,
    cnki_workbook,
    incopat_workbook,
    patents,
    patsnap_workbook,
    titled_csv,
)

TODAY = date(2026, 12, 1)


def _stored(session: Session, rows: list[Row]) -> dict[str, str]:
    numbers = [r.number for r in rows]
    found = session.exec(select(Patent).where(col(Patent.natural_key).in_(numbers)))
    return {p.natural_key: p.title for p in found}


def test_incopat_workbook_header_on_row_5_and_notes_sheet_skipped(
    session: Session, tmp_path: Path
) -> None:
    rows = patents(4, "磁控溅射镀膜")
    path = incopat_workbook(tmp_path / "incopat.xlsx", rows)
    report = import_patents(session, path, today=TODAY)
    assert (report.read, report.inserted, report.rejected) == (4, 4, 0)
    assert report.errors == []
    assert report.sheets == [{"sheet": "检索结果", "header_row": 5, "rows": 4}]
    assert report.skipped_sheets == ["sheet 说明"]
    assert sorted(_stored(session, rows).values()) == sorted(r.title for r in rows)


def test_patsnap_workbook_reads_every_page_sheet(session: Session, tmp_path: Path) -> None:
    pages = [patents(3, "智慧芽第一页"), patents(2, "智慧芽第二页")]
    path = patsnap_workbook(tmp_path / "patsnap.xlsx", pages)
    report = import_patents(session, path, today=TODAY)
    assert (report.read, report.inserted, report.rejected) == (5, 5, 0)
    assert [(s["sheet"], s["header_row"], s["rows"]) for s in report.sheets] == [
        ("第1页", 3, 3),
        ("第2页", 3, 2),
    ]
    assert len(_stored(session, pages[0] + pages[1])) == 5


def test_cnki_workbook_with_a_merged_title_block(session: Session, tmp_path: Path) -> None:
    rows = patents(3, "知网导出")
    report = import_patents(session, cnki_workbook(tmp_path / "cnki.xlsx", rows), today=TODAY)
    assert (report.read, report.inserted, report.rejected) == (3, 3, 0)
    assert report.sheets[0]["header_row"] == 4
    stored = session.exec(select(Patent).where(Patent.natural_key == rows[0].number))
    patent = stored.one()
    assert patent.ipc_main == "C23C 14/35"
    assert patent.inventors == ["张三", "李四"]


def test_row_numbers_and_sheets_in_issues(session: Session, tmp_path: Path) -> None:
    pages = [patents(2, "甲"), [Row("2019100000000", "校验位错误")]]
    report = import_patents(session, patsnap_workbook(tmp_path / "p.xlsx", pages), today=TODAY)
    assert report.rejected == 1
    assert [(e.sheet, e.row) for e in report.errors] == [("第2页", 4)]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_titled_csv_in_chinese_encodings(session: Session, tmp_path: Path, encoding: str) -> None:
    rows = patents(3, "编码测试")
    if encoding == "gb18030":
        # A character GBK lacks (CJK extension B): only GB18030 (or UTF-8) can carry it.
        rows[0] = Row(rows[0].number, "一种𠀾形支架")
        with pytest.raises(UnicodeEncodeError):
            rows[0].title.encode("gbk")
    path = titled_csv(tmp_path / f"{encoding}.csv", rows, encoding)
    report = import_patents(session, path, today=TODAY)
    assert (report.read, report.inserted, report.rejected) == (3, 3, 0)
    assert sorted(_stored(session, rows).values()) == sorted(r.title for r in rows)


def test_tab_separated_csv_under_a_title_line_with_commas(tmp_path: Path) -> None:
    rows = patents(2, "制表符")
    path = titled_csv(tmp_path / "tabs.csv", rows, "utf-8", delimiter="\t")
    read = list(read_rows(path, kind="patent"))
    assert [r.number for r in read] == [5, 6]
    assert read[0].cells["申请号"] == rows[0].number


def test_no_header_names_the_rows_and_sheets(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "数据"
    sheet.append(["这是一份没有表头的文件"])
    sheet.append(["2019100000001", "一种方法"])
    book.create_sheet("备注").append(["说明"])
    book.save(tmp_path / "nohead.xlsx")
    with pytest.raises(UnreadableFile) as caught:
        list(read_rows(tmp_path / "nohead.xlsx", kind="patent"))
    assert caught.value.detail == (
        "nohead.xlsx: no 申请号 / 专利名称 header in rows 1–30 of sheet 数据, sheet 备注"
    )
    csv_path = tmp_path / "nohead.csv"
    csv_path.write_text("标题行\n1,2,3\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"no 申请号 / 专利名称 header in rows 1–30 of nohead"):
        list(read_rows(csv_path, kind="patent"))


def test_a_header_below_row_30_is_not_found(tmp_path: Path) -> None:
    path = tmp_path / "deep.csv"
    path.write_text("说明\n" * 30 + "申请号,专利名称\n2019100000001,x\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="rows 1–30"):
        list(read_rows(path, kind="patent"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("申请号,专利名称\n", r"only a header \(row 1\), no data rows"),
        ("incoPat 导出\n\n申请号,专利名称\n,\n", r"only a header \(row 3\), no data rows"),
    ],
)
def test_empty_and_header_only_files_are_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnreadableFile, match=message):
        list(read_rows(path, kind="patent"))


def test_header_only_workbook_names_its_sheet(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "结果"
    sheet.append(["申请号", "标题"])
    book.save(tmp_path / "h.xlsx")
    with pytest.raises(UnreadableFile, match=r"only a header \(row 1 of sheet 结果\)"):
        list(read_rows(tmp_path / "h.xlsx", kind="patent"))


def test_sheets_are_reported_while_reading(tmp_path: Path) -> None:
    info = TableInfo()
    path = patsnap_workbook(tmp_path / "p.xlsx", [patents(1, "a"), patents(1, "b")])
    assert len(list(read_rows(path, kind="patent", info=info))) == 2
    assert info.sheet_names() == ["第1页", "第2页"]


def test_unknown_ipc_group_is_a_warning_and_the_report_says_why(
    session: Session, tmp_path: Path, shared_dir: Path
) -> None:
    scheme = load_ipc_scheme(shared_dir)
    assert scheme is not None
    assert not scheme.contains("C23C 14/35")  # a real group the shared scheme file lacks
    rows = patents(2, "磁控溅射靶材")
    path = titled_csv(tmp_path / "ipc.csv", rows, "utf-8")
    report = import_patents(session, path, ipc_scheme=scheme, today=TODAY)
    assert (report.inserted, report.rejected) == (2, 0)
    assert all(w.reason.startswith(UNKNOWN_IPC_REASON) for w in report.warnings)
    assert any("may be incomplete" in note for note in report.notes)
    stored = session.exec(select(Patent).where(Patent.natural_key == rows[0].number))
    assert stored.one().ipc_codes == ["C23C 14/35"]


def test_no_owner_is_noted(session: Session, tmp_path: Path) -> None:
    path = titled_csv(tmp_path / "p.csv", patents(2, "无主"), "utf-8")
    report = import_patents(session, path, today=TODAY)
    assert any(note.startswith("no owner: the 2 new patents") for note in report.notes)


@pytest.mark.parametrize(
    "sample",
    [
        "PatentSemantix_10_records.csv",
        "liaoleyuan_cpc_sample_test.csv",
        "liaoleyuan_cpc_sample_train.csv",
        "liaoleyuan_cpc_sample_val.csv",
        "zhiwang_MaterialChemistry_18_19.csv",
        "zhiwang_MaterialChemistry_18_19.xlsx",
    ],
)
def test_real_samples_still_import(session: Session, shared_dir: Path, sample: str) -> None:
    path = shared_dir / "data/patents/cn_full_record_samples" / sample
    report = import_patents(session, path, today=TODAY)
    assert report.read > 0
    assert report.rejected == 0, report.errors[:3]
    assert report.inserted + report.updated + report.unchanged == report.read


def test_needs_sheet_under_a_title_and_the_needs_message(session: Session, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2026年企业技术需求征集汇总表"])
    sheet.merge_cells("A1:C1")
    sheet.append(["需求名称", "需求描述", "企业名称"])
    sheet.append(["高镍正极循环寿命提升", "需提升高温循环稳定性。", "杭州示例新能源科技有限公司"])
    book.save(tmp_path / "needs.xlsx")
    rows = list(read_rows(tmp_path / "needs.xlsx", kind="need"))
    assert [(r.number, r.sheet, r.cells["需求名称"]) for r in rows] == [
        (3, "Sheet", "高镍正极循环寿命提升")
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("申请号,专利名称\n2019100000001,x\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"no 需求名称 header in rows 1–30 of bad\.csv"):
        list(read_rows(bad, kind="need"))
