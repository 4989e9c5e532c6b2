"""Every issue of an import job, kept in full (the job row keeps only the first ones)."""

from collections.abc import Iterator
from typing import Literal

import sqlalchemy as sa
from sqlalchemy import insert
from sqlmodel import Field, Session, SQLModel, col, select

from app.catalog.report import ImportReport, RowIssue

ReportLevel = Literal["all", "errors", "warnings"]
_LEVEL_ORDER = {"error": 0, "warning": 1}


class ImportIssue(SQLModel, table=True):
    """One error or warning of an import job: where it is (sheet, row, field) and why."""

    __tablename__ = "import_issue"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="import_job.id", index=True)
    level: str = Field(max_length=10)
    sheet: str | None = Field(default=None, max_length=255)
    row: int
    field: str = Field(max_length=200)
    reason: str = Field(sa_type=sa.Text())
    value: str | None = Field(default=None, sa_type=sa.Text())


def _rows(job_id: int, level: str, issues: list[RowIssue]) -> list[dict[str, object]]:
    return [
        {
            "job_id": job_id,
            "level": level,
            "sheet": issue.sheet,
            "row": issue.row,
            "field": issue.field[:200],
            "reason": issue.reason,
            "value": None if issue.value is None else str(issue.value),
        }
        for issue in issues
    ]


def store_issues(session: Session, job_id: int, report: ImportReport) -> None:
    """Insert all of the report's errors and warnings (the caller commits)."""
    rows = _rows(job_id, "error", report.errors) + _rows(job_id, "warning", report.warnings)
    if rows:
        session.execute(insert(ImportIssue), rows)


def job_issue_rows(
    session: Session, job_id: int, level: ReportLevel
) -> Iterator[tuple[object, ...]]:
    """(level, sheet, row, field, reason, value) of a job: errors first, in reading order."""
    stmt = select(ImportIssue).where(ImportIssue.job_id == job_id)
    if level != "all":
        stmt = stmt.where(ImportIssue.level == level.removesuffix("s"))
    issues = sorted(session.exec(stmt.order_by(col(ImportIssue.id))), key=_error_first)
    for issue in issues:
        yield issue.level, issue.sheet, issue.row, issue.field, issue.reason, issue.value


def _error_first(issue: ImportIssue) -> int:
    return _LEVEL_ORDER.get(issue.level, 2)
