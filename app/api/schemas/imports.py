"""Import job schemas."""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.catalog.jobs import JobStatus
from app.types import UtcDatetime


class RowIssueOut(BaseModel):
    """One rejected row (or field) of an import file."""

    row: int | None = Field(description="1-based row number in the file (header = row 1)")
    field: str | None
    reason: str
    value: str | None


_EXAMPLE: JsonDict = {
    "id": 2, "kind": "patents", "owner_org_id": 1, "filename": "PatentSemantix_10_records.csv",
    "status": "succeeded", "rows_processed": 10, "read": 10, "inserted": 10, "updated": 0,
    "unchanged": 0, "rejected": 0,
    "summary": {"read": 10, "inserted": 10, "errors": 0, "warnings": 1},
    "errors": [],
    "warnings": [{"row": 3, "field": "ipc", "reason": "not in the IPC scheme: H04N 5/225",
                  "value": "H04N5/225;H04N5/232"}],
    "failure": None, "created_at": "2026-11-25T09:22:32Z",
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
    errors: list[RowIssueOut] = Field(description="Per-row errors (at most the first 1000)")
    warnings: list[RowIssueOut]
    failure: str | None = Field(description="Why the whole job failed, if it did")
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
