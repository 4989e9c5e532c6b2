"""Server-side sessions: a random cookie token, whose SHA-256 keys a ``user_session`` row."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import UserAccount, UserSession
from app.types import utcnow


def token_hash(token: str) -> str:
    """SHA-256 hex of a random token (tokens are unguessable, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def aware(moment: datetime) -> datetime:
    """A UTC-aware datetime (SQLite returns naive ones for timezone-aware columns)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


@dataclass(frozen=True)
class SignedIn:
    """The user behind a valid session cookie, with the session's CSRF token."""

    user: UserAccount
    session_id: int
    csrf_token: str
    # The GB/T 2260 prefix a government user oversees; the console fills it in when it
    # resolves the cookie (it derives from the organisation, which this module does not read).
    jurisdiction: str | None = None


def open_session(session: Session, user: UserAccount, hours: int) -> tuple[UserSession, str]:
    """Create a session for ``user``; returns it with the cookie token (shown only now)."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=token_hash(token),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    return row, token


def resolve(session: Session, token: str | None) -> SignedIn | None:
    """The signed-in user for a cookie token, or None (unknown, expired, or user inactive)."""
    if not token:
        return None
    row = session.exec(
        select(UserSession).where(UserSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.id is None or aware(row.expires_at) <= utcnow():
        return None
    user = session.get(UserAccount, row.user_id)
    if user is None or not user.active:
        return None
    return SignedIn(user=user, session_id=row.id, csrf_token=row.csrf_token)


def close_session(session: Session, session_id: int) -> None:
    """End one session (sign out)."""
    session.execute(sa.delete(UserSession).where(col(UserSession.id) == session_id))


def close_all_sessions(session: Session, user_id: int) -> int:
    """End every session of a user (sign out everywhere, deactivation, reset); returns the count."""
    result = session.execute(sa.delete(UserSession).where(col(UserSession.user_id) == user_id))
    return int(getattr(result, "rowcount", 0) or 0)
