"""/api/v1/imports: upload a patent file, import it in the background, follow the job."""

import secrets
import threading
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from app.api.deps import PrincipalDep, SessionDep, SettingsDep, require_roles
from app.api.schemas.common import problem_responses
from app.api.schemas.imports import ImportJobOut
from app.auth.access import owner_for_write, owning_org, sees_private
from app.auth.principal import Principal, Role
from app.catalog.jobs import ImportJob, ImportTask, run_import_job
from app.db import persisted_id
from app.errors import NotFound, ValidationFailed
from app.types import DbId

router = APIRouter(prefix="/imports", tags=["imports"])

ALLOWED_SUFFIXES = (".csv", ".xlsx", ".jsonl")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_CHUNK = 1024 * 1024


def _bad_file(message: str) -> ValidationFailed:
    return ValidationFailed("unusable upload", errors=[{"field": "file", "message": message}])


def _store_upload(upload: UploadFile, directory: Path) -> Path:
    """Copy the upload to disk (the job outlives the request), refusing oversized files."""
    name = Path(upload.filename or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise _bad_file(f"{name or 'file'}: expected one of {', '.join(ALLOWED_SUFFIXES)}")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{secrets.token_hex(8)}{suffix}"
    written = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                out.close()
                target.unlink(missing_ok=True)
                raise _bad_file(f"larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
            out.write(chunk)
    if written == 0:
        target.unlink(missing_ok=True)
        raise _bad_file("the file is empty")
    return target


@router.post(
    "/patents",
    status_code=202,
    response_model=ImportJobOut,
    summary="Import patents from a file",
    description="A tto (or an admin naming the owner) uploads a csv, xlsx or jsonl export "
    "(e.g. incoPat/智慧芽/CNKI columns such as 申请号, 专利名称, 分类号). The import runs in the "
    "background; follow it at `GET /api/v1/imports/{job_id}` (the Location header).",
    responses=problem_responses(401, 403, 404, 422),
)
def start_patent_import(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require_roles(Role.TTO))],
    file: Annotated[UploadFile, File(description="csv, xlsx or jsonl")],
    owner_org_id: Annotated[int | None, Form(description="Admins only")] = None,
) -> ImportJob:
    """Store the upload, record a job and start it in a background thread."""
    owner = owner_for_write(principal, owner_org_id, Role.TTO)
    owning_org(session, owner, Role.TTO, "owner_org_id")
    path = _store_upload(file, settings.var_dir / "uploads")
    job = ImportJob(
        owner_org_id=owner, key_id=principal.key_id, filename=Path(file.filename or "").name
    )
    session.add(job)
    session.commit()
    session.refresh(job)
    job_id = persisted_id(job)
    state = request.app.state
    task = ImportTask(
        job_id=job_id,
        path=path,
        owner_org_id=owner,
        batch_size=settings.import_batch_size,
        ipc_scheme=getattr(state, "ipc_scheme", None),
        filename=job.filename,
    )
    worker = threading.Thread(
        target=run_import_job,
        args=(state.write_engine, getattr(state, "matcher", None), task),
        name=f"import-job-{job_id}",
        daemon=True,
    )
    state.import_threads.add(worker)
    worker.start()
    response.headers["Location"] = f"/api/v1/imports/{job_id}"
    return job


@router.get(
    "/{job_id}",
    response_model=ImportJobOut,
    summary="Follow an import job",
    description="Status (queued, running, succeeded, failed), rows processed so far, the counts "
    "(read, inserted, updated, unchanged, rejected), the summary and the per-row errors. "
    "Visible to the owning organisation and admins.",
    responses=problem_responses(401, 404),
)
def read_import_job(job_id: DbId, session: SessionDep, principal: PrincipalDep) -> ImportJob:
    """Read one import job."""
    job = session.get(ImportJob, job_id)
    if job is None or not sees_private(principal, job.owner_org_id):
        raise NotFound(f"import job {job_id} does not exist")
    return job
