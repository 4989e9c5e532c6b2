"""The audit log: every sign-in and administrative action, appended in the caller's transaction."""

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import AuditEntry, UserAccount
from app.types import utcnow


def record(
    session: Session,
    action: str,
    subject: str,
    *,
    actor: UserAccount | None = None,
    org_id: int | None = None,
    ip: str | None = None,
    **detail: Any,
) -> AuditEntry:
    """Append one entry (flushed, not committed)."""
    entry = AuditEntry(
        action=action,
        subject=subject[:254],
        actor_user_id=actor.id if actor else None,
        org_id=org_id if org_id is not None else (actor.org_id if actor else None),
        ip=ip,
        detail=detail,
    )
    session.add(entry)
    session.flush()
    return entry


def count_since(
    session: Session,
    action: str,
    since: datetime,
    *,
    subject: str | None = None,
    ip: str | None = None,
) -> int:
    """How many ``action`` entries for this subject (or from this address) since ``since``."""
    stmt = (
        select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == action, col(AuditEntry.created_at) >= since)
    )
    if subject is not None:
        stmt = stmt.where(AuditEntry.subject == subject)
    if ip is not None:
        stmt = stmt.where(AuditEntry.ip == ip)
    return int(session.exec(stmt).one())


def recent(session: Session, org_id: int | None, limit: int = 50) -> list[AuditEntry]:
    """The newest entries, of one organisation or (None) of the whole platform."""
    stmt = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if org_id is not None:
        stmt = stmt.where(AuditEntry.org_id == org_id)
    return list(session.exec(stmt))


def window_start(minutes: int) -> datetime:
    """The start of a look-back window ending now."""
    return utcnow() - timedelta(minutes=minutes)
