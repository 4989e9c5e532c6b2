"""Deal, alert and figure routes: idempotency headers, refusals, overdue cases, webhooks."""

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.auth.principal import Role
from app.catalog.enums import OrgKind
from app.deals.models import Deal
from app.deals.webhooks import SIGNATURE_HEADER, verify
from app.types import utcnow
from tests.api.conftest import Actor, make_actor
from tests.api.helpers import assert_problem, patent_body
from tests.deals_support import run_receiver


@pytest.fixture(scope="module")
def broker(api_engine: Engine) -> Actor:
    """The only station of this module: it covers everything, so it gets every deal."""
    return make_actor(api_engine, Role.STATION, OrgKind.SERVICE_STATION)


def _patent(client: TestClient, tto: Actor, **fields: Any) -> int:
    response = client.post("/api/v1/patents", json=patent_body(**fields), headers=tto.headers)
    assert response.status_code == 201, response.text
    patent_id: int = response.json()["id"]
    return patent_id


def _deal(client: TestClient, enterprise: Actor, patent_id: int, key: str | None = None) -> Any:
    headers = dict(enterprise.headers) | ({"Idempotency-Key": key} if key else {})
    return client.post("/api/v1/deals", json={"patent_id": patent_id}, headers=headers)


def test_idempotency_key_header_replays_the_request(
    client: TestClient, tto: Actor, enterprise: Actor, broker: Actor
) -> None:
    patent_id = _patent(client, tto)
    first = _deal(client, enterprise, patent_id, key="req-1")
    again = _deal(client, enterprise, patent_id, key="req-1")
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json()["replayed"]
    assert again.json()["deal"]["id"] == first.json()["deal"]["id"]
    assert first.json()["deal"]["station_org_id"] == broker.org_id
    other = client.post(
        "/api/v1/deals",
        json={"patent_id": patent_id, "message": "另一个请求"},
        headers=enterprise.headers | {"Idempotency-Key": "req-1"},
    )
    assert_problem(other, 409)
    deal_id = first.json()["deal"]["id"]
    step = {"action": "contact_owner"}
    headers = broker.headers | {"Idempotency-Key": "step-1"}
    one = client.post(f"/api/v1/deals/{deal_id}/transitions", json=step, headers=headers)
    two = client.post(f"/api/v1/deals/{deal_id}/transitions", json=step, headers=headers)
    assert one.json()["event"]["id"] == two.json()["event"]["id"]
    assert two.json()["replayed"]
    detail = client.get(f"/api/v1/deals/{deal_id}", headers=enterprise.headers).json()
    assert [e["action"] for e in detail["events"]] == ["request", "assign", "contact_owner"]
    # Without a key, repeating a step that already happened is an illegal transition.
    assert_problem(
        client.post(f"/api/v1/deals/{deal_id}/transitions", json=step, headers=broker.headers), 409
    )


def _post_step(client: TestClient, actor: Actor, deal_id: int, **body: Any) -> Any:
    url = f"/api/v1/deals/{deal_id}/transitions"
    return client.post(url, json=body, headers=actor.headers)


def test_refusals_and_validation(
    client: TestClient, tto: Actor, enterprise: Actor, other_enterprise: Actor, broker: Actor
) -> None:
    patent_id = _patent(client, tto)
    deal_id = _deal(client, enterprise, patent_id).json()["deal"]["id"]
    assert_problem(client.get("/api/v1/deals/999999", headers=enterprise.headers), 404)
    assert_problem(client.get(f"/api/v1/deals/{deal_id}", headers=other_enterprise.headers), 403)
    assert_problem(client.get(f"/api/v1/deals/{deal_id}"), 401)
    body = assert_problem(_post_step(client, tto, deal_id, action="decline"), 422)
    assert body["errors"][0]["field"] == "reason"
    assert_problem(_post_step(client, tto, deal_id, action="fly"), 422)
    assert_problem(_post_step(client, broker, deal_id, action="contact_owner", reason="price"), 422)
    theirs = client.get("/api/v1/deals", headers=other_enterprise.headers).json()
    assert theirs["items"] == []
    listed = client.get("/api/v1/deals", headers=broker.headers).json()
    assert deal_id in [d["id"] for d in listed["items"]]


