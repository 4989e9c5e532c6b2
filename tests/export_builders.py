"""Generated patent exports shaped like incoPat, 智慧芽 (PatSnap) and CNKI (知网) downloads.

Each builder writes a workbook or csv with what real exports put above the header (title
lines, an export date, blank rows, a merged title cell) and returns the valid rows it wrote.
"""

from dataclasses import dataclass
from datetime import date
from itertools import count
from pathlib import Path

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from app.catalog.appno import compute_check_char

_serials = count(7_300_001)


def appno(year: int = 2019, type_digit: str = "1") -> str:
    """A fresh valid CN application number with its check character."""
    body = f"{year}{type_digit}{next(_serials):07d}"
    return f"{body}.{compute_check_char(body)}"


@dataclass(frozen=True)
class Row:
    """One patent of an export."""

    number: str
    title: str
    ipc: str = "C23C 14/35"


def patents(n: int, stem: str) -> list[Row]:
    """``n`` patents titled ``<stem> 1``, ``<stem> 2`` …"""
    return [Row(appno(), f"{stem}的制备方法{i}") for i in range(1, n + 1)]


def _preamble(sheet: Worksheet, title: str, width: int) -> None:
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.append([f"导出日期：{date(2026, 11, 30).isoformat()}"])
    sheet.append([])


def incopat_workbook(path: Path, rows: list[Row]) -> Path:
    """incoPat: merged title, export date, blank row, query line, header on row 5; notes sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "检索结果"
    header = ["序号", "标题", "申请号", "申请日", "公开(公告)号", "IPC主分类", "申请人", "摘要"]
    _preamble(sheet, "incoPat 专利检索结果导出", len(header))
    sheet.append(["检索式：TIAB=(磁控溅射)"])
    sheet.append(header)
    for i, row in enumerate(rows, start=1):
        sheet.append(
            [i, row.title, row.number, date(2019, 3, 1), None, row.ipc, "浙江大学", "一种方法。"]
        )
    notes = book.create_sheet("说明")
    notes.append(["本文件由 incoPat 导出，仅供检索参考。"])
    notes.append(["字段说明见帮助中心。"])
    book.save(path)
    return path


def patsnap_workbook(path: Path, pages: list[list[Row]]) -> Path:
    """智慧芽: a title line and a blank row above the header on every page sheet."""
    book = Workbook()
    header = ["公开(公告)号", "申请号", "标题", "摘要", "申请(专利权)人", "申请日", "IPC分类号"]
    for index, page in enumerate(pages, start=1):
        sheet = book.active if index == 1 else book.create_sheet()
        assert sheet is not None
        sheet.title = f"第{index}页"
        sheet.append(["智慧芽专利数据导出"])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        sheet.append([])
        sheet.append(header)
        for row in page:
            sheet.append([None, row.number, row.title, "摘要。", "某某大学", "2019-03-01", row.ipc])
    book.save(path)
    return path


def cnki_workbook(path: Path, rows: list[Row]) -> Path:
    """CNKI (知网): a merged two-line title block, an export time, header on row 4."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "专利"
    header = ["专利名称", "申请号", "申请日", "申请人", "发明人", "主分类号", "摘要"]
    sheet.append(["中国知网 专利检索结果"])
    sheet.append([None])
    sheet.merge_cells(start_row=1, start_column=1, end_row=2, end_column=len(header))
    sheet.append(["导出时间：2026-11-30 10:00"])
    sheet.append(header)
    for row in rows:
        sheet.append(
            [row.title, row.number, "2019-03-01", "浙江大学", "张三;李四", row.ipc, "摘要"]
        )
    book.save(path)
    return path


def titled_csv(path: Path, rows: list[Row], encoding: str, delimiter: str = ",") -> Path:
    """A csv with a title line, an export-date line (with commas) and a blank line on top."""
    lines = [
        "incoPat 专利检索结果导出",
        "导出日期：2026-11-30, 共 3 条, 仅供参考",
        "",
        delimiter.join(["序号", "申请号", "专利名称", "申请日", "分类号"]),
    ]
    lines += [
        delimiter.join([str(i), r.number, r.title, "2019-03-01", r.ipc])
        for i, r in enumerate(rows, start=1)
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path
