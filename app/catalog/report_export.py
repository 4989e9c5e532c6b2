"""An import's full issue list as a download: formula-safe CSV or XLSX, errors first."""

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

from app.csv_safe import SafeCsvWriter, safe_cell

EXPORT_COLUMNS = ("level", "sheet", "row", "field", "reason", "value")
# (level, sheet, row, field, reason, value)
IssueRow = Sequence[object]


def issues_csv(rows: Iterable[IssueRow]) -> bytes:
    """UTF-8 CSV with a BOM (Excel reads the Chinese text), every cell formula-safe."""
    buffer = io.StringIO(newline="")
    writer = SafeCsvWriter(buffer)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def issues_xlsx(rows: Iterable[IssueRow]) -> bytes:
    """A one-sheet workbook; text cells go through ``safe_cell`` (openpyxl would otherwise
    store a cell starting with ``=`` as a formula)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("report")
    sheet.append(list(EXPORT_COLUMNS))
    for row in rows:
        sheet.append([safe_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
