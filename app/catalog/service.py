"""Catalog writes: organisations, patents, needs. Functions flush, never commit; callers commit.

Access is decided by the caller (``app.auth.access``); these functions keep the catalog's own
rules, log every write for the index (``record_change``) and run the reactions the app
registered (``CatalogHooks``) instead of importing the features built on the catalog.
"""

import unicodedata
from typing import Any

from sqlmodel import Session, select

from app.catalog.changes import record_change
from app.catalog.codes import clean_coverage, clean_industry, clean_region, clean_uscc
from app.catalog.enums import ChangeOp, EntityKind, NeedStatus, OrgKind
from app.catalog.hooks import CatalogHooks
from app.catalog.models import Organisation, Patent, TechNeed
from app.catalog.patent_input import apply_update, new_patent
from app.catalog.schemas.needs import NeedCreate, NeedUpdate
from app.catalog.schemas.orgs import OrgCreate, OrgUpdate
from app.catalog.schemas.patents import PatentCreate
from app.db import persisted_id
from app.errors import Conflict, ValidationFailed
from app.types import utcnow


def _ensure_unique_uscc(session: Session, uscc: str | None, org_id: int | None) -> None:
    if uscc is None:
        return
    found = session.exec(select(Organisation).where(Organisation.uscc == uscc)).first()
    if found is not None and found.id != org_id:
        raise Conflict(f"organisation {found.id} already has USCC {uscc}")


