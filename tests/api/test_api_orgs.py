"""Organisations: admin-only creation, public vs private views, updates, listing."""

import random

from fastapi.testclient import TestClient

from app.catalog.uscc import compute_uscc_check
from tests.api.conftest import Actor
from tests.api.helpers import assert_problem

ORGS = "/api/v1/organisations"
PRIVATE = {"contact_person", "contact_phone", "contact_email"}


def _org(**overrides: object) -> dict[str, object]:
    # Names are unique (a second organisation of the same name is a 409): one per call.
    body: dict[str, object] = {
        "kind": "enterprise",
        "name": f"杭州某某电池有限公司{random.randrange(10**9)}",
        "region": "330106",
        "contact_person": "李四",
        "contact_phone": "13800000000",
        "contact_email": "li@example.cn",
    }
    body.update(overrides)
    return body


def test_only_admin_creates_organisations(
    client: TestClient, admin: Actor, tto: Actor, enterprise: Actor, station: Actor
) -> None:
    for actor in (tto, enterprise, station):
        assert_problem(client.post(ORGS, json=_org(), headers=actor.headers), 403)
    response = client.post(ORGS, json=_org(), headers=admin.headers)
    assert response.status_code == 201
    assert response.json()["contact_person"] == "李四"


def test_private_fields_only_for_self_and_admin(
    client: TestClient, admin: Actor, tto: Actor, enterprise: Actor, station: Actor
) -> None:
    url = f"{ORGS}/{enterprise.org_id}"
    own = client.get(url, headers=enterprise.headers).json()
    assert own["contact_person"] == "张三"
    assert client.get(url, headers=admin.headers).json()["contact_email"] == "contact@example.cn"
    for other in (tto, station):
        seen = client.get(url, headers=other.headers).json()
        assert seen["name"] == own["name"]
        assert PRIVATE.isdisjoint(seen), seen
    listed = client.get(ORGS, params={"limit": 100}, headers=tto.headers).json()["items"]
    for item in listed:
        assert (item["id"] == tto.org_id) == bool(PRIVATE & set(item)), item


def test_update_self_or_admin_only(
    client: TestClient, admin: Actor, tto: Actor, other_tto: Actor
) -> None:
    url = f"{ORGS}/{tto.org_id}"
    assert_problem(client.patch(url, json={"name": "x"}, headers=other_tto.headers), 403)
    response = client.patch(url, json={"contact_phone": "0571-1"}, headers=tto.headers)
    assert response.status_code == 200
    assert response.json()["contact_phone"] == "0571-1"
    response = client.patch(url, json={"region": "330100"}, headers=admin.headers)
    assert response.json()["region"] == "330100"


def test_invalid_codes_are_422_with_fields(client: TestClient, admin: Actor) -> None:
    body = assert_problem(
        client.post(ORGS, json=_org(region="999999", uscc="123"), headers=admin.headers), 422
    )
    assert body["errors"][0]["field"] in {"region", "uscc"}


def test_duplicate_uscc_is_409(client: TestClient, admin: Actor) -> None:
    first17 = "91330106" + "".join(random.choices("0123456789ABCDEFGHJKLMNPQRTUWXY", k=9))
    uscc = first17 + compute_uscc_check(first17)
    first = client.post(ORGS, json=_org(uscc=uscc), headers=admin.headers)
    assert first.status_code == 201, first.text
    assert_problem(client.post(ORGS, json=_org(uscc=uscc), headers=admin.headers), 409)


def test_duplicate_name_is_409_naming_the_existing_org(client: TestClient, admin: Actor) -> None:
    first = client.post(ORGS, json=_org(name="同名测试（中国）有限公司"), headers=admin.headers)
    assert first.status_code == 201, first.text
    again = _org(name="同名测试(中国)有限公司")  # half-width brackets: the same name
    body = assert_problem(client.post(ORGS, json=again, headers=admin.headers), 409)
    assert body["existing_org_id"] == first.json()["id"]


def test_unknown_org_is_404(client: TestClient, tto: Actor) -> None:
    assert_problem(client.get(f"{ORGS}/999999", headers=tto.headers), 404)


def test_list_filters_and_pagination(client: TestClient, admin: Actor, tto: Actor) -> None:
    created = {
        client.post(
            ORGS, json=_org(kind="government", region="110101"), headers=admin.headers
        ).json()["id"]
        for _ in range(5)
    }
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"kind": "government", "region_prefix": "11", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(ORGS, params=params, headers=tto.headers).json()
        assert len(page["items"]) <= 2
        assert all(i["kind"] == "government" for i in page["items"])
        assert all(i["region"].startswith("11") for i in page["items"])
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert created <= set(seen)
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))


def test_bad_cursor_is_422(client: TestClient, tto: Actor) -> None:
    body = assert_problem(client.get(ORGS, params={"cursor": "garbage"}, headers=tto.headers), 422)
    assert body["errors"][0]["field"] == "cursor"
