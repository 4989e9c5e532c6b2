"""Formula-safe CSV (CWE-1236): the one writer for every CSV the project produces.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some also after a
leading tab or carriage return) as a formula, so text from users is prefixed with an apostrophe.
Numbers stay numbers: a negative amount is data, not a formula.
"""

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import IO

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str | int | float | Decimal:
    """The value as a CSV cell that no spreadsheet will evaluate."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class SafeCsvWriter:
    """A ``csv.writer`` whose every text cell goes through :func:`safe_cell`."""

    def __init__(
        self, handle: IO[str], *, delimiter: str = ",", lineterminator: str = "\r\n"
    ) -> None:
        self._writer = csv.writer(handle, delimiter=delimiter, lineterminator=lineterminator)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row, neutralising formulas."""
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write many rows, neutralising formulas."""
        for row in rows:
            self.writerow(row)
