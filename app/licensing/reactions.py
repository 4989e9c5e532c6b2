"""Licensing's reactions to catalog writes, registered with the catalog by ``app.wiring``."""

from sqlmodel import Session, select

from app.licensing.models import OpenLicenceDeclaration, PatentLicence
from app.licensing.service import active_declaration


def patent_referrers(session: Session, patent_id: int) -> list[str]:
    """The licensing records that refer to the patent: its licence history must keep it."""
    referrers = {
        "open-licence declarations": select(OpenLicenceDeclaration.id).where(
            OpenLicenceDeclaration.patent_id == patent_id
        ),
        "licences": select(PatentLicence.id).where(PatentLicence.patent_id == patent_id),
    }
    return [name for name, stmt in referrers.items() if session.exec(stmt).first() is not None]


def is_declared(session: Session, patent_id: int) -> bool:
    """Whether the patent has an active open-licence declaration (开放许可)."""
    return active_declaration(session, patent_id) is not None
