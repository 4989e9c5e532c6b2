"""End to end over HTTP: need → matching → request → assignment → consent → negotiation →
signing → figures, checking every event and every refusal on the way."""

import csv
import io
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.auth.principal import Role
from app.catalog.enums import OrgKind
from tests.api.conftest import Actor, make_actor
from tests.api.helpers import assert_problem, patent_body

TITLE = "一种高镍三元正极材料的包覆改性方法"
NEED = {
    "title": "动力电池高镍正极材料循环寿命提升",
    "description": "提升高镍正极材料在高温下的循环稳定性",
    "industry_code": "3841",
    "region": "330100",
}
CONTRACT = {
    "contract_type": "exclusive_licence",
    "amount_yuan": 500000,
    "registration_number": "2026330000000042",
}


@dataclass
class Cast:
    """Everyone taking part, and the deal once requested."""

    client: TestClient
    admin: Actor
    tto: Actor
    enterprise: Actor
    outsider: Actor
    station: Actor
    far: Actor
    deal_id: int = 0

    def step(self, actor: Actor, **body: Any) -> Any:
        """POST a transition of the deal as ``actor``."""
        url = f"/api/v1/deals/{self.deal_id}/transitions"
        return self.client.post(url, json=body, headers=actor.headers)

    def get(self, path: str, actor: Actor, **params: Any) -> Any:
        """GET an API path as ``actor``."""
        return self.client.get(f"/api/v1{path}", params=params, headers=actor.headers)


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _station(client: TestClient, engine: Engine, admin: Actor, regions: list[str]) -> Actor:
    actor = make_actor(engine, Role.STATION, OrgKind.SERVICE_STATION)
    patch = {"coverage_regions": regions, "coverage_industries": ["C"]}
    url = f"/api/v1/organisations/{actor.org_id}"
    _ok(client.patch(url, json=patch, headers=admin.headers))
    return actor


def _need_and_patent(cast: Cast) -> tuple[int, int]:
    body = patent_body(title=TITLE, abstract="提高高镍正极材料高温循环稳定性")
    patent = _ok(cast.client.post("/api/v1/patents", json=body, headers=cast.tto.headers))
    headers = cast.enterprise.headers
    need = _ok(cast.client.post("/api/v1/needs", json=NEED, headers=headers))
    _ok(cast.client.post(f"/api/v1/needs/{need['id']}/publish", headers=headers))
    matches = _ok(cast.get(f"/needs/{need['id']}/matches", cast.enterprise))
    assert patent["id"] in [m["id"] for m in matches["matches"]]
    return need["id"], patent["id"]


def _request(cast: Cast, need_id: int, patent_id: int) -> None:
    # Only an enterprise requests; the deal goes to the station covering Zhejiang (33).
    request = {"need_id": need_id, "patent_id": patent_id, "message": "希望独占许可"}
    post = cast.client.post
    assert_problem(post("/api/v1/deals", json=request, headers=cast.tto.headers), 403)
    deal = _ok(post("/api/v1/deals", json=request, headers=cast.enterprise.headers))["deal"]
    cast.deal_id = deal["id"]
    assert (deal["state"], deal["station_org_id"]) == ("assigned", cast.station.org_id)
    assert "contact_person" not in deal
    assert_problem(cast.step(cast.enterprise, action="contact_owner"), 403)
    assert_problem(cast.step(cast.far, action="contact_owner"), 403)
    assert_problem(cast.get(f"/deals/{cast.deal_id}", cast.outsider), 403)
    assert_problem(cast.get(f"/deals/{cast.deal_id}/contacts", cast.enterprise), 403)
    conflict = assert_problem(cast.step(cast.station, action="agree"), 409)
    assert conflict["allowed"] == ["owner_contacted", "declined", "withdrawn"]


def _consent(cast: Cast) -> None:
    _ok(cast.step(cast.station, action="contact_owner", note="已电话联系技术转移中心"))
    assert_problem(cast.step(cast.station, action="negotiate"), 409)  # no consent yet
    assert_problem(cast.step(cast.station, action="accept_contact"), 403)
    assert_problem(cast.step(cast.enterprise, action="accept_contact"), 403)
    _ok(cast.step(cast.tto, action="accept_contact", note="同意对接"))
    # Consent given: exactly the parties and the station see the contacts.
    for actor in (cast.enterprise, cast.tto, cast.station):
        contacts = _ok(cast.get(f"/deals/{cast.deal_id}/contacts", actor))
        assert contacts["owner"]["id"] == cast.tto.org_id
        assert contacts["requester"]["contact_person"] == "张三"
    for outsider in (cast.outsider, cast.far):
        assert_problem(cast.get(f"/deals/{cast.deal_id}/contacts", outsider), 403)


