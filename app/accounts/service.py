"""Account actions: create users, one-time links, sign in (throttled), deactivate, reset.

Functions flush but never commit; every action is written to the audit log in the same
transaction. Creating the API key a person acts through is the caller's job (it lives with
the API keys), passed in as ``actor_key_id``.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, func, select

from app.accounts import audit
from app.accounts.models import AccountToken, TokenPurpose, UserAccount
from app.accounts.passwords import check_new_password, password_hasher, verify_password
from app.accounts.sessions import aware, close_all_sessions, open_session, token_hash
from app.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, ValidationFailed
from app.settings import Settings
from app.types import utcnow

ROLE_VALUES = ("enterprise", "tto", "station", "government", "admin")


def normalise_email(email: str) -> str:
    """Trimmed, lower-case e-mail; 422 when it is not plausibly an address."""
    value = email.strip().lower()
    if "@" not in value or len(value) > 254 or value.startswith("@") or value.endswith("@"):
        raise ValidationFailed(
            "invalid e-mail", errors=[{"field": "email", "message": "not an e-mail address"}]
        )
    return value


@dataclass(frozen=True)
class NewUser:
    """What an administrator enters for a new colleague."""

    email: str
    display_name: str
    role: str
    org_id: int | None
    is_org_admin: bool = False


def create_user(
    session: Session, new: NewUser, *, actor: UserAccount | None, actor_key_id: int | None
) -> UserAccount:
    """Add a user without a password (they set one through an invitation link)."""
    email = normalise_email(new.email)
    if new.role not in ROLE_VALUES:
        raise ValidationFailed("unknown role", errors=[{"field": "role", "message": new.role}])
    name = new.display_name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed(
            "name required", errors=[{"field": "display_name", "message": "1 to 100 characters"}]
        )
    if session.exec(select(UserAccount).where(UserAccount.email == email)).first() is not None:
        raise Conflict(f"a user with e-mail {email} already exists")
    user = UserAccount(
        email=email,
        display_name=name,
        role=new.role,
        org_id=new.org_id,
        is_org_admin=new.is_org_admin,
        actor_key_id=actor_key_id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        "user_created",
        f"user:{user.id}",
        actor=actor,
        org_id=new.org_id,
        email=email,
        role=new.role,
        org_admin=new.is_org_admin,
    )
    return user


def issue_token(
    session: Session,
    user: UserAccount,
    purpose: TokenPurpose,
    settings: Settings,
    *,
    actor: UserAccount | None,
) -> str:
    """A one-time link token for ``user`` (shown only now); a reset also locks the account."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            created_by_user_id=actor.id if actor else None,
            expires_at=utcnow() + timedelta(hours=settings.account_token_hours),
        )
    )
    if purpose is TokenPurpose.RESET:
        user.password_hash = None
        session.add(user)
        close_all_sessions(session, user.id)
    session.flush()
    audit.record(
        session, f"{purpose.value}_issued", f"user:{user.id}", actor=actor, org_id=user.org_id
    )
    return token


def token_user(session: Session, token: str) -> tuple[AccountToken, UserAccount]:
    """The unused, unexpired token and its active user; 404 otherwise (no detail given)."""
    row = session.exec(
        select(AccountToken).where(AccountToken.token_hash == token_hash(token))
    ).first()
    user = session.get(UserAccount, row.user_id) if row is not None else None
    if (
        row is None
        or user is None
        or row.used_at is not None
        or aware(row.expires_at) <= utcnow()
        or not user.active
    ):
        raise NotFound("this link is invalid, used or expired")
    return row, user


def redeem_token(session: Session, token: str, password: str, settings: Settings) -> UserAccount:
    """Set the password through a one-time link; the link is used up."""
    row, user = token_user(session, token)
    check_new_password(password)
    user.password_hash = password_hasher(settings).hash(password)
    row.used_at = utcnow()
    session.add(user)
    session.add(row)
    session.flush()
    audit.record(session, "password_set", f"user:{user.id}", actor=user, via=row.purpose.value)
    return user


