"""Readers: csv (UTF-8, BOM, GB18030, delimiters), xlsx and jsonl into numbered rows."""

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from app.catalog.readers import (
    UnreadableFile,
    cell_text,
    estimate_rows,
    read_rows,
    sniff_delimiter,
)

PATENTS = Path("data/patents")


def _rows(*args: object, **kwargs: object) -> list[tuple[int, dict[str, str | None]]]:
    return [(row.number, row.cells) for row in read_rows(*args, **kwargs)]  # type: ignore[arg-type]


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_are_decoded(tmp_path: Path, encoding: str) -> None:
    path = _write(tmp_path / "p.csv", "申请号,专利名称\n2014102705967,一种电池\n", encoding)
    rows = _rows(path)
    assert rows == [(2, {"申请号": "2014102705967", "专利名称": "一种电池"})]


@pytest.mark.parametrize("delimiter", ["\t", ";", "|", ","])
def test_csv_delimiter_is_sniffed_from_the_header(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["title", "abstract"]) + "\n" + delimiter.join(["a, b", "c"]) + "\n"
    assert sniff_delimiter(text) == delimiter
    # A comma inside a cell of a tab-separated file is data, not a separator.
    if delimiter != ",":
        rows = _rows(_write(tmp_path / "p.csv", text))
        assert rows == [(2, {"title": "a, b", "abstract": "c"})]


def test_csv_row_numbers_count_the_header_and_skip_blank_rows(tmp_path: Path) -> None:
    text = '\n\nname,text\n1,"two\nlines"\n,\n3,x\n'
    rows = _rows(_write(tmp_path / "p.csv", text))
    # Leading blank lines, the header on line 3, a multi-line cell counted as one row.
    assert [number for number, _ in rows] == [4, 6]
    assert rows[0][1] == {"name": "1", "text": "two\nlines"}


def test_csv_duplicate_and_blank_headers_stay_distinct(tmp_path: Path) -> None:
    rows = _rows(_write(tmp_path / "p.csv", "a,a,\n1,2,3\n"))
    assert rows == [(2, {"a": "1", "a (2)": "2", "column 3": "3"})]


def test_csv_header_with_a_caption_cell_is_realigned(tmp_path: Path) -> None:
    # Navicat writes the table name above the first column, so every data row is one short.
    text = "表名,序号,申请号\n1,CN1\n2,CN2\n"
    rows = _rows(_write(tmp_path / "p.csv", text))
    assert rows == [(2, {"序号": "1", "申请号": "CN1"}), (3, {"序号": "2", "申请号": "CN2"})]


def test_patentsemantix_export_is_realigned(shared_dir: Path) -> None:
    path = shared_dir / PATENTS / "cn_full_record_samples" / "PatentSemantix_10_records.csv"
    rows = _rows(path)
    assert len(rows) == 10
    first = rows[0][1]
    assert first["申请号"] == "CN202223220665.2"
    assert first["法律状态"] == "有权-审定授权"
    assert first["主分类号"] == "B64U20/80"


def test_padded_files_skip_their_empty_rows(shared_dir: Path) -> None:
    path = shared_dir / PATENTS / "cn_full_record_samples" / "liaoleyuan_cpc_sample_val.csv"
    rows = _rows(path)
    assert len(rows) == 19
    assert all(row["publication_number"] for _, row in rows)


def test_xlsx_first_sheet_header_is_first_non_empty_row(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([])
    sheet.append(["申请号", "申请日", "公开日", "名称"])
    sheet.append([2015207546755, datetime(2015, 9, 25), 42000, "一种煎药器"])
    sheet.append([None, None, None, None])
    sheet.append(["201410270596.7", date(2014, 6, 17), None, "一种电池"])
    book.create_sheet("second").append(["ignored"])
    book.save(tmp_path / "p.xlsx")
    rows = _rows(tmp_path / "p.xlsx")
    assert [number for number, _ in rows] == [3, 5]
    assert rows[0][1] == {
        "申请号": "2015207546755",
        "申请日": "2015-09-25",
        "公开日": "42000",
        "名称": "一种煎药器",
    }
    assert rows[1][1]["申请日"] == "2014-06-17"


def test_cnki_xlsx_is_read(shared_dir: Path) -> None:
    path = shared_dir / PATENTS / "cn_full_record_samples" / "zhiwang_MaterialChemistry_18_19.xlsx"
    rows = _rows(path)
    assert len(rows) == 33
    assert rows[0][0] == 2
    assert rows[0][1]["com"] == "浙江大学"


def test_jsonl_rows_use_line_numbers_and_join_lists(tmp_path: Path) -> None:
    text = '{"title": "甲", "applicants": ["A", "B"], "n": 3}\n\n{"title": "乙", "x": null}\n'
    rows = _rows(_write(tmp_path / "p.jsonl", text))
    assert rows == [
        (1, {"title": "甲", "applicants": "A; B", "n": "3"}),
        (3, {"title": "乙", "x": None}),
    ]


def test_jsonl_bad_lines_go_to_the_handler_or_fail(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.jsonl", '{"title": "ok"}\nnot json\n[1]\n{"title": "ok2"}\n')
    bad: list[tuple[int, str]] = []
    rows = _rows(path, on_bad_row=lambda n, why: bad.append((n, why)))
    assert [n for n, _ in rows] == [1, 4]
    assert [n for n, _ in bad] == [2, 3]
    assert "not valid JSON" in bad[0][1]
    with pytest.raises(UnreadableFile, match="line 2"):
        _rows(path)


def test_unsupported_missing_and_corrupt_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"unsupported file type \.pdf"):
        read_rows(_write(tmp_path / "p.pdf", "x"))
    with pytest.raises(UnreadableFile, match="no such file"):
        read_rows(tmp_path / "missing.csv")
    with pytest.raises(UnreadableFile, match="not a readable xlsx"):
        _rows(_write(tmp_path / "fake.xlsx", "not a zip"))
    # 0x80 and 0xFF alone are invalid in both UTF-8 and GB18030.
    (tmp_path / "bin.csv").write_bytes(b"a,b\n\x80\x80,\xff\n")
    with pytest.raises(UnreadableFile, match="not UTF-8 or GB18030"):
        _rows(tmp_path / "bin.csv")


def test_cell_text_formats_values() -> None:
    assert cell_text(None) is None
    assert cell_text("  ") is None
    assert cell_text(datetime(2014, 5, 6, 0, 0)) == "2014-05-06"
    assert cell_text(datetime(2014, 5, 6, 8, 30)) == "2014-05-06 08:30:00"
    assert cell_text(2015207546755.0) == "2015207546755.0"
    assert cell_text(["a", None, "b"]) == "a; b"
    assert cell_text(True) == "true"


def test_estimate_rows(tmp_path: Path) -> None:
    assert estimate_rows(_write(tmp_path / "p.csv", "a,b\n1,2\n3,4\n")) == 2
    assert estimate_rows(_write(tmp_path / "p.jsonl", '{"a": 1}\n{"a": 2}\n')) == 2
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["a"], [1], [2], [3]):
        sheet.append(row)
    book.save(tmp_path / "p.xlsx")
    assert estimate_rows(tmp_path / "p.xlsx") == 3
    assert estimate_rows(_write(tmp_path / "bad.xlsx", "nope")) is None
