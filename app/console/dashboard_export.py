"""The dashboard as a workbook: a summary sheet (filter, totals) and one sheet per grouping.

The columns are those of ``GET /api/v1/figures?format=csv`` (``figure_table``), headed in the
visitor's language; text cells go through ``safe_cell`` so that no name runs as a formula.
"""

import io
from collections.abc import Callable

from openpyxl import Workbook

from app.console.dashboard import GROUPINGS, Figures, group_label
from app.csv_safe import safe_cell
from app.deals.figures import GroupBy, figure_table


def _heading(t: Callable[..., str], column: str) -> str:
    if column.startswith("deals_"):
        return t("dash.col.deals_in", state=t("state." + column.removeprefix("deals_")))
    return t("dash.col." + column)


def figures_workbook(figures: Figures, t: Callable[..., str]) -> bytes:
    """XLSX bytes: summary first, then region, industry, IPC section, organisation, month."""
    book = Workbook(write_only=True)
    summary = book.create_sheet(t("dash.sheet.summary"))
    for name, value in figures.only.model_dump().items():
        summary.append([t("dash.filter." + name), safe_cell(value)])
    summary.append([t("dash.filter.region_level"), figures.region_level])
    summary.append([t("dash.scope"), safe_cell(figures.scope or t("dash.all_regions"))])
    summary.append([])
    header, body = figure_table([figures.total])
    for column, value in zip(header[2:], body[0][2:], strict=True):
        summary.append([_heading(t, column), value])
    for by in (g for g in GROUPINGS if g in figures.rows):
        rows = figures.rows[by]
        sheet = book.create_sheet(t("dash.group." + by.value))
        header, body = figure_table(rows)
        sheet.append([_heading(t, column) for column in header])
        for row, cells in zip(rows, body, strict=True):
            label = group_label(t, by, row) if by is GroupBy.IPC_SECTION else cells[1]
            sheet.append([safe_cell(row.key), safe_cell(label), *cells[2:]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
