"""Open-licence workflow: declare, withdraw, read a declaration, take a licence.

Functions flush but do not commit: the caller (an API route, a CLI command) owns the
transaction, so the conversion-status change and its index change commit together.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.auth.principal import Principal, Role
from app.catalog.changes import record_change
from app.catalog.enums import ChangeOp, ConversionStatus, EntityKind
from app.catalog.models import Patent
from app.db import get_or_404, persisted_id
from app.errors import Conflict, Forbidden, ValidationFailed
from app.licensing import rules
from app.licensing.models import (
    DeclarationStatus,
    LicenceKind,
    OpenLicenceDeclaration,
    PatentLicence,
)
from app.licensing.schemas import DeclarationCreate, LicenceNotice
from app.types import utcnow


def today_utc() -> date:
    """Today's date in UTC, the reference for terms and licence activity."""
    return datetime.now(UTC).date()


def require_tto_of(principal: Principal, org_id: int | None, denial: str) -> None:
    """403 with ``denial`` unless the caller is an admin or organisation ``org_id``'s tto."""
    if principal.is_admin():
        return
    if principal.role is not Role.TTO or principal.org_id != org_id:
        raise Forbidden(denial)


def _require_owner(principal: Principal, patent: Patent) -> None:
    # Only the owning organisation's tech-transfer office (or an admin) speaks for the patentee.
    denial = f"only the owner's tto or an admin may manage patent {patent.id}"
    require_tto_of(principal, patent.owner_org_id, denial)


def active_licences(session: Session, patent_id: int, today: date) -> list[PatentLicence]:
    """Licences on the patent whose end date has not passed."""
    stmt = select(PatentLicence).where(
        PatentLicence.patent_id == patent_id, PatentLicence.end_date >= today
    )
    return list(session.exec(stmt))


def active_declaration(session: Session, patent_id: int) -> OpenLicenceDeclaration | None:
    """The patent's active declaration, if any."""
    stmt = select(OpenLicenceDeclaration).where(
        OpenLicenceDeclaration.patent_id == patent_id,
        OpenLicenceDeclaration.status == DeclarationStatus.ACTIVE,
    )
    return session.exec(stmt).first()


def active_declarations(
    session: Session, patent_ids: Sequence[int]
) -> dict[int, OpenLicenceDeclaration]:
    """The active declaration of each of the patents that has one, by patent id (one query)."""
    stmt = select(OpenLicenceDeclaration).where(
        col(OpenLicenceDeclaration.patent_id).in_(patent_ids),
        OpenLicenceDeclaration.status == DeclarationStatus.ACTIVE,
    )
    # A unique index allows one active declaration per patent.
    return {d.patent_id: d for d in session.exec(stmt)}


def set_conversion(session: Session, patent: Patent, status: ConversionStatus) -> None:
    """Set the patent's conversion status, logging a change for the index when it changes."""
    # The search index filters on conversion status, so every change goes to the change log.
    if patent.conversion_status is status:
        return
    patent_id = persisted_id(patent)
    patent.conversion_status = status
    patent.updated_at = utcnow()
    session.add(patent)
    record_change(session, EntityKind.PATENT, patent_id, ChangeOp.UPSERT)


def _check_declaration(patent: Patent, request: DeclarationCreate, today: date) -> None:
    violations = rules.check_patent_in_force(patent.legal_status, patent.expiry_date, today)
    violations += rules.check_payment_terms(
        request.payment_mode, request.fee_yuan, request.royalty_rate_percent
    )
    violations += rules.check_term(request.term_years, today, patent.expiry_date)
    violations += rules.check_notice_contact(
        request.contact_name, request.contact_phone, request.contact_email
    )
    if violations:
        raise ValidationFailed(
            f"the declaration for patent {patent.id} breaks the open-licence rules",
            errors=[v.as_error() for v in violations],
        )


def _ensure_declarable(session: Session, patent_id: int, today: date) -> None:
    spans = [
        rules.LicenceSpan(x.kind, x.end_date) for x in active_licences(session, patent_id, today)
    ]
    blocking = rules.blocking_licence(spans, today)
    if blocking is not None:
        raise Conflict(
            f"patent {patent_id} has an active {blocking.kind.value} licence until "
            f"{blocking.end_date.isoformat()}; it cannot be openly licensed"
        )
    if active_declaration(session, patent_id) is not None:
        raise Conflict(f"patent {patent_id} already has an active open-licence declaration")


def _new_declaration(
    patent_id: int, org_id: int | None, request: DeclarationCreate
) -> OpenLicenceDeclaration:
    rate = request.royalty_rate_percent
    return OpenLicenceDeclaration(
        patent_id=patent_id,
        declared_by_org_id=org_id,
        payment_mode=request.payment_mode,
        fee_yuan=request.fee_yuan,
        royalty_rate_bp=None if rate is None else rules.percent_to_bp(rate),
        term_years=request.term_years,
        contact_name=request.contact_name.strip(),
        contact_phone=(request.contact_phone or "").strip() or None,
        contact_email=(request.contact_email or "").strip() or None,
        other_terms=request.other_terms,
    )


