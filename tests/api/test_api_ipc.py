"""IPC lookups with Chinese labels."""

from fastapi.testclient import TestClient

from tests.api.conftest import Actor
from tests.api.helpers import assert_problem


def test_lookup_code_with_parents(client: TestClient, enterprise: Actor) -> None:
    response = client.get("/api/v1/ipc/H01M4/36", headers=enterprise.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == "H01M 4/36"
    assert body["title_zh"].startswith("作为活性物质")
    assert [p["code"] for p in body["parents"]] == ["H", "H01", "H01M", "H01M 4/00"]


def test_unknown_and_invalid_codes(client: TestClient, enterprise: Actor) -> None:
    assert_problem(client.get("/api/v1/ipc/H01M 99/99", headers=enterprise.headers), 404)
    body = assert_problem(client.get("/api/v1/ipc/banana", headers=enterprise.headers), 422)
    assert body["errors"][0]["field"] == "code"


def test_search_by_prefix_and_text(client: TestClient, station: Actor) -> None:
    by_code = client.get("/api/v1/ipc", params={"q": "H01M"}, headers=station.headers).json()
    assert [e["code"] for e in by_code][:1] == ["H01M"]
    by_text = client.get("/api/v1/ipc", params={"q": "電極"}, headers=station.headers).json()
    assert [e["code"] for e in by_text] == ["H01M 4/00"]
    assert_problem(client.get("/api/v1/ipc", headers=station.headers), 422)
    assert_problem(client.get("/api/v1/ipc", params={"q": "H01M"}), 401)
