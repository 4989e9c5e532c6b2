"""Authentication, rate limits, problem+json and operations endpoints."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.api.main import create_app
from app.auth.keys import ApiKey, revoke_key
from app.auth.principal import Role
from app.catalog.enums import OrgKind
from app.settings import Settings
from app.types import utcnow
from tests.api.conftest import Actor, make_actor
from tests.api.helpers import assert_problem

ORGS = "/api/v1/organisations"
CORE_TAGS = {"organisations", "patents", "needs", "imports", "ipc", "matching", "operations"}


def test_missing_key_is_401_problem(client: TestClient) -> None:
    body = assert_problem(client.get(ORGS), 401)
    assert body["type"] == "/problems/unauthorized"
    assert body["instance"] == ORGS
    assert "X-API-Key" in body["detail"]


def test_unknown_key_is_401(client: TestClient) -> None:
    assert_problem(client.get(ORGS, headers={"X-API-Key": "pm_nothing_here"}), 401)


def test_bearer_token_is_accepted(client: TestClient, tto: Actor) -> None:
    secret = tto.headers["X-API-Key"]
    response = client.get(ORGS, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200


def test_revoked_key_is_401(client: TestClient, api_engine: Engine) -> None:
    actor = make_actor(api_engine, Role.ENTERPRISE, OrgKind.ENTERPRISE)
    assert client.get(ORGS, headers=actor.headers).status_code == 200
    with Session(api_engine) as session:
        revoke_key(session, actor.key_id)
        session.commit()
    body = assert_problem(client.get(ORGS, headers=actor.headers), 401)
    assert "revoked" in body["detail"]


def test_expired_key_is_401(client: TestClient, api_engine: Engine) -> None:
    actor = make_actor(api_engine, Role.TTO, OrgKind.UNIVERSITY, expires_days=1)
    assert client.get(ORGS, headers=actor.headers).status_code == 200
    with Session(api_engine) as session:
        key = session.get(ApiKey, actor.key_id)
        assert key is not None
        key.expires_at = utcnow() - timedelta(seconds=1)
        session.add(key)
        session.commit()
    body = assert_problem(client.get(ORGS, headers=actor.headers), 401)
    assert "expired" in body["detail"]


def test_key_records_last_use(client: TestClient, api_engine: Engine) -> None:
    actor = make_actor(api_engine, Role.STATION, OrgKind.SERVICE_STATION)
    client.get(ORGS, headers=actor.headers)
    with Session(api_engine) as session:
        key = session.get(ApiKey, actor.key_id)
        assert key is not None
        assert key.last_used_at is None  # noted in memory, written off the request path
    assert client.app.state.key_usage.flush(api_engine) >= 1  # type: ignore[attr-defined]
    with Session(api_engine) as session:
        key = session.get(ApiKey, actor.key_id)
        assert key is not None
        assert key.last_used_at is not None
        assert key.secret_hash != actor.headers["X-API-Key"]
        assert actor.headers["X-API-Key"].startswith(key.prefix)


def test_rate_limit_is_429_with_retry_after(
    api_settings: Settings, api_engine: Engine, client: TestClient
) -> None:
    limited = api_settings.model_copy(update={"rate_limit_per_minute": 2})
    matcher = client.app.state.matcher  # type: ignore[attr-defined]
    actor = make_actor(api_engine, Role.ENTERPRISE, OrgKind.ENTERPRISE)
    with TestClient(create_app(limited, engine=api_engine, matcher=matcher)) as small:
        assert small.get(ORGS, headers=actor.headers).status_code == 200
        assert small.get(ORGS, headers=actor.headers).status_code == 200
        response = small.get(ORGS, headers=actor.headers)
        body = assert_problem(response, 429)
        assert int(response.headers["Retry-After"]) >= 1
        assert body["retry_after"] == int(response.headers["Retry-After"])
        # Another key has its own bucket.
        other = make_actor(api_engine, Role.ENTERPRISE, OrgKind.ENTERPRISE)
        assert small.get(ORGS, headers=other.headers).status_code == 200


def test_validation_error_lists_fields(client: TestClient, admin: Actor) -> None:
    response = client.post(ORGS, json={"kind": "spaceship"}, headers=admin.headers)
    body = assert_problem(response, 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"kind", "name"} <= fields
    assert all(e["message"] for e in body["errors"])


def test_unknown_route_is_problem(client: TestClient, tto: Actor) -> None:
    body = assert_problem(client.get("/api/v1/nothing", headers=tto.headers), 404)
    assert body["title"] == "Not Found"


def test_unexpected_error_is_plain_500_with_request_id(
    api_settings: Settings, api_engine: Engine, client: TestClient
) -> None:
    app = create_app(api_settings, engine=api_engine, matcher=client.app.state.matcher)  # type: ignore[attr-defined]

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as failing:
        response = failing.get("/boom", headers={"X-Request-ID": "req-123"})
    body = assert_problem(response, 500)
    assert body["request_id"] == "req-123"
    assert "req-123" in body["detail"]
    assert "secret internals" not in response.text


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc"}).headers["x-request-id"] == "abc"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32


def test_readyz_reports_database_index_and_model(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert body["index"] == "loaded"
    assert body["model"]
    assert "patents" in body["index_size"]


def test_metrics_count_requests_by_route(client: TestClient, tto: Actor, admin: Actor) -> None:
    client.get(ORGS, headers=tto.headers)
    text = client.get("/metrics", headers=admin.headers).text
    assert "patentmatch_http_requests_total" in text
    assert 'route="/api/v1/organisations"' in text


def test_openapi_documents_every_operation(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = [
        op
        for path in schema["paths"].values()
        for op in path.values()
        if set(op.get("tags", [])) & CORE_TAGS  # other modules document their own
    ]
    assert len(operations) >= 20
    for operation in operations:
        assert operation.get("summary"), operation
        assert operation.get("description"), operation
    assert "技术需求" in str(schema)
    assert "APIKeyHeader" in schema["components"]["securitySchemes"]
