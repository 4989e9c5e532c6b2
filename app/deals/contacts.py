"""Consent-gated contacts: private contact fields are released only after the owner accepts."""

from sqlmodel import Session

from app.auth.principal import Principal
from app.catalog.models import Organisation
from app.db import persisted_id
from app.deals.access import get_deal, parties_of
from app.deals.schemas import DealContacts, OrgContact
from app.errors import Forbidden


def _contact(session: Session, org_id: int) -> OrgContact:
    org = session.get(Organisation, org_id)
    assert org is not None  # foreign keys guarantee it
    return OrgContact.model_validate(org)


def release_contacts(session: Session, principal: Principal, deal_id: int) -> DealContacts:
    """Both sides' private contacts, for the deal's parties and station once the owner consented."""
    deal = get_deal(session, deal_id)
    if not parties_of(deal, principal):
        raise Forbidden(f"contacts of deal {deal_id} are only for its parties and station")
    if deal.consent_at is None:
        raise Forbidden(
            f"contacts on deal {deal_id} are released only after the patent owner accepts contact"
        )
    deal_id = persisted_id(deal)
    station = _contact(session, deal.station_org_id) if deal.station_org_id else None
    return DealContacts(
        deal_id=deal_id,
        requester=_contact(session, deal.requester_org_id),
        owner=_contact(session, deal.owner_org_id),
        station=station,
    )
