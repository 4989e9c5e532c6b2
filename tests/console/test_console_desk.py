"""The case desk and the parties' deal moves over a TestClient: the deal-to-contract walk of
the API test done through console forms, a structured decline, contacts only after consent,
hand-over, workload, overdue and coverage."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from app.accounts import service
from app.accounts.models import UserAccount
from app.catalog.enums import NeedStatus, OrgKind
from app.catalog.models import Organisation, TechNeed
from app.console.identity import invite
from app.deals.models import Deal, DealEvent
from app.deals.states import DealState
from app.settings import Settings
from app.types import utcnow
from tests.console.conftest import PASSWORD, Person, csrf_of, make_person, sign_in
from tests.console.test_console_workbenches import _patent

PHONE = "0571-87950000"


@dataclass
class Cast:
    """The people of one deal and the deal once requested."""

    client: TestClient
    engine: Engine
    enterprise: Person
    tto: Person
    station: Person
    colleague: Person  # a second specialist of the same station
    outsider: Person
    deal_id: int = 0

    def page(self, who: Person, url: str) -> str:
        """GET ``url`` signed in as ``who``."""
        sign_in(self.client, who)
        response = self.client.get(url)
        assert response.status_code == 200, response.text
        return response.text

    def step(self, who: Person, status: int = 303, **fields: str) -> str:
        """Post a deal form as ``who`` from the deal's page; returns the answer's text."""
        html = self.page(who, f"/deals/{self.deal_id}")
        data = {"csrf": csrf_of(html), **fields}
        url = f"/deals/{self.deal_id}/step"
        response = self.client.post(url, data=data, follow_redirects=False)
        assert response.status_code == status, response.text
        return response.text


def _contact(engine: Engine, org_id: int | None, person: str, **fields: object) -> None:
    with Session(engine) as session:
        org = session.get(Organisation, org_id)
        assert org is not None
        org.contact_person, org.contact_phone = person, PHONE
        for name, value in fields.items():
            setattr(org, name, value)
        session.add(org)
        session.commit()


def _need(engine: Engine, org_id: int | None) -> int:
    assert org_id is not None
    with Session(engine) as session:
        need = TechNeed(
            org_id=org_id,
            title="动力电池高镍正极材料循环寿命提升",
            region="330106",
            industry_code="3841",
            status=NeedStatus.PUBLISHED,
            published_at=utcnow(),
        )
        session.add(need)
        session.commit()
        assert need.id is not None
        return need.id


@pytest.fixture
def cast(client: TestClient, api_engine: Engine, api_settings: Settings) -> Cast:
    """A requester, an owner's tto, a Zhejiang station with two specialists, an outsider."""
    tag = secrets.token_hex(4)  # fresh people per test, on a database shared by the module
    made = [
        make_person(api_engine, api_settings, kind, f"{role}-{tag}@example.cn", org_admin=True)
        for role, kind in (
            ("ent", OrgKind.ENTERPRISE),
            ("tto", OrgKind.UNIVERSITY),
            ("st", OrgKind.SERVICE_STATION),
            ("out", OrgKind.ENTERPRISE),
        )
    ]
    enterprise, tto, station, outsider = made
    _contact(api_engine, enterprise.org_id, "张三")
    _contact(api_engine, tto.org_id, "王老师")
    _contact(
        api_engine,
        station.org_id,
        "李专员",
        coverage_regions=["33"],
        coverage_industries=["C"],
    )
    with Session(api_engine) as session:  # other stations must not cover these deals
        for org in session.exec(select(Organisation).where(Organisation.id != station.org_id)):
            if org.kind is OrgKind.SERVICE_STATION:
                org.coverage_regions = ["65"]
                session.add(org)
        session.commit()
    colleague = _colleague(api_engine, api_settings, station, tag)
    return Cast(client, api_engine, enterprise, tto, station, colleague, outsider)


def _colleague(engine: Engine, settings: Settings, station: Person, tag: str) -> Person:
    with Session(engine) as session:
        made = invite(
            session,
            settings,
            org_id=station.org_id,
            email=f"st2-{tag}@example.cn",
            display_name="赵专员",
            is_org_admin=False,
            actor=None,
        )
        service.redeem_token(session, made.token, PASSWORD, settings)
        session.commit()
        assert made.user.id is not None
        return Person(made.user.id, station.org_id, made.user.email)


