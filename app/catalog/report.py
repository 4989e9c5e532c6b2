"""The outcome of an import: counts, row issues, and the CSV reports users open in Excel."""

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from app.catalog.records import UNKNOWN_IPC_REASON, Issues
from app.catalog.tables import TableInfo
from app.csv_safe import SafeCsvWriter

REPORT_DIR = Path("import-reports")
ISSUE_COLUMNS = ("sheet", "row", "field", "reason", "value")


@dataclass
class RowIssue:
    """A problem found in one row: the row number as the user sees it, the field and why."""

    row: int
    field: str
    reason: str
    value: str | None = None
    # The workbook sheet the row is on (None for csv and jsonl).
    sheet: str | None = None


@dataclass
class _Checkpoint:
    counts: tuple[int, int, int, int, int]
    errors: int
    warnings: int


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
    # What the reader found, filled while it reads (so it is there after an interruption too).
    table: TableInfo = field(default_factory=TableInfo)
    # Things the user should know about the whole run (no owner, an incomplete IPC scheme).
    notes: list[str] = field(default_factory=list)
    # Set when the run was interrupted: the report then covers the committed batches only.
    interrupted: bool = False
    _checkpoint: _Checkpoint | None = field(default=None, repr=False, compare=False)

    def summary(self) -> dict[str, object]:
        """JSON-able counts (errors before warnings), sheets, ignored headers and notes."""
        return {
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "ignored_headers": list(self.ignored_headers),
            "sheets": [dict(sheet) for sheet in self.sheets],
            "skipped_sheets": list(self.skipped_sheets),
            "notes": list(self.notes),
            "interrupted": self.interrupted,
        }

    @property
    def sheets(self) -> list[dict[str, object]]:
        """Workbook sheets read: ``{sheet, header_row, rows}`` (empty for csv and jsonl)."""
        return [
            {"sheet": s.name, "header_row": s.header_row, "rows": s.rows}
            for s in self.table.sheets
            if s.name is not None
        ]

    @property
    def skipped_sheets(self) -> list[str]:
        """Workbook sheets skipped: no recognisable header, or empty."""
        return list(self.table.skipped) if self.sheets else []

    def add_issues(self, row: int, issues: Issues, sheet: str | None = None) -> None:
        """Record a row's field errors and warnings under its row number (and sheet)."""
        self.errors.extend(
            RowIssue(row, str(i.field), i.reason, i.value, sheet) for i in issues.errors
        )
        self.warnings.extend(
            RowIssue(row, str(i.field), i.reason, i.value, sheet) for i in issues.warnings
        )

    def reject(
        self,
        row: int,
        field_name: str,
        reason: str,
        value: str | None = None,
        *,
        sheet: str | None = None,
    ) -> None:
        """Refuse a whole row for one reason (e.g. a line that is not JSON)."""
        self.rejected += 1
        self.errors.append(RowIssue(row, field_name, reason, value, sheet))

    def ignore_headers(self, headers: list[str]) -> None:
        """Note headers that map to no field, each once."""
        self.ignored_headers.extend(h for h in headers if h not in self.ignored_headers)

    def note(self, text: str) -> None:
        """Add a run-wide note, once."""
        if text not in self.notes:
            self.notes.append(text)

    def checkpoint(self) -> None:
        """Remember the state after a committed batch (what an interruption keeps)."""
        counts = (self.read, self.inserted, self.updated, self.unchanged, self.rejected)
        self._checkpoint = _Checkpoint(counts, len(self.errors), len(self.warnings))

    def rewind(self) -> None:
        """Forget what the rolled-back batch did: back to the last checkpoint; mark interrupted."""
        mark = self._checkpoint or _Checkpoint((0, 0, 0, 0, 0), 0, 0)
        self.read, self.inserted, self.updated, self.unchanged, self.rejected = mark.counts
        del self.errors[mark.errors :]
        del self.warnings[mark.warnings :]
        self.interrupted = True


def add_patent_notes(report: ImportReport, owner_org_id: int | None) -> None:
    """Say when patents were stored without an owner, and when IPC codes were unknown."""
    if owner_org_id is None and report.inserted:
        report.note(
            f"no owner: the {report.inserted} new patents have no owning organisation "
            "(import with one, e.g. --org, to set it; patents stored before keep theirs)"
        )
    unknown = sum(1 for w in report.warnings if w.reason.startswith(UNKNOWN_IPC_REASON))
    if unknown:
        report.note(
            f"{unknown} rows carry IPC codes that are not in the shared IPC scheme file; they "
            "were kept, not rejected: the scheme file lacks some groups and may be incomplete"
        )


@dataclass(frozen=True)
class ReportPaths:
    """Where the error and the warning reports of one run go."""

    errors: Path
    warnings: Path

    def with_overrides(self, errors: Path | None, warnings: Path | None) -> "ReportPaths":
        """These paths, with the ones the user named instead."""
        return replace(self, errors=errors or self.errors, warnings=warnings or self.warnings)


def default_report_paths(var_dir: Path, source: Path, now: datetime | None = None) -> ReportPaths:
    """``<var_dir>/import-reports/<file stem>-<timestamp>-errors.csv`` and ``…-warnings.csv``."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    folder = var_dir / REPORT_DIR
    return ReportPaths(
        folder / f"{source.stem}-{stamp}-errors.csv",
        folder / f"{source.stem}-{stamp}-warnings.csv",
    )


def write_issue_report(issues: list[RowIssue], path: Path) -> Path:
    """Write issues (sheet, row, field, reason, value) as formula-safe UTF-8 CSV with a BOM
    (so Excel reads the Chinese text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = SafeCsvWriter(handle)
        writer.writerow(ISSUE_COLUMNS)
        for issue in issues:  # reading order: sheet by sheet, row by row
            writer.writerow((issue.sheet, issue.row, issue.field, issue.reason, issue.value))
    return path


def write_reports(report: ImportReport, paths: ReportPaths) -> dict[str, Path]:
    """Write the error report and the warning report (each only when it has rows)."""
    written: dict[str, Path] = {}
    if report.errors:
        written["errors"] = write_issue_report(report.errors, paths.errors)
    if report.warnings:
        written["warnings"] = write_issue_report(report.warnings, paths.warnings)
    return written
