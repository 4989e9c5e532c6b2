"""What the platform administration pages list, each in a few SQL queries (no query per row).

Organisations with their counts (one GROUP BY per table), users and keys across organisations,
import jobs, alert subscriptions and deliveries, and the audit log, each with its filters.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import AuditEntry, UserAccount
from app.auth.keys import ApiKey
from app.catalog.enums import OrgKind
from app.catalog.jobs import ImportJob, JobStatus
from app.catalog.models import Organisation, Patent, TechNeed
from app.catalog.org_merge import duplicate_groups
from app.catalog.uscc import InvalidUscc, uscc_region
from app.deals.models import AlertDelivery, AlertSubscription, Deal, DeliveryStatus
from app.types import assume_utc

LIMIT = 200


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class OrgRow:
    """An organisation on the list: its counts, its USCC check and its duplicates."""

    org: Organisation
    counts: dict[str, int] = field(default_factory=dict)
    duplicates: list[int] = field(default_factory=list)

    @property
    def uscc_state(self) -> str:
        """none, verified, or region (the code's region of registration is another province)."""
        if not self.org.uscc:
            return "none"
        try:
            registered = uscc_region(self.org.uscc)
        except InvalidUscc:
            return "invalid"
        region = self.org.region or ""
        return "region" if region and registered[:2] != region[:2] else "verified"


_COUNTED: dict[str, Any] = {
    "patents": Patent.owner_org_id,
    "needs": TechNeed.org_id,
    "users": UserAccount.org_id,
    "keys": ApiKey.org_id,
    "deals": Deal.owner_org_id,
}


def count_by_org(session: Session, ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Patents, needs, users, keys and deals (as owner) per organisation: one query each."""
    counts: dict[int, dict[str, int]] = {org_id: {} for org_id in ids}
    for name, column in _COUNTED.items():
        stmt = sa.select(column, sa.func.count()).where(col(column).in_(ids)).group_by(column)
        for org_id, number in session.execute(stmt):
            counts[org_id][name] = int(number)
    return counts


def org_rows(session: Session, q: str, kind: OrgKind | None, duplicates_only: bool) -> list[OrgRow]:
    """Organisations by id (newest first), filtered by name, kind and being a duplicate."""
    groups = duplicate_groups(session)
    others = {org_id: [o for o, _ in g if o != org_id] for g in groups for org_id, _ in g}
    stmt = select(Organisation).order_by(col(Organisation.id).desc()).limit(LIMIT)
    if q.strip():
        stmt = stmt.where(col(Organisation.name).like(_like(q.strip()), escape="\\"))
    if kind is not None:
        stmt = stmt.where(Organisation.kind == kind)
    if duplicates_only:
        stmt = stmt.where(col(Organisation.id).in_(list(others)))
    orgs = list(session.exec(stmt))
    counts = count_by_org(session, [o.id for o in orgs if o.id is not None])
    return [OrgRow(o, counts.get(o.id or 0, {}), others.get(o.id or 0, [])) for o in orgs]


def org_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    """Names of the organisations ``ids`` (one query)."""
    wanted = [i for i in ids if i is not None]
    stmt = select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(wanted))
    return {org_id: name for org_id, name in session.exec(stmt) if org_id is not None}


class PeopleState(StrEnum):
    """The people filter's states: active (users; keys neither revoked nor expired) or not."""

    ACTIVE = "active"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class PeopleFilter:
    """Users and keys: of one organisation (0: platform admins), role, state, text."""

    org_id: int | None = None
    role: str | None = None
    state: str | None = None  # active / inactive
    q: str = ""


def _by_org(stmt: Any, column: Any, org_id: int | None) -> Any:
    if org_id is None:
        return stmt
    return stmt.where(column == None) if org_id == 0 else stmt.where(column == org_id)  # noqa: E711


def users(session: Session, only: PeopleFilter) -> list[UserAccount]:
    """Users across organisations, newest first."""
    stmt = _by_org(select(UserAccount), UserAccount.org_id, only.org_id)
    if only.role:
        stmt = stmt.where(UserAccount.role == only.role)
    if only.state:
        stmt = stmt.where(UserAccount.active == (only.state == "active"))
    if only.q.strip():
        pattern = _like(only.q.strip())
        stmt = stmt.where(
            sa.or_(
                col(UserAccount.email).like(pattern, escape="\\"),
                col(UserAccount.display_name).like(pattern, escape="\\"),
            )
        )
    return list(session.exec(stmt.order_by(col(UserAccount.id).desc()).limit(LIMIT)))


def keys(session: Session, only: PeopleFilter, now: datetime) -> list[ApiKey]:
    """API keys across organisations, newest first; state: active, revoked or expired."""
    stmt = _by_org(select(ApiKey), ApiKey.org_id, only.org_id)
    if only.role:
        stmt = stmt.where(ApiKey.role == only.role)
    if only.state == "active":
        stmt = stmt.where(col(ApiKey.revoked_at).is_(None)).where(
            sa.or_(col(ApiKey.expires_at).is_(None), col(ApiKey.expires_at) > now)
        )
    elif only.state == "inactive":
        stmt = stmt.where(
            sa.or_(col(ApiKey.revoked_at).is_not(None), col(ApiKey.expires_at) <= now)
        )
    if only.q.strip():
        stmt = stmt.where(col(ApiKey.label).like(_like(only.q.strip()), escape="\\"))
    return list(session.exec(stmt.order_by(col(ApiKey.id).desc()).limit(LIMIT)))


def key_is_live(key: ApiKey, now: datetime) -> bool:
    """Neither revoked nor expired."""
    return key.revoked_at is None and (key.expires_at is None or assume_utc(key.expires_at) > now)


def import_jobs(session: Session, status: JobStatus | None, org_id: int | None) -> list[ImportJob]:
    """Import jobs, newest first."""
    stmt = select(ImportJob).order_by(col(ImportJob.id).desc()).limit(LIMIT)
    if status is not None:
        stmt = stmt.where(ImportJob.status == status)
    if org_id is not None:
        stmt = stmt.where(ImportJob.owner_org_id == org_id)
    return list(session.exec(stmt))


def subscriptions(session: Session, org_id: int | None) -> list[AlertSubscription]:
    """Alert subscriptions, newest first."""
    stmt = select(AlertSubscription).order_by(col(AlertSubscription.id).desc()).limit(LIMIT)
    if org_id is not None:
        stmt = stmt.where(AlertSubscription.org_id == org_id)
    return list(session.exec(stmt))


def deliveries(
    session: Session, status: DeliveryStatus | None, subscription_id: int | None
) -> list[AlertDelivery]:
    """Webhook deliveries (the delivery log), newest first."""
    stmt = select(AlertDelivery).order_by(col(AlertDelivery.id).desc()).limit(LIMIT)
    if status is not None:
        stmt = stmt.where(AlertDelivery.status == status)
    if subscription_id is not None:
        stmt = stmt.where(AlertDelivery.subscription_id == subscription_id)
    return list(session.exec(stmt))


@dataclass(frozen=True)
class AuditFilter:
    """The audit log's filters; ``before`` is the id cursor of the next page."""

    action: str | None = None
    org_id: int | None = None
    actor: str = ""  # e-mail address, or part of it
    subject: str = ""
    since: date | None = None
    until: date | None = None
    before: int | None = None


def audit_entries(session: Session, only: AuditFilter) -> list[AuditEntry]:
    """Audit entries, newest first, at most ``LIMIT``."""
    stmt = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(LIMIT)
    if only.action:
        stmt = stmt.where(AuditEntry.action == only.action)
    if only.org_id is not None:
        stmt = stmt.where(AuditEntry.org_id == only.org_id)
    if only.actor.strip():
        actors = select(UserAccount.id).where(
            col(UserAccount.email).like(_like(only.actor.strip().lower()), escape="\\")
        )
        stmt = stmt.where(col(AuditEntry.actor_user_id).in_(actors))
    if only.subject.strip():
        stmt = stmt.where(col(AuditEntry.subject).like(_like(only.subject.strip()), escape="\\"))
    if only.since is not None:
        stmt = stmt.where(col(AuditEntry.created_at) >= datetime.combine(only.since, time(), UTC))
    if only.until is not None:
        end = datetime.combine(only.until + timedelta(days=1), time(), UTC)
        stmt = stmt.where(col(AuditEntry.created_at) < end)
    if only.before is not None:
        stmt = stmt.where(col(AuditEntry.id) < only.before)
    return list(session.exec(stmt))


def audit_actions(session: Session) -> list[str]:
    """The actions the log holds, for the filter's choices."""
    stmt = select(AuditEntry.action).distinct().order_by(col(AuditEntry.action))
    return list(session.exec(stmt))


def emails(session: Session, ids: set[int | None]) -> dict[int, str]:
    """E-mail addresses of users ``ids`` (one query)."""
    wanted = [i for i in ids if i is not None]
    stmt = select(UserAccount.id, UserAccount.email).where(col(UserAccount.id).in_(wanted))
    return {user_id: email for user_id, email in session.exec(stmt) if user_id is not None}
