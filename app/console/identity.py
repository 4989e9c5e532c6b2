"""Creating people together with the API key they act through, and organisations' first admins.

The accounts kernel knows nothing of API keys; this is where the two meet.
"""

from dataclasses import dataclass

from sqlmodel import Session

from app.accounts import audit, service
from app.accounts.models import TokenPurpose, UserAccount
from app.auth.keys import ROLE_KINDS, create_key, revoke_key
from app.auth.principal import Role
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.catalog.service import check_org_region
from app.console.forms import clean_region
from app.errors import NotFound, ValidationFailed
from app.settings import Settings


def role_for(org: Organisation | None) -> Role:
    """The API role of an organisation's people (platform admins: admin)."""
    if org is None:
        return Role.ADMIN
    for role, kinds in ROLE_KINDS.items():
        if org.kind in kinds:
            return role
    raise ValidationFailed(
        "no console role for this organisation",
        errors=[{"field": "org", "message": f"{org.kind.value} organisations have no role yet"}],
    )


@dataclass(frozen=True)
class Invitation:
    """A new user and the one-time link token that lets them set a password."""

    user: UserAccount
    token: str


def invite(
    session: Session,
    settings: Settings,
    *,
    org_id: int | None,
    email: str,
    display_name: str,
    is_org_admin: bool,
    actor: UserAccount | None,
) -> Invitation:
    """Create a user of ``org_id`` (None: platform admin) with an actor key and an invite link."""
    org = session.get(Organisation, org_id) if org_id is not None else None
    if org_id is not None and org is None:
        raise NotFound(f"organisation {org_id} does not exist")
    role = role_for(org)
    email_value = service.normalise_email(email)
    key, _secret = create_key(session, role=role, org_id=org_id, label=f"console: {email_value}")
    new = service.NewUser(email_value, display_name, role.value, org_id, is_org_admin)
    user = service.create_user(session, new, actor=actor, actor_key_id=key.id)
    token = service.issue_token(session, user, TokenPurpose.INVITE, settings, actor=actor)
    return Invitation(user, token)


def deactivate(session: Session, actor: UserAccount, user_id: int) -> UserAccount:
    """Deactivate a colleague, end their sessions and revoke their actor key."""
    user = service.manageable_user(session, actor, user_id)
    service.deactivate(session, actor, user)
    if user.actor_key_id is not None:
        revoke_key(session, user.actor_key_id)
    return user


def create_api_key(
    session: Session, actor: UserAccount, label: str, expires_days: int | None
) -> tuple[int, str]:
    """An integration key of the actor's organisation and role; the secret is shown once."""
    org = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
    key, secret = create_key(
        session,
        role=role_for(org),
        org_id=actor.org_id,
        label=label or None,
        expires_days=expires_days,
    )
    assert key.id is not None
    audit.record(session, "api_key_created", f"key:{key.id}", actor=actor, prefix=key.prefix)
    return key.id, secret


def create_organisation(
    session: Session, actor: UserAccount, kind: OrgKind, name: str, region: str | None
) -> Organisation:
    """A new organisation (platform admins), audited."""
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise ValidationFailed(
            "name required", errors=[{"field": "name", "message": "1 to 200 characters"}]
        )
    region_code = clean_region(region)
    check_org_region(kind, region_code)
    org = Organisation(kind=kind, name=clean, region=region_code)
    session.add(org)
    session.flush()
    audit.record(session, "org_created", f"org:{org.id}", actor=actor, org_id=org.id, name=clean)
    return org
