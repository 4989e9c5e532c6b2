"""Request ids, structured JSON request logs, Prometheus metrics, /healthz and /readyz."""

import json
import logging
import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy import text
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import require_metrics_access
from app.api.schemas.common import problem_responses

REQUEST_ID_HEADER = "x-request-id"
_MAX_REQUEST_ID = 128

access_logger = logging.getLogger("patentmatch.api.access")


class Metrics:
    """The API's Prometheus collectors, in a registry owned by one app (no global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "patentmatch_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "patentmatch_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name.decode("latin-1").lower() == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1").strip()
            # Echo a caller's id only when it is harmless to log and return.
            if 0 < len(candidate) <= _MAX_REQUEST_ID and candidate.isprintable():
                return str(candidate)
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    """The matched route's path template, e.g. ``/api/v1/patents/{patent_id}``."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    regex = getattr(route, "path_regex", None)
    if template is None or regex is None:
        # Unmatched paths share one label, so scanners cannot blow up the metric's cardinality.
        return "unmatched"
    # Routers included with a prefix report their own path; recover the (static) prefix.
    path = str(scope.get("path", ""))
    for cut in (i for i, char in enumerate(path) if char == "/"):
        if regex.match(path[cut:]):
            return path[:cut] + str(template)
    return str(template)


class ObservabilityMiddleware:
    """Pure ASGI middleware: sets the request id, logs one JSON line, records metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # if the app fails before sending, the server answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, request_id, status, time.perf_counter() - started)

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = _route_template(scope)
        method = scope.get("method", "")
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        principal = scope.get("state", {}).get("principal")
        entry: dict[str, Any] = {
            "event": "request",
            "request_id": request_id,
            "method": method,
            "path": scope.get("path"),
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "key_id": getattr(principal, "key_id", None),
        }
        access_logger.info(json.dumps(entry, ensure_ascii=False))


def readiness(request: Request) -> tuple[bool, dict[str, Any]]:
    """Check the database and the match engine; return (ready, details)."""
    details: dict[str, Any] = {}
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        details["database"] = "ok"
    except Exception as exc:
        details["database"] = f"unreachable: {type(exc).__name__}"
    matcher = getattr(request.app.state, "matcher", None)
    if matcher is None:
        details["index"] = "not loaded"
    else:
        stats = matcher.stats()
        details["index"] = "loaded"
        details["model"] = stats.get("model")
        details["index_size"] = {"patents": stats.get("patents"), "needs": stats.get("needs")}
        details["last_change_id"] = stats.get("last_change_id")
    lag_ok = True
    if matcher is not None and details["database"] == "ok":
        lag_ok = _index_lag(request, matcher, details)
    ready = details["database"] == "ok" and matcher is not None and lag_ok
    return ready, details


def _index_lag(request: Request, matcher: Any, details: dict[str, Any]) -> bool:
    """Add the indexer's lag to ``details``; False when it is too far behind or stopped."""
    settings = request.app.state.settings
    with Session(request.app.state.engine) as session:
        lag = matcher.lag(session)
    limit = settings.index_max_lag_seconds
    indexer = getattr(request.app.state, "indexer", None)
    running = indexer is None or settings.index_inline or indexer.alive()
    details["index_lag"] = {
        "pending_changes": lag.pending_changes,
        "seconds_behind": round(lag.seconds_behind, 3),
        "max_seconds": limit,
        "indexer": "running" if running else "stopped",
        "last_error": getattr(indexer, "last_error", None),
    }
    return bool(running and lag.seconds_behind <= limit)


def health_router() -> APIRouter:
    """Liveness, readiness and metrics endpoints (unauthenticated, outside /api/v1)."""
    router = APIRouter(tags=["operations"])

    @router.get(
        "/healthz",
        summary="Liveness probe",
        description="Returns 200 while the process serves requests.",
    )
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness probe",
        description="200 when the database is reachable, the search index is loaded and the "
        "background indexer is running and at most `index_max_lag_seconds` behind the catalog; "
        "reports the embedding model, the index size and the lag (pending changes, seconds "
        "behind). 503 otherwise.",
    )
    def readyz(request: Request) -> JSONResponse:
        ready, details = readiness(request)
        body = {"status": "ready" if ready else "unavailable", **details}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        description="Request counts and latencies by route template, in the text format. "
        "Takes an admin API key or the configured `metrics_token` as a bearer token, unless "
        "`PATENTMATCH_METRICS_PUBLIC` is true.",
        dependencies=[Depends(require_metrics_access)],
        response_class=PlainTextResponse,
        responses={
            **problem_responses(401, 403, 429),
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        },
    )
    def metrics(request: Request) -> Response:
        registry = request.app.state.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
