"""Red-team regressions, through HTTP: ids, text, lists, LIKE, strict ids, constraint text."""

import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.catalog import service as catalog_service
from app.catalog.models import Patent
from tests.api.conftest import Actor
from tests.api.helpers import assert_problem, patent_body

BASE = "/api/v1"
BELOW_INT64 = -(2**63) - 1
HUGE_NEGATIVE = -99_999_999_999_999_999_999


def _fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


@pytest.mark.parametrize(
    "path",
    [
        f"/patents/{BELOW_INT64}",
        f"/needs/{BELOW_INT64}",
        f"/organisations/{BELOW_INT64}",
        f"/deals/{BELOW_INT64}",
        f"/open-licences/{BELOW_INT64}",
        f"/imports/{BELOW_INT64}",
        f"/patents/{BELOW_INT64}/matches",
        f"/alerts/subscriptions/{BELOW_INT64}/deliveries",
        f"/patents?owner_org_id={BELOW_INT64}",
        "/patents/0",
    ],
)
def test_ids_below_the_range_are_422(client: TestClient, enterprise: Actor, path: str) -> None:
    body = assert_problem(client.get(BASE + path, headers=enterprise.headers), 422)
    assert "greater than or equal to 1" in body["errors"][0]["message"]


def test_a_huge_negative_declaration_id_is_422_not_an_overflow(
    client: TestClient, enterprise: Actor
) -> None:
    response = client.post(
        f"{BASE}/open-licences/{HUGE_NEGATIVE}/licences",
        json={"intended_use": "产线"},
        headers=enterprise.headers,
    )
    assert _fields(assert_problem(response, 422)) == {"declaration_id"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "高镍\x00正极"),
        ("abstract", "摘要\x00"),
        ("applicants", ["浙江\x00大学"]),
        ("title", "换行\n标题"),
        ("title", "lone \ud800 surrogate"),
    ],
)
def test_control_characters_in_text_are_422(
    client: TestClient, tto: Actor, field: str, value: Any
) -> None:
    # json.dumps escapes non-ASCII, so a lone surrogate travels as the JSON escape "\ud800".
    response = client.post(
        f"{BASE}/patents",
        content=json.dumps(patent_body(**{field: value})),
        headers={**tto.headers, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert any(f.split(".")[0] == field for f in _fields(body))


def test_multi_line_text_keeps_newlines_and_tabs(client: TestClient, tto: Actor) -> None:
    abstract = "第一段。\n\t第二段。"
    response = client.post(
        f"{BASE}/patents", json=patent_body(abstract=abstract), headers=tto.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["abstract"] == abstract


@pytest.mark.parametrize(
    "path",
    [
        "/patents?q=a%00b",
        "/needs?region_prefix=33%00",
        "/ipc?q=H01M%00",
        "/organisations?cursor=%00",
    ],
)
def test_control_characters_in_query_parameters_are_422(
    client: TestClient, enterprise: Actor, path: str
) -> None:
    assert_problem(client.get(BASE + path, headers=enterprise.headers), 422)


def test_name_lists_are_bounded_and_deduplicated(client: TestClient, tto: Actor) -> None:
    many = [f"权利人{i}" for i in range(101)]
    response = client.post(f"{BASE}/patents", json=patent_body(patentees=many), headers=tto.headers)
    assert _fields(assert_problem(response, 422)) == {"patentees"}
    repeated = patent_body(
        patentees=["浙江大学", "浙江大学", "杭州研究院"], ipc_codes=["H01M4/36"] * 3
    )
    created = client.post(f"{BASE}/patents", json=repeated, headers=tto.headers)
    assert created.status_code == 201, created.text
    assert created.json()["patentees"] == ["浙江大学", "杭州研究院"]
    assert created.json()["ipc_codes"] == ["H01M 4/36"]


def test_station_coverage_is_bounded_and_deduplicated(client: TestClient, admin: Actor) -> None:
    station = {"kind": "service_station", "name": "服务站", "coverage_regions": ["3301"] * 100_000}
    response = client.post(f"{BASE}/organisations", json=station, headers=admin.headers)
    assert _fields(assert_problem(response, 422)) == {"coverage_regions"}
    # "330100" and "3301" are the same prefix once normalised.
    station["coverage_regions"] = ["3301", "330100", "3301", "3302"]
    created = client.post(f"{BASE}/organisations", json=station, headers=admin.headers)
    assert created.status_code == 201, created.text
    assert created.json()["coverage_regions"] == ["3301", "3302"]


def test_like_wildcards_in_title_search_match_themselves(client: TestClient, tto: Actor) -> None:
    client.post(f"{BASE}/patents", json=patent_body(title="一种普通的电池"), headers=tto.headers)
    marked = client.post(
        f"{BASE}/patents", json=patent_body(title="含水率100%_的测定方法"), headers=tto.headers
    ).json()
    for q in ("%", "_", "100%_"):
        items = client.get(f"{BASE}/patents", params={"q": q}, headers=tto.headers).json()["items"]
        assert [p["id"] for p in items] == [marked["id"]], q


def test_booleans_are_not_ids(client: TestClient, admin: Actor) -> None:
    response = client.post(
        f"{BASE}/needs", json={"title": "需求", "org_id": False}, headers=admin.headers
    )
    assert _fields(assert_problem(response, 422)) == {"org_id"}
    response = client.post(
        f"{BASE}/needs", json={"title": "需求", "budget_max": True}, headers=admin.headers
    )
    assert "budget_max" in _fields(assert_problem(response, 422))


def test_constraint_violations_do_not_show_database_text(
    client: TestClient, tto: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = patent_body()
    assert client.post(f"{BASE}/patents", json=body, headers=tto.headers).status_code == 201
    # A concurrent duplicate: the service's own check sees nothing, the unique index refuses.
    monkeypatch.setattr(catalog_service, "select", lambda *_: sa.select(Patent).where(sa.false()))
    response = client.post(f"{BASE}/patents", json=body, headers=tto.headers)
    problem = assert_problem(response, 409)
    assert problem["detail"] == "conflicts with an existing record"
    for leaked in ("UNIQUE", "natural_key", "duplicate key", "constraint"):
        assert leaked not in response.text


def test_a_deleted_patents_id_is_never_reused(client: TestClient, tto: Actor) -> None:
    first = client.post(f"{BASE}/patents", json=patent_body(), headers=tto.headers).json()
    deleted = client.delete(f"{BASE}/patents/{first['id']}", headers=tto.headers)
    assert deleted.status_code == 204
    second = client.post(f"{BASE}/patents", json=patent_body(), headers=tto.headers).json()
    assert second["id"] > first["id"]
