"""Jurisdictions: government officials read their own region's pool and figures, write nothing."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.auth.access import in_region_scope, narrow_scope, region_scope
from app.auth.keys import authenticate, create_key
from app.auth.principal import Principal, Role, jurisdiction_of
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.errors import Forbidden, ValidationFailed
from tests.api.conftest import Actor
from tests.api.helpers import assert_problem, patent_body
from tests.api.regions import TwoCities, two_cities

PATENTS = "/api/v1/patents"
TITLE_A = "一种茶园病虫害智能监测装置"
TITLE_B = "一种港口集装箱自动识别系统"


@pytest.fixture(scope="module")
def cities(api_engine: Engine) -> TwoCities:
    """The province, the two cities and their organisations."""
    return two_cities(api_engine)


def _patent(client: TestClient, owner: Actor, title: str) -> dict[str, Any]:
    response = client.post(PATENTS, json=patent_body(title=title), headers=owner.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def patents(client: TestClient, cities: TwoCities) -> tuple[int, int]:
    """One idle patent owned in each city."""
    return _patent(client, cities.tto_a, TITLE_A)["id"], _patent(client, cities.tto_b, TITLE_B)[
        "id"
    ]


def test_jurisdiction_is_the_region_without_trailing_zero_pairs() -> None:
    assert jurisdiction_of(Role.GOVERNMENT, "330000") == "33"
    assert jurisdiction_of(Role.GOVERNMENT, "330100") == "3301"
    assert jurisdiction_of(Role.GOVERNMENT, "330106") == "330106"
    assert jurisdiction_of(Role.GOVERNMENT, None) is None
    assert jurisdiction_of(Role.ENTERPRISE, "330100") is None


def test_region_scope_by_role() -> None:
    assert region_scope(Principal(1, None, Role.ADMIN)) is None
    assert region_scope(Principal(2, 7, Role.GOVERNMENT, jurisdiction="3301")) == "3301"
    for role in (Role.ENTERPRISE, Role.TTO, Role.STATION):
        with pytest.raises(Forbidden):
            region_scope(Principal(3, 7, role))
    with pytest.raises(Forbidden):  # an office without a region must not see everything
        region_scope(Principal(4, 7, Role.GOVERNMENT))
    assert in_region_scope(None, None)
    assert in_region_scope("3301", "330106")
    assert not in_region_scope("3301", "330203")
    assert not in_region_scope("3301", None)
    assert narrow_scope("33", "330100") == "3301"
    with pytest.raises(Forbidden):
        narrow_scope("3301", "33")


def test_authentication_fills_the_jurisdiction(api_engine: Engine, cities: TwoCities) -> None:
    with Session(api_engine) as session:
        secret = cities.gov_a.headers["X-API-Key"]
        assert authenticate(session, secret).jurisdiction == "3301"
        assert authenticate(session, cities.province.headers["X-API-Key"]).jurisdiction == "33"
        assert authenticate(session, cities.ent_a.headers["X-API-Key"]).jurisdiction is None


def test_government_keys_only_for_government_organisations_with_a_region(
    api_engine: Engine, cities: TwoCities
) -> None:
    with Session(api_engine) as session:
        with pytest.raises(ValidationFailed, match="government organisation"):
            create_key(session, role=Role.GOVERNMENT, org_id=cities.ent_a.org_id)
        with pytest.raises(ValidationFailed, match="enterprise organisation"):
            create_key(session, role=Role.ENTERPRISE, org_id=cities.gov_a.org_id)
        office = Organisation(kind=OrgKind.GOVERNMENT, name="无区划的办公室")
        session.add(office)
        session.flush()
        with pytest.raises(ValidationFailed, match="region"):
            create_key(session, role=Role.GOVERNMENT, org_id=office.id)
        session.rollback()


def test_government_organisations_need_a_region(client: TestClient, admin: Actor) -> None:
    body = {"kind": "government", "name": "某市市场监督管理局"}
    problem = assert_problem(
        client.post("/api/v1/organisations", json=body, headers=admin.headers), 422
    )
    assert problem["errors"][0]["field"] == "region"
    created = client.post(
        "/api/v1/organisations", json={**body, "region": "330100"}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/organisations/{created.json()['id']}"
    assert_problem(client.patch(url, json={"region": None}, headers=admin.headers), 422)


def test_city_official_sees_only_the_city_pool(
    client: TestClient, cities: TwoCities, patents: tuple[int, int]
) -> None:
    in_a, in_b = patents
    listed = client.get(PATENTS, params={"limit": 100}, headers=cities.gov_a.headers).json()
    ids = {p["id"] for p in listed["items"]}
    assert in_a in ids
    assert in_b not in ids
    assert client.get(f"{PATENTS}/{in_a}", headers=cities.gov_a.headers).status_code == 200
    assert_problem(client.get(f"{PATENTS}/{in_b}", headers=cities.gov_a.headers), 404)
    assert_problem(client.get(f"{PATENTS}/{in_b}/matches", headers=cities.gov_a.headers), 404)
    province = client.get(PATENTS, params={"limit": 100}, headers=cities.province.headers).json()
    assert {in_a, in_b} <= {p["id"] for p in province["items"]}
    # Everyone else keeps reading every patent.
    assert client.get(f"{PATENTS}/{in_b}", headers=cities.ent_a.headers).status_code == 200


def test_city_official_matches_within_the_city(
    client: TestClient, cities: TwoCities, patents: tuple[int, int]
) -> None:
    _, in_b = patents
    query = {"text": TITLE_B, "k": 10, "filters": {}}
    found = client.post("/api/v1/match/text", json=query, headers=cities.gov_b.headers).json()
    assert in_b in [m["id"] for m in found["matches"]]
    found = client.post("/api/v1/match/text", json=query, headers=cities.gov_a.headers).json()
    assert in_b not in [m["id"] for m in found["matches"]]
    query["filters"] = {"region_prefix": "3302"}
    assert_problem(client.post("/api/v1/match/text", json=query, headers=cities.gov_a.headers), 403)


def _idle_by_city(client: TestClient, actor: Actor, **params: Any) -> dict[str, int]:
    response = client.get(
        "/api/v1/figures", params={"region_level": 4, **params}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    return {row["key"]: row["idle_patents"] for row in response.json()}


def test_figures_of_the_jurisdiction_only(
    client: TestClient, cities: TwoCities, patents: tuple[int, int], admin: Actor
) -> None:
    everyone = _idle_by_city(client, admin)
    city_a = _idle_by_city(client, cities.gov_a)
    assert set(city_a) == {"3301"}
    assert city_a["3301"] == everyone["3301"] >= 1
    assert set(_idle_by_city(client, cities.gov_b)) == {"3302"}
    province = _idle_by_city(client, cities.province)
    assert {"3301", "3302"} <= set(province)
    assert province["3302"] == everyone["3302"]
    assert _idle_by_city(client, cities.province, region="3302") == {"3302": everyone["3302"]}
    for prefix in ("3302", "33"):
        response = client.get(
            "/api/v1/figures", params={"region": prefix}, headers=cities.gov_a.headers
        )
        assert_problem(response, 403)


def test_officials_write_nothing(
    client: TestClient, cities: TwoCities, patents: tuple[int, int]
) -> None:
    headers = cities.gov_a.headers
    assert_problem(client.post(PATENTS, json=patent_body(), headers=headers), 403)
    assert_problem(
        client.patch(f"{PATENTS}/{patents[0]}", json={"title": "x"}, headers=headers), 403
    )
    need = {"title": "需要一种监测装置", "description": "茶园"}
    assert_problem(client.post("/api/v1/needs", json=need, headers=headers), 403)
    own = f"/api/v1/organisations/{cities.gov_a.org_id}"
    assert_problem(client.patch(own, json={"region": "330000"}, headers=headers), 403)
    assert_problem(client.get("/api/v1/deals", headers=headers), 403)