def _negotiate_and_sign(cast: Cast) -> None:
    assert_problem(cast.step(cast.tto, action="negotiate"), 403)
    _ok(cast.step(cast.station, action="negotiate"))
    _ok(cast.step(cast.station, action="agree"))
    assert_problem(cast.step(cast.outsider, action="sign", contract=CONTRACT), 403)
    assert_problem(cast.step(cast.enterprise, action="withdraw", reason="price"), 422)
    signed = _ok(cast.step(cast.enterprise, action="sign", contract=CONTRACT, transition_id="s1"))
    retry = _ok(cast.step(cast.enterprise, action="sign", contract=CONTRACT, transition_id="s1"))
    assert retry["replayed"]
    assert retry["event"]["id"] == signed["event"]["id"]
    assert_problem(cast.step(cast.enterprise, action="close"), 403)
    closed = _ok(cast.step(cast.station, action="close"))
    assert closed["deal"]["state"] == "closed"
    assert closed["deal"]["allowed_next"] == []


def _check_events(cast: Cast) -> None:
    detail = _ok(cast.get(f"/deals/{cast.deal_id}", cast.station))
    log = [
        (e["action"], e["actor_role"], e["actor_key_id"], e["to_state"]) for e in detail["events"]
    ]
    ent, tto, st = cast.enterprise.key_id, cast.tto.key_id, cast.station.key_id
    assert log == [
        ("request", "enterprise", ent, "requested"),
        ("assign", "system", None, "assigned"),
        ("contact_owner", "station", st, "owner_contacted"),
        ("accept_contact", "tto", tto, "owner_contacted"),
        ("negotiate", "station", st, "negotiating"),
        ("agree", "station", st, "agreed"),
        ("sign", "enterprise", ent, "contract_signed"),
        ("close", "station", st, "closed"),
    ]
    assert detail["contract"]["contract_type"] == "exclusive_licence"
    assert detail["contract"]["registration_number"] == "2026330000000042"
    assert detail["events"][1]["detail"] == {"station_org_id": cast.station.org_id, "auto": True}


def _check_catalog(cast: Cast, patent_id: int) -> None:
    # The contract reached the catalog: licensed, and no open licence beside an exclusive one.
    patent = _ok(cast.get(f"/patents/{patent_id}", cast.tto))
    assert patent["conversion_status"] == "licensed"
    offer = {"payment_mode": "lump_sum", "fee_yuan": 10000, "term_years": 3,
             "contact_name": "王老师", "contact_phone": "0571-1"}  # fmt: skip
    url = f"/api/v1/patents/{patent_id}/open-licence"
    assert_problem(cast.client.post(url, json=offer, headers=cast.tto.headers), 409)


def _check_figures(cast: Cast) -> None:
    by_org = _ok(cast.get("/figures", cast.admin, group_by="org"))
    row = next(r for r in by_org if r["key"] == str(cast.tto.org_id))
    assert row["contacts_requested"] == 1
    assert row["patents_matched"] == 1
    assert row["signed_contracts"] == 1
    assert row["conversion_rate"] == 1.0
    assert row["contract_value_yuan"] == 500000
    assert row["deals_by_state"] == {"closed": 1}
    by_industry = _ok(cast.get("/figures", cast.admin, group_by="industry"))
    assert next(r for r in by_industry if r["key"] == "38")["signed_contracts"] == 1
    response = cast.get("/figures", cast.admin, group_by="region", format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert rows["33"]["deals_closed"] == "1"
    assert rows["33"]["contract_value_yuan"] == "500000"


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
    cast = Cast(client, admin, tto, enterprise, other_enterprise, station, far)
    need_id, patent_id = _need_and_patent(cast)
    _request(cast, need_id, patent_id)
    _consent(cast)
    _negotiate_and_sign(cast)
    _check_events(cast)
    _check_catalog(cast, patent_id)
    _check_figures(cast)
