"""One rule per code: every endpoint that takes a region or IPC prefix parses it the same way."""

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Actor
from tests.api.helpers import assert_problem

BASE = "/api/v1"


def _fields(body: dict[str, object]) -> set[str]:
    errors = body["errors"]
    assert isinstance(errors, list)
    return {error["field"] for error in errors}


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("post", "/match/text", "filters.region_prefix"),
        ("post", "/alerts/subscriptions", "filters.region_prefix"),
        ("get", "/needs", "region_prefix"),
        ("get", "/organisations", "region_prefix"),
    ],
)
def test_no_province_99_anywhere(
    client: TestClient, enterprise: Actor, method: str, path: str, field: str
) -> None:
    if method == "post":
        filters = {"region_prefix": "990000"}
        body: dict[str, object] = {"text": "电池", "filters": filters}
        if path == "/alerts/subscriptions":
            body = {"kind": "search", "query_text": "电池", "filters": filters}
            body["webhook_url"] = "https://example.cn/hook"
        response = client.post(BASE + path, json=body, headers=enterprise.headers)
    else:
        response = client.get(
            BASE + path, params={"region_prefix": "990000"}, headers=enterprise.headers
        )
    assert _fields(assert_problem(response, 422)) == {field}


def test_full_width_region_prefix_means_the_same(client: TestClient, enterprise: Actor) -> None:
    for prefix in ("33", "３３"):
        response = client.get(
            f"{BASE}/organisations", params={"region_prefix": prefix}, headers=enterprise.headers
        )
        assert response.status_code == 200, response.text
    query = {"text": "电池", "filters": {"region_prefix": "３３"}}
    assert client.post(f"{BASE}/match/text", json=query, headers=enterprise.headers).is_success


@pytest.mark.parametrize(("path", "param"), [("/patents", "ipc_prefix"), ("/open-licences", "ipc")])
def test_no_ipc_section_z_anywhere(client: TestClient, tto: Actor, path: str, param: str) -> None:
    response = client.get(BASE + path, params={param: "ZZZ"}, headers=tto.headers)
    assert _fields(assert_problem(response, 422)) == {param}
