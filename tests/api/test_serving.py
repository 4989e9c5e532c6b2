"""Serving under load: read sessions, index lag on /readyz, key last use, shared rate limits."""

import sqlite3
import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.api.main import create_app
from app.api.ratelimit import RedisRateLimiter
from app.auth.key_usage import KeyUsage
from app.auth.keys import ApiKey
from app.catalog.changes import record_change
from app.catalog.enums import ChangeOp, EntityKind
from app.deals.cli import run_rounds
from app.deals.webhooks import DISPATCHER_LOCK
from app.errors import RateLimited
from app.locks import named_lock
from app.settings import Settings
from app.types import utcnow
from tests.api.conftest import Actor

TEXT = "/api/v1/match/text"


def test_match_text_is_served_while_a_writer_holds_the_sqlite_lock(
    client: TestClient, api_engine: Engine, enterprise: Actor
) -> None:
    if api_engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    path = api_engine.url.database
    assert path is not None
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process writing
    try:
        response = client.post(
            TEXT, json={"text": "锂电池正极材料", "k": 3}, headers=enterprise.headers
        )
        assert response.status_code == 200
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_readyz_reports_the_index_lag_and_its_threshold(
    api_settings: Settings, api_engine: Engine, client: TestClient
) -> None:
    body = client.get("/readyz").json()
    assert body["index_lag"]["pending_changes"] == 0
    matcher = client.app.state.matcher  # type: ignore[attr-defined]
    strict = api_settings.model_copy(update={"index_max_lag_seconds": 0.0})
    with Session(api_engine) as session:
        # A change nobody told the indexer about (inline mode: no polling thread).
        record_change(session, EntityKind.PATENT, 999_999, ChangeOp.DELETE)
        session.commit()
    with TestClient(create_app(strict, engine=api_engine, matcher=matcher)) as lagging:
        response = lagging.get("/readyz")
        assert response.status_code == 503
        lag = response.json()["index_lag"]
        assert lag["pending_changes"] == 1
        assert lag["seconds_behind"] > 0
    with Session(api_engine) as session:
        assert matcher.sync(session) == 1
    assert client.get("/readyz").status_code == 200


def test_key_use_is_written_at_most_once_a_minute(api_engine: Engine, admin: Actor) -> None:
    usage = KeyUsage()
    now = utcnow()
    usage.touch(admin.key_id, now)
    usage.touch(admin.key_id, now)
    assert usage.flush(api_engine) == 1
    usage.touch(admin.key_id, now)  # within the resolution of the last write: nothing to do
    assert usage.flush(api_engine) == 0
    with Session(api_engine) as session:
        key = session.get(ApiKey, admin.key_id)
        assert key is not None
        assert key.last_used_at is not None


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """Redis db 11 at 127.0.0.1, or a skip."""
    client = redis.Redis(host="127.0.0.1", port=6379, db=11, socket_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    yield client
    client.close()


def test_redis_rate_limit_is_shared_between_processes(redis_client: redis.Redis) -> None:
    prefix = f"pm:test:{uuid.uuid4().hex}:"
    first = RedisRateLimiter(redis_client, 3, prefix=prefix)
    second = RedisRateLimiter(redis_client, 3, prefix=prefix)  # another replica
    first.hit(1)
    second.hit(1)
    first.hit(1)
    with pytest.raises(RateLimited) as raised:
        second.hit(1)
    assert raised.value.retry_after >= 1
    second.hit(2)  # another key, another bucket
    redis_client.delete(f"{prefix}1", f"{prefix}2")


def test_redis_outage_falls_back_to_in_process_limits() -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2, socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(dead, 1)
    limiter.hit(7)
    with pytest.raises(RateLimited):
        limiter.hit(7)


def test_one_alert_dispatcher_at_a_time(
    client: TestClient, api_settings: Settings, api_engine: Engine, admin: Actor
) -> None:
    held = named_lock(api_engine, DISPATCHER_LOCK, api_settings.var_dir)
    assert held.try_acquire()  # e.g. `patentmatch worker` elsewhere
    try:
        response = client.post("/api/v1/alerts/dispatch", headers=admin.headers)
        assert response.status_code == 409
        lock = named_lock(api_engine, DISPATCHER_LOCK, api_settings.var_dir)
        slept: list[float] = []
        assert run_rounds(api_engine, api_settings, 2, 1.0, sleep=slept.append, lock=lock) == 0
        assert slept == [1.0]  # both rounds skipped, no dispatch
    finally:
        held.release()
    assert client.post("/api/v1/alerts/dispatch", headers=admin.headers).status_code == 200


def test_a_failed_startup_leaves_no_housekeeping_thread_running(
    api_settings: Settings, api_engine: Engine, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from app.api import main

    def broken_indexer(*args: object) -> None:
        raise RuntimeError("indexer could not start")

    monkeypatch.setattr(main, "_start_indexer", broken_indexer)
    matcher = client.app.state.matcher  # type: ignore[attr-defined]
    before = {t.ident for t in threading.enumerate() if t.name == "patentmatch-maintenance"}
    app = create_app(api_settings, engine=api_engine, matcher=matcher)
    with pytest.raises(RuntimeError, match="indexer could not start"), TestClient(app):
        pass
    left = {t.ident for t in threading.enumerate() if t.name == "patentmatch-maintenance"}
    assert left <= before  # the failed app's maintenance thread was stopped


def test_two_lifespans_of_one_app_each_stop_their_own_threads(
    api_settings: Settings, api_engine: Engine, client: TestClient
) -> None:
    """A test client and a fuzzer may both run one app's lifespan: none of its threads leaks."""
    import threading

    def maintenance() -> set[int | None]:
        return {t.ident for t in threading.enumerate() if t.name == "patentmatch-maintenance"}

    matcher = client.app.state.matcher  # type: ignore[attr-defined]
    before = maintenance()
    app = create_app(api_settings, engine=api_engine, matcher=matcher)
    with TestClient(app), TestClient(app):
        assert len(maintenance() - before) == 2
    assert maintenance() <= before
