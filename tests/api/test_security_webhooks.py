"""Webhook SSRF regressions, through HTTP: embedded loopback, DNS rebinding, error text."""

import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import Actor
from tests.api.helpers import assert_problem, patent_body
from tests.deals_support import run_receiver

SUBSCRIPTIONS = "/api/v1/alerts/subscriptions"
PUBLIC = "93.184.216.34"


@pytest.fixture(scope="module")
def strict(client: TestClient, api_settings: Settings, api_engine: Engine) -> Iterator[TestClient]:
    """An app that refuses private webhook targets (the default outside tests)."""
    settings = api_settings.model_copy(update={"webhook_allow_private_hosts": False})
    app = create_app(settings, engine=api_engine, matcher=client.app.state.matcher)  # type: ignore[attr-defined]
    with TestClient(app) as refusing:
        yield refusing


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "http://[::127.0.0.1]/hook",  # IPv4-compatible
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
        "http://224.0.0.1/hook",  # multicast
        "http://localhost/hook",
    ],
)
def test_embedded_and_special_addresses_are_refused(
    strict: TestClient, enterprise: Actor, url: str
) -> None:
    body = {"kind": "search", "query_text": "电池", "webhook_url": url}
    response = strict.post(SUBSCRIPTIONS, json=body, headers=enterprise.headers)
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "webhook_url"


def test_an_overlong_webhook_url_is_a_422_not_a_database_error(
    client: TestClient, enterprise: Actor
) -> None:
    # The column holds 500 characters; PostgreSQL raised "value too long" (found by the fuzzer).
    url = "https://example.cn/" + "a" * 600
    body = {"kind": "search", "query_text": "电池", "webhook_url": url}
    response = client.post(SUBSCRIPTIONS, json=body, headers=enterprise.headers)
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "webhook_url"


def _resolving(monkeypatch: pytest.MonkeyPatch, name: str, address: str) -> None:
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_a_name_rebound_to_loopback_is_refused_at_send_time(
    strict: TestClient, admin: Actor, tto: Actor, enterprise: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    with run_receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1].split("/")[0]
        url = f"http://rebind.example.test:{port}/hook"
        _resolving(monkeypatch, "rebind.example.test", PUBLIC)
        body = {"kind": "search", "query_text": "钒液流电池", "webhook_url": url}
        created = strict.post(SUBSCRIPTIONS, json=body, headers=enterprise.headers)
        assert created.status_code == 201, created.text
        # The name now points at the server itself (DNS rebinding).
        _resolving(monkeypatch, "rebind.example.test", "127.0.0.1")
        patent = patent_body(title="一种全钒液流电池电解液")
        assert strict.post("/api/v1/patents", json=patent, headers=tto.headers).status_code == 201
        report = strict.post("/api/v1/alerts/dispatch", headers=admin.headers).json()
        assert receiver.received == []
    assert (report["attempted"], report["delivered"]) == (1, 0)
    log = strict.get(
        f"{SUBSCRIPTIONS}/{created.json()['id']}/deliveries", headers=enterprise.headers
    ).json()
    assert log[0]["log"][0]["error"].startswith("refused")
    assert "127.0.0.1" not in str(log)


def test_connection_errors_are_not_shown_to_the_subscriber(
    client: TestClient, admin: Actor, tto: Actor, enterprise: Actor
) -> None:
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{probe.server_address[1]}/hook"
    probe.server_close()  # nothing listens there now
    body = {"kind": "search", "query_text": "镁合金牺牲阳极", "webhook_url": url}
    created = client.post(SUBSCRIPTIONS, json=body, headers=enterprise.headers).json()
    patent = patent_body(title="一种镁合金牺牲阳极材料")
    assert client.post("/api/v1/patents", json=patent, headers=tto.headers).status_code == 201
    client.post("/api/v1/alerts/dispatch", headers=admin.headers)
    log = client.get(f"{SUBSCRIPTIONS}/{created['id']}/deliveries", headers=enterprise.headers)
    (delivery,) = log.json()
    error = delivery["log"][0]["error"]
    assert error == "could not connect to the receiver"
    assert "Errno" not in log.text


def test_a_pinned_target_keeps_its_host_name_for_the_header_and_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.deals.webhook_targets import pin_target  # here: older code has no pinning

    _resolving(monkeypatch, "hooks.example.test", PUBLIC)
    target = pin_target("https://user:pw@hooks.example.test:8443/in?x=1", allow_private=False)
    assert target.url == f"https://user:pw@{PUBLIC}:8443/in?x=1"
    assert (target.hostname, target.host_header) == (
        "hooks.example.test",
        "hooks.example.test:8443",
    )
