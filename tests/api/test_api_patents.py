"""Patents: ownership rules, domain validation, duplicates, filters, sorting, pagination."""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Actor
from tests.api.helpers import assert_problem, new_appno, patent_body

PATENTS = "/api/v1/patents"


def _create(client: TestClient, actor: Actor, **overrides: Any) -> dict[str, Any]:
    response = client.post(PATENTS, json=patent_body(**overrides), headers=actor.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_tto_creates_own_patent_with_derived_fields(client: TestClient, tto: Actor) -> None:
    appno = new_appno(2016, "2")
    created = _create(
        client, tto, application_number=f"CN{appno}", ipc_codes=["h01m4/36; H01M 4/505"]
    )
    assert created["application_number"] == appno
    assert created["owner_org_id"] == tto.org_id
    assert created["patent_type"] == "utility_model"
    assert created["ipc_codes"] == ["H01M 4/36", "H01M 4/505"]
    assert created["ipc_main"] == "H01M 4/36"
    assert created["expiry_date"] == "2025-03-01"  # utility model: 10 years from filing
    assert created["language"] == "zh-Hans"


def test_roles_that_may_not_post_patents(
    client: TestClient, enterprise: Actor, station: Actor
) -> None:
    for actor in (enterprise, station):
        assert_problem(client.post(PATENTS, json=patent_body(), headers=actor.headers), 403)


def test_tto_cannot_post_for_another_org(client: TestClient, tto: Actor, other_tto: Actor) -> None:
    body = patent_body(owner_org_id=other_tto.org_id)
    assert_problem(client.post(PATENTS, json=body, headers=tto.headers), 403)


def test_admin_must_name_owner_and_may(client: TestClient, admin: Actor, tto: Actor) -> None:
    body = assert_problem(client.post(PATENTS, json=patent_body(), headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "owner_org_id"
    created = client.post(
        PATENTS, json=patent_body(owner_org_id=tto.org_id), headers=admin.headers
    ).json()
    assert created["owner_org_id"] == tto.org_id


def test_invalid_application_number_and_ipc_are_422(client: TestClient, tto: Actor) -> None:
    appno = new_appno()
    wrong_check = appno[:-1] + ("0" if appno[-1] != "0" else "1")
    body = assert_problem(
        client.post(PATENTS, json=patent_body(application_number=wrong_check), headers=tto.headers),
        422,
    )
    assert body["errors"][0]["field"] == "application_number"
    assert "check character" in body["errors"][0]["message"]
    body = assert_problem(
        client.post(PATENTS, json=patent_body(ipc_codes=["not-ipc"]), headers=tto.headers), 422
    )
    assert body["errors"][0]["field"] == "ipc_codes.0"


def test_duplicate_application_number_is_409(client: TestClient, tto: Actor) -> None:
    appno = new_appno()
    _create(client, tto, application_number=appno)
    body = assert_problem(
        client.post(PATENTS, json=patent_body(application_number=appno), headers=tto.headers),
        409,
    )
    assert appno in body["detail"]


def test_open_licence_status_is_not_set_directly(client: TestClient, tto: Actor) -> None:
    body = patent_body(conversion_status="open_licence")
    problem = assert_problem(client.post(PATENTS, json=body, headers=tto.headers), 422)
    assert problem["errors"][0]["field"] == "conversion_status"


def test_update_and_delete_only_by_owner_or_admin(
    client: TestClient, admin: Actor, tto: Actor, other_tto: Actor, enterprise: Actor
) -> None:
    url = f"{PATENTS}/{_create(client, tto)['id']}"
    for actor in (other_tto, enterprise):
        assert_problem(client.patch(url, json={"title": "x"}, headers=actor.headers), 403)
        assert_problem(client.delete(url, headers=actor.headers), 403)
    response = client.patch(url, json={"filing_date": "2016-01-01"}, headers=tto.headers)
    assert response.json()["expiry_date"] == "2036-01-01"
    response = client.patch(url, json={"legal_status": "lapsed"}, headers=admin.headers)
    assert response.json()["legal_status"] == "lapsed"
    assert_problem(client.patch(url, json={"title": None}, headers=tto.headers), 422)
    assert client.delete(url, headers=tto.headers).status_code == 204
    assert_problem(client.get(url, headers=tto.headers), 404)


def test_anyone_authenticated_reads(client: TestClient, tto: Actor, station: Actor) -> None:
    created = _create(client, tto)
    response = client.get(f"{PATENTS}/{created['id']}", headers=station.headers)
    assert response.json()["title"] == created["title"]


def _all_pages(client: TestClient, actor: Actor, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = client.get(PATENTS, params=query, headers=actor.headers).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("pagination did not end")


def test_filters_sorting_and_pagination(
    client: TestClient, other_tto: Actor, enterprise: Actor
) -> None:
    dates = ["2014-05-01", None, "2012-01-01", "2014-05-01", "2019-09-09"]
    ids = {
        _create(
            client, other_tto, filing_date=d, title=f"分页测试专利{i}", ipc_codes=["G06F 16/00"]
        )["id"]
        for i, d in enumerate(dates)
    }
    params = {"owner_org_id": other_tto.org_id, "ipc_prefix": "G06F16", "limit": 2}
    for order in ("asc", "desc"):
        items = _all_pages(client, enterprise, {**params, "sort": "filing_date", "order": order})
        assert {i["id"] for i in items} == ids
        keys = [(i["filing_date"] or "0001-01-01", i["id"]) for i in items]
        assert keys == sorted(keys, reverse=order == "desc")
    items = _all_pages(client, enterprise, {**params, "sort": "updated_at"})
    assert [i["id"] for i in items] == sorted(ids, reverse=True)
    titled = _all_pages(client, enterprise, {**params, "q": "分頁測試專利3"})  # Traditional query
    assert [i["title"] for i in titled] == ["分页测试专利3"]


def test_more_filters(client: TestClient, tto: Actor, enterprise: Actor) -> None:
    design = _create(
        client,
        tto,
        application_number=new_appno(2017, "3"),
        legal_status="pending",
        conversion_status="licensed",
        ipc_codes=[],
    )
    params = {
        "owner_org_id": tto.org_id,
        "patent_type": "design",
        "legal_status": "pending",
        "conversion_status": "licensed",
    }
    found = _all_pages(client, enterprise, params)
    assert [i["id"] for i in found] == [design["id"]]
    assert_problem(client.get(PATENTS, params={"ipc_prefix": "Z99"}, headers=tto.headers), 422)
    assert_problem(client.get(PATENTS, params={"legal_status": "x"}, headers=tto.headers), 422)
    cursor = client.get(PATENTS, params={"limit": 1}, headers=tto.headers).json()["next_cursor"]
    wrong_sort = {"cursor": cursor, "sort": "filing_date"}
    assert_problem(client.get(PATENTS, params=wrong_sort, headers=tto.headers), 422)
