"""Find the header row of an exported table: title lines, dates and blanks often come first.

incoPat, 智慧芽 and CNKI exports put a title ("incoPat 专利检索结果导出"), an export date and
blank or merged rows above the real header. The header is the row among the first
``HEADER_SCAN_ROWS`` whose cells match the most known header aliases (and at least one that
identifies a record: 申请号 / 公开号 / 专利名称 for patents, 需求名称 for needs).
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import chain
from typing import NamedTuple

from app.catalog.headers import NeedField, PatentField, map_headers
from app.errors import BadRequest
from app.types import strip_control

Row = dict[str, str | None]
# Raw records of one table: (row number, cell values).
Records = Iterator[tuple[int, list[object]]]
# A table to read: its sheet name (None for csv) and its records.
Sheet = tuple[str | None, Records]
# How many data rows decide whether a csv header carries a leading caption cell.
_ALIGNMENT_PROBE = 50

HEADER_SCAN_ROWS = 30

# Without one of these a row cannot be the header: no row could be keyed or named.
_KEY_FIELDS: dict[str, frozenset[str]] = {
    "patent": frozenset(
        {
            PatentField.APPLICATION_NUMBER,
            PatentField.PUBLICATION_NUMBER,
            PatentField.TITLE,
            PatentField.COMBINED_TEXT,
        }
    ),
    "need": frozenset({NeedField.TITLE}),
}
# What the "no header" message asks for, in the user's terms.
KEY_HEADER_NAMES = {"patent": "申请号 / 专利名称", "need": "需求名称"}


@dataclass(frozen=True)
class HeaderChoice:
    """The header row found in a table: its position in the scanned records and its score."""

    index: int
    score: int


def header_score(cells: Sequence[str | None], kind: str) -> int:
    """Distinct fields the cells map to; 0 when none of them identifies a record."""
    names = [cell for cell in cells if cell]
    if not names:
        return 0
    fields = set(map_headers(names, kind).sources)
    return len(fields) if fields & _KEY_FIELDS[kind] else 0


def choose_header(
    rows: Sequence[tuple[int, Sequence[str | None]]], kind: str
) -> HeaderChoice | None:
    """The best-scoring row numbered 1–``HEADER_SCAN_ROWS`` (the first of equals), if any."""
    best: HeaderChoice | None = None
    for index, (number, cells) in enumerate(rows):
        if number > HEADER_SCAN_ROWS:
            break
        score = header_score(cells, kind)
        if score and (best is None or score > best.score):
            best = HeaderChoice(index, score)
    return best


def no_header_message(kind: str, where: Sequence[str]) -> str:
    """``no 申请号 / 专利名称 header in rows 1–30 of sheet X``."""
    return f"no {KEY_HEADER_NAMES[kind]} header in rows 1–{HEADER_SCAN_ROWS} of " + ", ".join(where)


class UnreadableFile(BadRequest):
    """The import file is missing, of an unsupported kind, or cannot be decoded."""

    type_slug = "unreadable-file"
    title = "Unreadable import file"


class SourceRow(NamedTuple):
    """One data row: its number as the user sees it, its cells by header, and its sheet."""

    number: int
    cells: Row
    sheet: str | None = None


@dataclass
class SheetRead:
    """A table that was read: its sheet (None for csv/jsonl), header row and data rows."""

    name: str | None
    header_row: int
    rows: int = 0


@dataclass
class TableInfo:
    """Filled while a file is read: the sheets read and those skipped (no header, empty)."""

    sheets: list[SheetRead] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def sheet_names(self) -> list[str]:
        """Names of the workbook sheets that were read (empty for csv/jsonl)."""
        return [sheet.name for sheet in self.sheets if sheet.name is not None]


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


def _head(records: Records, kind: str | None) -> list[tuple[int, list[object]]]:
    """The non-blank records among rows 1–30 (without a kind: just the first non-blank)."""
    head: list[tuple[int, list[object]]] = []
    for number, values in records:
        if not _is_blank(values):
            head.append((number, values))
            if kind is None:
                break
        if number >= HEADER_SCAN_ROWS and (head or kind is not None):
            break
    return head


def _header_index(head: list[tuple[int, list[object]]], kind: str | None) -> int | None:
    if kind is None:
        return 0 if head else None
    choice = choose_header([(n, [cell_text(v) for v in values]) for n, values in head], kind)
    return None if choice is None else choice.index


def assemble_tables(
    name: str, sheets: Iterator[Sheet], kind: str | None, info: TableInfo, *, detect_caption: bool
) -> Iterator[SourceRow]:
    """Rows of every table (csv, or each sheet) with a header; errors when there are none."""
    no_header: list[str] = []
    for sheet_name, records in sheets:
        head = _head(records, kind)
        label = name if sheet_name is None else f"sheet {sheet_name}"
        index = _header_index(head, kind)
        if index is None:
            info.skipped.append(label)
            if head:
                no_header.append(label)
            continue
        read = SheetRead(sheet_name, head[index][0])
        info.sheets.append(read)
        rest = chain(head[index + 1 :], records)
        for row in _sheet_rows(head[index][1], rest, detect_caption=detect_caption):
            read.rows += 1
            yield SourceRow(row[0], row[1], sheet_name)
    _check_read(name, kind, info, no_header)


def _check_read(name: str, kind: str | None, info: TableInfo, no_header: list[str]) -> None:
    if not info.sheets and no_header and kind is not None:
        raise UnreadableFile(f"{name}: " + no_header_message(kind, no_header))
    if not info.sheets:
        raise UnreadableFile(f"{name}: the file is empty")
    if not any(sheet.rows for sheet in info.sheets):
        where = ", ".join(
            f"row {s.header_row}" + (f" of sheet {s.name}" if s.name else "") for s in info.sheets
        )
        raise UnreadableFile(f"{name}: only a header ({where}), no data rows")


def _sheet_rows(
    header_cells: list[object], records: Records, *, detect_caption: bool
) -> Iterator[tuple[int, Row]]:
    """Header-keyed rows of one table."""
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
