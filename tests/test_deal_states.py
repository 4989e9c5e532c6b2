"""The deal state machine: legal steps, the allowed-next lists and who may act."""

import pytest

from app.deals.states import (
    OPEN_STATES,
    TERMINAL_STATES,
    DealAction,
    DealState,
    Party,
    allowed_next,
    check_transition,
    may_act,
)
from app.errors import Conflict

HAPPY_PATH = [
    (DealState.REQUESTED, DealAction.ASSIGN, DealState.ASSIGNED),
    (DealState.ASSIGNED, DealAction.CONTACT_OWNER, DealState.OWNER_CONTACTED),
    (DealState.OWNER_CONTACTED, DealAction.ACCEPT_CONTACT, DealState.OWNER_CONTACTED),
    (DealState.OWNER_CONTACTED, DealAction.NEGOTIATE, DealState.NEGOTIATING),
    (DealState.NEGOTIATING, DealAction.AGREE, DealState.AGREED),
    (DealState.AGREED, DealAction.SIGN, DealState.CONTRACT_SIGNED),
    (DealState.CONTRACT_SIGNED, DealAction.CLOSE, DealState.CLOSED),
]


@pytest.mark.parametrize(("state", "action", "target"), HAPPY_PATH)
def test_happy_path_steps(state: DealState, action: DealAction, target: DealState) -> None:
    assert check_transition(state, action) is target


@pytest.mark.parametrize("state", sorted(OPEN_STATES))
def test_every_open_state_can_be_declined_or_withdrawn(state: DealState) -> None:
    assert check_transition(state, DealAction.DECLINE) is DealState.DECLINED
    assert check_transition(state, DealAction.WITHDRAW) is DealState.WITHDRAWN
    assert {DealState.DECLINED, DealState.WITHDRAWN} <= set(allowed_next(state))


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_states_go_nowhere(state: DealState) -> None:
    assert allowed_next(state) == []
    with pytest.raises(Conflict) as caught:
        check_transition(state, DealAction.WITHDRAW)
    assert caught.value.extra["allowed"] == []


def test_illegal_step_lists_the_allowed_next_states() -> None:
    with pytest.raises(Conflict) as caught:
        check_transition(DealState.ASSIGNED, DealAction.SIGN)
    assert caught.value.extra["allowed"] == ["owner_contacted", "declined", "withdrawn"]
    assert "contact_owner" in caught.value.extra["allowed_actions"]


def test_signed_contract_can_only_be_closed() -> None:
    assert allowed_next(DealState.CONTRACT_SIGNED) == [DealState.CLOSED]
    with pytest.raises(Conflict):
        check_transition(DealState.CONTRACT_SIGNED, DealAction.DECLINE)


def test_reassign_keeps_the_state() -> None:
    assert check_transition(DealState.NEGOTIATING, DealAction.REASSIGN) is DealState.NEGOTIATING
    with pytest.raises(Conflict):
        check_transition(DealState.REQUESTED, DealAction.REASSIGN)


@pytest.mark.parametrize(
    ("action", "party", "allowed"),
    [
        (DealAction.WITHDRAW, Party.REQUESTER, True),
        (DealAction.WITHDRAW, Party.OWNER, False),
        (DealAction.WITHDRAW, Party.STATION, False),
        (DealAction.ACCEPT_CONTACT, Party.OWNER, True),
        (DealAction.ACCEPT_CONTACT, Party.STATION, False),
        (DealAction.ACCEPT_CONTACT, Party.REQUESTER, False),
        (DealAction.CONTACT_OWNER, Party.STATION, True),
        (DealAction.CONTACT_OWNER, Party.REQUESTER, False),
        (DealAction.NEGOTIATE, Party.OWNER, False),
        (DealAction.SIGN, Party.REQUESTER, True),
        (DealAction.SIGN, Party.OWNER, True),
        (DealAction.DECLINE, Party.OWNER, True),
        (DealAction.CLOSE, Party.REQUESTER, False),
        (DealAction.CLOSE, Party.ADMIN, True),
    ],
)
def test_roles_that_own_each_step(action: DealAction, party: Party, allowed: bool) -> None:
    assert may_act(action, frozenset({party})) is allowed
