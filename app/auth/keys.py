"""API keys: one per organisation and role; only a SHA-256 hash of the secret is stored."""

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from app.auth.principal import Principal, Role, jurisdiction_of
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation, enum_type
from app.errors import NotFound, Unauthorized, ValidationFailed
from app.types import assume_utc, utcnow

SECRET_PREFIX = "pm_"
# Visible part of the secret, kept in clear so that people can tell their keys apart.
PREFIX_LENGTH = 8
# A hundred years: further out is "never", which is what no expiry says.
MAX_EXPIRES_DAYS = 36_500
# The organisation kinds each role acts for; a mismatched key would pass the role checks
# for records of the wrong kind of organisation. Admins may belong to any (or none).
ROLE_KINDS: dict[Role, frozenset[OrgKind]] = {
    Role.ENTERPRISE: frozenset({OrgKind.ENTERPRISE}),
    Role.TTO: frozenset({OrgKind.UNIVERSITY, OrgKind.RESEARCH_INSTITUTE}),
    Role.STATION: frozenset({OrgKind.SERVICE_STATION}),
    Role.GOVERNMENT: frozenset({OrgKind.GOVERNMENT}),
}


class ApiKey(SQLModel, table=True):
    """An API key of an organisation (or of a platform admin, who may have none)."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    role: Role = Field(sa_type=enum_type(Role))
    prefix: str = Field(max_length=16, index=True)
    secret_hash: str = Field(max_length=64, unique=True)
    label: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a secret; secrets are random, so no salt or KDF is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_key_org(role: Role, org_id: int, org: Organisation | None) -> None:
    if org is None:
        raise NotFound(f"organisation {org_id} does not exist")
    if role in ROLE_KINDS and org.kind not in ROLE_KINDS[role]:
        kinds = " or ".join(sorted(k.value for k in ROLE_KINDS[role]))
        raise ValidationFailed(
            f"a {role.value} key needs a {kinds} organisation",
            errors=[
                {"field": "org", "message": f"organisation {org_id} is of kind {org.kind.value}"}
            ],
        )
    if role is Role.GOVERNMENT and not org.region:
        # Without a region the office would oversee nothing; refuse rather than guess.
        raise ValidationFailed(
            "a government key needs an organisation with a region (its jurisdiction)",
            errors=[{"field": "org", "message": f"organisation {org_id} has no region"}],
        )


def _check_key_request(
    session: Session, role: Role, org_id: int | None, expires_days: int | None
) -> None:
    if role is not Role.ADMIN and org_id is None:
        raise ValidationFailed(
            "only admin keys may have no organisation",
            errors=[{"field": "org", "message": f"{role.value} keys need an organisation"}],
        )
    if org_id is not None:
        _check_key_org(role, org_id, session.get(Organisation, org_id))
    if expires_days is not None and not 0 < expires_days <= MAX_EXPIRES_DAYS:
        raise ValidationFailed(
            "expiry must be in the future",
            errors=[{"field": "expires_days", "message": f"must be 1 to {MAX_EXPIRES_DAYS} days"}],
        )


def create_key(
    session: Session,
    *,
    role: Role,
    org_id: int | None,
    expires_days: int | None = None,
    label: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown only this once."""
    _check_key_request(session, role, org_id, expires_days)
    visible = SECRET_PREFIX + secrets.token_hex(PREFIX_LENGTH // 2)
    secret = f"{visible}_{secrets.token_urlsafe(32)}"
    expires = utcnow() + timedelta(days=expires_days) if expires_days else None
    key = ApiKey(
        org_id=org_id,
        role=role,
        prefix=visible,
        secret_hash=hash_secret(secret),
        label=label,
        expires_at=expires,
    )
    session.add(key)
    session.flush()
    return key, secret


def authenticate(session: Session, secret: str) -> Principal:
    """The principal behind ``secret``; ``Unauthorized`` if unknown, expired or revoked."""
    key = session.exec(select(ApiKey).where(ApiKey.secret_hash == hash_secret(secret))).first()
    if key is None or key.id is None:
        raise Unauthorized("invalid API key")
    now = utcnow()
    if key.revoked_at is not None:
        raise Unauthorized(f"API key {key.prefix} was revoked")
    if key.expires_at is not None and assume_utc(key.expires_at) <= now:
        raise Unauthorized(f"API key {key.prefix} has expired")
    # Reads nothing but writes nothing either: the API notes last use in memory (key_usage).
    return principal_for(session, key.id, key.org_id, key.role)


def principal_for(session: Session, key_id: int, org_id: int | None, role: Role) -> Principal:
    """The principal of a key (or a console user's actor key), its jurisdiction filled in."""
    region = None
    if role is Role.GOVERNMENT and org_id is not None:
        org = session.get(Organisation, org_id)
        region = org.region if org is not None else None
    return Principal(
        key_id=key_id, org_id=org_id, role=role, jurisdiction=jurisdiction_of(role, region)
    )


def revoke_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key now (idempotent: an already revoked key keeps its first revocation time)."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    return key


def list_keys(session: Session) -> list[ApiKey]:
    """All keys, oldest first."""
    return list(session.exec(select(ApiKey).order_by(ApiKey.id)))  # type: ignore[arg-type]


def active_admin_key(session: Session) -> ApiKey | None:
    """The oldest admin key that is neither revoked nor expired, if any."""
    now = utcnow()
    stmt = select(ApiKey).where(ApiKey.role == Role.ADMIN, ApiKey.revoked_at.is_(None))  # type: ignore[union-attr]
    for key in session.exec(stmt.order_by(ApiKey.id)):  # type: ignore[arg-type]
        if key.expires_at is None or assume_utc(key.expires_at) > now:
            return key
    return None
