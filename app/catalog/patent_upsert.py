"""Upsert batches of patent records on their natural key, logging each write for the index.

A re-import merges: non-empty fields replace stored ones and blanks keep them, so a title-only
list does not erase the abstracts a full-record export brought in. Within one file the first
row of a key wins; its repeats only fill blanks (and conflicts are reported), so importing the
same file twice changes nothing the second time.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.catalog.changes import record_change
from app.catalog.enums import ChangeOp, EntityKind
from app.catalog.models import Patent
from app.catalog.records import PatentRecord
from app.catalog.report import ImportReport, RowIssue
from app.catalog.values import content_hash
from app.types import utcnow

_OWNER = "owner_org_id"


@dataclass
class OwnedRecord:
    """A record to upsert, its row number, and its owner (None leaves ownership as it is)."""

    row: int
    record: PatentRecord
    owner: int | None = None
    sheet: str | None = None


def _filled(value: object) -> bool:
    return value is not None and value != "" and value != []


def _content_of(row: dict[str, object]) -> str:
    """The content hash of a stored row: its imported columns, without ownership."""
    return content_hash({k: v for k, v in row.items() if k != _OWNER})


class PatentWriter:
    """Writes the batches of one import run (it remembers which keys the run has seen)."""

    def __init__(self, session: Session, report: ImportReport) -> None:
        self._session = session
        self._report = report
        self._first_row: dict[str, int] = {}

    def write(self, batch: Sequence[OwnedRecord]) -> None:
        """Insert, merge or skip each record; the caller commits."""
        keys = {item.record.natural_key for item in batch}
        stmt = select(Patent).where(col(Patent.natural_key).in_(keys))
        known = {patent.natural_key: patent for patent in self._session.exec(stmt)}
        rows: dict[str, dict[str, object]] = {}
        changed: set[str] = set()
        for item in batch:
            key, columns = item.record.natural_key, item.record.columns()
            repeat = self._first_row.setdefault(key, item.row) != item.row
            stored = known.get(key)
            if stored is not None and _owned_by_other(stored, item.owner):
                self._refuse_foreign(item, stored)
                continue
            if key not in rows and stored is None:
                rows[key] = {**columns, _OWNER: item.owner}
                changed.add(key)
                self._report.inserted += 1
            elif key not in rows and stored and _same(stored, columns, item.owner):
                self._report.unchanged += 1
            else:
                if key not in rows:
                    rows[key] = _stored_row(stored, columns)
                if self._merge(item, rows[key], columns, repeat):
                    changed.add(key)
                    self._report.updated += 1
                else:
                    self._report.unchanged += 1
        self._save(known, rows, changed)

    def _refuse_foreign(self, item: OwnedRecord, stored: Patent) -> None:
        """An import never takes a patent away from the organisation that owns it."""
        self._report.reject(
            item.row,
            "application_number",
            f"this patent belongs to another organisation (id {stored.owner_org_id}); "
            "only its owner can update it",
            item.record.natural_key,
            sheet=item.sheet,
        )

    def _merge(
        self,
        item: OwnedRecord,
        current: dict[str, object],
        columns: dict[str, object],
        repeat: bool,
    ) -> bool:
        """Apply ``columns`` to ``current``; a repeat within the file only fills blanks."""
        filled = {name: value for name, value in columns.items() if _filled(value)}
        if repeat:
            clashes = [n for n, v in filled.items() if _filled(current.get(n)) and current[n] != v]
            if clashes:
                first = self._first_row[item.record.natural_key]
                self._report.warnings.append(
                    RowIssue(
                        item.row,
                        ", ".join(clashes),
                        f"repeats the key of row {first} with other values; row {first} kept",
                        item.record.natural_key,
                        item.sheet,
                    )
                )
            filled = {n: v for n, v in filled.items() if not _filled(current.get(n))}
        changes = {name: value for name, value in filled.items() if current.get(name) != value}
        if item.owner is not None and current.get(_OWNER) != item.owner:
            changes[_OWNER] = item.owner
        current.update(changes)
        return bool(changes)

    def _save(
        self, known: dict[str, Patent], rows: dict[str, dict[str, object]], changed: set[str]
    ) -> None:
        now = utcnow()
        ids: list[int | None] = []
        for key in changed & known.keys():
            patent, row = known[key], rows[key]
            for name, value in row.items():
                if getattr(patent, name) != value:
                    setattr(patent, name, value)
            patent.content_hash = _content_of(row)
            patent.updated_at = now
            ids.append(patent.id)
        fresh = [rows[key] for key in rows if key in changed and key not in known]
        ids += _insert(self._session, fresh, now)
        self._session.flush()
        for patent_id in ids:
            if patent_id is None:
                raise RuntimeError("the database did not return a patent id")
            record_change(self._session, EntityKind.PATENT, patent_id, ChangeOp.UPSERT)


def _owned_by_other(patent: Patent, owner: int | None) -> bool:
    """True when the import names an owner and the stored patent has a different one."""
    return owner is not None and patent.owner_org_id not in (None, owner)


def _same(patent: Patent, columns: dict[str, object], owner: int | None) -> bool:
    """Fast path: the record is exactly what was stored last time, owner included."""
    return patent.content_hash == content_hash(columns) and owner in (None, patent.owner_org_id)


def _stored_row(patent: Patent | None, columns: dict[str, object]) -> dict[str, object]:
    if patent is None:
        raise RuntimeError("a merged row must exist in the batch or the database")
    row = {name: getattr(patent, name) for name in columns}
    row[_OWNER] = patent.owner_org_id
    return row


def _insert(session: Session, rows: list[dict[str, object]], now: datetime) -> list[int | None]:
    """Bulk INSERT … RETURNING id: building ORM objects row by row was most of the import time."""
    if not rows:
        return []
    for row in rows:
        row.update(content_hash=_content_of(row), created_at=now, updated_at=now)
    stmt = insert(Patent).returning(col(Patent.id), sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))
