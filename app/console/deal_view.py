"""What a deal's console page shows one viewer: timeline, their possible moves, and contacts
only once the patent owner consented (through ``release_contacts``, the API's own rule)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.accounts.models import UserAccount
from app.auth.principal import Principal
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation, Patent, TechNeed
from app.deals.access import parties_of, unassigned_for_station, visible_deal
from app.deals.contacts import release_contacts
from app.deals.desk import waiting_on
from app.deals.events import deal_events
from app.deals.models import ContractType, Deal, DealContract, DealEvent
from app.deals.schemas import DealContacts
from app.deals.states import DealAction, DeclineReason, Party, allowed_actions, may_act

# Moves that need more than a button: they have their own forms on the page.
FORM_ACTIONS = frozenset(
    {
        DealAction.ASSIGN,
        DealAction.REASSIGN,
        DealAction.HAND_OVER,
        DealAction.DECLINE,
        DealAction.SIGN,
        DealAction.NOTE,
    }
)


def org_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Organisation names by id, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    stmt = select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(wanted))
    return {int(i): name for i, name in session.exec(stmt) if i is not None}


def patent_titles(session: Session, deals: Sequence[Deal]) -> dict[int, str]:
    """The titles of the deals' patents, in one query."""
    wanted = {d.patent_id for d in deals if d.patent_id is not None}
    if not wanted:
        return {}
    stmt = select(Patent.id, Patent.title).where(col(Patent.id).in_(wanted))
    return {int(i): title for i, title in session.exec(stmt) if i is not None}


def people_by_key(
    session: Session, key_ids: Iterable[int | None], orgs: set[int | None] | None = None
) -> dict[int, str]:
    """Console users' display names by the actor key they act through, in one query.

    ``orgs`` keeps the people of those organisations only (None: everyone's).
    """
    wanted = {k for k in key_ids if k is not None}
    if not wanted:
        return {}
    stmt = select(UserAccount.actor_key_id, UserAccount.display_name, UserAccount.org_id).where(
        col(UserAccount.actor_key_id).in_(wanted)
    )
    return {
        int(k): name
        for k, name, org in session.exec(stmt)
        if k is not None and (orgs is None or org in orgs)
    }


def specialists(session: Session, station_id: int) -> list[UserAccount]:
    """The station's active users who can handle deals (they have an actor key)."""
    stmt = select(UserAccount).where(
        UserAccount.org_id == station_id,
        col(UserAccount.active).is_(True),
        col(UserAccount.actor_key_id).is_not(None),
    )
    return list(session.exec(stmt.order_by(col(UserAccount.id))))


def viewer_moves(deal: Deal, principal: Principal) -> list[DealAction]:
    """The moves this viewer may make on the deal now, in the state machine's order."""
    parties = parties_of(deal, principal)
    if unassigned_for_station(deal, principal):
        parties = parties | {Party.STATION}  # any station may take an unassigned deal
    moves = [a for a in allowed_actions(deal.state) if may_act(a, parties)]
    if deal.consent_at is not None:
        moves = [a for a in moves if a is not DealAction.ACCEPT_CONTACT]
    return moves


@dataclass(frozen=True)
class DealPage:
    """Everything the deal page renders."""

    deal: Deal
    parties: frozenset[Party]
    moves: list[DealAction]
    buttons: list[DealAction]
    waiting: frozenset[Party]
    events: list[DealEvent]
    names: dict[int, str]
    people: dict[int, str]
    patent: Patent | None
    need: TechNeed | None
    contract: DealContract | None
    contacts: DealContacts | None
    stations: list[Organisation]
    handlers: list[UserAccount]
    reasons: list[DeclineReason]
    contract_types: list[ContractType]


def _stations(session: Session, deal: Deal, moves: list[DealAction]) -> list[Organisation]:
    if DealAction.REASSIGN not in moves and DealAction.ASSIGN not in moves:
        return []
    stmt = select(Organisation).where(Organisation.kind == OrgKind.SERVICE_STATION)
    rows = session.exec(stmt.order_by(col(Organisation.id)))
    return [s for s in rows if s.id != deal.station_org_id]


def _contacts(session: Session, principal: Principal, deal: Deal) -> DealContacts | None:
    # Only parties see contacts, and only after consent; release_contacts checks both again.
    if deal.consent_at is None or not parties_of(deal, principal) or deal.id is None:
        return None
    return release_contacts(session, principal, deal.id)


def _named_orgs(principal: Principal, deal: Deal) -> set[int | None] | None:
    # A person's name is the other side's to give (with its contacts): besides the viewer's
    # colleagues, only the station's specialists, who broker the deal, are named.
    if principal.is_admin():
        return None
    return {principal.org_id, deal.station_org_id}


def _detail_id(event: DealEvent, name: str) -> int | None:
    value = event.detail.get(name)
    return value if isinstance(value, int) else None


def deal_page(session: Session, principal: Principal, deal_id: int) -> DealPage:
    """The deal as this viewer may see it; 403 for anyone not on it."""
    deal = visible_deal(session, principal, deal_id)
    moves = viewer_moves(deal, principal)
    events = deal_events(session, deal_id)
    handlers = (
        specialists(session, deal.station_org_id)
        if DealAction.HAND_OVER in moves and deal.station_org_id is not None
        else []
    )
    stations = _stations(session, deal, moves)
    org_ids = [deal.requester_org_id, deal.owner_org_id, deal.station_org_id]
    org_ids += [e.actor_org_id for e in events] + [s.id for s in stations]
    org_ids += [_detail_id(e, "station_org_id") for e in events]
    keys = [e.actor_key_id for e in events] + [deal.handler_key_id]
    keys += [_detail_id(e, "handler_key_id") for e in events]
    contract = session.exec(select(DealContract).where(DealContract.deal_id == deal_id)).first()
    return DealPage(
        deal=deal,
        parties=parties_of(deal, principal),
        moves=moves,
        buttons=[a for a in moves if a not in FORM_ACTIONS],
        waiting=waiting_on(deal),
        events=events,
        names=org_names(session, org_ids),
        people=people_by_key(session, keys, _named_orgs(principal, deal)),
        patent=session.get(Patent, deal.patent_id) if deal.patent_id else None,
        need=session.get(TechNeed, deal.need_id) if deal.need_id else None,
        contract=contract,
        contacts=_contacts(session, principal, deal),
        stations=stations,
        handlers=handlers,
        reasons=list(DeclineReason),
        contract_types=list(ContractType),
    )
