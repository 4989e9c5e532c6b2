"""Who may read, edit and decide on chains; the one place the chain rules of access live.

Chains are public configuration: every caller reads them. Editing a chain is for admins.
A tag is decided (confirmed or removed) by admins and by the tech-transfer office that owns
the tagged patent.
"""

from sqlmodel import Session

from app.auth.principal import Principal, Role
from app.catalog.models import Patent
from app.chains.models import ChainTag, IndustryChain, TagEntity
from app.errors import Forbidden


def read_scope(principal: Principal) -> str | None:
    """The region prefix whose chains the caller reads (None: every region)."""
    del principal  # every role reads every chain until jurisdictions narrow it
    return None


def ensure_may_read(principal: Principal, chain: IndustryChain) -> None:
    """403 unless the caller reads this chain's region."""
    scope = read_scope(principal)
    if scope is not None and not chain.owner_region.startswith(scope):
        raise Forbidden(f"chain {chain.id} belongs to another region")


def ensure_may_edit(principal: Principal, owner_region: str) -> None:
    """403 unless the caller may create, change or delete a chain of ``owner_region``."""
    del owner_region
    if not principal.is_admin():
        raise Forbidden("only admins may edit industry chains")


def ensure_may_decide(session: Session, principal: Principal, tag: ChainTag) -> None:
    """403 unless the caller may confirm or remove ``tag``."""
    if principal.is_admin():
        return
    if principal.role is Role.TTO and tag.entity is TagEntity.PATENT:
        patent = session.get(Patent, tag.entity_id)
        if patent is not None and patent.owner_org_id == principal.org_id:
            return
    raise Forbidden("only admins and the patent's owner may decide on this tag")
