"""Upsert technology needs: find or create the posting enterprise, key needs within it."""

from collections.abc import Sequence

from sqlmodel import Session, col, or_, select

from app.catalog.changes import record_change
from app.catalog.enums import ChangeOp, EntityKind, NeedStatus, OrgKind
from app.catalog.models import Organisation, TechNeed
from app.catalog.need_records import NeedRecord
from app.catalog.report import ImportReport
from app.types import utcnow

NeedKey = tuple[int, str, str]


def need_key(org_id: int, external_ref: str | None, title: str) -> NeedKey:
    """A need's identity within its organisation: its external ref, else its title."""
    return (org_id, "ref", external_ref) if external_ref else (org_id, "title", title)


class OrgDirectory:
    """Finds enterprises by USCC or name for one batch, creating the missing ones."""

    def __init__(self, session: Session, records: Sequence[NeedRecord]) -> None:
        self._session = session
        usccs = {r.uscc for r in records if r.uscc}
        names = {r.enterprise for r in records if r.enterprise}
        stmt = select(Organisation).where(
            or_(col(Organisation.uscc).in_(usccs), col(Organisation.name).in_(names))
        )
        self._by_uscc: dict[str, Organisation] = {}
        self._by_name: dict[str, Organisation] = {}
        for org in session.exec(stmt.order_by(col(Organisation.id))):
            if org.uscc:
                self._by_uscc[org.uscc] = org
            self._by_name.setdefault(org.name, org)

    def resolve(self, record: NeedRecord) -> Organisation:
        """The record's organisation: by USCC, else by name, else a new enterprise."""
        if record.uscc and record.uscc in self._by_uscc:
            return self._by_uscc[record.uscc]
        named = self._by_name.get(record.enterprise or "")
        # A name match only counts when it does not contradict a given USCC.
        if named is not None and not (record.uscc and named.uscc):
            if record.uscc:
                named.uscc = record.uscc
                self._by_uscc[record.uscc] = named
            return named
        org = Organisation(
            kind=OrgKind.ENTERPRISE,
            name=record.enterprise or f"USCC {record.uscc}",
            uscc=record.uscc,
            region=record.region,
            contact_person=record.contact_person,
            contact_phone=record.contact_phone,
            contact_email=record.contact_email,
        )
        self._session.add(org)
        self._session.flush()
        if org.uscc:
            self._by_uscc[org.uscc] = org
        self._by_name.setdefault(org.name, org)
        return org


def _org_ids(session: Session, batch: Sequence[NeedRecord], org_id: int | None) -> list[int]:
    if org_id is not None:
        return [org_id] * len(batch)
    directory = OrgDirectory(session, batch)
    ids: list[int] = []
    for record in batch:
        org = directory.resolve(record)
        if org.id is None:
            raise RuntimeError("flush did not assign an organisation id")
        ids.append(org.id)
    return ids


def upsert_needs(
    session: Session,
    batch: Sequence[NeedRecord],
    report: ImportReport,
    *,
    org_id: int | None,
) -> None:
    """Insert new, update changed and skip unchanged needs; log each write for the index."""
    owners = _org_ids(session, batch, org_id)
    stmt = select(TechNeed).where(col(TechNeed.org_id).in_(set(owners)))
    known = {need_key(n.org_id, n.external_ref, n.title): n for n in session.exec(stmt)}
    touched: dict[NeedKey, TechNeed] = {}
    for record, owner in zip(batch, owners, strict=True):
        key = need_key(owner, record.external_ref, record.title)
        digest = record.content_hash()
        need = known.get(key)
        if need is None:
            need = TechNeed(org_id=owner, title=record.title)
            session.add(need)
            report.inserted += 1
        elif need.content_hash == digest:
            report.unchanged += 1
            continue
        else:
            need.updated_at = utcnow()
            report.updated += 1
        for name, value in record.need_columns().items():
            setattr(need, name, value)
        need.content_hash = digest
        if need.status == NeedStatus.PUBLISHED and need.published_at is None:
            need.published_at = utcnow()
        known[key] = touched[key] = need
    session.flush()
    for need in touched.values():
        if need.id is None:
            raise RuntimeError("flush did not assign a need id")
        record_change(session, EntityKind.NEED, need.id, ChangeOp.UPSERT)
