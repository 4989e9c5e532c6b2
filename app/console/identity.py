"""Creating people together with the API key they act through, and organisations' first admins.

The accounts kernel knows nothing of API keys; this is where the two meet.
"""

from dataclasses import dataclass

from sqlmodel import Session

from app.accounts import audit, service
from app.accounts.models import TokenPurpose, UserAccount
from app.auth.keys import ROLE_KINDS, create_key, revoke_key
from app.auth.principal import Role
from app.catalog import service as catalog_service
from app.catalog.codes import clean_uscc
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.catalog.org_merge import MergeReport, merge_orgs
from app.catalog.orgs import NewOrg, create_org
from app.catalog.schemas.orgs import OrgUpdate
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
    session: Session,
    actor: UserAccount,
    kind: OrgKind,
    name: str,
    region: str | None,
    uscc: str | None = None,
) -> Organisation:
    """A new organisation (platform admins) through the catalog's rules, audited.

    The catalog service checks the region and the USCC, and refuses a name already taken
    (409), exactly as ``POST /api/v1/organisations`` does.
    """
    new = NewOrg(
        kind=kind, name=name, region=clean_region(region), uscc=(uscc or "").strip() or None
    )
    org = create_org(session, new)
    audit.record(session, "org_created", f"org:{org.id}", actor=actor, org_id=org.id, name=org.name)
    return org


def merge_organisations(
    session: Session, actor: UserAccount, kept_id: int, merged_id: int
) -> MergeReport:
    """Merge a duplicate into the kept organisation (platform admins), audited."""
    report = merge_orgs(session, kept_id, merged_id)
    audit.record(
        session,
        "org_merged",
        f"org:{kept_id}",
        actor=actor,
        org_id=kept_id,
        merged_id=merged_id,
        merged_name=report.merged_name,
        moved=report.moved,
    )
    return report


def set_uscc(session: Session, actor: UserAccount, org_id: int, uscc: str) -> Organisation:
    """Verify and record an organisation's unified social credit code, audited."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} does not exist")
    # Checked before the update model sees it, so that any bad text is a 422 naming uscc.
    code = clean_uscc(uscc.strip() or None)
    catalog_service.update_org(session, org, OrgUpdate(uscc=code))
    audit.record(
        session, "org_uscc_set", f"org:{org_id}", actor=actor, org_id=org_id, uscc=org.uscc
    )
    return org