def declare(
    session: Session,
    principal: Principal,
    patent_id: int,
    request: DeclarationCreate,
    today: date | None = None,
) -> OpenLicenceDeclaration:
    """Record an open-licence declaration and mark the patent open_licence."""
    today = today or today_utc()
    patent = get_or_404(session, Patent, patent_id, "patent")
    _require_owner(principal, patent)
    _check_declaration(patent, request, today)
    _ensure_declarable(session, patent_id, today)
    declaration = _new_declaration(patent_id, principal.org_id, request)
    session.add(declaration)
    set_conversion(session, patent, ConversionStatus.OPEN_LICENCE)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent declaration won the race to the one-active-per-patent index.
        session.rollback()
        raise Conflict(
            f"patent {patent_id} already has an active open-licence declaration"
        ) from None
    return declaration


def get_declaration(session: Session, declaration_id: int) -> OpenLicenceDeclaration:
    """A declaration by id (withdrawn ones stay readable)."""
    return get_or_404(session, OpenLicenceDeclaration, declaration_id, "open-licence declaration")


def withdraw(
    session: Session,
    principal: Principal,
    declaration_id: int,
    reason: str,
    today: date | None = None,
) -> OpenLicenceDeclaration:
    """Withdraw a declaration; licences already granted stay valid."""
    today = today or today_utc()
    declaration = get_declaration(session, declaration_id)
    patent = get_or_404(session, Patent, declaration.patent_id, "patent")
    _require_owner(principal, patent)
    if declaration.status is DeclarationStatus.WITHDRAWN:
        raise Conflict(f"declaration {declaration_id} was already withdrawn")
    declaration.status = DeclarationStatus.WITHDRAWN
    declaration.withdrawn_at = utcnow()
    declaration.withdrawal_reason = reason.strip()
    session.add(declaration)
    licensed = bool(active_licences(session, declaration.patent_id, today))
    set_conversion(
        session, patent, ConversionStatus.LICENSED if licensed else ConversionStatus.IDLE
    )
    session.flush()
    return declaration


def _require_licensee(principal: Principal) -> int:
    if principal.role is not Role.ENTERPRISE or principal.org_id is None:
        raise Forbidden("only an enterprise may take an open licence, in its own name")
    return principal.org_id


def _licence_start(
    session: Session, declaration: OpenLicenceDeclaration, notice: LicenceNotice, today: date
) -> tuple[Patent, date]:
    if declaration.status is not DeclarationStatus.ACTIVE:
        raise Conflict(f"declaration {declaration.id} was withdrawn; no new licences")
    patent = get_or_404(session, Patent, declaration.patent_id, "patent")
    lapsed = rules.check_patent_in_force(patent.legal_status, patent.expiry_date, today)
    if lapsed:
        raise Conflict(f"patent {patent.id} is no longer in force: {lapsed[0].message}")
    start = notice.start_date or today
    violations = rules.check_licence_start(start, today, patent.expiry_date)
    if violations:
        raise ValidationFailed(
            "the licence cannot start then", errors=[v.as_error() for v in violations]
        )
    return patent, start


def _ensure_not_held(session: Session, declaration_id: int, licensee: int, today: date) -> None:
    held = select(PatentLicence.id).where(
        PatentLicence.declaration_id == declaration_id,
        PatentLicence.licensee_org_id == licensee,
        PatentLicence.end_date >= today,
    )
    if session.exec(held).first() is not None:
        raise Conflict(
            f"organisation {licensee} already holds a licence under open-licence declaration "
            f"{declaration_id}"
        )


def take_licence(
    session: Session,
    principal: Principal,
    declaration_id: int,
    notice: LicenceNotice,
    today: date | None = None,
) -> PatentLicence:
    """Record the ordinary licence an enterprise obtains by written notice (书面通知)."""
    today = today or today_utc()
    licensee = _require_licensee(principal)
    declaration = get_declaration(session, declaration_id)
    patent, start = _licence_start(session, declaration, notice, today)
    _ensure_not_held(session, declaration_id, licensee, today)
    licence = PatentLicence(
        patent_id=declaration.patent_id,
        kind=LicenceKind.OPEN,
        licensee_org_id=licensee,
        start_date=start,
        end_date=rules.licence_end_date(start, declaration.term_years, patent.expiry_date),
        payment_mode=declaration.payment_mode,
        fee_yuan=declaration.fee_yuan,
        royalty_rate_bp=declaration.royalty_rate_bp,
        declaration_id=declaration_id,
        intended_use=notice.intended_use.strip(),
    )
    session.add(licence)
    # Increment in SQL so that concurrent notices do not lose counts.
    session.execute(
        sa.update(OpenLicenceDeclaration)
        .where(col(OpenLicenceDeclaration.id) == declaration_id)
        .values(licence_count=col(OpenLicenceDeclaration.licence_count) + 1)
    )
    session.flush()
    session.refresh(declaration)
    return licence
