"""The service station's case desk (服务站): whose move a deal waits for, the inbox, workload."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, and_, col, or_, select

from app.catalog.models import Organisation
from app.deals.assignment import covers_industry, covers_region
from app.deals.models import Deal, aware
from app.deals.states import ACTIVE_STATES, DealState, Party

# The inbox shows at most this many active deals (the oldest transitions first).
INBOX_MAX = 500

_WAITING: dict[DealState, frozenset[Party]] = {
    DealState.REQUESTED: frozenset({Party.STATION}),
    DealState.ASSIGNED: frozenset({Party.STATION}),
    DealState.NEGOTIATING: frozenset({Party.STATION}),
    DealState.AGREED: frozenset({Party.REQUESTER, Party.OWNER, Party.STATION}),
    DealState.CONTRACT_SIGNED: frozenset({Party.STATION}),
}


def waiting_on(deal: Deal) -> frozenset[Party]:
    """The parties who can move ``deal`` on next (empty once it has ended)."""
    if deal.state is DealState.OWNER_CONTACTED:
        # Contacted: the owner's consent comes first, then the station negotiates.
        return frozenset({Party.OWNER if deal.consent_at is None else Party.STATION})
    return _WAITING.get(deal.state, frozenset())


def is_overdue(deal: Deal, now: datetime, days: int) -> bool:
    """True when an active deal has had no transition for ``days`` days."""
    return deal.state in ACTIVE_STATES and aware(deal.updated_at) < now - timedelta(days=days)


@dataclass(frozen=True)
class Case:
    """One inbox row: the deal and why it is where it is in the order."""

    deal: Deal
    station_moves: bool  # the station's move is next
    overdue: bool
    unassigned: bool  # no station has taken it; this one covers it and may


def _covers(station: Organisation, deal: Deal) -> bool:
    return covers_region(station.coverage_regions or [], deal.region) and covers_industry(
        station.coverage_industries or [], deal.industry_code
    )


def station_inbox(
    session: Session,
    station: Organisation,
    now: datetime,
    overdue_days: int,
    handler_key_id: int | None = None,
) -> list[Case]:
    """The station's active deals and the unassigned ones it covers, what needs action first.

    Order: the station's move before the parties', overdue before not, then the longest idle.
    ``handler_key_id`` keeps one specialist's deals.
    """
    mine = Deal.station_org_id == station.id
    free = and_(col(Deal.station_org_id).is_(None), Deal.state == DealState.REQUESTED)
    stmt = select(Deal).where(col(Deal.state).in_(ACTIVE_STATES))
    if handler_key_id is not None:
        stmt = stmt.where(mine, Deal.handler_key_id == handler_key_id)
    else:
        stmt = stmt.where(or_(mine, free))
    deals = session.exec(stmt.order_by(col(Deal.updated_at), col(Deal.id)).limit(INBOX_MAX))
    cases = [
        Case(
            deal=deal,
            station_moves=Party.STATION in waiting_on(deal),
            overdue=is_overdue(deal, now, overdue_days),
            unassigned=deal.station_org_id is None,
        )
        for deal in deals
        if deal.station_org_id is not None or _covers(station, deal)
    ]
    # Stable sort: within a group the query's order (longest idle first) stays.
    return sorted(cases, key=lambda c: (not c.station_moves, not c.overdue))


@dataclass
class Load:
    """One specialist's share of a station's active deals."""

    handler_key_id: int | None
    by_state: dict[DealState, int] = field(default_factory=dict)
    overdue: int = 0

    @property
    def total(self) -> int:
        """All active deals of this specialist."""
        return sum(self.by_state.values())


def station_workload(
    session: Session, station_id: int, now: datetime, overdue_days: int
) -> dict[int | None, Load]:
    """Active deals per handling specialist (None: nobody yet), by state, and how many overdue."""
    active = and_(Deal.station_org_id == station_id, col(Deal.state).in_(ACTIVE_STATES))
    handler = col(Deal.handler_key_id)
    loads: dict[int | None, Load] = {}
    by_state = (
        select(handler, Deal.state, sa.func.count())
        .where(active)
        .group_by(handler, col(Deal.state))
    )
    for key_id, state, count in session.exec(by_state):
        load = loads.setdefault(key_id, Load(key_id))
        load.by_state[DealState(state)] = int(count)
    cutoff = now - timedelta(days=overdue_days)
    late = (
        select(handler, sa.func.count())
        .where(active, col(Deal.updated_at) < cutoff)
        .group_by(handler)
    )
    for key_id, count in session.exec(late):
        loads.setdefault(key_id, Load(key_id)).overdue = int(count)
    return loads
