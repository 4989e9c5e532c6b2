"""The outcome of an import: counts, row issues, and the CSV error report users open in Excel."""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.catalog.records import Issues
from app.csv_safe import SafeCsvWriter

ERROR_REPORT_DIR = Path("import-errors")
ERROR_REPORT_COLUMNS = ("row", "field", "reason", "value", "level")


@dataclass
class RowIssue:
    """A problem found in one row: the row number as the user sees it, the field and why."""

    row: int
    field: str
    reason: str
    value: str | None = None


@dataclass
class ImportReport:
    """Counts and issues of one import run."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """JSON-able counts: read, inserted, updated, unchanged, rejected, errors, warnings."""
        return {
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "ignored_headers": list(self.ignored_headers),
        }

    def add_issues(self, row: int, issues: Issues) -> None:
        """Record a row's field errors and warnings under its row number."""
        self.errors.extend(RowIssue(row, str(i.field), i.reason, i.value) for i in issues.errors)
        self.warnings.extend(
            RowIssue(row, str(i.field), i.reason, i.value) for i in issues.warnings
        )

    def reject(self, row: int, field_name: str, reason: str, value: str | None = None) -> None:
        """Refuse a whole row for one reason (e.g. a line that is not JSON)."""
        self.rejected += 1
        self.errors.append(RowIssue(row, field_name, reason, value))

    def ignore_headers(self, headers: list[str]) -> None:
        """Note headers that map to no field, each once."""
        self.ignored_headers.extend(h for h in headers if h not in self.ignored_headers)


def default_error_path(var_dir: Path, source: Path, now: datetime | None = None) -> Path:
    """``<var_dir>/import-errors/<file stem>-<timestamp>.csv``."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return var_dir / ERROR_REPORT_DIR / f"{source.stem}-{stamp}.csv"


def write_error_report(report: ImportReport, path: Path) -> Path:
    """Write errors and warnings as UTF-8 CSV with a BOM (so Excel reads the Chinese text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [(issue, "error") for issue in report.errors]
    rows += [(issue, "warning") for issue in report.warnings]
    rows.sort(key=lambda pair: (pair[0].row, pair[1]))
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = SafeCsvWriter(handle)
        writer.writerow(ERROR_REPORT_COLUMNS)
        for issue, level in rows:
            writer.writerow((issue.row, issue.field, issue.reason, issue.value or "", level))
    return path
