"""End to end over HTTP: need → matching → request → assignment → consent → negotiation →
signing → figures, checking every event and every refusal on the way."""

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api.principal import Role
from app.catalog.enums import OrgKind
from tests.api.conftest import Actor, make_actor
from tests.api.helpers import assert_problem, patent_body

TITLE = "一种高镍三元正极材料的包覆改性方法"


def _station(client: TestClient, engine: Engine, admin: Actor, regions: list[str]) -> Actor:
    actor = make_actor(engine, Role.STATION, OrgKind.SERVICE_STATION)
    patch = {"coverage_regions": regions, "coverage_industries": ["C"]}
    response = client.patch(
        f"/api/v1/organisations/{actor.org_id}", json=patch, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    return actor


def _step(client: TestClient, actor: Actor, deal_id: int, **body: Any) -> Any:
    return client.post(f"/api/v1/deals/{deal_id}/transitions", json=body, headers=actor.headers)


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _need_and_patent(client: TestClient, tto: Actor, enterprise: Actor) -> tuple[int, int]:
    patent = _ok(
        client.post(
            "/api/v1/patents",
            json=patent_body(title=TITLE, abstract="提高高镍正极材料高温循环稳定性"),
            headers=tto.headers,
        )
    )
    need = _ok(
        client.post(
            "/api/v1/needs",
            json={
                "title": "动力电池高镍正极材料循环寿命提升",
                "description": "提升高镍正极材料在高温下的循环稳定性",
                "industry_code": "3841",
                "region": "330100",
            },
            headers=enterprise.headers,
        )
    )
    _ok(client.post(f"/api/v1/needs/{need['id']}/publish", headers=enterprise.headers))
    return need["id"], patent["id"]  # fmt: skip


def test_deal_from_need_to_signed_contract_and_figures(
    client: TestClient,
    api_engine: Engine,
    admin: Actor,
    tto: Actor,
    enterprise: Actor,
    other_enterprise: Actor,
) -> None:
    far = _station(client, api_engine, admin, ["44"])
    station = _station(client, api_engine, admin, ["33"])
    need_id, patent_id = _need_and_patent(client, tto, enterprise)

    # Matching finds the patent for the need.
    matches = _ok(client.get(f"/api/v1/needs/{need_id}/matches", headers=enterprise.headers))
    assert patent_id in [m["id"] for m in matches["matches"]]

    # Only an enterprise requests; the deal goes to the station covering Zhejiang (33).
    request = {"need_id": need_id, "patent_id": patent_id, "message": "希望独占许可"}
    assert_problem(client.post("/api/v1/deals", json=request, headers=tto.headers), 403)
    created = _ok(client.post("/api/v1/deals", json=request, headers=enterprise.headers))
    deal = created["deal"]
    deal_id = deal["id"]
    assert (deal["state"], deal["station_org_id"]) == ("assigned", station.org_id)
    assert "contact_person" not in deal

    # Refusals before the owner is contacted.
    assert_problem(_step(client, enterprise, deal_id, action="contact_owner"), 403)
    assert_problem(_step(client, far, deal_id, action="contact_owner"), 403)
    assert_problem(client.get(f"/api/v1/deals/{deal_id}", headers=other_enterprise.headers), 403)
    assert_problem(client.get(f"/api/v1/deals/{deal_id}/contacts", headers=enterprise.headers), 403)
    conflict = assert_problem(_step(client, station, deal_id, action="agree"), 409)
    assert conflict["allowed"] == ["owner_contacted", "declined", "withdrawn"]

    _ok(_step(client, station, deal_id, action="contact_owner", note="已电话联系技术转移中心"))
    assert_problem(_step(client, station, deal_id, action="negotiate"), 409)  # no consent yet
    assert_problem(_step(client, station, deal_id, action="accept_contact"), 403)
    assert_problem(_step(client, enterprise, deal_id, action="accept_contact"), 403)
    _ok(_step(client, tto, deal_id, action="accept_contact", note="同意对接"))

    # Consent given: exactly the parties and the station see the contacts.
    for actor in (enterprise, tto, station):
        contacts = _ok(client.get(f"/api/v1/deals/{deal_id}/contacts", headers=actor.headers))
        assert contacts["owner"]["id"] == tto.org_id
        assert contacts["requester"]["contact_person"] == "张三"
    for outsider in (other_enterprise, far):
        assert_problem(
            client.get(f"/api/v1/deals/{deal_id}/contacts", headers=outsider.headers), 403
        )

    assert_problem(_step(client, tto, deal_id, action="negotiate"), 403)
    _ok(_step(client, station, deal_id, action="negotiate"))
    _ok(_step(client, station, deal_id, action="agree"))
    contract = {
        "contract_type": "exclusive_licence",
        "amount_yuan": 500000,
        "registration_number": "2026330000000042",
    }
    assert_problem(_step(client, other_enterprise, deal_id, action="sign", contract=contract), 403)
    assert_problem(_step(client, enterprise, deal_id, action="withdraw", reason="price"), 422)
    signed = _ok(
        _step(client, enterprise, deal_id, action="sign", contract=contract, transition_id="sign-1")
    )
    retry = _ok(
        _step(client, enterprise, deal_id, action="sign", contract=contract, transition_id="sign-1")
    )
    assert retry["replayed"]
    assert retry["event"]["id"] == signed["event"]["id"]
    assert_problem(_step(client, enterprise, deal_id, action="close"), 403)
    closed = _ok(_step(client, station, deal_id, action="close"))
    assert closed["deal"]["state"] == "closed"
    assert closed["deal"]["allowed_next"] == []

    # The event log: every step once, with its actor.
    detail = _ok(client.get(f"/api/v1/deals/{deal_id}", headers=station.headers))
    log = [
        (e["action"], e["actor_role"], e["actor_key_id"], e["to_state"]) for e in detail["events"]
    ]
    assert log == [
        ("request", "enterprise", enterprise.key_id, "requested"),
        ("assign", "system", None, "assigned"),
        ("contact_owner", "station", station.key_id, "owner_contacted"),
        ("accept_contact", "tto", tto.key_id, "owner_contacted"),
        ("negotiate", "station", station.key_id, "negotiating"),
        ("agree", "station", station.key_id, "agreed"),
        ("sign", "enterprise", enterprise.key_id, "contract_signed"),
        ("close", "station", station.key_id, "closed"),
    ]
    assert detail["contract"]["contract_type"] == "exclusive_licence"
    assert detail["contract"]["registration_number"] == "2026330000000042"
    assert detail["events"][1]["detail"] == {"station_org_id": station.org_id, "auto": True}

    # The contract reached the catalog: licensed, and no open licence beside an exclusive one.
    patent = _ok(client.get(f"/api/v1/patents/{patent_id}", headers=tto.headers))
    assert patent["conversion_status"] == "licensed"
    offer = {
        "payment_mode": "lump_sum",
        "fee_yuan": 10000,
        "term_years": 3,
        "contact_name": "王老师",
        "contact_phone": "0571-1",
    }
    assert_problem(
        client.post(f"/api/v1/patents/{patent_id}/open-licence", json=offer, headers=tto.headers),
        409,
    )

    # Figures afterwards.
    by_org = _ok(client.get("/api/v1/figures", params={"group_by": "org"}, headers=admin.headers))
    row = next(r for r in by_org if r["key"] == str(tto.org_id))
    assert row["contacts_requested"] == 1
    assert row["patents_matched"] == 1
    assert row["signed_contracts"] == 1
    assert row["conversion_rate"] == 1.0
    assert row["contract_value_yuan"] == 500000
    assert row["deals_by_state"] == {"closed": 1}
    by_industry = _ok(
        client.get("/api/v1/figures", params={"group_by": "industry"}, headers=admin.headers)
    )
    assert next(r for r in by_industry if r["key"] == "38")["signed_contracts"] == 1
    response = client.get(
        "/api/v1/figures", params={"group_by": "region", "format": "csv"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert rows["33"]["deals_closed"] == "1"
    assert rows["33"]["contract_value_yuan"] == "500000"
