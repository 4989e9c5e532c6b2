"""Open licensing through the HTTP API: every endpoint × role, with the real engine (hashing)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Actor
from tests.api.helpers import assert_problem, patent_body

BASE = "/api/v1"


def _patent(client: TestClient, actor: Actor, title: str, **overrides: Any) -> dict[str, Any]:
    body = patent_body(title=title, grant_date="2017-06-01", **overrides)
    response = client.post(f"{BASE}/patents", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _terms(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "payment_mode": "lump_sum",
        "fee_yuan": 80_000,
        "term_years": 3,
        "contact_name": "王老师",
        "contact_phone": "0571-87950000",
    }
    body.update(overrides)
    return body


def _declare(client: TestClient, actor: Actor, patent_id: int, **terms: Any) -> Any:
    return client.post(
        f"{BASE}/patents/{patent_id}/open-licence", json=_terms(**terms), headers=actor.headers
    )


def _need(client: TestClient, actor: Actor, title: str, publish: bool = True) -> dict[str, Any]:
    body = {"title": title, "description": title, "budget_min": 50_000, "budget_max": 100_000}
    need: dict[str, Any] = client.post(f"{BASE}/needs", json=body, headers=actor.headers).json()
    if publish:
        response = client.post(f"{BASE}/needs/{need['id']}/publish", headers=actor.headers)
        assert response.status_code == 200, response.text
    return need


def _conversion(client: TestClient, actor: Actor, patent_id: int) -> str:
    status: str = client.get(f"{BASE}/patents/{patent_id}", headers=actor.headers).json()[
        "conversion_status"
    ]
    return status


def test_declare_by_role(
    client: TestClient,
    tto: Actor,
    other_tto: Actor,
    enterprise: Actor,
    station: Actor,
    admin: Actor,
) -> None:
    patent = _patent(client, tto, "一种钠离子电池硬碳负极材料的制备方法")
    for actor in (other_tto, enterprise, station):
        assert_problem(_declare(client, actor, patent["id"]), 403)
    assert_problem(client.post(f"{BASE}/patents/{patent['id']}/open-licence", json=_terms()), 401)
    created = _declare(client, tto, patent["id"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["status"], body["fee_yuan"], body["licence_count"]) == ("active", 80_000, 0)
    assert body["contact_phone"] == "0571-87950000"
    assert _conversion(client, tto, patent["id"]) == "open_licence"
    assert_problem(_declare(client, tto, patent["id"]), 409)
    assert_problem(_declare(client, admin, 999_999), 404)
    by_admin = _patent(client, tto, "一种钠离子电池正极材料及其包覆方法")
    assert _declare(client, admin, by_admin["id"]).status_code == 201


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"fee_yuan": 20_000_001}, "fee_yuan"),
        (
            {"payment_mode": "sales_royalty", "fee_yuan": None, "royalty_rate_percent": "20.01"},
            "royalty_rate_percent",
        ),
        (
            {"payment_mode": "profit_royalty", "fee_yuan": None, "royalty_rate_percent": 41},
            "royalty_rate_percent",
        ),
        ({"term_years": 0}, "term_years"),
        ({"term_years": 30}, "term_years"),
        ({"contact_phone": None}, "contact_phone"),
    ],
)
def test_declare_rule_violations_name_the_field(
    client: TestClient, tto: Actor, terms: dict[str, Any], field: str
) -> None:
    patent = _patent(client, tto, "一种固态电解质薄膜的制备方法")
    body = assert_problem(_declare(client, tto, patent["id"], **terms), 422)
    assert field in [e["field"] for e in body["errors"]]
    assert _conversion(client, tto, patent["id"]) == "idle"


def test_boundary_values_are_accepted(client: TestClient, tto: Actor) -> None:
    fee = _patent(client, tto, "一种锂硫电池隔膜")
    assert _declare(client, tto, fee["id"], fee_yuan=20_000_000).status_code == 201
    both = _patent(client, tto, "一种锂硫电池正极")
    response = _declare(
        client,
        tto,
        both["id"],
        payment_mode="entry_fee_royalty",
        fee_yuan=20_000_000,
        royalty_rate_percent="20",
    )
    assert response.status_code == 201, response.text
    assert response.json()["royalty_rate_percent"] == "20.00"


def test_pending_patent_cannot_be_declared(client: TestClient, tto: Actor) -> None:
    pending = _patent(client, tto, "一种电池回收方法", legal_status="pending")
    body = assert_problem(_declare(client, tto, pending["id"]), 422)
    assert body["errors"][0]["field"] == "patent"


def test_take_licence_and_withdraw(
    client: TestClient,
    tto: Actor,
    other_tto: Actor,
    enterprise: Actor,
    other_enterprise: Actor,
    station: Actor,
    admin: Actor,
) -> None:
    patent = _patent(client, tto, "一种光伏组件清洁机器人")
    declaration = _declare(client, tto, patent["id"]).json()
    url = f"{BASE}/open-licences/{declaration['id']}"
    notice = {"intended_use": "光伏电站运维", "start_date": "2099-01-01"}
    assert_problem(client.post(f"{url}/licences", json=notice, headers=enterprise.headers), 422)
    notice = {"intended_use": "光伏电站运维"}
    for actor in (tto, station, admin):
        assert_problem(client.post(f"{url}/licences", json=notice, headers=actor.headers), 403)
    taken = client.post(f"{url}/licences", json=notice, headers=enterprise.headers)
    assert taken.status_code == 201, taken.text
    licence = taken.json()
    assert (licence["kind"], licence["licensee_org_id"]) == ("open", enterprise.org_id)
    assert (licence["fee_yuan"], licence["declaration_id"]) == (80_000, declaration["id"])
    assert_problem(client.post(f"{url}/licences", json=notice, headers=enterprise.headers), 409)
    assert client.get(url, headers=station.headers).json()["licence_count"] == 1
    reason = {"reason": "转为独占许可谈判"}
    for actor in (other_tto, enterprise, station):
        assert_problem(client.post(f"{url}/withdraw", json=reason, headers=actor.headers), 403)
    assert_problem(client.post(f"{url}/withdraw", json={"reason": ""}, headers=tto.headers), 422)
    withdrawn = client.post(f"{url}/withdraw", json=reason, headers=tto.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawal_reason"] == "转为独占许可谈判"
    assert withdrawn.json()["withdrawn_at"]
    assert _conversion(client, tto, patent["id"]) == "licensed"
    assert_problem(client.post(f"{url}/withdraw", json=reason, headers=tto.headers), 409)
    late = client.post(f"{url}/licences", json=notice, headers=other_enterprise.headers)
    assert_problem(late, 409)
    # Withdrawn declarations stay readable.
    assert client.get(url, headers=enterprise.headers).json()["status"] == "withdrawn"
    assert_problem(client.get(f"{BASE}/open-licences/999999", headers=tto.headers), 404)


def test_listing_filters_and_pages(
    client: TestClient, tto: Actor, enterprise: Actor, station: Actor, admin: Actor
) -> None:
    g06 = _patent(client, tto, "一种专利文本语义检索方法", ipc_codes=["G06F 16/33"])
    royalty = {"payment_mode": "profit_royalty", "fee_yuan": None, "royalty_rate_percent": 40}
    mine = _declare(client, tto, g06["id"], **royalty).json()
    for actor in (enterprise, station, admin):
        page = client.get(
            f"{BASE}/open-licences", params={"ipc": "G06F16"}, headers=actor.headers
        ).json()
        assert [d["id"] for d in page["items"]] == [mine["id"]]
    modes = client.get(
        f"{BASE}/open-licences", params={"payment_mode": "profit_royalty"}, headers=tto.headers
    ).json()
    assert {d["payment_mode"] for d in modes["items"]} == {"profit_royalty"}
    first = client.get(f"{BASE}/open-licences", params={"limit": 1}, headers=tto.headers).json()
    assert len(first["items"]) == 1
    assert first["next_cursor"]
    second = client.get(
        f"{BASE}/open-licences",
        params={"limit": 1, "cursor": first["next_cursor"]},
        headers=tto.headers,
    ).json()
    assert second["items"][0]["id"] < first["items"][0]["id"]
    active = client.get(f"{BASE}/open-licences", headers=tto.headers).json()["items"]
    assert {d["status"] for d in active} == {"active"}
    bad = client.get(f"{BASE}/open-licences", params={"ipc": "H01%"}, headers=tto.headers)
    assert_problem(bad, 422)
    assert_problem(client.get(f"{BASE}/open-licences"), 401)


def test_candidates_for_a_need(
    client: TestClient,
    tto: Actor,
    enterprise: Actor,
    other_enterprise: Actor,
    station: Actor,
    admin: Actor,
) -> None:
    title = "一种海上风电叶片除冰涂层及其制备方法"
    declared = _patent(client, tto, title, ipc_codes=["F03D 80/40"])
    twin = _patent(client, tto, title + "（未声明）", ipc_codes=["F03D 80/40"])
    royalty = {"payment_mode": "sales_royalty", "fee_yuan": None, "royalty_rate_percent": "2.5"}
    _declare(client, tto, declared["id"], **royalty)
    need = _need(client, enterprise, "海上风电叶片除冰涂层")
    url = f"{BASE}/needs/{need['id']}/open-licence-candidates"
    for actor in (enterprise, station, tto, admin):
        response = client.get(url, headers=actor.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        by_patent = {c["declaration"]["patent_id"]: c for c in body["candidates"]}
        # Only declared patents: the undeclared twin with the same title never appears.
        assert declared["id"] in by_patent
        assert twin["id"] not in by_patent
        assert all(c["declaration"]["status"] == "active" for c in body["candidates"])
    fee = by_patent[declared["id"]]["fee"]
    # 2.5% of assumed net sales of 10 × the ¥100,000 budget ceiling.
    assert (fee["amount_yuan"], fee["is_estimate"], fee["fits_budget"]) == (25_000, True, True)
    assert "assumes annual net sales" in fee["assumption"]
    draft = _need(client, enterprise, "海上风电叶片除冰", publish=False)
    draft_url = f"{BASE}/needs/{draft['id']}/open-licence-candidates"
    assert_problem(client.get(draft_url, headers=other_enterprise.headers), 404)
    assert client.get(draft_url, headers=enterprise.headers).status_code == 200
    assert_problem(client.get(url), 401)


def test_declaration_advice(
    client: TestClient, tto: Actor, other_tto: Actor, enterprise: Actor, admin: Actor
) -> None:
    title = "一种农业无人机变量喷洒控制方法"
    idle = _patent(client, tto, title, ipc_codes=["B64D 1/18"])
    declared = _patent(client, tto, title + "（已声明）", ipc_codes=["B64D 1/18"])
    _declare(client, tto, declared["id"])
    pending = _patent(client, tto, title + "（审中）", legal_status="pending")
    _need(client, enterprise, "农业无人机变量喷洒")
    url = f"{BASE}/organisations/{tto.org_id}/open-licence-advice"
    params = {"min_confidence": 0, "limit": 100}
    response = client.get(url, params=params, headers=tto.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    by_id = {item["patent_id"]: item for item in items}
    assert idle["id"] in by_id
    assert by_id[idle["id"]]["matching_needs"] >= 1
    assert any("idle for" in reason for reason in by_id[idle["id"]]["reasons"])
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    # Declared or not yet granted patents are not advised.
    assert declared["id"] not in by_id
    assert pending["id"] not in by_id
    for actor in (other_tto, enterprise):
        assert_problem(client.get(url, headers=actor.headers), 403)
    assert client.get(url, headers=admin.headers).status_code == 200
    assert_problem(
        client.get(f"{BASE}/organisations/999999/open-licence-advice", headers=admin.headers), 404
    )
    strict = client.get(url, params={"min_remaining_years": 19.5}, headers=tto.headers).json()
    assert strict["items"] == []
