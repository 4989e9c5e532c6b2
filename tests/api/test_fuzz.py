"""Schemathesis against the ASGI app: every operation, no server error, responses as documented.

The default run is bounded: at most ``PATENTMATCH_FUZZ_EXAMPLES`` cases per operation, and the
operations share ``PATENTMATCH_FUZZ_SECONDS`` of calls (an equal slice each, so a slow
machine tests every operation less, never some operations not at all). ``-m fuzz`` runs the
long profile (``PATENTMATCH_FUZZ_LONG_EXAMPLES`` per operation, no time limit). Both run on
SQLite, and on PostgreSQL too when PATENTMATCH_TEST_DATABASE_URL is set.
"""

import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from sqlalchemy import Engine

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import Actor
from tests.api.helpers import patent_body

FUZZ_EXAMPLES = int(os.environ.get("PATENTMATCH_FUZZ_EXAMPLES", "25"))
# Wall-clock seconds the default profile may spend calling the app, shared by the operations.
FUZZ_SECONDS = float(os.environ.get("PATENTMATCH_FUZZ_SECONDS", "75"))
FUZZ_LONG_EXAMPLES = int(os.environ.get("PATENTMATCH_FUZZ_LONG_EXAMPLES", "400"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,  # no .hypothesis folder in the work tree
    "suppress_health_check": list(HealthCheck),
    "derandomize": True,  # the same cases every run: a failure here is reproducible
}


def _no_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
    # Generated webhook hosts must not reach a resolver (or the network) from the tests.
    raise socket.gaierror(socket.EAI_NONAME, "name resolution is off in the fuzz tests")


@pytest.fixture(scope="module")
def fuzz_app(
    client: TestClient, api_settings: Settings, api_engine: Engine, tto: Actor, enterprise: Actor
) -> Iterator[FastAPI]:
    """An app without rate limits, refusing private webhooks, with a few records to find."""
    for _ in range(3):
        client.post("/api/v1/patents", json=patent_body(), headers=tto.headers)
        client.post("/api/v1/needs", json={"title": "高镍正极需求"}, headers=enterprise.headers)
    update = {
        "rate_limit_per_minute": 0,
        "auth_failures_per_minute": 0,
        "webhook_allow_private_hosts": False,
    }
    app = create_app(
        api_settings.model_copy(update=update),
        engine=api_engine,
        matcher=client.app.state.matcher,  # type: ignore[attr-defined]
    )
    with pytest.MonkeyPatch.context() as patch, TestClient(app):
        patch.setattr(socket, "getaddrinfo", _no_dns)
        yield app


@pytest.fixture(scope="module")
def api_schema(fuzz_app: FastAPI) -> Any:
    """The app's own OpenAPI document, served over ASGI."""
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's lazy schemas rename the test node through ``_nodeid``, which
    # pytest 9 no longer has; give it the attribute it reads and writes.
    node: Any = request.node
    node._nodeid = node.nodeid


@pytest.fixture(scope="module")
def time_left(fuzz_app: FastAPI) -> Callable[[str], bool]:
    """Whether an operation still has time in its slice of FUZZ_SECONDS."""
    operations = sum(len(methods) for methods in fuzz_app.openapi()["paths"].values())
    slice_s = FUZZ_SECONDS / max(1, operations)
    started: dict[str, float] = {}

    def check(label: str) -> bool:
        first = started.setdefault(label, time.monotonic())
        return time.monotonic() - first < slice_s

    return check


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, **_SETTINGS)
def test_every_operation_survives_generated_input(
    case: Any, admin: Actor, time_left: Callable[[str], bool]
) -> None:
    """Schema-driven cases as an admin (who may call everything): no 5xx, documented shapes."""
    if time_left(case.operation.label):
        case.call_and_validate(headers=admin.headers, checks=CHECKS)


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=FUZZ_LONG_EXAMPLES, **_SETTINGS)
def test_every_operation_survives_a_long_fuzz(case: Any, admin: Actor) -> None:
    """The long profile of the same checks (``-m fuzz``)."""
    case.call_and_validate(headers=admin.headers, checks=CHECKS)