def name_key(name: str) -> str:
    """How organisation names compare: NFKC (full-width to half-width), no case, no spaces."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def _ensure_unique_name(session: Session, name: str, org_id: int | None) -> None:
    # Names are compared in their normalised form, so "示例（中国）" and "示例(中国)" collide;
    # SQL cannot normalise, and organisations number thousands, not millions.
    key = name_key(name)
    for other_id, other in session.exec(select(Organisation.id, Organisation.name)):
        if other_id != org_id and name_key(other) == key:
            raise Conflict(
                f"organisation {other_id} is already named {other!r}",
                extra={"existing_org_id": other_id},
            )


def check_org_region(kind: OrgKind, region: str | None) -> None:
    """422 when a government office has no region: its region is the jurisdiction it oversees."""
    if kind is OrgKind.GOVERNMENT and not region:
        raise ValidationFailed(
            "a government organisation needs its region",
            errors=[{"field": "region", "message": "the GB/T 2260 code of its jurisdiction"}],
        )


def create_org(session: Session, body: OrgCreate) -> Organisation:
    """A new organisation with validated codes; 409 when its name or USCC is taken."""
    fields = body.model_dump()
    fields["region"] = clean_region(body.region)
    check_org_region(body.kind, fields["region"])
    fields["uscc"] = clean_uscc(body.uscc)
    fields["coverage_regions"], fields["coverage_industries"] = clean_coverage(
        body.coverage_regions, body.coverage_industries
    )
    _ensure_unique_uscc(session, fields["uscc"], None)
    _ensure_unique_name(session, body.name, None)
    org = Organisation.model_validate(fields)
    session.add(org)
    session.flush()
    return org


def update_org(session: Session, org: Organisation, body: OrgUpdate) -> Organisation:
    """Apply the set fields of an update; omitted fields stay, null coverage empties it."""
    changes = body.model_dump(exclude_unset=True)
    if "region" in changes:
        changes["region"] = clean_region(changes["region"])
        check_org_region(org.kind, changes["region"])
    if "uscc" in changes:
        changes["uscc"] = clean_uscc(changes["uscc"])
    for name in ("name", "kind", "coverage_regions", "coverage_industries"):
        if name in changes and changes[name] is None:
            changes[name] = [] if name.startswith("coverage") else getattr(org, name)
    regions, industries = clean_coverage(
        changes.get("coverage_regions") or [], changes.get("coverage_industries") or []
    )
    for name, value in (("coverage_regions", regions), ("coverage_industries", industries)):
        if name in changes:
            changes[name] = value
    _ensure_unique_uscc(session, changes.get("uscc"), org.id)
    if changes.get("name") is not None and changes["name"] != org.name:
        _ensure_unique_name(session, changes["name"], org.id)
    for name, value in changes.items():
        setattr(org, name, value)
    session.add(org)
    session.flush()
    return org


def _save_patent(session: Session, patent: Patent) -> Patent:
    session.add(patent)
    session.flush()
    record_change(session, EntityKind.PATENT, persisted_id(patent), ChangeOp.UPSERT)
    return patent


def create_patent(session: Session, body: PatentCreate, owner_org_id: int) -> Patent:
    """A new patent of ``owner_org_id``; 409 when its application number exists."""
    patent = new_patent(body, owner_org_id)
    stmt = select(Patent).where(Patent.natural_key == patent.natural_key)
    existing = session.exec(stmt).first()
    if existing is not None:
        raise Conflict(
            f"application number {patent.application_number} already exists as patent {existing.id}"
        )
    return _save_patent(session, patent)


def update_patent(
    session: Session, patent: Patent, changes: dict[str, Any], hooks: CatalogHooks
) -> Patent:
    """Apply the set fields of an update, re-validating and re-deriving."""
    declared = hooks.open_licence_declared(session, persisted_id(patent))
    apply_update(patent, changes, declared=declared)
    return _save_patent(session, patent)


def delete_patent(session: Session, patent: Patent, hooks: CatalogHooks) -> None:
    """Delete a patent; 409 when records that must keep it refer to it."""
    patent_id = persisted_id(patent)
    found = [name for guard in hooks.delete_guards for name in guard(session, patent_id)]
    if found:
        raise Conflict(
            f"patent {patent_id} has {' and '.join(found)} on record and cannot be deleted; "
            "update its legal_status instead (e.g. lapsed or withdrawn)"
        )
    for react in hooks.before_patent_delete:
        react(session, patent_id)
    record_change(session, EntityKind.PATENT, patent_id, ChangeOp.DELETE)
    session.delete(patent)
    session.flush()


def _check_budget(need: TechNeed) -> None:
    low, high = need.budget_min, need.budget_max
    if low is not None and high is not None and low > high:
        raise ValidationFailed(
            "budget range is inverted",
            errors=[{"field": "budget_min", "message": "must not exceed budget_max"}],
        )


def _save_need(session: Session, need: TechNeed) -> TechNeed:
    _check_budget(need)
    need.updated_at = utcnow()
    session.add(need)
    session.flush()
    record_change(session, EntityKind.NEED, persisted_id(need), ChangeOp.UPSERT)
    return need


def create_need(session: Session, body: NeedCreate, org_id: int) -> TechNeed:
    """A new draft need of enterprise ``org_id``; 409 when its external ref exists."""
    if body.external_ref is not None:
        stmt = select(TechNeed).where(
            TechNeed.org_id == org_id, TechNeed.external_ref == body.external_ref
        )
        if session.exec(stmt).first() is not None:
            raise Conflict(f"a need with external_ref {body.external_ref!r} already exists")
    fields = body.model_dump(exclude={"org_id"})
    fields["description"] = fields["description"] or ""
    fields["region"] = clean_region(body.region)
    fields["industry_code"] = clean_industry(body.industry_code)
    fields["cooperation_modes"] = [m.value for m in body.cooperation_modes or []]
    return _save_need(session, TechNeed(**fields, org_id=org_id))


def update_need(session: Session, need: TechNeed, body: NeedUpdate) -> TechNeed:
    """Apply the set fields of an update; omitted fields stay."""
    changes = body.model_dump(exclude_unset=True)
    if "cooperation_modes" in changes:
        changes["cooperation_modes"] = [m.value for m in body.cooperation_modes or []]
    if "title" in changes and changes["title"] is None:
        raise ValidationFailed("title is required", errors=[{"field": "title", "message": "null"}])
    if "region" in changes:
        changes["region"] = clean_region(changes["region"])
    if "industry_code" in changes:
        changes["industry_code"] = clean_industry(changes["industry_code"])
    if "description" in changes:
        changes["description"] = changes["description"] or ""
    for name, value in changes.items():
        setattr(need, name, value)
    return _save_need(session, need)


def _move_need(session: Session, need: TechNeed, target: NeedStatus) -> TechNeed:
    if need.status is NeedStatus.CLOSED:
        raise Conflict(f"need {need.id} is closed")
    if need.status is target:
        raise Conflict(f"need {need.id} is already {target.value}")
    need.status = target
    if target is NeedStatus.PUBLISHED:
        need.published_at = utcnow()
    return _save_need(session, need)


def publish_need(session: Session, need: TechNeed) -> TechNeed:
    """Draft → published (发布): visible to everyone and matchable; 409 if closed or published."""
    return _move_need(session, need, NeedStatus.PUBLISHED)


def close_need(session: Session, need: TechNeed) -> TechNeed:
    """Draft or published → closed (关闭): no longer matchable; 409 if already closed."""
    return _move_need(session, need, NeedStatus.CLOSED)


def delete_need(session: Session, need: TechNeed) -> None:
    """Delete a need (it leaves the index with the change log)."""
    record_change(session, EntityKind.NEED, persisted_id(need), ChangeOp.DELETE)
    session.delete(need)
    session.flush()
