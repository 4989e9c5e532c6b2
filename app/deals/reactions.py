"""Deals' reactions to catalog writes, registered with the catalog by ``app.wiring``."""

from sqlmodel import Session, select

from app.deals.models import Deal


def patent_referrers(session: Session, patent_id: int) -> list[str]:
    """["deals"] when deals refer to the patent: their history must keep it."""
    found = session.exec(select(Deal.id).where(Deal.patent_id == patent_id)).first()
    return [] if found is None else ["deals"]
