"""Regressions from QA of the HTTP API: bad input is a 422 naming the field, never a 500."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from app.api.problems import install_problem_handlers
from app.auth.keys import MAX_EXPIRES_DAYS, create_key
from app.auth.principal import Role
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.errors import ValidationFailed
from tests.api.conftest import Actor
from tests.api.helpers import assert_problem, patent_body

BASE = "/api/v1"
TOO_BIG = 99_999_999_999_999_999_999


def _fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


def test_malformed_json_names_the_body_and_the_position(client: TestClient, admin: Actor) -> None:
    response = client.post(
        f"{BASE}/organisations",
        content=b'{"kind": "university",',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert body["detail"] == "the body is not valid JSON"
    assert _fields(body) == {"body"}
    assert "malformed JSON at character" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "path",
    [
        f"/patents/{TOO_BIG}",
        f"/needs/{TOO_BIG}",
        f"/organisations/{TOO_BIG}",
        f"/deals/{TOO_BIG}",
        f"/open-licences/{TOO_BIG}",
        f"/imports/{TOO_BIG}",
        f"/patents/{TOO_BIG}/matches",
        f"/patents?owner_org_id={TOO_BIG}",
        f"/needs?org_id={TOO_BIG}",
    ],
)
def test_ids_beyond_the_database_range_are_422(
    client: TestClient, enterprise: Actor, path: str
) -> None:
    body = assert_problem(client.get(BASE + path, headers=enterprise.headers), 422)
    assert "less than or equal to" in body["errors"][0]["message"]


def test_huge_numbers_in_bodies_are_422(client: TestClient, enterprise: Actor, tto: Actor) -> None:
    need = {"title": "高镍正极", "budget_max": TOO_BIG}
    body = assert_problem(client.post(f"{BASE}/needs", json=need, headers=enterprise.headers), 422)
    assert _fields(body) == {"budget_max"}
    patent = client.post(f"{BASE}/patents", json=patent_body(), headers=tto.headers).json()
    terms = {"payment_mode": "lump_sum", "fee_yuan": TOO_BIG, "term_years": TOO_BIG}
    declared = client.post(
        f"{BASE}/patents/{patent['id']}/open-licence",
        json={**terms, "contact_name": "王老师", "contact_phone": "0571-1"},
        headers=tto.headers,
    )
    assert _fields(assert_problem(declared, 422)) == {"fee_yuan", "term_years"}


def test_station_coverage_and_names_are_validated(client: TestClient, admin: Actor) -> None:
    station = {"kind": "service_station", "name": "服务站", "coverage_regions": ["3301", "abc"]}
    response = client.post(f"{BASE}/organisations", json=station, headers=admin.headers)
    assert _fields(assert_problem(response, 422)) == {"coverage_regions.1"}
    station = {"kind": "service_station", "name": "服务站", "coverage_industries": ["ZZZ"]}
    response = client.post(f"{BASE}/organisations", json=station, headers=admin.headers)
    assert _fields(assert_problem(response, 422)) == {"coverage_industries.0"}
    blank = {"kind": "university", "name": "   "}
    response = client.post(f"{BASE}/organisations", json=blank, headers=admin.headers)
    assert _fields(assert_problem(response, 422)) == {"name"}
    good = {"kind": "service_station", "name": " 服务站 ", "coverage_regions": ["320100"]}
    created = client.post(f"{BASE}/organisations", json=good, headers=admin.headers).json()
    assert (created["name"], created["coverage_regions"]) == ("服务站", ["3201"])


def test_need_industry_codes_are_validated_and_filtered_by_digits(
    client: TestClient, enterprise: Actor
) -> None:
    bad = {"title": "需求", "industry_code": "hello"}
    response = client.post(f"{BASE}/needs", json=bad, headers=enterprise.headers)
    assert _fields(assert_problem(response, 422)) == {"industry_code"}
    need = {"title": "电池回收需求", "industry_code": "c4210"}
    created = client.post(f"{BASE}/needs", json=need, headers=enterprise.headers).json()
    assert created["industry_code"] == "C4210"
    listed = client.get(f"{BASE}/needs?industry_prefix=421", headers=enterprise.headers).json()
    assert created["id"] in [n["id"] for n in listed["items"]]
    response = client.get(f"{BASE}/needs?industry_prefix=zz", headers=enterprise.headers)
    assert _fields(assert_problem(response, 422)) == {"industry_prefix"}


def test_match_filters_reject_bad_ipc_prefixes_and_infinite_terms(
    client: TestClient, enterprise: Actor
) -> None:
    query = {"text": "电池", "filters": {"ipc_prefix": "??"}}
    response = client.post(f"{BASE}/match/text", json=query, headers=enterprise.headers)
    assert _fields(assert_problem(response, 422)) == {"filters.ipc_prefix"}
    need = {"title": "高镍正极材料"}
    need_id = client.post(f"{BASE}/needs", json=need, headers=enterprise.headers).json()["id"]
    for params in ("ipc_prefix=%3F%3F", "min_remaining_years=inf"):
        response = client.get(
            f"{BASE}/needs/{need_id}/matches?{params}", headers=enterprise.headers
        )
        assert _fields(assert_problem(response, 422)) == {params.split("=")[0]}


def test_title_search_crosses_scripts(client: TestClient, tto: Actor) -> None:
    title = "一種固態電解質鋰電池及其製備方法"
    created = client.post(f"{BASE}/patents", json=patent_body(title=title), headers=tto.headers)
    assert created.status_code == 201, created.text
    found = client.get(f"{BASE}/patents?q=固态电解质锂电池", headers=tto.headers).json()
    assert created.json()["id"] in [p["id"] for p in found["items"]]


def test_implausible_patent_dates_are_422(client: TestClient, tto: Actor) -> None:
    old = patent_body(filing_date="1900-01-01")
    body = assert_problem(client.post(f"{BASE}/patents", json=old, headers=tto.headers), 422)
    assert _fields(body) == {"filing_date"}
    early = patent_body(filing_date="2015-03-01", grant_date="2014-01-01")
    body = assert_problem(client.post(f"{BASE}/patents", json=early, headers=tto.headers), 422)
    assert _fields(body) == {"grant_date"}


def test_keys_must_fit_the_organisation_kind(api_engine: Engine) -> None:
    with Session(api_engine) as session:
        org = Organisation(kind=OrgKind.ENTERPRISE, name="企业甲", region="330106")
        session.add(org)
        session.flush()
        with pytest.raises(ValidationFailed, match="station key needs a service_station"):
            create_key(session, role=Role.STATION, org_id=org.id)
        with pytest.raises(ValidationFailed, match="expiry"):
            create_key(
                session, role=Role.ENTERPRISE, org_id=org.id, expires_days=MAX_EXPIRES_DAYS + 1
            )
        key, _secret = create_key(session, role=Role.ENTERPRISE, org_id=org.id, expires_days=30)
        assert key.id is not None
        session.rollback()


def test_admins_cannot_give_records_to_the_wrong_kind_of_organisation(
    client: TestClient, admin: Actor, tto: Actor, enterprise: Actor
) -> None:
    for_enterprise = patent_body(owner_org_id=enterprise.org_id)
    response = client.post(f"{BASE}/patents", json=for_enterprise, headers=admin.headers)
    assert _fields(assert_problem(response, 422)) == {"owner_org_id"}
    need = {"title": "大学的需求", "org_id": tto.org_id}
    response = client.post(f"{BASE}/needs", json=need, headers=admin.headers)
    assert _fields(assert_problem(response, 422)) == {"org_id"}
    patent = client.post(f"{BASE}/patents", json=patent_body(), headers=tto.headers).json()
    move = {"owner_org_id": enterprise.org_id}
    response = client.patch(f"{BASE}/patents/{patent['id']}", json=move, headers=admin.headers)
    assert _fields(assert_problem(response, 422)) == {"owner_org_id"}
    rename = {"name": "改名"}
    response = client.patch(
        f"{BASE}/organisations/{tto.org_id}", json=rename, headers=enterprise.headers
    )
    assert "your own organisation" in assert_problem(response, 403)["detail"]


def test_unauthorized_carries_a_challenge(client: TestClient) -> None:
    response = client.get(f"{BASE}/patents", headers={"X-API-Key": "pm_nope"})
    assert assert_problem(response, 401)["detail"] == "invalid API key"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_busy_database_is_a_503_with_retry_after() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/busy")
    def busy() -> None:
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    response = TestClient(app).get("/busy")
    body = assert_problem(response, 503)
    assert "retry" in body["detail"]
    assert int(response.headers["Retry-After"]) >= 1


def test_a_unique_violation_at_flush_is_a_409() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/dup")
    def dup() -> None:
        raise IntegrityError("INSERT", {}, Exception('duplicate key value violates "k"\nDETAIL'))

    body = assert_problem(TestClient(app).post("/dup"), 409)
    # The database's message names tables and constraints: it is logged, never shown.
    assert body["detail"] == "conflicts with an existing record"
