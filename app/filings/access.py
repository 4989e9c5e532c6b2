"""Who sees which filings: the enterprise its own, officials their jurisdiction's, admins all.

Drafts are the enterprise's own work: officials see a product once it has been submitted.
A product out of the caller's sight is answered 404, so its existence does not leak.
"""

from typing import Any

from sqlmodel import Session, col, select

from app.auth.access import government_scope, in_region_scope, narrow_scope, region_scope
from app.auth.principal import Principal, Role
from app.errors import Forbidden, NotFound
from app.filings.models import FiledProduct, FilingStatus


def sees_product(principal: Principal, product: FiledProduct) -> bool:
    """True when the caller may read the product."""
    if principal.is_admin():
        return True
    if principal.role is Role.ENTERPRISE:
        return principal.org_id is not None and principal.org_id == product.org_id
    if principal.role is Role.GOVERNMENT:
        scope = region_scope(principal)
        return product.status is not FilingStatus.DRAFT and in_region_scope(scope, product.region)
    return False


def visible_product(session: Session, principal: Principal, product_id: int) -> FiledProduct:
    """The product, or 404 when it does not exist or is not the caller's to see."""
    ensure_filing_reader(principal)
    product = session.get(FiledProduct, product_id)
    if product is None or not sees_product(principal, product):
        raise NotFound(f"filed product {product_id} does not exist")
    return product


def ensure_filing_reader(principal: Principal) -> None:
    """403 for the roles that take no part in filing (ttos, stations)."""
    if principal.role not in (Role.ADMIN, Role.ENTERPRISE, Role.GOVERNMENT):
        raise Forbidden("product filings are for enterprises, government officials and admins")


def listing(principal: Principal, region_prefix: str | None = None) -> Any:
    """The products the caller may list, optionally within a region prefix (403 outside scope)."""
    ensure_filing_reader(principal)
    stmt = select(FiledProduct)
    if principal.role is Role.ENTERPRISE:
        stmt = stmt.where(FiledProduct.org_id == (principal.org_id or -1))
    elif principal.role is Role.GOVERNMENT:
        stmt = stmt.where(FiledProduct.status != FilingStatus.DRAFT)
    scope = narrow_scope(government_scope(principal), region_prefix)
    if scope is not None:
        stmt = stmt.where(col(FiledProduct.region).startswith(scope, autoescape=True))
    return stmt
