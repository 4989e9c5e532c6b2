"""The case desk's domain rules: the handling specialist, hand-over, notes, whose move is next,
the inbox order and the workload counts."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from app.auth.keys import create_key
from app.auth.principal import Principal, Role
from app.deals.desk import station_inbox, station_workload, waiting_on
from app.deals.models import Deal
from app.deals.requests import request_deal
from app.deals.schemas import DealCreate, TransitionRequest
from app.deals.service import StepResult, apply_transition
from app.deals.states import DealAction, DealState, Party
from app.errors import Conflict, Forbidden, ValidationFailed
from tests.deals_support import World, build_world

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def _deal(session: Session, world: World) -> Deal:
    body = DealCreate(need_id=world.need.id, patent_id=world.patent.id)
    return request_deal(session, world.requester, body, now=NOW).deal


def _step(
    session: Session,
    who: Principal,
    deal: Deal,
    action: DealAction,
    now: datetime = NOW,
    **fields: object,
) -> StepResult:
    assert deal.id is not None
    body = TransitionRequest(action=action, **fields)  # type: ignore[arg-type]
    return apply_transition(session, who, deal.id, body, now=now)


def _colleague(session: Session, world: World) -> Principal:
    key, _secret = create_key(session, role=Role.STATION, org_id=world.station_a.id)
    assert key.id is not None
    return Principal(key_id=key.id, org_id=world.station_a.id, role=Role.STATION)


def test_the_first_specialist_to_move_handles_the_deal_and_hands_it_over(
    session: Session, world: World
) -> None:
    deal = _deal(session, world)
    assert (deal.station_org_id, deal.handler_key_id) == (world.station_a.id, None)  # auto
    _step(session, world.station_a_key, deal, DealAction.CONTACT_OWNER)
    assert deal.handler_key_id == world.station_a_key.key_id
    colleague = _colleague(session, world)
    handed = _step(
        session, world.station_a_key, deal, DealAction.HAND_OVER, handler_key_id=colleague.key_id
    )
    assert deal.handler_key_id == colleague.key_id
    assert handed.event.to_state is DealState.OWNER_CONTACTED
    assert handed.event.detail == {
        "handler_key_id": colleague.key_id,
        "previous_handler_key_id": world.station_a_key.key_id,
    }
    with pytest.raises(ValidationFailed):  # another station's key
        _step(
            session,
            colleague,
            deal,
            DealAction.HAND_OVER,
            handler_key_id=world.station_b_key.key_id,
        )
    with pytest.raises(Forbidden):  # only the station hands over
        _step(session, world.owner, deal, DealAction.HAND_OVER, handler_key_id=colleague.key_id)
    with pytest.raises(Conflict):
        _step(session, colleague, deal, DealAction.HAND_OVER, handler_key_id=colleague.key_id)


def test_reassigning_to_another_station_clears_the_handler(session: Session, world: World) -> None:
    deal = _deal(session, world)
    _step(session, world.station_a_key, deal, DealAction.CONTACT_OWNER)
    _step(
        session,
        world.station_a_key,
        deal,
        DealAction.REASSIGN,
        station_org_id=world.station_b.id,
    )
    assert (deal.station_org_id, deal.handler_key_id) == (world.station_b.id, None)
    _step(session, world.station_b_key, deal, DealAction.NOTE, note="已接手")
    assert deal.handler_key_id is None  # a note claims nothing


def test_a_note_keeps_the_state_and_the_overdue_clock(session: Session, world: World) -> None:
    deal = _deal(session, world)
    later = NOW + timedelta(days=20)
    noted = _step(session, world.requester, deal, DealAction.NOTE, now=later, note="请尽快联系")
    assert noted.event.to_state is DealState.ASSIGNED
    assert noted.event.note == "请尽快联系"
    assert deal.updated_at.replace(tzinfo=UTC) == NOW
    with pytest.raises(ValidationFailed):
        _step(session, world.requester, deal, DealAction.NOTE, note="  ")
    with pytest.raises(Forbidden):  # not a party
        _step(session, world.other_requester, deal, DealAction.NOTE, note="x")


def test_waiting_on_follows_the_consent() -> None:
    deal = Deal(requester_org_id=1, owner_org_id=2, state=DealState.OWNER_CONTACTED)
    assert waiting_on(deal) == {Party.OWNER}
    deal.consent_at = NOW
    assert waiting_on(deal) == {Party.STATION}
    deal.state = DealState.AGREED
    assert waiting_on(deal) == {Party.REQUESTER, Party.OWNER, Party.STATION}
    deal.state = DealState.CLOSED
    assert waiting_on(deal) == frozenset()


def test_inbox_puts_the_station_moves_and_overdue_first_and_counts_the_workload(
    session: Session, world: World
) -> None:
    waiting = _deal(session, world)  # assigned: the station's move
    _step(session, world.station_a_key, waiting, DealAction.CONTACT_OWNER)  # now the owner's
    assert world.enterprise.id is not None
    assert world.university.id is not None
    fresh, old = (
        Deal(
            requester_org_id=world.enterprise.id,
            owner_org_id=world.university.id,
            station_org_id=world.station_a.id,
            state=DealState.ASSIGNED,
            updated_at=moment,
        )
        for moment in (NOW, NOW - timedelta(days=30))
    )
    session.add_all([fresh, old])
    session.flush()
    cases = station_inbox(session, world.station_a, NOW, 14)
    assert [c.deal.id for c in cases] == [old.id, fresh.id, waiting.id]
    assert [(c.station_moves, c.overdue) for c in cases] == [
        (True, True),
        (True, False),
        (False, False),
    ]
    mine = station_inbox(session, world.station_a, NOW, 14, world.station_a_key.key_id)
    assert [c.deal.id for c in mine] == [waiting.id]
    assert world.station_a.id is not None
    loads = station_workload(session, world.station_a.id, NOW, 14)
    assert loads[world.station_a_key.key_id].by_state == {DealState.OWNER_CONTACTED: 1}
    assert loads[None].total == 2
    assert loads[None].overdue == 1
