"""RFC 9457 problem+json for every error: AppError, validation, HTTP and unexpected ones."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"
# Location prefixes that say where a value came from, not which field it is.
_LOCATIONS = {"body", "query", "path", "header", "cookie"}

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
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        type_=PROBLEM_BASE + exc.type_slug,
        extra=extra,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field_name(e["loc"]), "message": e["msg"]} for e in exc.errors()]
    fields = ", ".join(sorted({e["field"] for e in errors})) or "request"
    return problem_response(
        request,
        status=422,
        title="Validation failed",
        detail=f"invalid input: {fields}",
        type_=PROBLEM_BASE + "validation-error",
        extra={"errors": errors},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    return problem_response(
        request,
        status=exc.status_code,
        title=phrase,
        detail=detail,
        headers=dict(exc.headers or {}),
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
    app.add_exception_handler(Exception, _unexpected_error)
