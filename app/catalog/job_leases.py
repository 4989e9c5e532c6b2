"""Import jobs survive crashes: a job whose process died is marked failed, its upload removed.

Each job records the process that runs it (``lease_owner`` = ``host:pid:token``, the token
unique per server start) and a heartbeat (each committed batch). A job is dead when its
heartbeat is older than ``import_lease_seconds`` (any host), or at once when it belongs to this
host and its process is gone or was an earlier start of this one (a container restarted with
the same pid). Every batch it committed stays: imports are idempotent, so uploading the file
again completes it.
"""

import logging
import os
import secrets
import socket
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.catalog.jobs import ImportJob, JobStatus
from app.types import assume_utc, utcnow

log = logging.getLogger("patentmatch.api.imports")

FAILURE = (
    "the server stopped while this import ran; the {rows} rows processed so far are saved — "
    "upload the file again to finish it (imports are idempotent)"
)


def new_lease_owner() -> str:
    """An owner id for this server start: ``host:pid:token``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _owner_gone(owner: str | None, me: str) -> bool:
    """True when ``owner`` ran on this host and that process no longer runs."""
    if not owner or owner == me:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    my_host, _, my_rest = me.partition(":")
    if host != my_host or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    return pid == int(my_rest.partition(":")[0]) or not _pid_alive(pid)


def _expired(job: ImportJob, cutoff: datetime) -> bool:
    last = job.heartbeat_at or job.created_at
    return last is not None and assume_utc(last) < cutoff


def reap_dead_jobs(db: Engine, me: str, lease_seconds: float) -> list[int]:
    """Mark dead jobs failed and remove their uploads; returns their ids."""
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    live = [JobStatus.QUEUED, JobStatus.RUNNING]
    reaped: list[int] = []
    uploads: list[str] = []
    with Session(db) as session:
        for job in session.exec(select(ImportJob).where(col(ImportJob.status).in_(live))):
            if job.lease_owner == me:
                continue  # ours and running (a slow batch is not a dead process)
            if not (_owner_gone(job.lease_owner, me) or _expired(job, cutoff)):
                continue
            job.status = JobStatus.FAILED
            job.failure = FAILURE.format(rows=job.rows_processed)
            job.finished_at = utcnow()
            session.add(job)
            reaped.append(int(job.id or 0))
            if job.upload_path:
                uploads.append(job.upload_path)
        session.commit()
    for upload in uploads:
        Path(upload).unlink(missing_ok=True)
    if reaped:
        log.warning("import jobs %s were left running by a stopped server: marked failed", reaped)
    return reaped
