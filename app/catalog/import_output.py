"""How ``patentmatch import`` prints its outcome: errors first, then warnings, then notes."""

import json
from pathlib import Path

import typer

from app.catalog.report import ImportReport, RowIssue

# Rows of each kind shown on the terminal; the report files hold them all.
SHOWN_ISSUES = 5


def _where(issue: RowIssue) -> str:
    return (f"sheet {issue.sheet}, " if issue.sheet else "") + f"row {issue.row}"


def print_report(file: Path, report: ImportReport, written: dict[str, Path], as_json: bool) -> None:
    """One JSON object, or a summary line, the errors, the warnings and the notes."""
    if as_json:
        payload = {
            "file": str(file),
            **report.summary(),
            "error_file": str(written["errors"]) if "errors" in written else None,
            "warning_file": str(written["warnings"]) if "warnings" in written else None,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    typer.echo(
        f"{file.name}: read {report.read}, inserted {report.inserted}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {report.rejected}"
    )
    if report.sheets:
        typer.echo(
            "sheets read: "
            + ", ".join(f"{s['sheet']} (header row {s['header_row']})" for s in report.sheets)
        )
    if report.skipped_sheets:
        typer.echo("sheets skipped (no header): " + ", ".join(report.skipped_sheets))
    _issues("errors", report.errors, written.get("errors"))
    _issues("warnings", report.warnings, written.get("warnings"))
    for note in report.notes:
        typer.echo(f"note: {note}")
    if report.ignored_headers:
        typer.echo("ignored columns: " + ", ".join(report.ignored_headers))


def _issues(label: str, issues: list[RowIssue], path: Path | None) -> None:
    if not issues:
        typer.echo(f"{label}: none")
        return
    typer.echo(f"{label}: {len(issues)}" + (f", report: {path}" if path else ""))
    for issue in issues[:SHOWN_ISSUES]:
        typer.echo(f"  {_where(issue)}, {issue.field}: {issue.reason}", err=label == "errors")
