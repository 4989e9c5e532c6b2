"""Who may read, edit and decide on chains; the one place the chain rules of access live.

Chains are public configuration: every caller reads them, except that a government official
reads the chains of their jurisdiction only (a chain of another city is a 403). Editing a
chain is for admins and for the officials of a jurisdiction covering the chain's region. A
tag is decided (confirmed or removed) by admins, by the officials whose jurisdiction covers
the chain, and by the tech-transfer office that owns the tagged patent.
"""

from sqlmodel import Session

from app.auth.access import government_scope, in_region_scope
from app.auth.principal import Principal, Role
from app.catalog.models import Patent
from app.chains.models import ChainTag, IndustryChain, TagEntity
from app.errors import Forbidden


def read_scope(principal: Principal) -> str | None:
    """The region prefix whose chains the caller reads (None: every region)."""
    return government_scope(principal)


def ensure_may_read(principal: Principal, chain: IndustryChain) -> None:
    """403 unless the caller reads this chain's region."""
    if not in_region_scope(read_scope(principal), chain.owner_region):
        raise Forbidden(f"chain {chain.id} belongs to a region outside your jurisdiction")


def _official_of(principal: Principal, owner_region: str) -> bool:
    """A government official whose jurisdiction covers ``owner_region``."""
    return principal.role is Role.GOVERNMENT and in_region_scope(
        government_scope(principal), owner_region
    )


def ensure_may_edit(principal: Principal, owner_region: str) -> None:
    """403 unless the caller may create, change or delete a chain of ``owner_region``."""
    if not (principal.is_admin() or _official_of(principal, owner_region)):
        raise Forbidden("only admins and the officials of the chain's region may edit chains")


def may_decide(session: Session, principal: Principal, tag: ChainTag) -> bool:
    """Whether the caller may confirm or remove ``tag``."""
    if principal.is_admin():
        return True
    if principal.role is Role.GOVERNMENT:
        chain = session.get(IndustryChain, tag.chain_id)
        return chain is not None and _official_of(principal, chain.owner_region)
    if principal.role is Role.TTO and tag.entity is TagEntity.PATENT:
        patent = session.get(Patent, tag.entity_id)
        return patent is not None and patent.owner_org_id == principal.org_id
    return False


def ensure_may_decide(session: Session, principal: Principal, tag: ChainTag) -> None:
    """403 unless the caller may confirm or remove ``tag``."""
    if not may_decide(session, principal, tag):
        raise Forbidden("only admins, the chain's officials and the patent's owner may decide")
