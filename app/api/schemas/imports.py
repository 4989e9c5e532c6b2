"""Import job schemas."""

from pydantic import BaseModel, ConfigDict, Field, computed_field
from pydantic.config import JsonDict

from app.catalog.jobs import JobStatus
from app.types import UtcDatetime


class RowIssueOut(BaseModel):
    """One rejected row (or field) of an import file."""

    row: int | None = Field(description="Row number as a spreadsheet shows it (csv: the line)")
    sheet: str | None = Field(default=None, description="The workbook sheet (None for csv/jsonl)")
    field: str | None
    reason: str
    value: str | None


_EXAMPLE: JsonDict = {
    "id": 2, "kind": "patents", "owner_org_id": 1, "filename": "PatentSemantix_10_records.csv",
    "status": "succeeded", "rows_processed": 10, "read": 10, "inserted": 10, "updated": 0,
    "unchanged": 0, "rejected": 0,
    "summary": {"read": 10, "inserted": 10, "errors": 0, "warnings": 1},
    "errors": [],
    "warnings": [{"row": 3, "field": "ipc", "value": "C23C14/35", "sheet": None,
                  "reason": "not in the IPC scheme file (kept; the file may be incomplete): "
                            "C23C 14/35"}],
    "failure": None, "report_url": "/api/v1/imports/2/report", "created_at": "2026-11-25T09:22:32Z",
    "started_at": "2026-11-25T09:22:32Z", "finished_at": "2026-11-25T09:22:33Z",
}  # fmt: skip


class ImportJobOut(BaseModel):
    """An import job: status, progress, counts, summary and per-row errors."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: int
    kind: str
    owner_org_id: int
    filename: str
    status: JobStatus
    rows_processed: int = Field(description="Rows read so far (progress)")
    read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    summary: dict[str, object] | None = Field(description="The importer's counts, when done")
    errors: list[RowIssueOut] = Field(
        description="Per-row errors (the first 1000; all of them: GET /imports/{id}/report)"
    )
    warnings: list[RowIssueOut]
    failure: str | None = Field(description="Why the whole job failed, if it did")
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None

    @computed_field(  # type: ignore[prop-decorator]
        description="Every error and warning of the job, errors first: CSV, or `?format=xlsx`"
    )
    @property
    def report_url(self) -> str:
        """Where the job's full report is downloaded."""
        return f"/api/v1/imports/{self.id}/report"