def _throttle(session: Session, email: str, ip: str | None, settings: Settings) -> None:
    since = audit.window_start(settings.signin_window_minutes)
    failures = audit.count_since(session, "sign_in_failed", since, subject=email)
    from_ip = audit.count_since(session, "sign_in_failed", since, ip=ip) if ip else 0
    if failures >= settings.signin_max_failures or from_ip >= settings.signin_max_failures_per_ip:
        raise RateLimited(
            "too many failed sign-ins; try again later",
            retry_after=settings.signin_window_minutes * 60,
        )


def sign_in(
    session: Session, email: str, password: str, settings: Settings, *, ip: str | None
) -> tuple[UserAccount, str]:
    """Check the password and open a session (returns the cookie token); throttled by failures."""
    address = email.strip().lower()[:254]
    _throttle(session, address, ip, settings)
    user = session.exec(select(UserAccount).where(UserAccount.email == address)).first()
    hasher = password_hasher(settings)
    stored = user.password_hash if user is not None and user.active else None
    if user is None or not verify_password(hasher, stored, password):
        audit.record(session, "sign_in_failed", address, ip=ip)
        raise Unauthorized("wrong e-mail or password")
    if hasher.check_needs_rehash(stored or ""):
        user.password_hash = hasher.hash(password)
    user.last_sign_in_at = utcnow()
    session.add(user)
    _row, token = open_session(session, user, settings.session_hours)
    audit.record(session, "sign_in", address, actor=user, ip=ip)
    return user, token


def sign_out_everywhere(session: Session, user: UserAccount) -> int:
    """End all of the user's sessions."""
    assert user.id is not None
    count = close_all_sessions(session, user.id)
    audit.record(session, "sign_out_everywhere", f"user:{user.id}", actor=user, sessions=count)
    return count


def manageable_user(session: Session, actor: UserAccount, user_id: int) -> UserAccount:
    """A user the actor administers: platform admins any, org admins their own organisation's."""
    user = session.get(UserAccount, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if actor.role == "admin" and actor.org_id is None:
        return user
    if not actor.is_org_admin or actor.org_id is None or user.org_id != actor.org_id:
        raise Forbidden("you may only manage users of your own organisation")
    return user


def deactivate(session: Session, actor: UserAccount, user: UserAccount) -> None:
    """Deactivate a user and end their sessions (the caller revokes their actor key)."""
    assert user.id is not None
    if user.id == actor.id:
        raise Conflict("you cannot deactivate yourself")
    user.active = False
    session.add(user)
    close_all_sessions(session, user.id)
    audit.record(session, "user_deactivated", f"user:{user.id}", actor=actor, org_id=user.org_id)


def org_users(session: Session, org_id: int | None) -> list[UserAccount]:
    """Users of one organisation (None: platform admins), by id."""
    stmt = (
        select(UserAccount).where(UserAccount.org_id == org_id)
        if org_id is not None
        else (
            select(UserAccount).where(UserAccount.org_id == None)  # noqa: E711
        )
    )
    return list(session.exec(stmt.order_by(UserAccount.id)))  # type: ignore[arg-type]


def platform_admin_count(session: Session) -> int:
    """How many active platform administrators exist."""
    stmt = (
        select(func.count())
        .select_from(UserAccount)
        .where(
            UserAccount.role == "admin",
            UserAccount.active == True,  # noqa: E712
        )
    )
    return int(session.exec(stmt).one())


def first_platform_admin(session: Session) -> UserAccount | None:
    """The oldest active platform administrator (admin role, no organisation), if any."""
    stmt = select(UserAccount).where(
        UserAccount.role == "admin",
        col(UserAccount.active).is_(True),
        col(UserAccount.org_id).is_(None),
    )
    return session.exec(stmt.order_by(col(UserAccount.id))).first()
