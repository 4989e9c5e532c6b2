"""Who may see and write what: the access rules in one place."""

from sqlmodel import Session

from app.auth.keys import ROLE_KINDS
from app.auth.principal import Principal, Role
from app.catalog.enums import NeedStatus
from app.catalog.models import Organisation, Patent, TechNeed
from app.catalog.region import RegionPrefix
from app.db import get_or_404
from app.errors import Forbidden, NotFound, ValidationFailed


def region_scope(principal: Principal) -> str | None:
    """The regions whose figures, pools, chains and filings the caller may read.

    None means every region (platform admins); a government official gets the GB/T 2260
    prefix of their office's jurisdiction; every other role is refused (403).
    """
    if principal.is_admin():
        return None
    if principal.role is Role.GOVERNMENT:
        if not principal.jurisdiction:
            # An office without a region must not fall through to "every region".
            raise Forbidden("your government organisation has no region (jurisdiction)")
        return principal.jurisdiction
    raise Forbidden("only government officials of a jurisdiction (and admins) may read this")


def in_region_scope(scope: str | None, region: str | None) -> bool:
    """True when ``region`` (a six-digit code, or None) lies in ``scope`` (None: everywhere)."""
    if scope is None:
        return True
    return bool(region) and str(region).startswith(scope)


def government_scope(principal: Principal) -> str | None:
    """The jurisdiction of a government caller; None for the roles whose reads are not regional."""
    return region_scope(principal) if principal.role is Role.GOVERNMENT else None


def narrow_scope(scope: str | None, requested: str | None) -> str | None:
    """The region a read covers: the ``requested`` prefix, which must lie within ``scope``.

    No request keeps the scope; a prefix outside it (another city, or the whole province
    asked for by a city official) is refused with 403.
    """
    if requested is None:
        return scope
    prefix = RegionPrefix.parse(requested).digits
    if scope is not None and not prefix.startswith(scope):
        raise Forbidden(f"region {prefix} lies outside your jurisdiction {scope}")
    return prefix


def get_readable_patent(session: Session, principal: Principal, patent_id: int) -> Patent:
    """The patent, or 404 when it does not exist or lies outside a government caller's scope."""
    patent = session.get(Patent, patent_id)
    scope = government_scope(principal)
    if patent is not None and scope is not None:
        owner = session.get(Organisation, patent.owner_org_id) if patent.owner_org_id else None
        if not in_region_scope(scope, owner.region if owner else None):
            patent = None
    if patent is None:
        raise NotFound(f"patent {patent_id} does not exist")
    return patent


def sees_private(principal: Principal, org_id: int | None) -> bool:
    """True when the caller may see the private contact fields of organisation ``org_id``."""
    return principal.is_admin() or (org_id is not None and principal.org_id == org_id)


def ensure_owner(principal: Principal, org_id: int | None, what: str) -> None:
    """403 unless the caller is admin or belongs to the owning organisation."""
    if principal.is_admin():
        return
    if org_id is None or principal.org_id != org_id:
        raise Forbidden(f"{what} belongs to another organisation")


def owner_for_write(
    principal: Principal, requested: int | None, role: Role, owner_field: str = "owner_org_id"
) -> int:
    """The organisation a new record is written for: admins choose, others get their own."""
    if principal.is_admin():
        if requested is None:
            # Admins have no organisation of their own to default to.
            raise ValidationFailed(
                "an admin must name the owning organisation",
                errors=[{"field": owner_field, "message": "required when an admin writes"}],
            )
        return requested
    if principal.role is not role:
        raise Forbidden(f"only {role.value} organisations (or admins) may do this")
    if principal.org_id is None:
        raise Forbidden("this API key belongs to no organisation")
    if requested is not None and requested != principal.org_id:
        raise Forbidden("you may only write records of your own organisation")
    return principal.org_id


def need_visible(principal: Principal, need: TechNeed) -> bool:
    """Drafts are visible only to their enterprise and admins; other needs to everyone."""
    return need.status is not NeedStatus.DRAFT or sees_private(principal, need.org_id)


def get_visible_need(session: Session, principal: Principal, need_id: int) -> TechNeed:
    """The need, or 404 when it does not exist or is a draft of another organisation."""
    need = session.get(TechNeed, need_id)
    if need is None or not need_visible(principal, need):
        raise NotFound(f"need {need_id} does not exist")
    return need


def owning_org(session: Session, org_id: int, role: Role, field: str) -> Organisation:
    """The organisation a record is written for: 404 if missing, 422 if of the wrong kind.

    Admins name owners freely; a patent owned by an enterprise (or a need posted for a
    university) would break the roles that act on it later.
    """
    org = get_or_404(session, Organisation, org_id, "organisation")
    kinds = ROLE_KINDS[role]
    if org.kind not in kinds:
        names = " or ".join(sorted(k.value for k in kinds))
        raise ValidationFailed(
            f"organisation {org_id} cannot own this record",
            errors=[{"field": field, "message": f"is a {org.kind.value}, expected {names}"}],
        )
    return org
