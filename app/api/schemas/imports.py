"""Import job schemas."""

from pydantic import BaseModel, ConfigDict, Field

from app.api.jobs import JobStatus
from app.api.schemas.common import UtcDatetime


class RowIssueOut(BaseModel):
    """One rejected row (or field) of an import file."""

    row: int | None = Field(description="1-based row number in the file (header = row 1)")
    field: str | None
    reason: str
    value: str | None


class ImportJobOut(BaseModel):
    """An import job: status, progress, counts, summary and per-row errors."""

    model_config = ConfigDict(from_attributes=True)

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