def test_decline_is_final_and_reported(
    client: TestClient, tto: Actor, enterprise: Actor, broker: Actor
) -> None:
    deal_id = _deal(client, enterprise, _patent(client, tto)).json()["deal"]["id"]
    reason = {"reason": "ip_position", "reason_text": "权属有争议"}
    declined = _post_step(client, tto, deal_id, action="decline", **reason)
    assert declined.status_code == 200, declined.text
    assert declined.json()["deal"]["decline_reason"] == "ip_position"
    gone = assert_problem(_post_step(client, enterprise, deal_id, action="withdraw"), 409)
    assert gone["allowed"] == []
    report = client.get("/api/v1/deals/declines", params={"by": "org"}, headers=tto.headers)
    assert report.json() == [{"key": tto.org_id, "total": 1, "by_reason": {"ip_position": 1}}]
    by_patent = client.get("/api/v1/deals/declines", headers=broker.headers).json()
    assert sum(r["total"] for r in by_patent) == 1
    assert_problem(client.get("/api/v1/deals/declines", headers=enterprise.headers), 403)
    params = {"state": "declined"}
    mine = client.get("/api/v1/deals", params=params, headers=enterprise.headers).json()
    assert [d["id"] for d in mine["items"]] == [deal_id]


def test_overdue_lists_stalled_deals_for_stations_and_admins(
    client: TestClient,
    api_engine: Engine,
    admin: Actor,
    tto: Actor,
    enterprise: Actor,
    broker: Actor,
) -> None:
    patent_id = _patent(client, tto)
    deal_id = _deal(client, enterprise, patent_id).json()["deal"]["id"]
    with Session(api_engine) as session:
        deal = session.get(Deal, deal_id)
        assert deal is not None
        deal.updated_at = utcnow() - timedelta(days=30)
        session.add(deal)
        session.commit()
    for actor in (broker, admin):
        overdue = client.get("/api/v1/deals/overdue", headers=actor.headers)
        assert overdue.status_code == 200, overdue.text
        assert deal_id in [d["id"] for d in overdue.json()]
    assert_problem(client.get("/api/v1/deals/overdue", headers=enterprise.headers), 403)


def test_figures_validation(client: TestClient, admin: Actor) -> None:
    assert_problem(
        client.get("/api/v1/figures", params={"group_by": "planet"}, headers=admin.headers), 422
    )
    assert_problem(
        client.get("/api/v1/figures", params={"region_level": 3}, headers=admin.headers), 422
    )
    months = client.get("/api/v1/figures", params={"group_by": "month"}, headers=admin.headers)
    assert months.status_code == 200
    assert all(len(r["key"]) == 7 or r["key"] == "unknown" for r in months.json())


def test_alert_subscription_is_delivered_to_a_real_webhook(
    client: TestClient, admin: Actor, tto: Actor, enterprise: Actor
) -> None:
    with run_receiver() as receiver:
        body = {"kind": "search", "query_text": "钠离子电池负极", "webhook_url": receiver.url}
        created = client.post("/api/v1/alerts/subscriptions", json=body, headers=enterprise.headers)
        assert created.status_code == 201, created.text
        sub = created.json()
        secret = sub["secret"]
        listed = client.get("/api/v1/alerts/subscriptions", headers=enterprise.headers).json()
        assert [s["id"] for s in listed] == [sub["id"]]
        assert "secret" not in listed[0]
        _patent(client, tto, title="一种钠离子电池硬碳负极材料")
        assert_problem(client.post("/api/v1/alerts/dispatch", headers=enterprise.headers), 403)
        report = client.post("/api/v1/alerts/dispatch", headers=admin.headers).json()
        assert report["delivered"] == 1
        ((headers, raw),) = receiver.received
        event = json.loads(raw)
        assert event["type"] == "patent.created"
        assert "钠离子" in event["patent"]["title"]
        assert verify(secret, headers[SIGNATURE_HEADER], raw, utcnow())
    log = client.get(
        f"/api/v1/alerts/subscriptions/{sub['id']}/deliveries", headers=enterprise.headers
    ).json()
    assert [(d["status"], d["attempts"], d["log"][0]["status_code"]) for d in log] == [
        ("delivered", 1, 200)
    ]
    assert_problem(
        client.get(f"/api/v1/alerts/subscriptions/{sub['id']}/deliveries", headers=tto.headers), 404
    )
    deleted = client.delete(f"/api/v1/alerts/subscriptions/{sub['id']}", headers=enterprise.headers)
    assert deleted.status_code == 204
    listed = client.get("/api/v1/alerts/subscriptions", headers=enterprise.headers).json()
    assert listed[0]["active"] is False
