"""Product filing writes: register, edit, cite patents, submit, review. Flushes; callers commit.

Every write appends a ``FilingEvent``, so a product's history shows who did what and when.
Rights are checked when a patent is cited, again on submission and again on approval: a
patent may lapse, or a licence end, while a filing waits.
"""

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.auth.access import owner_for_write, owning_org
from app.auth.principal import Principal, Role
from app.catalog.industry import IndustryClasses, check_industry
from app.catalog.models import Organisation, Patent
from app.db import get_or_404, persisted_id
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.filings.access import visible_product
from app.filings.models import (
    EDITABLE,
    FiledPatent,
    FiledProduct,
    FilingAction,
    FilingEvent,
    FilingStatus,
)
from app.filings.rights import RightRefused, check_right
from app.filings.schemas import Decision, PatentLinkIn, ProductCreate, ProductUpdate, ReviewIn


def record(
    session: Session,
    product: FiledProduct,
    action: FilingAction,
    before: FilingStatus | None,
    actor: Principal,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> FilingEvent:
    """Append one step to the product's history (the product already in its new status)."""
    event = FilingEvent(
        product_id=persisted_id(product),
        action=action,
        from_status=before,
        to_status=product.status,
        actor_key_id=actor.key_id,
        actor_org_id=actor.org_id,
        actor_role=actor.role.value,
        note=note,
        detail=detail or {},
    )
    session.add(event)
    return event


def create_product(
    session: Session,
    actor: Principal,
    body: ProductCreate,
    classes: IndustryClasses | None,
) -> FiledProduct:
    """A new draft product of the actor's enterprise (admins name it)."""
    org_id = owner_for_write(actor, body.org_id, Role.ENTERPRISE, "org_id")
    org = owning_org(session, org_id, Role.ENTERPRISE, "org_id")
    product = FiledProduct(
        org_id=org_id,
        name=body.name,
        category=body.category,
        industry_code=check_industry(classes, body.industry_code),
        annual_output_yuan=body.annual_output_yuan,
        region=org.region,
    )
    session.add(product)
    session.flush()
    record(session, product, FilingAction.CREATED, None, actor)
    return product


def editable_product(session: Session, actor: Principal, product_id: int) -> FiledProduct:
    """The actor's product while it may change (draft or returned); 403/404/409 otherwise."""
    if actor.role is not Role.ENTERPRISE and not actor.is_admin():
        raise Forbidden("only the enterprise (or an admin) changes its products")
    product = visible_product(session, actor, product_id)
    if product.status not in EDITABLE:
        raise Conflict(f"filed product {product_id} is {product.status.value}: it cannot change")
    return product


def update_product(
    session: Session,
    actor: Principal,
    product_id: int,
    body: ProductUpdate,
    classes: IndustryClasses | None,
    now: datetime,
) -> FiledProduct:
    """Change the set fields of a draft or returned product."""
    product = editable_product(session, actor, product_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "industry_code" in changes:
        changes["industry_code"] = check_industry(classes, changes["industry_code"])
    for name, value in changes.items():
        setattr(product, name, value)
    product.updated_at = now
    session.add(product)
    detail = {"fields": sorted(changes)}
    record(session, product, FilingAction.UPDATED, product.status, actor, detail=detail)
    return product


def _refused(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"right refused: {reason}", errors=[{"field": field, "message": reason}]
    )


def link_patent(
    session: Session, actor: Principal, product_id: int, link: PatentLinkIn, today: date
) -> FiledPatent:
    """Cite a patent with the basis of the right; 422 with the reason when it does not hold."""
    product = editable_product(session, actor, product_id)
    patent = get_or_404(session, Patent, link.patent_id, "patent")
    try:
        evidence = check_right(session, product.org_id, patent, link.basis, today)
    except RightRefused as refused:
        raise _refused("basis", refused.reason) from None
    row = _link(session, product_id, link.patent_id) or FiledPatent(
        product_id=product_id, patent_id=link.patent_id, basis=link.basis
    )
    row.basis, row.licence_id, row.contract_id = (
        link.basis,
        evidence.licence_id,
        evidence.contract_id,
    )
    session.add(row)
    detail = {"patent_id": link.patent_id, "basis": link.basis.value}
    record(session, product, FilingAction.PATENT_LINKED, product.status, actor, detail=detail)
    session.flush()
    return row


def _link(session: Session, product_id: int, patent_id: int) -> FiledPatent | None:
    stmt = select(FiledPatent).where(
        FiledPatent.product_id == product_id, FiledPatent.patent_id == patent_id
    )
    return session.exec(stmt).first()


def unlink_patent(session: Session, actor: Principal, product_id: int, patent_id: int) -> None:
    """Stop citing a patent (404 when it was not cited)."""
    product = editable_product(session, actor, product_id)
    row = _link(session, product_id, patent_id)
    if row is None:
        raise NotFound(f"patent {patent_id} is not cited by filed product {product_id}")
    session.delete(row)
    detail = {"patent_id": patent_id}
    record(session, product, FilingAction.PATENT_UNLINKED, product.status, actor, detail=detail)


def links_of(session: Session, product_id: int) -> list[tuple[FiledPatent, Patent]]:
    """The product's cited patents with their rows, by patent id."""
    stmt = (
        select(FiledPatent, Patent)
        .join(Patent, col(Patent.id) == col(FiledPatent.patent_id))
        .where(FiledPatent.product_id == product_id)
        .order_by(col(FiledPatent.patent_id))
    )
    return list(session.exec(stmt).all())


def recheck(session: Session, product: FiledProduct, today: date) -> list[dict[str, str]]:
    """The cited rights that no longer hold, as 422 errors (``patents.<patent id>``)."""
    errors: list[dict[str, str]] = []
    for link, patent in links_of(session, persisted_id(product)):
        try:
            evidence = check_right(session, product.org_id, patent, link.basis, today)
        except RightRefused as refused:
            errors.append({"field": f"patents.{link.patent_id}", "message": refused.reason})
            continue
        link.licence_id, link.contract_id = evidence.licence_id, evidence.contract_id
        session.add(link)
    return errors


def submit(
    session: Session, actor: Principal, product_id: int, today: date, now: datetime
) -> FiledProduct:
    """Send the product to its jurisdiction for review, every cited right checked again."""
    product = editable_product(session, actor, product_id)
    if not links_of(session, product_id):
        raise ValidationFailed(
            "a filing cites at least one patent",
            errors=[{"field": "patents", "message": "link the patents the product uses"}],
        )
    errors = recheck(session, product, today)
    if errors:
        reasons = "; ".join(e["message"] for e in errors)
        raise ValidationFailed(f"right refused: {reasons}", errors=errors)
    org = session.get(Organisation, product.org_id)
    before = product.status
    product.region = org.region if org is not None else product.region
    product.status, product.submitted_at, product.updated_at = FilingStatus.SUBMITTED, now, now
    session.add(product)
    record(session, product, FilingAction.SUBMITTED, before, actor)
    return product


def review(
    session: Session, actor: Principal, product_id: int, body: ReviewIn, today: date, now: datetime
) -> FiledProduct:
    """An official of the product's jurisdiction approves it or returns it with reasons."""
    if actor.role is not Role.GOVERNMENT:
        raise Forbidden("filings are reviewed by the government office of their jurisdiction")
    product = visible_product(session, actor, product_id)
    if product.status is not FilingStatus.SUBMITTED:
        raise Conflict(f"filed product {product_id} is {product.status.value}, not submitted")
    reason = (body.reason or "").strip() or None
    if body.decision is Decision.RETURN and reason is None:
        raise ValidationFailed(
            "a returned filing needs the reasons",
            errors=[{"field": "reason", "message": "say what the enterprise must change"}],
        )
    if body.decision is Decision.APPROVE:
        errors = recheck(session, product, today)
        if errors:
            reasons = "; ".join(e["message"] for e in errors)
            raise Conflict(f"cited rights no longer hold ({reasons}): return the filing instead")
    approve = body.decision is Decision.APPROVE
    product.status = FilingStatus.APPROVED if approve else FilingStatus.RETURNED
    product.reviewed_at, product.reviewer_org_id, product.review_note = now, actor.org_id, reason
    product.updated_at = now
    session.add(product)
    action = FilingAction.APPROVED if approve else FilingAction.RETURNED
    record(session, product, action, FilingStatus.SUBMITTED, actor, reason)
    return product
