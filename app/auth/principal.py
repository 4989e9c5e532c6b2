"""Who is calling: the organisation and role behind an API key."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """API roles."""

    ENTERPRISE = "enterprise"
    TTO = "tto"  # tech-transfer office of a university or institute (技术转移机构)
    STATION = "station"  # service station / broker (知识产权服务站)
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    key_id: int
    org_id: int | None  # admins may have no organisation
    role: Role

    def is_admin(self) -> bool:
        """True for platform administrators."""
        return self.role is Role.ADMIN
