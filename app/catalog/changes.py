"""Record catalog writes in the change log that keeps the search index in sync."""

from sqlalchemy import func
from sqlmodel import Session, select

from app.catalog.enums import ChangeOp, EntityKind
from app.catalog.models import IndexChange


def record_change(session: Session, entity: EntityKind, entity_id: int, op: ChangeOp) -> None:
    """Append a change in the caller's transaction, so it commits or rolls back with the write."""
    session.add(IndexChange(entity=entity, entity_id=entity_id, op=op))


def last_change_id(session: Session) -> int:
    """The id of the newest change, 0 when none."""
    newest = session.exec(select(func.max(IndexChange.id))).one()
    return int(newest or 0)


def changes_since(session: Session, after_id: int) -> list[IndexChange]:
    """Changes newer than ``after_id``, oldest first."""
    stmt = select(IndexChange).where(IndexChange.id > after_id).order_by(IndexChange.id)  # type: ignore[operator, arg-type]
    return list(session.exec(stmt))
