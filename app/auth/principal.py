"""Who is calling: the organisation, role (and a government office's jurisdiction) behind a key."""

from dataclasses import dataclass
from enum import StrEnum

from app.catalog.region import RegionPrefix


class Role(StrEnum):
    """API roles."""

    ENTERPRISE = "enterprise"
    TTO = "tto"  # tech-transfer office of a university or institute (技术转移机构)
    STATION = "station"  # service station / broker (知识产权服务站)
    ADMIN = "admin"
    # An official of a government office (市场监管局 …): reads its jurisdiction, writes no catalog.
    GOVERNMENT = "government"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    key_id: int
    org_id: int | None  # admins may have no organisation
    role: Role
    # GB/T 2260 prefix (2 digits: province, 4: city, 6: county) a government caller oversees;
    # None for every other role. Derived from the organisation's region by ``jurisdiction_of``.
    jurisdiction: str | None = None

    def is_admin(self) -> bool:
        """True for platform administrators."""
        return self.role is Role.ADMIN


def jurisdiction_of(role: Role, region: str | None) -> str | None:
    """The GB/T 2260 prefix a caller of ``role`` from an organisation in ``region`` oversees.

    Only government offices have one: their organisation's region with the trailing "00"
    pairs stripped (330000 → 33 province, 330100 → 3301 city, 330106 → 330106 county).
    Every other role (and an office with no region) gets None.
    """
    if role is not Role.GOVERNMENT or not region:
        return None
    return RegionPrefix.parse(region).digits