def _request(cast: Cast) -> None:
    patent_id = _patent(cast.engine, cast.tto.org_id)
    need_id = _need(cast.engine, cast.enterprise.org_id)
    csrf = sign_in(cast.client, cast.enterprise)
    url = f"/needs/{need_id}/contact/{patent_id}"
    response = cast.client.post(url, data={"csrf": csrf, "message": "希望独占许可"})
    assert response.status_code == 200
    with Session(cast.engine) as session:
        deal = session.exec(select(Deal).where(Deal.need_id == need_id)).one()
        assert deal.station_org_id == cast.station.org_id
        assert deal.id is not None
        cast.deal_id = deal.id


def _actions(engine: Engine, deal_id: int) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        stmt = select(DealEvent).where(DealEvent.deal_id == deal_id).order_by(col(DealEvent.id))
        return [(e.action.value, e.actor_role, e.to_state.value) for e in session.exec(stmt)]


def _consent(cast: Cast, deal_url: str) -> None:
    # The owner's consent releases the contacts: to the parties and the station only.
    tto_page = cast.page(cast.tto, deal_url)
    assert 'value="accept_contact"' in tto_page
    assert PHONE not in tto_page
    # The timeline names the broker's specialist ("name · org"), not the requester's people.
    assert cast.station.email.split("@")[0] + " · " in tto_page
    assert cast.enterprise.email.split("@")[0] + " · " not in tto_page
    cast.step(cast.tto, action="accept_contact", note="同意对接")
    for who in (cast.enterprise, cast.tto, cast.station):
        shown = cast.page(who, deal_url)
        assert PHONE in shown
        assert "王老师" in shown
        assert "张三" in shown
    sign_in(cast.client, cast.outsider)
    assert cast.client.get(deal_url).status_code == 403


def test_the_deal_walk_in_the_console_with_contacts_only_after_consent(cast: Cast) -> None:
    _request(cast)
    deal_url = f"/deals/{cast.deal_id}"
    before = cast.page(cast.enterprise, deal_url)
    assert "权利人同意对接后" in before
    assert PHONE not in before
    assert 'value="contact_owner"' not in before  # the station's move, not the requester's
    assert "待您处理" in cast.page(cast.station, "/desk")
    cast.step(cast.station, action="contact_owner", note="已电话联系技术转移中心")
    refused = cast.step(cast.station, status=409, action="negotiate")
    assert "has not accepted contact" in refused
    assert PHONE not in cast.page(cast.station, deal_url)
    _consent(cast, deal_url)
    cast.step(cast.station, action="negotiate")
    cast.step(cast.station, action="agree")
    cast.step(
        cast.enterprise,
        action="sign",
        contract_type="exclusive_licence",
        amount_yuan="500000",
        registration_number="2026330000000042",
    )
    cast.step(cast.station, action="close")
    final = cast.page(cast.enterprise, deal_url)
    assert "¥500,000" in final
    assert "2026330000000042" in final
    assert "已结束" in final
    assert _actions(cast.engine, cast.deal_id) == [
        ("request", "enterprise", "requested"),
        ("assign", "system", "assigned"),
        ("contact_owner", "station", "owner_contacted"),
        ("accept_contact", "tto", "owner_contacted"),
        ("negotiate", "station", "negotiating"),
        ("agree", "station", "agreed"),
        ("sign", "enterprise", "contract_signed"),
        ("close", "station", "closed"),
    ]


def test_a_decline_needs_a_structured_reason(cast: Cast) -> None:
    _request(cast)
    missing = cast.step(cast.tto, status=422, action="decline", reason="other")
    assert "reason_text" in missing
    cast.step(cast.tto, action="decline", reason="price", reason_text="报价过高")
    shown = cast.page(cast.enterprise, f"/deals/{cast.deal_id}")
    assert "已婉拒" in shown
    assert "价格" in shown
    assert "报价过高" in shown
    assert 'name="action" value="withdraw"' not in shown  # ended: no more moves
    assert PHONE not in shown


