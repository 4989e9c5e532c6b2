"""The dashboard and administration tests' part of the browser site: a platform admin, an
admin API key (to read the figures API), the figure world, and two organisations that were
registered twice before names had to be unique."""

from dataclasses import dataclass

from sqlmodel import Session

from app.accounts import service
from app.auth.keys import create_key
from app.auth.principal import Role
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.console.identity import invite
from app.settings import Settings
from tests.dash_support import seed_figures

ADMIN_EMAIL = "root@example.cn"


@dataclass(frozen=True)
class DashSeed:
    """The platform admin's e-mail, an admin API key, and the duplicate pair (kept, twin)."""

    admin_email: str
    admin_key: str
    kept_id: int
    twin_id: int


def seed_dash(session: Session, settings: Settings, password: str) -> DashSeed:
    """Write the dashboard's records (flushed; the caller commits)."""
    made = invite(session, settings, org_id=None, email=ADMIN_EMAIL, display_name="平台管理员",
                  is_org_admin=False, actor=None)  # fmt: skip
    service.redeem_token(session, made.token, password, settings)
    _key, secret = create_key(session, role=Role.ADMIN, org_id=None, label="figures check")
    seed_figures(session)
    kept = Organisation(kind=OrgKind.RESEARCH_INSTITUTE, name="示例新材料研究院", region="330108")
    twin = Organisation(kind=OrgKind.RESEARCH_INSTITUTE, name="示例新材料研究院 ", region="330108")
    session.add_all([kept, twin])
    session.flush()
    assert kept.id is not None
    assert twin.id is not None
    return DashSeed(ADMIN_EMAIL, secret, kept.id, twin.id)
