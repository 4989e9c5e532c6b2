"""Import jobs: a small table that tracks background imports, and the runner thread's work."""

import logging
import threading
from collections.abc import MutableSet
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel

from app.catalog.importer import import_patents
from app.catalog.ipc import IpcScheme
from app.catalog.job_report import store_issues
from app.catalog.models import enum_type, json_list
from app.catalog.report import ImportReport, RowIssue
from app.errors import AppError
from app.types import utcnow

# Shown in the job resource; the full list is downloadable (GET /imports/{id}/report).
MAX_STORED_ISSUES = 1000

logger = logging.getLogger("patentmatch.api.imports")


class IndexSync(Protocol):
    """What a finished job tells that the catalog changed (the match engine, in the app)."""

    def mark_written(self) -> None:
        """Catalog rows changed: the indexer replays them (in the background)."""
        ...


class JobStatus(StrEnum):
    """Lifecycle of an import job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportJob(SQLModel, table=True):
    """One upload being imported in the background; survives the request that started it."""

    __tablename__ = "import_job"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="patents", max_length=20)
    owner_org_id: int = Field(foreign_key="organisation.id", index=True)
    key_id: int | None = Field(default=None, foreign_key="api_key.id")
    filename: str = Field(max_length=255)
    status: JobStatus = Field(default=JobStatus.QUEUED, sa_type=enum_type(JobStatus))
    rows_processed: int = 0
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    summary: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON())
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_type=json_list())
    warnings: list[dict[str, Any]] = Field(default_factory=list, sa_type=json_list())
    failure: str | None = Field(default=None, sa_type=sa.Text())
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    started_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # The lease: which process runs the job ("host:pid:token") and when it last said so;
    # ``job_leases.reap_dead_jobs`` fails jobs whose process is gone. The stored upload goes
    # with the job.
    lease_owner: str | None = Field(default=None, max_length=200)
    heartbeat_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    upload_path: str | None = Field(default=None, max_length=1000)


def _issue(issue: RowIssue) -> dict[str, Any]:
    value = issue.value
    return {
        "row": issue.row,
        "field": issue.field,
        "reason": issue.reason,
        "value": None if value is None else str(value),
        "sheet": issue.sheet,
    }


def _record_report(job: ImportJob, report: ImportReport) -> None:
    for name in ("read", "inserted", "updated", "unchanged", "rejected"):
        setattr(job, name, int(getattr(report, name, 0)))
    job.rows_processed = max(job.rows_processed, job.read)
    job.errors = [_issue(i) for i in list(report.errors)[:MAX_STORED_ISSUES]]
    job.warnings = [_issue(w) for w in list(report.warnings)[:MAX_STORED_ISSUES]]
    job.summary = dict(report.summary())


def _set_state(engine: Engine, job_id: int, **fields: Any) -> None:
    with Session(engine) as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            return
        for name, value in fields.items():
            setattr(job, name, value)
        session.add(job)
        session.commit()


@dataclass(frozen=True)
class ImportTask:
    """What a job imports and with which options."""

    job_id: int
    path: Path
    owner_org_id: int
    batch_size: int
    ipc_scheme: IpcScheme | None
    # The name the file was uploaded under: messages name it, not the stored copy.
    filename: str = ""
    # The process that runs it (``job_leases.lease_owner``).
    lease_owner: str = ""


def _import(engine: Engine, task: ImportTask) -> None:
    job_id = task.job_id

    with Session(engine) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None

        def on_progress(rows: int, *_: Any) -> None:
            # Written in the importer's own transaction: visible as each batch commits,
            # and no second writer contends for the database lock. Doubles as the heartbeat.
            job.rows_processed = rows
            job.heartbeat_at = utcnow()
            session.add(job)

        report = import_patents(
            session,
            task.path,
            owner_org_id=task.owner_org_id,
            batch_size=task.batch_size,
            on_progress=on_progress,
            ipc_scheme=task.ipc_scheme,
        )
        _record_report(job, report)
        store_issues(session, job_id, report)
        job.status = JobStatus.SUCCEEDED
        job.finished_at = utcnow()
        session.add(job)
        session.commit()


def run_import_job(engine: Engine, matcher: IndexSync | None, task: ImportTask) -> None:
    """Run one import job to completion (in a background thread), then wake the indexer."""
    job_id = task.job_id
    now = utcnow()
    _set_state(
        engine,
        job_id,
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        lease_owner=task.lease_owner or None,
    )
    try:
        _import(engine, task)
    except AppError as exc:  # a file the importer refuses: the user's problem, shown as such
        shown = task.filename or task.path.name
        failure = exc.detail.replace(str(task.path), shown).replace(task.path.name, shown)
        _set_state(engine, job_id, status=JobStatus.FAILED, failure=failure, finished_at=utcnow())
        return
    except Exception:
        # The thread's boundary: nothing above it would record the failure, so record it here.
        logger.exception("import job %s failed", job_id)
        _set_state(
            engine,
            job_id,
            status=JobStatus.FAILED,
            failure="internal error while importing; see the server log",
            finished_at=utcnow(),
        )
        return
    finally:
        task.path.unlink(missing_ok=True)
    if matcher is not None:
        matcher.mark_written()


def start_import_job(
    engine: Engine,
    matcher: IndexSync | None,
    task: ImportTask,
    threads: MutableSet[threading.Thread],
) -> None:
    """Run ``task`` in a background thread that shutdown waits for (API and console alike)."""
    worker = threading.Thread(
        target=run_import_job,
        args=(engine, matcher, task),
        name=f"import-job-{task.job_id}",
        daemon=True,
    )
    threads.add(worker)
    worker.start()
