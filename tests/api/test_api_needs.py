"""Technology needs: enterprise ownership, draft visibility, publish/close, listing."""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Actor
from tests.api.helpers import assert_problem

NEEDS = "/api/v1/needs"


def _need(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "高镍正极材料循环寿命提升",
        "description": "需要提升高镍三元正极材料在高温下的循环稳定性",
        "region": "330100",
        "industry_code": "3841",
        "cooperation_modes": ["licence"],
        "budget_min": 100,
        "budget_max": 200,
    }
    body.update(overrides)
    return body


def _create(client: TestClient, actor: Actor, **overrides: Any) -> dict[str, Any]:
    response = client.post(NEEDS, json=_need(**overrides), headers=actor.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_enterprise_posts_draft(client: TestClient, enterprise: Actor) -> None:
    need = _create(client, enterprise)
    assert need["status"] == "draft"
    assert need["org_id"] == enterprise.org_id
    assert need["cooperation_modes"] == ["licence"]


def test_tto_and_station_may_not_post_needs(
    client: TestClient, tto: Actor, station: Actor, enterprise: Actor
) -> None:
    for actor in (tto, station):
        assert_problem(client.post(NEEDS, json=_need(), headers=actor.headers), 403)
    other = _need(org_id=(enterprise.org_id or 0) + 100000)
    assert_problem(client.post(NEEDS, json=other, headers=enterprise.headers), 403)


def test_validation(client: TestClient, enterprise: Actor) -> None:
    body = assert_problem(
        client.post(NEEDS, json=_need(budget_min=5, budget_max=1), headers=enterprise.headers),
        422,
    )
    assert body["errors"][0]["field"] == "budget_min"
    body = assert_problem(
        client.post(NEEDS, json=_need(cooperation_modes=["barter"]), headers=enterprise.headers),
        422,
    )
    assert body["errors"][0]["field"].startswith("cooperation_modes")


def test_drafts_hidden_from_others_until_published(
    client: TestClient, admin: Actor, enterprise: Actor, other_enterprise: Actor, tto: Actor
) -> None:
    need = _create(client, enterprise, title="草稿可见性测试")
    url = f"{NEEDS}/{need['id']}"
    assert client.get(url, headers=enterprise.headers).status_code == 200
    assert client.get(url, headers=admin.headers).status_code == 200
    for actor in (other_enterprise, tto):
        assert_problem(client.get(url, headers=actor.headers), 404)
        listed = client.get(NEEDS, params={"limit": 100}, headers=actor.headers).json()["items"]
        assert need["id"] not in {n["id"] for n in listed}
    published = client.post(f"{url}/publish", headers=enterprise.headers).json()
    assert published["status"] == "published"
    assert published["published_at"]
    assert client.get(url, headers=tto.headers).json()["title"] == "草稿可见性测试"


def test_publish_close_transitions(
    client: TestClient, enterprise: Actor, other_enterprise: Actor
) -> None:
    url = f"{NEEDS}/{_create(client, enterprise)['id']}"
    assert_problem(client.post(f"{url}/publish", headers=other_enterprise.headers), 404)
    assert client.post(f"{url}/publish", headers=enterprise.headers).status_code == 200
    assert_problem(client.post(f"{url}/publish", headers=enterprise.headers), 409)
    assert_problem(client.post(f"{url}/publish", headers=other_enterprise.headers), 403)
    assert client.post(f"{url}/close", headers=enterprise.headers).json()["status"] == "closed"
    assert_problem(client.post(f"{url}/close", headers=enterprise.headers), 409)
    assert_problem(client.post(f"{url}/publish", headers=enterprise.headers), 409)


def test_update_and_delete(
    client: TestClient, admin: Actor, enterprise: Actor, other_enterprise: Actor
) -> None:
    need = _create(client, enterprise)
    url = f"{NEEDS}/{need['id']}"
    client.post(f"{url}/publish", headers=enterprise.headers)
    assert_problem(client.patch(url, json={"title": "x"}, headers=other_enterprise.headers), 403)
    response = client.patch(url, json={"budget_max": 300}, headers=enterprise.headers)
    assert response.json()["budget_max"] == 300
    assert_problem(client.patch(url, json={"budget_min": 400}, headers=enterprise.headers), 422)
    assert client.patch(url, json={"title": "新标题"}, headers=admin.headers).status_code == 200
    assert_problem(client.delete(url, headers=other_enterprise.headers), 403)
    assert client.delete(url, headers=enterprise.headers).status_code == 204
    assert_problem(client.get(url, headers=admin.headers), 404)


def test_duplicate_external_ref_is_409(client: TestClient, enterprise: Actor) -> None:
    _create(client, enterprise, external_ref="REF-1")
    assert_problem(
        client.post(NEEDS, json=_need(external_ref="REF-1"), headers=enterprise.headers), 409
    )


def test_list_filters_and_pagination(
    client: TestClient, other_enterprise: Actor, station: Actor
) -> None:
    ids = set()
    for region in ("110101", "110102", "310101"):
        need = _create(client, other_enterprise, region=region, industry_code="2710")
        client.post(f"{NEEDS}/{need['id']}/publish", headers=other_enterprise.headers)
        ids.add(need["id"])
    seen: list[int] = []
    cursor = None
    params: dict[str, Any] = {"org_id": other_enterprise.org_id, "region_prefix": "110000"}
    while True:
        query = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(NEEDS, params=query, headers=station.headers).json()
        seen += [n["id"] for n in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 2
    assert set(seen) < ids
    assert seen == sorted(seen, reverse=True)
    query = {"org_id": other_enterprise.org_id, "industry_prefix": "27", "status": "published"}
    assert len(client.get(NEEDS, params=query, headers=station.headers).json()["items"]) == 3
