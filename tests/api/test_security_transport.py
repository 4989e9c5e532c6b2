"""Red-team regressions, through HTTP: body limits while streaming, authentication before the
upload body, rate-limited failed authentication, protected /metrics, problem+json in OpenAPI."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import Actor
from tests.api.helpers import assert_problem

UPLOAD = "/api/v1/imports/patents"
MIB = 1024 * 1024
BOUNDARY = "pmboundary"


def _multipart_head() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n申请号,专利名称\r\n"
    ).encode()


class Streamed:
    """A request body sent in chunks, counting how much of it the app asked for."""

    def __init__(self, total: int, chunk: int = 64 * 1024, head: bytes = b"") -> None:
        self.chunks = [head] + [b"x" * chunk] * (total // chunk)
        self.consumed = 0

    async def receive(self) -> dict[str, Any]:
        if not self.chunks:
            await asyncio.sleep(3600)  # the client waits; the app must not wait for it
        body = self.chunks.pop(0)
        self.consumed += len(body)
        return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}


def _call(
    app: FastAPI, path: str, headers: dict[str, str], body: Streamed, length: int | None
) -> tuple[int, bytes]:
    """Send one request straight to the ASGI app; return the status and the response body."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if length is not None:
        raw.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": raw, "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80), "state": {},
    }  # fmt: skip
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(asyncio.wait_for(app(scope, body.receive, send), timeout=30))
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    return status, b"".join(
        m.get("body", b"") for m in messages if m["type"] == "http.response.body"
    )


@pytest.fixture(scope="module")
def small_limits(
    client: TestClient, api_settings: Settings, api_engine: Engine
) -> Iterator[TestClient]:
    """An app with a 1 MiB upload limit, 64 KiB JSON limit and 3 failed logins a minute."""
    settings = api_settings.model_copy(
        update={"max_upload_bytes": MIB, "max_json_body_bytes": 64 * 1024,
                "auth_failures_per_minute": 3}
    )  # fmt: skip
    app = create_app(settings, engine=api_engine, matcher=client.app.state.matcher)  # type: ignore[attr-defined]
    with TestClient(app) as limited:
        yield limited


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(
    small_limits: TestClient,
) -> None:
    body = Streamed(total=900 * 1024, head=_multipart_head())
    status, _ = _call(small_limits.app, UPLOAD, MULTIPART, body, length=900 * 1024)  # type: ignore[arg-type]
    assert status == 401
    assert body.consumed == 0


def test_an_oversized_declared_upload_is_refused_before_its_body_is_read(
    small_limits: TestClient, tto: Actor
) -> None:
    body = Streamed(total=4 * MIB, head=_multipart_head())
    headers = {**MULTIPART, **tto.headers}
    status, payload = _call(small_limits.app, UPLOAD, headers, body, length=4 * MIB)  # type: ignore[arg-type]
    assert status == 413, payload
    assert body.consumed == 0
    assert b"/problems/too-large" in payload


def test_a_chunked_upload_is_cut_off_at_the_limit(small_limits: TestClient, tto: Actor) -> None:
    body = Streamed(total=4 * MIB, head=_multipart_head())
    headers = {**MULTIPART, **tto.headers}
    status, payload = _call(small_limits.app, UPLOAD, headers, body, length=None)  # type: ignore[arg-type]
    assert status == 413, payload
    assert body.consumed <= MIB + 128 * 1024  # at most one chunk past the limit


def test_json_bodies_are_limited_by_length_and_while_streaming(
    small_limits: TestClient, enterprise: Actor
) -> None:
    big = {"title": "需求", "description": "长" * 40_000}  # ~120 KB of UTF-8
    response = small_limits.post("/api/v1/needs", json=big, headers=enterprise.headers)
    assert_problem(response, 413)
    body = Streamed(total=MIB)
    headers = {"content-type": "application/json", **enterprise.headers}
    status, _ = _call(small_limits.app, "/api/v1/needs", headers, body, length=None)  # type: ignore[arg-type]
    assert status == 413
    assert body.consumed <= 64 * 1024 + 64 * 1024


def test_failed_authentication_is_rate_limited_per_client(
    small_limits: TestClient, tto: Actor
) -> None:
    bad = {"X-API-Key": "pm_guess_000"}
    statuses = [small_limits.get("/api/v1/patents", headers=bad).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # Once the bucket is empty even a right key waits: guessing gains nothing.
    limited = small_limits.get("/api/v1/patents", headers=tto.headers)
    assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1


def test_metrics_need_an_admin_key_or_the_token(
    client: TestClient, api_settings: Settings, api_engine: Engine, admin: Actor, tto: Actor
) -> None:
    assert_problem(client.get("/metrics"), 401)
    assert_problem(client.get("/metrics", headers=tto.headers), 403)
    assert client.get("/metrics", headers=admin.headers).status_code == 200
    matcher = client.app.state.matcher  # type: ignore[attr-defined]
    for update, headers in (
        ({"metrics_token": "scrape-secret"}, {"Authorization": "Bearer scrape-secret"}),
        ({"metrics_public": True}, {}),
    ):
        app = create_app(api_settings.model_copy(update=update), engine=api_engine, matcher=matcher)
        with TestClient(app) as other:
            response = other.get("/metrics", headers=headers)
            assert response.status_code == 200
            assert "patentmatch_http_requests_total" in response.text


def test_openapi_documents_every_error_as_problem_json(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    errors = [
        (path, status, response)
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        for status, response in operation["responses"].items()
        if status[0] in "45"
    ]
    assert len(errors) > 50
    for path, status, response in errors:
        assert list(response["content"]) == ["application/problem+json"], (path, status)
        assert response["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
