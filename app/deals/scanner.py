"""Find patent events for alerts: new patents and status changes (from the index change log)
and new open-licence declarations, each read once through a stored cursor.
"""

from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.catalog.enums import EntityKind
from app.catalog.models import IndexChange, Patent
from app.db import persisted_id
from app.deals.alerts import PatentEvent, enqueue
from app.deals.models import AlertCursor, AlertDelivery, AlertPatentState
from app.licensing.models import OpenLicenceDeclaration

CHANGES = "index_change"
DECLARATIONS = "open_licence_declaration"
BATCH = 1000

# The two logs read through a cursor.
RowT = TypeVar("RowT", IndexChange, OpenLicenceDeclaration)


def _max_id(session: Session, column: Any) -> int:
    newest: int | None = session.execute(sa.select(sa.func.max(column))).scalar()
    return int(newest or 0)


def ensure_cursors(session: Session) -> bool:
    """Start the cursors at "now" when missing (returns True then), with a snapshot of statuses.

    Starting from the present means the first subscription is not flooded with the backlog.
    """
    if session.get(AlertCursor, CHANGES) is not None:
        return False
    session.add(AlertCursor(name=CHANGES, last_id=_max_id(session, IndexChange.id)))
    session.add(AlertCursor(name=DECLARATIONS, last_id=_max_id(session, OpenLicenceDeclaration.id)))
    known = select(AlertPatentState.patent_id)
    snapshot = sa.insert(AlertPatentState).from_select(
        ["patent_id", "legal_status", "conversion_status"],
        select(Patent.id, Patent.legal_status, Patent.conversion_status).where(
            col(Patent.id).not_in(known)
        ),
    )
    session.execute(snapshot)
    session.flush()
    return True


def _patent_event(session: Session, patent_id: int, change_id: int) -> PatentEvent | None:
    patent = session.get(Patent, patent_id)
    seen = session.get(AlertPatentState, patent_id)
    if patent is None:
        if seen is not None:
            session.delete(seen)
        return None
    legal, conversion = patent.legal_status.value, patent.conversion_status.value
    if seen is None:
        session.add(
            AlertPatentState(patent_id=patent_id, legal_status=legal, conversion_status=conversion)
        )
        return PatentEvent("patent.created", patent_id, change_id)
    if (seen.legal_status, seen.conversion_status) == (legal, conversion):
        return None  # an edit of the text or bibliography, not a status change
    detail = {
        "legal_status": {"from": seen.legal_status, "to": legal},
        "conversion_status": {"from": seen.conversion_status, "to": conversion},
    }
    seen.legal_status, seen.conversion_status = legal, conversion
    session.add(seen)
    return PatentEvent("patent.status_changed", patent_id, change_id, detail)


def _unread(session: Session, name: str, model: type[RowT]) -> list[RowT]:
    """The next batch of rows past cursor ``name``, in id order; the cursor moves past them."""
    cursor = session.get(AlertCursor, name)
    assert cursor is not None
    stmt = select(model).where(col(model.id) > cursor.last_id).order_by(col(model.id)).limit(BATCH)
    rows = list(session.exec(stmt))
    if rows:
        cursor.last_id = persisted_id(rows[-1])
    session.add(cursor)
    return rows


def _change_events(session: Session) -> list[PatentEvent]:
    latest: dict[int, int] = {}
    for change in _unread(session, CHANGES, IndexChange):
        change_id = persisted_id(change)
        if change.entity is EntityKind.PATENT:
            latest[change.entity_id] = change_id  # several writes in one batch: one event
    return [e for pid, cid in latest.items() if (e := _patent_event(session, pid, cid))]


def _declaration_events(session: Session) -> list[PatentEvent]:
    events = []
    for declaration in _unread(session, DECLARATIONS, OpenLicenceDeclaration):
        declaration_id = persisted_id(declaration)
        detail = {"declaration_id": declaration_id, "payment_mode": declaration.payment_mode.value}
        events.append(
            PatentEvent("open_licence.declared", declaration.patent_id, declaration_id, detail)
        )
    return events


def scan(session: Session) -> list[PatentEvent]:
    """Events since the last scan (the first scan only starts the cursors)."""
    if ensure_cursors(session):
        return []
    events = _change_events(session) + _declaration_events(session)
    session.flush()
    return events


def collect(session: Session, now: datetime) -> tuple[int, int]:
    """Scan for events and queue deliveries to matching subscriptions: (events, deliveries)."""
    events = scan(session)
    return len(events), sum(enqueue(session, event, now) for event in events)


def forget_patent(session: Session, patent_id: int) -> None:
    """Drop what alerts remember of a patent about to be deleted; delivery logs stay, unlinked."""
    state = session.get(AlertPatentState, patent_id)
    if state is not None:
        session.delete(state)
    deliveries = select(AlertDelivery).where(AlertDelivery.patent_id == patent_id)
    for delivery in session.exec(deliveries):
        delivery.patent_id = None
        session.add(delivery)
    session.flush()
