"""Deal service: requests, auto-assignment, permissions, idempotency, consent, contracts."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.auth.principal import Principal
from app.catalog.enums import ConversionStatus, EntityKind, OrgKind
from app.catalog.models import IndexChange, Organisation, Patent
from app.deals.access import visible_deal
from app.deals.assignment import covers_industry, covers_region, overdue_deals
from app.deals.contacts import release_contacts
from app.deals.declines import decline_penalties, decline_report
from app.deals.events import deal_events
from app.deals.models import ContractType, Deal, DealContract
from app.deals.requests import request_deal
from app.deals.schemas import ContractIn, DealCreate, TransitionRequest
from app.deals.service import StepResult, apply_transition
from app.deals.states import DealAction, DealState, DeclineReason
from app.errors import Conflict, Forbidden, ValidationFailed
from app.licensing.models import LicenceKind, PatentLicence, PaymentMode
from app.licensing.schemas import DeclarationCreate
from app.licensing.service import declare
from tests.deals_support import World, build_world

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def _request(session: Session, world: World, **fields: object) -> Deal:
    body = DealCreate(need_id=world.need.id, patent_id=world.patent.id, **fields)  # type: ignore[arg-type]
    return request_deal(session, world.requester, body, now=NOW).deal


def _step(
    session: Session, who: Principal, deal: Deal, action: DealAction, **fields: object
) -> StepResult:
    assert deal.id is not None
    body = TransitionRequest(action=action, **fields)  # type: ignore[arg-type]
    return apply_transition(session, who, deal.id, body, now=NOW)


def _to_negotiating(session: Session, world: World) -> Deal:
    deal = _request(session, world)
    _step(session, world.station_a_key, deal, DealAction.CONTACT_OWNER)
    _step(session, world.owner, deal, DealAction.ACCEPT_CONTACT)
    _step(session, world.station_a_key, deal, DealAction.NEGOTIATE)
    return deal


def test_coverage_rules() -> None:
    assert covers_region(["32"], "320500")
    assert covers_region(["320100"], "320102")
    assert not covers_region(["44"], "320500")
    assert not covers_region(["32"], None)
    assert covers_region([], None)
    assert covers_industry(["C"], "3841")
    assert covers_industry(["38"], "C3841")
    assert not covers_industry(["A"], "3841")
    assert not covers_industry(["C"], None)


def test_request_is_auto_assigned_to_the_least_busy_covering_station(
    session: Session, world: World
) -> None:
    first = _request(session, world)
    # Both Jiangsu stations cover the need and are idle: the lower id wins the tie.
    assert first.state is DealState.ASSIGNED
    assert first.station_org_id == world.station_a.id
    events = deal_events(session, first.id or 0)
    assert [(e.action, e.actor_role) for e in events] == [
        (DealAction.REQUEST, "enterprise"),
        (DealAction.ASSIGN, "system"),
    ]
    assert events[0].actor_key_id == world.requester.key_id
    assert events[0].actor_org_id == world.enterprise.id
    # Station A now has one open case, so a second covered request goes to station B.
    second_need_deal = request_deal(
        session, world.requester, DealCreate(owner_org_id=world.university.id), now=NOW
    ).deal
    assert second_need_deal.station_org_id == world.station_b.id


def test_request_without_covering_station_stays_requested_and_a_station_can_take_it(
    session: Session, world: World
) -> None:
    for station in (world.station_a, world.station_b):
        station.coverage_regions = ["11"]
        session.add(station)
    deal = _request(session, world)
    assert deal.state is DealState.REQUESTED
    assert deal.station_org_id is None
    assert visible_deal(session, world.station_b_key, deal.id or 0) is deal
    with pytest.raises(Forbidden):
        _step(
            session,
            world.far_station_key,
            deal,
            DealAction.ASSIGN,
            station_org_id=world.station_a.id,
        )
    taken = _step(session, world.far_station_key, deal, DealAction.ASSIGN)
    assert taken.deal.state is DealState.ASSIGNED
    assert taken.deal.station_org_id == world.far_station.id
    # Unassigned deals are visible to every station; once taken, only to the one that took it.
    with pytest.raises(Forbidden):
        visible_deal(session, world.station_b_key, deal.id or 0)


def test_only_enterprises_request_and_duplicates_conflict(session: Session, world: World) -> None:
    with pytest.raises(Forbidden):
        request_deal(session, world.owner, DealCreate(patent_id=world.patent.id), now=NOW)
    _request(session, world)
    with pytest.raises(Conflict):
        _request(session, world)
    with pytest.raises(ValidationFailed) as caught:
        request_deal(session, world.other_requester, DealCreate(need_id=world.need.id), now=NOW)
    assert caught.value.extra["errors"][0]["field"] == "need_id"


def test_retry_with_same_key_returns_same_result_without_a_new_event(
    session: Session, world: World
) -> None:
    body = DealCreate(patent_id=world.patent.id, need_id=world.need.id)
    first = request_deal(session, world.requester, body, idempotency_key="k1", now=NOW)
    again = request_deal(session, world.requester, body, idempotency_key="k1", now=NOW)
    assert again.replayed
    assert again.deal.id == first.deal.id
    assert again.event.id == first.event.id
    deal = first.deal
    step = TransitionRequest(action=DealAction.CONTACT_OWNER, note="已电话联系", transition_id="t1")
    one = apply_transition(session, world.station_a_key, deal.id or 0, step, now=NOW)
    two = apply_transition(session, world.station_a_key, deal.id or 0, step, now=NOW)
    assert not one.replayed
    assert two.replayed
    assert two.event.id == one.event.id
    assert len(deal_events(session, deal.id or 0)) == 3
    changed = TransitionRequest(action=DealAction.CONTACT_OWNER, note="另一条", transition_id="t1")
    with pytest.raises(Conflict):
        apply_transition(session, world.station_a_key, deal.id or 0, changed, now=NOW)


def test_permissions_per_step(session: Session, world: World) -> None:
    deal = _request(session, world)
    refused = [
        (world.owner, DealAction.WITHDRAW),
        (world.requester, DealAction.CONTACT_OWNER),
        (world.station_b_key, DealAction.CONTACT_OWNER),  # not this deal's station
        (world.other_requester, DealAction.WITHDRAW),
        (world.station_a_key, DealAction.ACCEPT_CONTACT),
    ]
    for who, action in refused:
        with pytest.raises(Forbidden):
            _step(session, who, deal, action)
    assert deal.state is DealState.ASSIGNED


def test_illegal_step_and_negotiation_before_consent_conflict(
    session: Session, world: World
) -> None:
    deal = _request(session, world)
    with pytest.raises(Conflict) as caught:
        _step(session, world.station_a_key, deal, DealAction.AGREE)
    assert caught.value.extra["allowed"] == ["owner_contacted", "declined", "withdrawn"]
    _step(session, world.station_a_key, deal, DealAction.CONTACT_OWNER)
    with pytest.raises(Conflict) as caught:
        _step(session, world.station_a_key, deal, DealAction.NEGOTIATE)
    assert caught.value.extra["allowed_actions"] == ["accept_contact"]


def test_contacts_are_released_only_after_consent_to_parties(
    session: Session, world: World
) -> None:
    deal = _request(session, world)
    with pytest.raises(Forbidden):
        release_contacts(session, world.requester, deal.id or 0)
    _step(session, world.station_a_key, deal, DealAction.CONTACT_OWNER)
    _step(session, world.owner, deal, DealAction.ACCEPT_CONTACT)
    for who in (world.requester, world.owner, world.station_a_key):
        contacts = release_contacts(session, who, deal.id or 0)
        assert contacts.owner.contact_person == world.university.contact_person
        assert contacts.requester.contact_email == world.enterprise.contact_email
    for outsider in (world.other_requester, world.station_b_key):
        with pytest.raises(Forbidden):
            release_contacts(session, outsider, deal.id or 0)


def test_decline_needs_a_reason_and_feeds_reports_and_penalties(
    session: Session, world: World
) -> None:
    deal = _request(session, world)
    with pytest.raises(ValidationFailed):
        _step(session, world.requester, deal, DealAction.DECLINE)
    with pytest.raises(ValidationFailed):
        _step(session, world.requester, deal, DealAction.DECLINE, reason=DeclineReason.OTHER)
    _step(session, world.requester, deal, DealAction.DECLINE, reason=DeclineReason.ALREADY_SOLVED)
    assert deal.state is DealState.DECLINED
    by_patent = decline_report(session, "patent")
    assert by_patent[0].key == world.patent.id
    assert by_patent[0].by_reason == {"already_solved": 1}
    assert decline_report(session, "org")[0].key == world.university.id
    pid = world.patent.id or 0
    similar = decline_penalties(session, [pid], "高镍正极材料高温循环稳定性")
    unrelated = decline_penalties(session, [pid], "农业灌溉节水装置")
    assert 0 < similar[pid] <= 0.8
    assert pid not in unrelated


def test_exclusive_licence_contract_blocks_open_licensing(session: Session, world: World) -> None:
    deal = _to_negotiating(session, world)
    _step(session, world.station_a_key, deal, DealAction.AGREE)
    contract = ContractIn(
        contract_type=ContractType.EXCLUSIVE_LICENCE,
        amount_yuan=500_000,
        registration_number="2026320000000123",
    )
    before = session.exec(select(IndexChange)).all()
    signed = _step(session, world.owner, deal, DealAction.SIGN, contract=contract)
    assert signed.deal.state is DealState.CONTRACT_SIGNED
    licence = session.exec(
        select(PatentLicence).where(PatentLicence.patent_id == world.patent.id)
    ).one()
    assert licence.kind is LicenceKind.EXCLUSIVE
    assert licence.licensee_org_id == world.enterprise.id
    assert world.patent.conversion_status is ConversionStatus.LICENSED
    changes = session.exec(select(IndexChange)).all()
    assert any(
        c.entity is EntityKind.PATENT and c.entity_id == world.patent.id
        for c in changes[len(before) :]
    )
    stored = session.exec(select(DealContract).where(DealContract.deal_id == deal.id)).one()
    assert stored.patent_licence_id == licence.id
    assert stored.amount_yuan == 500_000
    offer = DeclarationCreate(
        payment_mode=PaymentMode.LUMP_SUM,
        fee_yuan=10_000,
        term_years=3,
        contact_name="王老师",
        contact_phone="025-1",
    )
    with pytest.raises(Conflict):
        declare(session, world.owner, world.patent.id or 0, offer, today=NOW.date())
    closed = _step(session, world.station_a_key, deal, DealAction.CLOSE)
    assert closed.deal.state is DealState.CLOSED


def test_assignment_contract_transfers_the_patent(session: Session, world: World) -> None:
    deal = _to_negotiating(session, world)
    _step(session, world.station_a_key, deal, DealAction.AGREE)
    contract = ContractIn(contract_type=ContractType.ASSIGNMENT, amount_yuan=1_200_000)
    _step(session, world.requester, deal, DealAction.SIGN, contract=contract)
    patent = session.get(Patent, world.patent.id)
    assert patent is not None
    assert patent.owner_org_id == world.enterprise.id
    assert patent.patentees == [world.enterprise.name]
    assert patent.conversion_status is ConversionStatus.TRANSFERRED


def test_reassign_and_overdue(session: Session, world: World) -> None:
    deal = _request(session, world)
    moved = _step(
        session, world.admin, deal, DealAction.REASSIGN, station_org_id=world.station_b.id
    )
    assert moved.deal.station_org_id == world.station_b.id
    assert moved.deal.state is DealState.ASSIGNED
    assert moved.event.detail["previous_station_org_id"] == world.station_a.id
    not_station = session.exec(
        select(Organisation).where(Organisation.kind == OrgKind.ENTERPRISE)
    ).first()
    assert not_station is not None
    with pytest.raises(ValidationFailed):
        _step(
            session, world.station_b_key, deal, DealAction.REASSIGN, station_org_id=not_station.id
        )
    assert overdue_deals(session, NOW + timedelta(days=13), 14) == []
    late = overdue_deals(session, NOW + timedelta(days=15), 14)
    assert [d.id for d in late] == [deal.id]
    assert overdue_deals(session, NOW + timedelta(days=15), 14, station_id=world.station_a.id) == []


def test_open_licence_contract_takes_a_licence_under_the_declaration(
    session: Session, world: World
) -> None:
    offer = DeclarationCreate(
        payment_mode=PaymentMode.LUMP_SUM, fee_yuan=10_000, term_years=3, contact_name="王老师",
        contact_phone="025-1",
    )  # fmt: skip
    declaration = declare(session, world.owner, world.patent.id or 0, offer, today=NOW.date())
    deal = _to_negotiating(session, world)
    _step(session, world.station_a_key, deal, DealAction.AGREE)
    exclusive = ContractIn(contract_type=ContractType.EXCLUSIVE_LICENCE)
    with pytest.raises(Conflict):  # an exclusive licence beside an open offer is refused
        _step(session, world.owner, deal, DealAction.SIGN, contract=exclusive)
    contract = ContractIn(contract_type=ContractType.OPEN_LICENCE, amount_yuan=10_000)
    _step(session, world.requester, deal, DealAction.SIGN, contract=contract)
    licence = session.exec(select(PatentLicence)).one()
    assert licence.kind is LicenceKind.OPEN
    assert licence.declaration_id == declaration.id
    assert licence.licensee_org_id == world.enterprise.id
    session.refresh(declaration)
    assert declaration.licence_count == 1
    assert world.patent.conversion_status is ConversionStatus.OPEN_LICENCE
