"""RFC 9457 problem+json for every error: AppError, validation, HTTP and unexpected ones."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"
# Location prefixes that say where a value came from, not which field it is.
_LOCATIONS = {"body", "query", "path", "header", "cookie"}

# Seconds a client should wait before retrying a request the database could not serve.
DATABASE_RETRY_AFTER = 2

logger = logging.getLogger("patentmatch.api")


def request_id_of(request: Request) -> str | None:
    """The request id set by the observability middleware, if any."""
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    type_: str = "about:blank",
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Render one problem document."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extra or {})
    request_id = request_id_of(request)
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    extra = dict(exc.extra)
    headers: dict[str, str] = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    if exc.status == 401:
        # RFC 9110 requires a challenge on 401; the key also works as a bearer token.
        headers["WWW-Authenticate"] = 'Bearer realm="patentmatch"'
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        type_=PROBLEM_BASE + exc.type_slug,
        extra=extra,
        headers=headers,
    )


def _field_error(error: dict[str, Any]) -> dict[str, str]:
    if error.get("type") == "json_invalid":
        # FastAPI puts the character offset where the field name would be.
        reason = error.get("ctx", {}).get("error", "not JSON")
        return {
            "field": "body",
            "message": f"malformed JSON at character {error['loc'][-1]}: {reason}",
        }
    return {"field": _field_name(error["loc"]), "message": error["msg"]}


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(e) for e in exc.errors()]
    fields = ", ".join(sorted({e["field"] for e in errors})) or "request"
    malformed = any(e.get("type") == "json_invalid" for e in exc.errors())
    return problem_response(
        request,
        status=422,
        title="Validation failed",
        detail="the body is not valid JSON" if malformed else f"invalid input: {fields}",
        type_=PROBLEM_BASE + "validation-error",
        extra={"errors": errors},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    too_large = exc.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    return problem_response(
        request,
        status=exc.status_code,
        title="Content too large" if too_large else phrase,
        detail=detail,
        type_=PROBLEM_BASE + "too-large" if too_large else "about:blank",
        headers=dict(exc.headers or {}),
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A locked SQLite file or a lost PostgreSQL connection: the request may simply be retried.
    assert isinstance(exc, OperationalError)
    logger.warning(
        "database unavailable: %s", exc.orig, extra={"request_id": request_id_of(request)}
    )
    return problem_response(
        request,
        status=503,
        title="Service unavailable",
        detail="the database is busy or unreachable; retry shortly",
        type_=PROBLEM_BASE + "unavailable",
        extra={"retry_after": DATABASE_RETRY_AFTER},
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A concurrent duplicate that passed the route's own checks and hit a unique constraint at
    # flush time (commit-time ones are turned into Conflict by writes.commit_and_sync).
    # The database's message (table, constraint, values) is logged, never shown.
    assert isinstance(exc, IntegrityError)
    logger.info(
        "flush refused by a constraint: %s", exc.orig, extra={"request_id": request_id_of(request)}
    )
    return problem_response(
        request,
        status=409,
        title="Conflict",
        detail="conflicts with an existing record",
        type_=PROBLEM_BASE + "conflict",
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The one place that sees unknown errors: log the traceback, show only the request id.
    request_id = request_id_of(request)
    logger.exception("unhandled error", extra={"request_id": request_id})
    return problem_response(
        request,
        status=500,
        title="Internal error",
        detail=f"an unexpected error occurred; quote request id {request_id} when reporting it",
        type_=PROBLEM_BASE + "internal-error",
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register the problem+json handler family on ``app``."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unexpected_error)
