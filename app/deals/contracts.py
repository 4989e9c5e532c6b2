"""Signing: record the contract and apply it to the catalog (owner, licences, conversion status).

Functions flush but do not commit: the deal transition that signs owns the transaction, so the
contract, the licence, the patent change and its index change commit together.
"""

from datetime import date

from sqlmodel import Session

from app.auth.principal import Principal, Role
from app.catalog.changes import record_change
from app.catalog.enums import ChangeOp, ConversionStatus, EntityKind
from app.catalog.models import Organisation, Patent
from app.db import persisted_id
from app.deals.models import ContractType, Deal, DealContract
from app.deals.schemas import ContractIn
from app.errors import Conflict, ValidationFailed
from app.licensing import rules
from app.licensing.models import LicenceKind, PatentLicence, PaymentMode
from app.licensing.schemas import LicenceNotice
from app.licensing.service import (
    active_declaration,
    active_licences,
    set_conversion,
    take_licence,
)
from app.types import utcnow

_LICENCE_KINDS = {
    ContractType.EXCLUSIVE_LICENCE: LicenceKind.EXCLUSIVE,
    ContractType.SOLE_LICENCE: LicenceKind.SOLE,
    ContractType.ORDINARY_LICENCE: LicenceKind.ORDINARY,
}


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"invalid contract: {message}", errors=[{"field": field, "message": message}]
    )


def _assign_patent(session: Session, patent: Patent, buyer_id: int) -> None:
    # 专利权转让: the buyer becomes the sole patentee and the owning organisation.
    buyer = session.get(Organisation, buyer_id)
    # Foreign keys guarantee both.
    assert buyer is not None
    patent_id = persisted_id(patent)
    patent.patentees = [buyer.name]
    patent.owner_org_id = buyer_id
    patent.conversion_status = ConversionStatus.TRANSFERRED
    patent.updated_at = utcnow()
    session.add(patent)
    record_change(session, EntityKind.PATENT, patent_id, ChangeOp.UPSERT)


def _check_licensable(session: Session, patent: Patent, kind: LicenceKind, start: date) -> None:
    patent_id = persisted_id(patent)
    spans = [
        rules.LicenceSpan(x.kind, x.end_date) for x in active_licences(session, patent_id, start)
    ]
    blocking = rules.blocking_licence(spans, start)
    if blocking is not None:
        raise Conflict(
            f"patent {patent_id} has an active {blocking.kind.value} licence until "
            f"{blocking.end_date.isoformat()}"
        )
    exclusive = kind in (LicenceKind.EXCLUSIVE, LicenceKind.SOLE)
    if exclusive and active_declaration(session, patent_id) is not None:
        raise Conflict(
            f"patent {patent_id} has an active open-licence declaration; withdraw it before "
            f"granting a {kind.value} licence"
        )


def _grant_licence(
    session: Session, patent: Patent, deal: Deal, data: ContractIn, signed_on: date
) -> PatentLicence:
    kind = _LICENCE_KINDS[data.contract_type]
    end = data.licence_end or patent.expiry_date
    if end is None:
        raise _invalid("contract.licence_end", "the patent has no expiry date; give licence_end")
    if end < signed_on:
        raise _invalid("contract.licence_end", "the licence would end before it is signed")
    _check_licensable(session, patent, kind, signed_on)
    patent_id = persisted_id(patent)
    licence = PatentLicence(
        patent_id=patent_id,
        kind=kind,
        licensee_org_id=deal.requester_org_id,
        start_date=signed_on,
        end_date=end,
        payment_mode=PaymentMode.LUMP_SUM if data.amount_yuan else None,
        fee_yuan=data.amount_yuan,
        intended_use=deal.message,
    )
    session.add(licence)
    if patent.conversion_status is not ConversionStatus.OPEN_LICENCE:
        set_conversion(session, patent, ConversionStatus.LICENSED)
    return licence


def _take_open_licence(
    session: Session, patent: Patent, deal: Deal, actor: Principal, today: date
) -> PatentLicence:
    patent_id = persisted_id(patent)
    declaration = active_declaration(session, patent_id)
    if declaration is None or declaration.id is None:
        raise Conflict(f"patent {patent_id} has no active open-licence declaration")
    # The licence is taken in the requesting enterprise's name, by the licensing rules.
    licensee = Principal(key_id=actor.key_id, org_id=deal.requester_org_id, role=Role.ENTERPRISE)
    notice = LicenceNotice(intended_use=deal.message or f"deal {deal.id}", start_date=today)
    return take_licence(session, licensee, declaration.id, notice, today=today)


def record_contract(
    session: Session, deal: Deal, data: ContractIn, actor: Principal, today: date
) -> DealContract:
    """Record the signed contract of ``deal`` and apply it to the patent."""
    signed_on = data.signed_on or today
    if signed_on > today:
        raise _invalid("contract.signed_on", "the signing date may not be in the future")
    patent = session.get(Patent, deal.patent_id) if deal.patent_id is not None else None
    if patent is None:
        raise _invalid("contract", "this deal names no patent to assign or license")
    licence: PatentLicence | None = None
    if data.contract_type is ContractType.ASSIGNMENT:
        _assign_patent(session, patent, deal.requester_org_id)
    elif data.contract_type is ContractType.OPEN_LICENCE:
        licence = _take_open_licence(session, patent, deal, actor, today)
    else:
        licence = _grant_licence(session, patent, deal, data, signed_on)
    session.flush()
    deal_id = persisted_id(deal)
    contract = DealContract(
        deal_id=deal_id,
        contract_type=data.contract_type,
        amount_yuan=data.amount_yuan,
        registration_number=(data.registration_number or "").strip() or None,
        signed_on=signed_on,
        licence_end=licence.end_date if licence else None,
        patent_licence_id=licence.id if licence else None,
    )
    session.add(contract)
    return contract
