"""Duplicate organisations: find them by normalised name, and merge one into another.

A merge moves every row that names the duplicate — patents, needs, users, API keys, deals,
licences, import jobs, subscriptions, audit entries, and the tables added later — to the kept
organisation. The referencing columns are read from the table metadata (every foreign key to
``organisation.id``), so a new table cannot be forgotten. Flushes only; the caller audits and
commits.
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from app.catalog.changes import record_change
from app.catalog.enums import ChangeOp, EntityKind
from app.catalog.models import Organisation, Patent, TechNeed
from app.catalog.service import name_key
from app.db import get_or_404, import_all_models
from app.errors import Conflict, ValidationFailed

# Fields the kept organisation takes from the duplicate when it has none of its own.
_FILLED = ("uscc", "region", "contact_person", "contact_phone", "contact_email")


@dataclass(frozen=True)
class MergeReport:
    """What a merge did: rows moved per ``table.column``."""

    kept_id: int
    merged_id: int
    merged_name: str
    moved: dict[str, int]


def duplicate_groups(session: Session) -> list[list[tuple[int, str]]]:
    """Organisations sharing a normalised name, as (id, name) groups, oldest first (one query)."""
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    stmt = select(Organisation.id, Organisation.name).order_by(col(Organisation.id))
    for org_id, name in session.exec(stmt):
        if org_id is not None:
            groups[name_key(name)].append((org_id, name))
    return [group for group in groups.values() if len(group) > 1]


def org_references() -> list[tuple[sa.Table, sa.Column[Any]]]:
    """Every (table, column) with a foreign key to ``organisation.id``."""
    import_all_models()
    return [
        (table, fk.parent)
        for table in SQLModel.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "organisation" and fk.column.name == "id"
    ]


def _unique_sets(table: sa.Table, column: sa.Column[Any]) -> list[list[sa.Column[Any]]]:
    sets: list[list[sa.Column[Any]]] = [[column]] if column.unique else []
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and column.name in constraint.columns:
            sets.append(list(constraint.columns))
    sets.extend(list(i.columns) for i in table.indexes if i.unique and column.name in i.columns)
    return sets


def _collision(
    session: Session, table: sa.Table, column: sa.Column[Any], kept: int, merged: int
) -> str | None:
    """What would break a unique rule if the duplicate's rows moved, or None."""
    for unique in _unique_sets(table, column):
        others = [c.name for c in unique if c.name != column.name]
        a, b = table.alias("a"), table.alias("b")
        stmt = (
            sa.select(*(a.c[name] for name in others), sa.literal(1))
            .where(a.c[column.name] == merged, b.c[column.name] == kept)
            .where(*(a.c[name] == b.c[name] for name in others))
            .limit(1)
        )
        found = session.execute(stmt).first()
        if found is not None:
            values = ", ".join(f"{n}={v!r}" for n, v in zip(others, found, strict=False))
            return f"{table.name} has rows of both organisations with the same {values or 'key'}"
    return None


def _check(session: Session, kept_id: int, merged_id: int) -> tuple[Organisation, Organisation]:
    if kept_id == merged_id:
        raise ValidationFailed(
            "an organisation cannot be merged into itself",
            errors=[{"field": "into", "message": "choose another organisation"}],
        )
    kept = get_or_404(session, Organisation, kept_id, "organisation")
    merged = get_or_404(session, Organisation, merged_id, "organisation")
    if kept.kind != merged.kind:
        raise ValidationFailed(
            "only organisations of one kind can be merged",
            errors=[{"field": "into", "message": f"{merged.kind.value} ≠ {kept.kind.value}"}],
        )
    return kept, merged


def _absorb(session: Session, kept: Organisation, merged: Organisation) -> None:
    taken = {name: getattr(merged, name) for name in _FILLED if not getattr(kept, name)}
    merged.uscc = None  # the code is unique: free it before the kept organisation takes it
    session.add(merged)
    session.flush()
    for name, value in taken.items():
        setattr(kept, name, value)
    kept.coverage_regions = list(dict.fromkeys([*kept.coverage_regions, *merged.coverage_regions]))
    kept.coverage_industries = list(
        dict.fromkeys([*kept.coverage_industries, *merged.coverage_industries])
    )
    session.add(kept)
    session.flush()


def merge_orgs(session: Session, kept_id: int, merged_id: int) -> MergeReport:
    """Move everything of ``merged_id`` to ``kept_id`` and delete it; 409 on a unique clash."""
    kept, merged = _check(session, kept_id, merged_id)
    references = org_references()
    for table, column in references:
        problem = _collision(session, table, column, kept_id, merged_id)
        if problem is not None:
            raise Conflict(f"cannot merge organisation {merged_id}: {problem}")
    patents = list(session.exec(select(Patent.id).where(Patent.owner_org_id == merged_id)))
    needs = list(session.exec(select(TechNeed.id).where(TechNeed.org_id == merged_id)))
    name = merged.name
    _absorb(session, kept, merged)
    moved: dict[str, int] = {}
    for table, column in references:
        result = session.execute(
            sa.update(table).where(column == merged_id).values({column.name: kept_id})
        )
        count = int(getattr(result, "rowcount", 0))  # a CursorResult for UPDATE
        if count:
            moved[f"{table.name}.{column.name}"] = count
    session.expire_all()  # loaded rows still name the duplicate
    session.delete(session.get(Organisation, merged_id))
    for patent_id in patents:
        record_change(session, EntityKind.PATENT, patent_id or 0, ChangeOp.UPSERT)
    for need_id in needs:
        record_change(session, EntityKind.NEED, need_id or 0, ChangeOp.UPSERT)
    session.flush()
    return MergeReport(kept_id, merged_id, name, moved)
