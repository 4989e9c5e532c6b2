"""Matching through the API with the real engine (HashingEncoder): writes searchable at once."""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Actor
from tests.api.helpers import assert_problem, patent_body

TITLE = "一种用于海水淡化的石墨烯复合反渗透膜及其制备方法"


def _patent(client: TestClient, actor: Actor, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/patents", json=patent_body(**overrides), headers=actor.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _published_need(client: TestClient, actor: Actor, title: str) -> dict[str, Any]:
    need = client.post(
        "/api/v1/needs", json={"title": title, "description": title}, headers=actor.headers
    ).json()
    response = client.post(f"/api/v1/needs/{need['id']}/publish", headers=actor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_created_patent_is_matched_by_text_right_after(
    client: TestClient, tto: Actor, enterprise: Actor
) -> None:
    created = _patent(client, tto, title=TITLE, ipc_codes=["C02F 1/44", "B01D 69/12"])
    response = client.post(
        "/api/v1/match/text",
        json={"text": "石墨烯反渗透膜 海水淡化", "k": 5},
        headers=enterprise.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    top = body["matches"][0]
    assert top["id"] == created["id"]
    assert top["patent"]["title"] == TITLE
    assert set(top["explanation"]) >= {"matched_terms", "shared_ipc", "dense_rank"}
    assert 0.0 <= top["confidence"] <= 1.0
    scores = [(-m["score"], m["id"]) for m in body["matches"]]
    assert scores == sorted(scores)
    again = client.post(
        "/api/v1/match/text",
        json={"text": "石墨烯反渗透膜 海水淡化", "k": 5},
        headers=enterprise.headers,
    ).json()
    assert [m["id"] for m in again["matches"]] == [m["id"] for m in body["matches"]]


def test_filters_apply_and_deleted_patents_vanish(
    client: TestClient, tto: Actor, enterprise: Actor
) -> None:
    title = "一种基于深度学习的茶叶嫩芽识别与采摘机器人"
    lapsed = _patent(client, tto, title=title, legal_status="lapsed", ipc_codes=["A01D 46/04"])
    query: dict[str, Any] = {"text": title, "k": 10}
    ids = lambda body: [m["id"] for m in body["matches"]]  # noqa: E731
    default = client.post("/api/v1/match/text", json=query, headers=enterprise.headers).json()
    assert lapsed["id"] not in ids(default)
    query["filters"] = {"legal_status": ["lapsed"]}
    asked = client.post("/api/v1/match/text", json=query, headers=enterprise.headers).json()
    assert ids(asked)[0] == lapsed["id"]
    query["filters"] = {"legal_status": ["lapsed"], "ipc_prefix": "G06F"}
    other_ipc = client.post("/api/v1/match/text", json=query, headers=enterprise.headers).json()
    assert lapsed["id"] not in ids(other_ipc)
    client.delete(f"/api/v1/patents/{lapsed['id']}", headers=tto.headers)
    query["filters"] = {"legal_status": ["lapsed"]}
    gone = client.post("/api/v1/match/text", json=query, headers=enterprise.headers).json()
    assert lapsed["id"] not in ids(gone)


def test_match_validation(client: TestClient, enterprise: Actor) -> None:
    bad = {"text": "电池", "filters": {"region_prefix": "abc"}}
    body = assert_problem(
        client.post("/api/v1/match/text", json=bad, headers=enterprise.headers), 422
    )
    # Named as sent, inside "filters", like every other field of the body.
    assert body["errors"][0]["field"] == "filters.region_prefix"
    assert_problem(
        client.post("/api/v1/match/text", json={"text": ""}, headers=enterprise.headers), 422
    )
    assert_problem(client.post("/api/v1/match/text", json={"text": "电池"}), 401)


def test_need_patent_and_portfolio_matches(
    client: TestClient, other_tto: Actor, other_enterprise: Actor, station: Actor
) -> None:
    title = "一种钙钛矿太阳能电池的空穴传输层材料"
    patent = _patent(client, other_tto, title=title, ipc_codes=["H10K 30/50"])
    need = _published_need(client, other_enterprise, "寻求钙钛矿太阳能电池空穴传输层材料技术")
    to_patents = client.get(f"/api/v1/needs/{need['id']}/matches", headers=station.headers)
    assert to_patents.status_code == 200, to_patents.text
    assert patent["id"] in [m["id"] for m in to_patents.json()["matches"]]
    to_needs = client.get(f"/api/v1/patents/{patent['id']}/matches", headers=station.headers)
    assert need["id"] in [m["id"] for m in to_needs.json()["matches"]]
    assert to_needs.json()["matches"][0]["need"]["title"]
    portfolio = client.get(
        f"/api/v1/organisations/{other_tto.org_id}/matches", headers=station.headers
    )
    assert need["id"] in [m["id"] for m in portfolio.json()["matches"]]
    filtered = client.get(
        f"/api/v1/needs/{need['id']}/matches",
        params={"patent_type": "design"},
        headers=station.headers,
    )
    assert patent["id"] not in [m["id"] for m in filtered.json()["matches"]]


def test_match_access_rules(client: TestClient, enterprise: Actor, other_enterprise: Actor) -> None:
    draft = client.post(
        "/api/v1/needs", json={"title": "草稿需求匹配"}, headers=enterprise.headers
    ).json()
    url = f"/api/v1/needs/{draft['id']}/matches"
    assert client.get(url, headers=enterprise.headers).status_code == 200
    assert_problem(client.get(url, headers=other_enterprise.headers), 404)
    assert_problem(client.get("/api/v1/patents/999999/matches", headers=enterprise.headers), 404)
    assert_problem(
        client.get("/api/v1/organisations/999999/matches", headers=enterprise.headers), 404
    )
