"""Read tabular import files (csv, xlsx, jsonl) into numbered rows of text cells."""

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time
from itertools import chain
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from app.errors import BadRequest
from app.types import strip_control

Row = dict[str, str | None]
NumberedRow = tuple[int, Row]
# Called with (row number, reason) for a row that cannot be read at all (bad jsonl line).
BadRowHandler = Callable[[int, str], None]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".jsonl", ".ndjson")
_DELIMITERS = (",", "\t", ";", "|")
# How many data rows decide whether the header carries a leading caption cell.
_ALIGNMENT_PROBE = 50


class UnreadableFile(BadRequest):
    """The import file is missing, of an unsupported kind, or cannot be decoded."""

    type_slug = "unreadable-file"
    title = "Unreadable import file"


def read_rows(path: Path, on_bad_row: BadRowHandler | None = None) -> Iterator[NumberedRow]:
    """Yield ``(row number, {header: text})`` for every non-empty data row of ``path``.

    Row numbers are what a user sees: the spreadsheet line (header line included) for
    csv/xlsx, the line number for jsonl.
    """
    if not path.is_file():
        raise UnreadableFile(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return _table_rows(_csv_records(path), detect_caption=True)
    if suffix in (".xlsx", ".xlsm"):
        return _table_rows(_xlsx_records(path), detect_caption=False)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(path, on_bad_row)
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
                rows = workbook.worksheets[0].max_row
            finally:
                workbook.close()
            return max(0, rows - 1) if rows else None
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


def _csv_records(path: Path) -> Iterator[tuple[int, list[object]]]:
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    try:
        # A record is one spreadsheet row even when a quoted cell spans several lines.
        for number, record in enumerate(reader, start=1):
            yield number, list(record)
    except csv.Error as exc:
        raise UnreadableFile(f"{path.name}: malformed CSV near row {reader.line_num}") from exc


def _xlsx_records(path: Path) -> Iterator[tuple[int, list[object]]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise UnreadableFile(f"{path.name}: not a readable xlsx workbook") from exc
    try:
        sheet = workbook.worksheets[0]
        # Some writers store a wrong sheet size; recompute it from the cells themselves.
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        workbook.close()


def cell_text(value: object) -> str | None:
    """A cell as stripped text (None when blank); dates become ISO strings."""
    if value is None:
        return None
    if isinstance(value, datetime):
        text = value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple):
        text = "; ".join(t for t in (cell_text(v) for v in value) if t)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    # A stray NUL or other control character in an export would fail the whole batch on
    # PostgreSQL; it carries nothing, so it goes.
    text = strip_control(text).strip()
    return text or None


def _unique_headers(cells: Sequence[object]) -> list[str]:
    headers: list[str] = []
    for index, cell in enumerate(cells, start=1):
        name = cell_text(cell) or f"column {index}"
        candidate, copy = name, 2
        while candidate in headers:
            candidate, copy = f"{name} ({copy})", copy + 1
        headers.append(candidate)
    return headers


def _is_blank(values: Sequence[object]) -> bool:
    return all(cell_text(v) is None for v in values)


def _table_rows(
    records: Iterator[tuple[int, list[object]]], *, detect_caption: bool
) -> Iterator[NumberedRow]:
    """Turn raw records into header-keyed rows: header = first non-empty record."""
    header_cells: list[object] | None = None
    for _number, values in records:
        if not _is_blank(values):
            header_cells = values
            break
    if header_cells is None:
        return
    probe: list[tuple[int, list[object]]] = []
    for number, values in records:
        if not _is_blank(values):
            probe.append((number, values))
        if len(probe) >= _ALIGNMENT_PROBE:
            break
    if detect_caption and _has_caption_cell(len(header_cells), probe):
        # Navicat-style exports put the table name above the first column: drop it.
        header_cells = header_cells[1:]
    headers = _unique_headers(header_cells)
    for number, values in chain(probe, records):
        if not _is_blank(values):
            yield number, {h: cell_text(v) for h, v in zip(headers, values, strict=False)}


def _has_caption_cell(width: int, probe: list[tuple[int, list[object]]]) -> bool:
    if width < 3 or not probe:
        return False
    # Raw CSV widths: a normal file keeps its trailing empty cells, so only a caption
    # cell above the first column makes every data row exactly one cell short.
    return all(len(values) == width - 1 for _, values in probe)


def _jsonl_rows(path: Path, on_bad_row: BadRowHandler | None) -> Iterator[NumberedRow]:
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON ({exc.msg})"
        else:
            if isinstance(obj, dict):
                yield number, {str(k): cell_text(v) for k, v in obj.items()}
                continue
            reason = "not a JSON object"
        if on_bad_row is None:
            raise UnreadableFile(f"{path.name}: line {number} is {reason}")
        on_bad_row(number, reason)
