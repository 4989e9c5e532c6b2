"""Read tabular import files (csv, xlsx, jsonl) into numbered rows of text cells."""

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from app.catalog.tables import (
    HEADER_SCAN_ROWS,
    Records,
    Sheet,
    SheetRead,
    SourceRow,
    TableInfo,
    UnreadableFile,
    assemble_tables,
    cell_text,
    header_score,
)

__all__ = ["SourceRow", "TableInfo", "UnreadableFile", "cell_text", "estimate_rows", "read_rows"]

# Called with (row number, reason) for a row that cannot be read at all (bad jsonl line).
BadRowHandler = Callable[[int, str], None]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".jsonl", ".ndjson")
_DELIMITERS = (",", "\t", ";", "|")


def read_rows(
    path: Path,
    on_bad_row: BadRowHandler | None = None,
    *,
    kind: str | None = None,
    info: TableInfo | None = None,
) -> Iterator[SourceRow]:
    """Yield every non-empty data row of ``path`` with its row number and sheet.

    Row numbers are what a user sees: the spreadsheet line for csv/xlsx, the line number for
    jsonl. With ``kind`` ("patent" or "need") the header is detected among the first rows of
    each csv/sheet (title lines above it are skipped) and every sheet with a header is read;
    without it the first non-empty row is the header of the first sheet. A file with no data
    row, or (with ``kind``) no recognisable header, raises :class:`UnreadableFile`.
    """
    if not path.is_file():
        raise UnreadableFile(f"{path}: no such file")
    info = TableInfo() if info is None else info
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        sheets: Iterator[Sheet] = iter([(None, _csv_records(path, kind))])
        return assemble_tables(path.name, sheets, kind, info, detect_caption=True)
    if suffix in (".xlsx", ".xlsm"):
        return assemble_tables(
            path.name, _xlsx_sheets(path, kind), kind, info, detect_caption=False
        )
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(path, on_bad_row, info)
    raise UnreadableFile(
        f"{path.name}: unsupported file type {suffix or '(none)'}; "
        f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
    )


def estimate_rows(path: Path) -> int | None:
    """A quick estimate of the data rows (for a progress bar); None when it cannot tell."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            workbook = load_workbook(path, read_only=True)
            try:
                rows = sum(max(0, (sheet.max_row or 0) - 1) for sheet in workbook.worksheets)
            finally:
                workbook.close()
            return rows or None
        # Lines, less the header: quoted multi-line cells make this an over-estimate.
        return max(0, path.read_bytes().count(b"\n") - (suffix not in (".jsonl", ".ndjson")))
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
        return None


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM), falling back to GB18030 (Chinese Excel exports)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(f"{name}: not UTF-8 or GB18030 text")


def sniff_delimiter(text: str) -> str:
    """The delimiter used by the first non-empty line (the header), comma by default."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{path.name}: cannot be read ({exc.strerror})") from exc
    return decode_text(data, path.name)


def _best_header_score(text: str, delimiter: str, kind: str) -> int:
    rows = islice(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), HEADER_SCAN_ROWS)
    try:
        return max(
            (header_score([cell.strip() or None for cell in r], kind) for r in rows), default=0
        )
    except csv.Error:
        return 0


def pick_delimiter(text: str, kind: str | None) -> str:
    """The delimiter of the header line: with ``kind``, the one that reveals the best header
    (a title line above it says nothing); otherwise the first non-empty line's."""
    default = sniff_delimiter(text)
    if kind is None:
        return default
    scores = {d: _best_header_score(text, d, kind) for d in _DELIMITERS}
    best = max(scores.values())
    return default if scores[default] == best else max(_DELIMITERS, key=lambda d: scores[d])


def _csv_records(path: Path, kind: str | None) -> Records:
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=pick_delimiter(text, kind))
    try:
        # A record is one spreadsheet row even when a quoted cell spans several lines.
        for number, record in enumerate(reader, start=1):
            yield number, list(record)
    except csv.Error as exc:
        raise UnreadableFile(f"{path.name}: malformed CSV near row {reader.line_num}") from exc


def _xlsx_sheets(path: Path, kind: str | None) -> Iterator[Sheet]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise UnreadableFile(f"{path.name}: not a readable xlsx workbook") from exc
    try:
        # Without a kind there is no way to tell a data sheet from a notes sheet: first only.
        sheets = workbook.worksheets if kind is not None else workbook.worksheets[:1]
        for sheet in sheets:
            # Some writers store a wrong sheet size; recompute it from the cells themselves.
            sheet.reset_dimensions()
            rows = enumerate(sheet.iter_rows(values_only=True), start=1)
            yield sheet.title, ((number, list(values)) for number, values in rows)
    finally:
        workbook.close()


def _jsonl_rows(
    path: Path, on_bad_row: BadRowHandler | None, info: TableInfo
) -> Iterator[SourceRow]:
    read = SheetRead(None, 0)
    info.sheets.append(read)
    seen = False
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        seen = True
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON ({exc.msg})"
        else:
            if isinstance(obj, dict):
                read.rows += 1
                yield SourceRow(number, {str(k): cell_text(v) for k, v in obj.items()})
                continue
            reason = "not a JSON object"
        if on_bad_row is None:
            raise UnreadableFile(f"{path.name}: line {number} is {reason}")
        on_bad_row(number, reason)
    if not seen:
        raise UnreadableFile(f"{path.name}: the file is empty")


def check_readable(path: Path, kind: str) -> None:
    """Raise :class:`UnreadableFile` now if ``path`` has no header or no data row (cheap:
    stops at the first data row), so an upload is refused before a job starts."""
    rows = read_rows(path, on_bad_row=lambda _number, _why: None, kind=kind)
    next(iter(rows), None)
