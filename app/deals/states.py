"""The deal state machine (对接流程): states, actions, who may take them, decline reasons."""

from dataclasses import dataclass
from enum import StrEnum

from app.errors import Conflict


class DealState(StrEnum):
    """Where a deal stands."""

    REQUESTED = "requested"  # 对接申请
    ASSIGNED = "assigned"  # 已分派服务站
    OWNER_CONTACTED = "owner_contacted"  # 已联系权利人
    NEGOTIATING = "negotiating"  # 洽谈中
    AGREED = "agreed"  # 达成意向
    CONTRACT_SIGNED = "contract_signed"  # 已签合同
    CLOSED = "closed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class DealAction(StrEnum):
    """A step a caller takes on a deal."""

    REQUEST = "request"
    ASSIGN = "assign"
    REASSIGN = "reassign"  # hand an assigned deal to another station
    CONTACT_OWNER = "contact_owner"
    ACCEPT_CONTACT = "accept_contact"  # the patent owner's consent to release contacts
    NEGOTIATE = "negotiate"
    AGREE = "agree"
    SIGN = "sign"
    CLOSE = "close"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    HAND_OVER = "hand_over"  # hand a deal to another specialist (服务专员) of its station
    NOTE = "note"  # a note on the deal's timeline; the state does not change


class Party(StrEnum):
    """How a caller relates to a deal."""

    REQUESTER = "requester"  # the enterprise that asked for contact
    OWNER = "owner"  # the patent owner's tto
    STATION = "station"  # the service station assigned to the deal
    ADMIN = "admin"


class DeclineReason(StrEnum):
    """Structured reasons for declining (拒绝原因)."""

    TOO_EARLY_STAGE = "too_early_stage"  # 技术成熟度不足
    BENEFIT_UNCLEAR = "benefit_unclear"  # 效益不明确
    ROUTE_TO_MARKET_UNCLEAR = "route_to_market_unclear"  # 市场路径不清
    TOO_VAGUE = "too_vague"  # 描述过于笼统
    ALREADY_SOLVED = "already_solved"  # 问题已解决
    PRICE = "price"  # 价格
    IP_POSITION = "ip_position"  # 权利状况
    OTHER = "other"


OPEN_STATES = frozenset(
    {
        DealState.REQUESTED,
        DealState.ASSIGNED,
        DealState.OWNER_CONTACTED,
        DealState.NEGOTIATING,
        DealState.AGREED,
    }
)
TERMINAL_STATES = frozenset({DealState.CLOSED, DealState.DECLINED, DealState.WITHDRAWN})
# States whose deals count as a station's workload and can become overdue.
ACTIVE_STATES = OPEN_STATES | {DealState.CONTRACT_SIGNED}
SIGNED_STATES = frozenset({DealState.CONTRACT_SIGNED, DealState.CLOSED})


@dataclass(frozen=True)
class Transition:
    """An action: the states it starts from, the state it leads to (None: unchanged), who may."""

    sources: frozenset[DealState]
    target: DealState | None
    parties: frozenset[Party]


_STATION = frozenset({Party.STATION, Party.ADMIN})

TRANSITIONS: dict[DealAction, Transition] = {
    # Any station may take an unassigned deal for itself (the service checks that).
    DealAction.ASSIGN: Transition(frozenset({DealState.REQUESTED}), DealState.ASSIGNED, _STATION),
    DealAction.REASSIGN: Transition(OPEN_STATES - {DealState.REQUESTED}, None, _STATION),
    DealAction.CONTACT_OWNER: Transition(
        frozenset({DealState.ASSIGNED}), DealState.OWNER_CONTACTED, _STATION
    ),
    DealAction.ACCEPT_CONTACT: Transition(
        frozenset({DealState.ASSIGNED, DealState.OWNER_CONTACTED}),
        None,
        frozenset({Party.OWNER, Party.ADMIN}),
    ),
    DealAction.NEGOTIATE: Transition(
        frozenset({DealState.OWNER_CONTACTED}), DealState.NEGOTIATING, _STATION
    ),
    DealAction.AGREE: Transition(frozenset({DealState.NEGOTIATING}), DealState.AGREED, _STATION),
    DealAction.SIGN: Transition(
        frozenset({DealState.AGREED}),
        DealState.CONTRACT_SIGNED,
        frozenset({Party.REQUESTER, Party.OWNER, Party.STATION, Party.ADMIN}),
    ),
    DealAction.CLOSE: Transition(
        frozenset({DealState.CONTRACT_SIGNED}), DealState.CLOSED, _STATION
    ),
    # Either side may decline with a reason; the station may record a party's decision.
    DealAction.DECLINE: Transition(
        OPEN_STATES,
        DealState.DECLINED,
        frozenset({Party.REQUESTER, Party.OWNER, Party.STATION, Party.ADMIN}),
    ),
    DealAction.WITHDRAW: Transition(
        OPEN_STATES, DealState.WITHDRAWN, frozenset({Party.REQUESTER, Party.ADMIN})
    ),
    DealAction.HAND_OVER: Transition(ACTIVE_STATES - {DealState.REQUESTED}, None, _STATION),
    # Anyone on the deal may write on its timeline, also after it ended (follow-ups).
    DealAction.NOTE: Transition(
        frozenset(DealState),
        None,
        frozenset({Party.REQUESTER, Party.OWNER, Party.STATION, Party.ADMIN}),
    ),
}


def allowed_next(state: DealState) -> list[DealState]:
    """The states a deal in ``state`` can move to, in lifecycle order."""
    targets = {
        t.target
        for t in TRANSITIONS.values()
        if state in t.sources and t.target is not None and t.target is not state
    }
    return [s for s in DealState if s in targets]


def allowed_actions(state: DealState) -> list[DealAction]:
    """The actions that may be taken on a deal in ``state``."""
    return [a for a, t in TRANSITIONS.items() if state in t.sources]


def check_transition(state: DealState, action: DealAction) -> DealState:
    """The state after ``action``; 409 listing the allowed next states when it is illegal."""
    transition = TRANSITIONS.get(action)
    if transition is None or state not in transition.sources:
        allowed = [s.value for s in allowed_next(state)]
        raise Conflict(
            f"cannot {action.value} a deal that is {state.value}",
            extra={
                "allowed": allowed,
                "allowed_actions": [a.value for a in allowed_actions(state)],
            },
        )
    return transition.target or state


def may_act(action: DealAction, parties: frozenset[Party]) -> bool:
    """True when a caller holding ``parties`` may take ``action``."""
    transition = TRANSITIONS.get(action)
    return transition is not None and bool(transition.parties & parties)


def required_parties(action: DealAction) -> list[str]:
    """Who may take ``action``, for error messages."""
    transition = TRANSITIONS.get(action)
    return sorted(p.value for p in transition.parties) if transition else []
