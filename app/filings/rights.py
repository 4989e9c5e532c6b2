"""Is the right a product cites real? Checked against the catalog, the deals and the licences.

A cited patent must be in force (granted, term not over) and the enterprise must hold the
right it claims: be the patentee (owned), be the patentee through a signed assignment
(assignment), or hold a licence of that kind that has started and not ended (licences).
"""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from app.catalog.models import Patent
from app.db import persisted_id
from app.deals.models import ContractType, Deal, DealContract
from app.filings.models import RightBasis
from app.licensing import rules
from app.licensing.models import LicenceKind, PatentLicence

_LICENCE_KINDS = {
    RightBasis.EXCLUSIVE_LICENCE: LicenceKind.EXCLUSIVE,
    RightBasis.SOLE_LICENCE: LicenceKind.SOLE,
    RightBasis.ORDINARY_LICENCE: LicenceKind.ORDINARY,
    RightBasis.OPEN_LICENCE: LicenceKind.OPEN,
}


@dataclass(frozen=True)
class Evidence:
    """What proves a right: the licence or the assignment contract (owned: neither)."""

    licence_id: int | None = None
    contract_id: int | None = None


class RightRefused(Exception):
    """The cited right does not hold; ``reason`` says why, in words for the enterprise."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def in_force_problem(patent: Patent, today: date) -> str | None:
    """Why the patent is not in force on ``today`` (the open-licence rule), or None when it is."""
    violations = rules.check_patent_in_force(patent.legal_status, patent.expiry_date, today)
    return f"patent {patent.id}: {violations[0].message}" if violations else None


def _assignment(session: Session, org_id: int, patent_id: int) -> int | None:
    stmt = (
        select(DealContract.id)
        .join(Deal, col(Deal.id) == col(DealContract.deal_id))
        .where(
            Deal.patent_id == patent_id,
            Deal.requester_org_id == org_id,
            DealContract.contract_type == ContractType.ASSIGNMENT,
        )
        .order_by(col(DealContract.signed_on).desc())
    )
    return session.exec(stmt).first()


def _licence(
    session: Session, org_id: int, patent: Patent, basis: RightBasis, today: date
) -> Evidence:
    kind = _LICENCE_KINDS[basis]
    stmt = select(PatentLicence).where(
        PatentLicence.patent_id == patent.id,
        PatentLicence.licensee_org_id == org_id,
        PatentLicence.kind == kind,
    )
    licences = sorted(session.exec(stmt), key=lambda x: x.end_date, reverse=True)
    if not licences:
        raise RightRefused(f"your organisation holds no {kind.value} licence of patent {patent.id}")
    current = [x for x in licences if x.start_date <= today <= x.end_date]
    if current:
        return Evidence(licence_id=current[0].id)
    latest = licences[0]
    if latest.end_date < today:
        raise RightRefused(
            f"the {kind.value} licence {latest.id} of patent {patent.id} "
            f"ended on {latest.end_date.isoformat()}"
        )
    raise RightRefused(
        f"the {kind.value} licence {latest.id} of patent {patent.id} "
        f"starts on {latest.start_date.isoformat()}"
    )


def check_right(
    session: Session, org_id: int, patent: Patent, basis: RightBasis, today: date
) -> Evidence:
    """The evidence of the right; ``RightRefused`` with the reason when it does not hold."""
    problem = in_force_problem(patent, today)
    if problem is not None:
        raise RightRefused(problem)
    if basis in _LICENCE_KINDS:
        return _licence(session, org_id, patent, basis, today)
    if patent.owner_org_id != org_id:
        raise RightRefused(f"patent {patent.id} belongs to another organisation")
    if basis is RightBasis.OWNED:
        return Evidence()
    contract = _assignment(session, org_id, persisted_id(patent))
    if contract is None:
        raise RightRefused(f"no signed assignment of patent {patent.id} to your organisation")
    return Evidence(contract_id=contract)
