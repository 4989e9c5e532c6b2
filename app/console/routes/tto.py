"""TTO workbench (技术转移机构): import, portfolio, patent page, declaration advice."""

import io
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response

from app.auth.principal import Principal, Role
from app.catalog.enums import ConversionStatus, LegalStatus, PatentType
from app.catalog.jobs import ImportJob, ImportTask, start_import_job
from app.catalog.models import Patent
from app.console.forms import enum_values, invalid
from app.console.portfolio import PAGE_SIZE, PortfolioQuery, list_portfolio, patent_view
from app.console.web import ConsoleRoute, DbSession, FormUser, User, redirect, render, require_role
from app.csv_safe import SafeCsvWriter
from app.db import persisted_id
from app.errors import NotFound
from app.licensing.advice import declaration_advice
from app.licensing.service import today_utc

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

ALLOWED_SUFFIXES = (".csv", ".xlsx", ".jsonl")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_CHUNK = 1024 * 1024


def _own_org(principal: Principal) -> int | None:
    return None if principal.role is Role.ADMIN else principal.org_id


@router.get("/portfolio")
def portfolio(
    request: Request,
    session: DbSession,
    signed: User,
    q: Annotated[str, Query(max_length=200)] = "",
    legal_status: Annotated[list[str] | None, Query()] = None,
    patent_type: Annotated[list[str] | None, Query()] = None,
    conversion_status: Annotated[list[str] | None, Query()] = None,
    ipc: Annotated[str, Query(max_length=20)] = "",
    min_years: Annotated[float | None, Query(ge=0, le=30)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The organisation's patents with filters and search."""
    principal = require_role(signed, Role.TTO)
    query = PortfolioQuery(
        org_id=_own_org(principal),
        q=q,
        legal_status=enum_values(LegalStatus, legal_status or [], "legal_status"),
        patent_type=enum_values(PatentType, patent_type or [], "patent_type"),
        conversion_status=enum_values(
            ConversionStatus, conversion_status or [], "conversion_status"
        ),
        ipc_prefix=ipc.strip(),
        min_remaining_years=min_years,
        page=page,
    )
    patents, total = list_portfolio(session, query, today_utc())
    return render(
        request,
        "portfolio.html",
        patents=patents,
        total=total,
        query=query,
        pages=max(1, -(-total // PAGE_SIZE)),
        legal_statuses=list(LegalStatus),
        patent_types=list(PatentType),
        conversion_statuses=list(ConversionStatus),
    )


@router.get("/portfolio/import")
def import_form(request: Request, signed: User) -> Response:
    """The upload form for a patent file."""
    require_role(signed, Role.TTO)
    return render(request, "import.html")


def _store(upload: UploadFile, directory: Path) -> Path:
    name = Path(upload.filename or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise invalid("file", f"{name or 'file'}: expected one of {', '.join(ALLOWED_SUFFIXES)}")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{secrets.token_hex(8)}{suffix}"
    written = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                out.close()
                target.unlink(missing_ok=True)
                raise invalid("file", f"larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
            out.write(chunk)
    if written == 0:
        target.unlink(missing_ok=True)
        raise invalid("file", "the file is empty")
    return target


@router.post("/portfolio/import")
def start_import(
    request: Request, session: DbSession, signed: FormUser, file: Annotated[UploadFile, File()]
) -> Response:
    """Store the upload and import it in the background; show its progress page."""
    principal = require_role(signed, Role.TTO)
    if principal.org_id is None:
        raise invalid("file", "platform admins import through the API, naming the owner")
    state = request.app.state
    path = _store(file, state.settings.var_dir / "uploads")
    job = ImportJob(
        owner_org_id=principal.org_id,
        key_id=principal.key_id,
        filename=Path(file.filename or "").name,
        # Leased like the API's jobs: a crashed server's job is failed and its upload removed.
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
        owner_org_id=principal.org_id,
        batch_size=state.settings.import_batch_size,
        ipc_scheme=getattr(state, "ipc_scheme", None),
        filename=job.filename,
        lease_owner=state.lease_owner,
    )
    matcher = getattr(state, "matcher", None)
    start_import_job(state.write_engine, matcher, task, state.import_threads)
    return redirect(f"/imports/{job_id}")


def _own_job(session: DbSession, principal: Principal, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None or (principal.role is not Role.ADMIN and job.owner_org_id != principal.org_id):
        raise NotFound(f"import job {job_id} does not exist")
    return job


@router.get("/imports/{job_id}")
def import_progress(request: Request, job_id: int, session: DbSession, signed: User) -> Response:
    """An import's progress while it runs, then its per-row report (errors first)."""
    job = _own_job(session, require_role(signed, Role.TTO), job_id)
    return render(request, "import_job.html", job=job)


@router.get("/imports/{job_id}/errors.csv")
def import_errors_csv(job_id: int, session: DbSession, signed: User) -> Response:
    """The import's rejected rows and warnings as a (formula-safe) CSV file."""
    job = _own_job(session, require_role(signed, Role.TTO), job_id)
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(["kind", "row", "field", "reason", "value"])
    for kind, issues in (("error", job.errors), ("warning", job.warnings)):
        writer.writerows(
            [kind, i.get("row"), i.get("field"), i.get("reason"), i.get("value")] for i in issues
        )
    headers = {"Content-Disposition": f'attachment; filename="import-{job_id}-report.csv"'}
    # A BOM so that Excel opens the UTF-8 Chinese text correctly.
    return Response(
        "\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers
    )


def _patent(session: DbSession, patent_id: int) -> Patent:
    patent = session.get(Patent, patent_id)
    if patent is None:
        raise NotFound(f"patent {patent_id} does not exist")
    return patent


@router.get("/patents/{patent_id}")
def patent_page(request: Request, patent_id: int, session: DbSession, signed: User) -> Response:
    """A patent: bibliographic data, term and status, IPC labels, matching needs, deals."""
    require_role(signed, Role.TTO, Role.ENTERPRISE, Role.STATION)
    state = request.app.state
    view = patent_view(
        session,
        state.matcher,
        getattr(state, "ipc_scheme", None),
        _patent(session, patent_id),
        today_utc(),
    )
    return render(request, "patent.html", view=view)


@router.get("/advice")
def advice(request: Request, session: DbSession, signed: User) -> Response:
    """Which idle patents to declare for open licensing, with the reasons."""
    principal = require_role(signed, Role.TTO)
    if principal.org_id is None:
        raise invalid("org", "platform admins see the advice of one organisation through the API")
    result = declaration_advice(session, request.app.state.matcher, principal, principal.org_id)
    return render(request, "advice.html", advice=result)
