"""Who may see a deal: its requester, its owner's tto, its station, and admins."""

from sqlmodel import Session

from app.auth.principal import Principal, Role
from app.db import get_or_404
from app.deals.models import Deal
from app.deals.states import Party
from app.errors import Forbidden


def parties_of(deal: Deal, principal: Principal) -> frozenset[Party]:
    """How the caller relates to the deal (empty: not at all)."""
    found: set[Party] = {Party.ADMIN} if principal.is_admin() else set()
    org, role = principal.org_id, principal.role
    if org is not None and role is Role.ENTERPRISE and org == deal.requester_org_id:
        found.add(Party.REQUESTER)
    if org is not None and role is Role.TTO and org == deal.owner_org_id:
        found.add(Party.OWNER)
    if org is not None and role is Role.STATION and org == deal.station_org_id:
        found.add(Party.STATION)
    return frozenset(found)


def get_deal(session: Session, deal_id: int) -> Deal:
    """A deal by id; 404 when there is none."""
    return get_or_404(session, Deal, deal_id, "deal")


def unassigned_for_station(deal: Deal, principal: Principal) -> bool:
    """True when a station looks at a deal no station has taken yet (it may take it)."""
    return principal.role is Role.STATION and deal.station_org_id is None


def visible_deal(session: Session, principal: Principal, deal_id: int) -> Deal:
    """The deal if the caller is a party, its station or an admin; 403 otherwise.

    Stations also see unassigned deals, so that one of them can take each.
    """
    deal = get_deal(session, deal_id)
    if not parties_of(deal, principal) and not unassigned_for_station(deal, principal):
        raise Forbidden(f"deal {deal_id} is visible only to its parties and station")
    return deal
