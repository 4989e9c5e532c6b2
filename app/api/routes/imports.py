"""/api/v1/imports: upload a patent file, import it in the background, follow the job."""

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from app.api.deps import PrincipalDep, SessionDep, SettingsDep, require_roles
from app.api.schemas.common import problem_responses
from app.api.schemas.imports import ImportJobOut
from app.auth.access import owner_for_write, owning_org, sees_private
from app.auth.principal import Principal, Role
from app.catalog.job_report import ReportLevel, job_issue_rows
from app.catalog.jobs import ImportJob, ImportTask, start_import_job
from app.catalog.readers import UnreadableFile, check_readable
from app.catalog.report_export import issues_csv, issues_xlsx
from app.db import persisted_id
from app.errors import NotFound, ValidationFailed
from app.types import INT32_MAX, DbId

router = APIRouter(prefix="/imports", tags=["imports"])

ALLOWED_SUFFIXES = (".csv", ".xlsx", ".jsonl")
# Under the API prefix: the body limit middleware gives this path the upload limit.
UPLOAD_PATH = "/imports/patents"
_CHUNK = 1024 * 1024
# The form has one file and one small field; anything more is not this form.
_MAX_FORM_FIELDS = 4
_MAX_FIELD_BYTES = 1024
_MAX_NAME = 255  # import_job.filename

TtoOrAdmin = Annotated[Principal, Depends(require_roles(Role.TTO))]

# The body is read by ``_upload_form`` (after authentication), so the route declares no
# File/Form parameters; this documents the form for clients and the OpenAPI.
_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "csv, xlsx or jsonl",
                    },
                    "owner_org_id": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": INT32_MAX,
                        "description": "Admins only",
                    },
                },
            }
        }
    },
}


@dataclass(frozen=True)
class Upload:
    """The validated upload form."""

    file: UploadFile
    owner_org_id: int | None


def _bad_file(message: str) -> ValidationFailed:
    return ValidationFailed("unusable upload", errors=[{"field": "file", "message": message}])


def _owner_field(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return TypeAdapter(DbId).validate_python(value)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"]
        raise ValidationFailed(
            "invalid owner_org_id", errors=[{"field": "owner_org_id", "message": message}]
        ) from None


async def _upload_form(request: Request, _principal: TtoOrAdmin) -> AsyncIterator[Upload]:
    """The multipart form, read only once the caller is authenticated and allowed.

    The body limit middleware cuts the stream at the upload limit while it is read here.
    """
    try:
        form = await request.form(
            max_files=1, max_fields=_MAX_FORM_FIELDS, max_part_size=_MAX_FIELD_BYTES
        )
    except MultiPartException as exc:
        raise _bad_file(f"not a usable multipart form: {exc.message}") from None
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ValidationFailed(
                "unusable upload", errors=[{"field": "file", "message": "field required"}]
            )
        yield Upload(file, _owner_field(form.get("owner_org_id")))
    finally:
        await form.close()


def _shown_name(upload: UploadFile) -> str:
    """The file's own name, without a path or control characters, as the job shows it."""
    name = Path(upload.filename or "").name
    return "".join(char for char in name if char.isprintable())[:_MAX_NAME] or "upload"


def _store_upload(upload: UploadFile, directory: Path, limit: int) -> Path:
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
            if written > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise _bad_file(f"larger than {limit} bytes")
            out.write(chunk)
    if written == 0:
        target.unlink(missing_ok=True)
        raise _bad_file("the file is empty")
    return target


def _check_content(path: Path, shown: str) -> None:
    """Refuse a file without a recognisable header or without data rows (422) up front."""
    try:
        check_readable(path, "patent")
    except UnreadableFile as exc:
        path.unlink(missing_ok=True)
        raise _bad_file(exc.detail.replace(path.name, shown)) from None


@router.post(
    "/patents",
    status_code=202,
    response_model=ImportJobOut,
    summary="Import patents from a file",
    description="A tto (or an admin naming the owner) uploads a csv, xlsx or jsonl export "
    "(e.g. incoPat/智慧芽/CNKI columns such as 申请号, 专利名称, 分类号). The import runs in the "
    "background; follow it at `GET /api/v1/imports/{job_id}` (the Location header). "
    "The key is checked before the file is read; files over the upload limit get a 413.",
    responses=problem_responses(401, 403, 404, 413, 422),
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
def start_patent_import(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: TtoOrAdmin,
    upload: Annotated[Upload, Depends(_upload_form)],
) -> ImportJob:
    """Store the upload, record a job and start it in a background thread."""
    owner = owner_for_write(principal, upload.owner_org_id, Role.TTO)
    owning_org(session, owner, Role.TTO, "owner_org_id")
    path = _store_upload(upload.file, settings.var_dir / "uploads", settings.max_upload_bytes)
    _check_content(path, _shown_name(upload.file))
    state = request.app.state
    job = ImportJob(
        owner_org_id=owner,
        key_id=principal.key_id,
        filename=_shown_name(upload.file),
        lease_owner=state.lease_owner,
        upload_path=str(path),
    )
    session.add(job)
    session.commit()
    session.refresh(job)
    job_id = persisted_id(job)
    task = ImportTask(
        job_id=job_id,
        path=path,
        owner_org_id=owner,
        batch_size=settings.import_batch_size,
        ipc_scheme=getattr(state, "ipc_scheme", None),
        filename=job.filename,
        lease_owner=state.lease_owner,
    )
    matcher = getattr(state, "matcher", None)
    start_import_job(state.write_engine, matcher, task, state.import_threads)
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
    return _visible_job(session, principal, job_id)


def _visible_job(session: SessionDep, principal: Principal, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None or not sees_private(principal, job.owner_org_id):
        raise NotFound(f"import job {job_id} does not exist")
    return job


_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get(
    "/{job_id}/report",
    summary="Download an import job's full report",
    description="Every error and warning of the job (errors first): level, sheet, row, field, "
    "reason, value — as formula-safe CSV (UTF-8 with BOM) or XLSX. `level` narrows it to "
    "`errors` or `warnings`. Visible to the owning organisation and admins.",
    responses={
        200: {"content": {media: {} for media in _MEDIA.values()}},
        **problem_responses(401, 404, 422),
    },
)
def download_import_report(
    job_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    fmt: Annotated[
        Literal["csv", "xlsx"], Query(alias="format", description="csv or xlsx")
    ] = "csv",
    level: Annotated[ReportLevel, Query(description="all, errors or warnings")] = "all",
) -> Response:
    """The job's issues as a CSV or XLSX attachment."""
    job = _visible_job(session, principal, job_id)
    rows = job_issue_rows(session, job_id, level)
    body = issues_xlsx(rows) if fmt == "xlsx" else issues_csv(rows)
    name = f"import-{job.id}-{level}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content=body, media_type=_MEDIA[fmt], headers=headers)