def test_hand_over_workload_overdue_and_coverage(cast: Cast) -> None:
    _request(cast)
    cast.step(cast.station, action="contact_owner")  # the first specialist to move handles it
    colleague_key = _key_of(cast, cast.colleague)
    cast.step(cast.station, action="hand_over", handler_key_id=str(colleague_key))
    mine = cast.page(cast.colleague, "/desk?mine=true")
    assert f"/deals/{cast.deal_id}" in mine
    workload = cast.page(cast.station, "/desk/workload")
    assert "赵专员" in workload
    with Session(cast.engine) as session:
        deal = session.get(Deal, cast.deal_id)
        assert deal is not None
        assert deal.handler_key_id == colleague_key
        deal.updated_at = utcnow() - timedelta(days=30)
        session.add(deal)
        session.commit()
    assert f"/deals/{cast.deal_id}" in cast.page(cast.station, "/desk/overdue")
    cast.step(cast.colleague, action="note", note="权利人出差，下周回复")  # a note: still overdue
    assert f"/deals/{cast.deal_id}" in cast.page(cast.station, "/desk/overdue")
    csrf = sign_in(cast.client, cast.colleague)  # not an administrator of the station
    form = {"csrf": csrf, "regions": "33", "industries": "C"}
    assert cast.client.post("/desk/coverage", data=form).status_code == 403
    csrf = sign_in(cast.client, cast.station)
    bad = cast.client.post("/desk/coverage", data={**form, "csrf": csrf, "regions": "99x"})
    assert bad.status_code == 422
    assert "coverage_regions" in bad.text
    saved = cast.client.post("/desk/coverage", data={**form, "csrf": csrf, "regions": "33, 3201"})
    assert saved.status_code == 200
    assert "33, 3201" in saved.text
    sign_in(cast.client, cast.enterprise)
    assert cast.client.get("/desk").status_code == 403


def _key_of(cast: Cast, who: Person) -> int:
    with Session(cast.engine) as session:
        user = session.get(UserAccount, who.user_id)
        assert user is not None
        assert user.actor_key_id is not None
        return user.actor_key_id


def _statements(cast: Cast, who: Person, url: str) -> int:
    sign_in(cast.client, who)
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    engine = cast.client.app.state.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert cast.client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_deal_and_desk_pages_make_a_fixed_number_of_queries(cast: Cast) -> None:
    _request(cast)
    cast.step(cast.station, action="contact_owner")
    cast.step(cast.tto, action="accept_contact")
    deal_url = f"/deals/{cast.deal_id}"
    before = {who.email: _statements(cast, who, deal_url) for who in (cast.station, cast.tto)}
    desk_before = _statements(cast, cast.station, "/desk")
    first = cast.deal_id
    for n in range(6):  # more events, more deals: the same number of queries
        cast.deal_id = first
        cast.step(cast.station, action="note", note=f"第{n}次跟进")
        _request(cast)
    cast.deal_id = first
    after = {who.email: _statements(cast, who, deal_url) for who in (cast.station, cast.tto)}
    assert after == before
    assert _statements(cast, cast.station, "/desk") == desk_before
    assert max(before.values()) <= 16


def test_a_station_takes_an_unassigned_deal_it_covers(cast: Cast) -> None:
    _request(cast)
    with Session(cast.engine) as session:  # as if no station had covered it at request time
        deal = session.get(Deal, cast.deal_id)
        assert deal is not None
        deal.station_org_id, deal.state = None, DealState.REQUESTED
        session.add(deal)
        session.commit()
    inbox = cast.page(cast.station, "/desk")
    assert f"/deals/{cast.deal_id}" in inbox
    assert "可接手" in inbox
    cast.step(cast.station, action="assign")
    with Session(cast.engine) as session:
        taken = session.get(Deal, cast.deal_id)
        assert taken is not None
        assert taken.station_org_id == cast.station.org_id
        assert taken.state is DealState.ASSIGNED
        assert taken.handler_key_id == _key_of(cast, cast.station)


def test_a_platform_admin_opens_a_station_desk_by_id(
    cast: Cast, api_engine: Engine, api_settings: Settings
) -> None:
    _request(cast)
    admin = make_person(api_engine, api_settings, None, f"admin-{secrets.token_hex(4)}@example.cn")
    sign_in(cast.client, admin)
    assert cast.client.get("/desk").status_code == 422  # which station?
    inbox = cast.client.get(f"/desk?station_id={cast.station.org_id}")
    assert inbox.status_code == 200
    assert f"/deals/{cast.deal_id}" in inbox.text
    assert f"/desk/overdue?station_id={cast.station.org_id}" in inbox.text
    assert cast.client.get(f"/desk?station_id={cast.tto.org_id}").status_code == 404
    cast.client.cookies.set("pm_lang", "en")
    assert f"Deal #{cast.deal_id}" in cast.client.get(f"/deals/{cast.deal_id}").text
    cast.client.cookies.delete("pm_lang")
