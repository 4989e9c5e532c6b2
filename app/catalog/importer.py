"""Idempotent batch import of patents and technology needs from csv, xlsx or jsonl files.

Each batch is one transaction: a crash or Ctrl-C leaves the completed batches and nothing of
the current one, and re-running is safe because rows are upserted on their natural key.
"""

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TypeVar

from sqlmodel import Session

from app.catalog.headers import HeaderMap, map_headers
from app.catalog.ipc import IpcScheme
from app.catalog.models import Organisation
from app.catalog.need_import import upsert_needs
from app.catalog.need_records import NeedRecord, build_need_record
from app.catalog.patent_upsert import OwnedRecord, PatentWriter
from app.catalog.readers import read_rows
from app.catalog.records import Issues, PatentRecord, build_patent_record
from app.catalog.report import ImportReport, RowIssue, add_patent_notes
from app.errors import NotFound

__all__ = ["ImportReport", "RowIssue", "import_needs", "import_patents", "run_batches"]

Progress = Callable[[int], None]
R = TypeVar("R")


class _Mapper:
    """Maps rows to canonical fields, caching one HeaderMap per distinct header set."""

    def __init__(self, kind: str, report: ImportReport) -> None:
        self._kind = kind
        self._report = report
        self._maps: dict[tuple[str, ...], HeaderMap] = {}

    def apply(self, row: dict[str, str | None]) -> dict[str, str | None]:
        """The row keyed by canonical field name."""
        headers = tuple(row)
        header_map = self._maps.get(headers)
        if header_map is None:
            header_map = self._maps[headers] = map_headers(headers, self._kind)
            self._report.ignore_headers(header_map.ignored)
        return header_map.apply(row)


def _require_org(session: Session, org_id: int | None) -> None:
    if org_id is not None and session.get(Organisation, org_id) is None:
        raise NotFound(f"organisation {org_id} does not exist")


def _validated(
    path: Path,
    kind: str,
    build: Callable[[dict[str, str | None]], tuple[R | None, Issues]],
    report: ImportReport,
) -> Iterator[tuple[int, str | None, R]]:
    """(row number, sheet, record) of each valid row; counts reads, records every row's issues."""
    mapper = _Mapper(kind, report)
    rows = read_rows(
        path, on_bad_row=lambda n, why: report.reject(n, "row", why), kind=kind, info=report.table
    )
    for number, row, sheet in rows:
        report.read += 1
        record, issues = build(mapper.apply(row))
        report.add_issues(number, issues, sheet)
        if record is None:
            report.rejected += 1
        else:
            yield number, sheet, record


def _progress(report: ImportReport, on_progress: Progress | None) -> Callable[[], None]:
    """The batch callback: report the rows read so far to ``on_progress``, if any."""
    return lambda: on_progress(report.read) if on_progress else None


def run_batches(
    session: Session,
    records: Iterator[R],
    write: Callable[[list[R]], None],
    batch_size: int,
    on_progress: Callable[[], None],
    on_commit: Callable[[], None] = lambda: None,
) -> None:
    """Write records batch by batch, committing each; roll back the open batch on any failure.

    ``on_progress`` runs inside each batch's transaction, so what it writes commits with it;
    ``on_commit`` runs after each commit.
    """
    batch: list[R] = []
    try:
        for record in records:
            batch.append(record)
            if len(batch) >= batch_size:
                write(batch)
                on_progress()
                session.commit()
                on_commit()
                batch = []
        if batch:
            write(batch)
        on_progress()
        session.commit()
        on_commit()
    except BaseException:
        # KeyboardInterrupt included: never leave half a batch behind.
        session.rollback()
        raise


def import_patents(
    session: Session,
    path: Path,
    *,
    owner_org_id: int | None = None,
    batch_size: int = 500,
    on_progress: Progress | None = None,
    ipc_scheme: IpcScheme | None = None,
    today: date | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Import a patent file; rows are keyed on the normalised application number.

    Pass ``report`` to keep it when the import is interrupted: it then holds what the
    committed batches did (call :meth:`ImportReport.rewind` after the interruption).
    """
    _require_org(session, owner_org_id)
    report = ImportReport() if report is None else report
    day = today or date.today()

    def build(row: dict[str, str | None]) -> tuple[PatentRecord | None, Issues]:
        return build_patent_record(row, today=day, ipc_scheme=ipc_scheme)

    records = (
        OwnedRecord(number, record, owner_org_id, sheet)
        for number, sheet, record in _validated(path, "patent", build, report)
    )
    writer = PatentWriter(session, report)
    run_batches(
        session,
        records,
        writer.write,
        max(1, batch_size),
        _progress(report, on_progress),
        report.checkpoint,
    )
    add_patent_notes(report, owner_org_id)
    return report


def import_needs(
    session: Session,
    path: Path,
    *,
    org_id: int | None = None,
    batch_size: int = 500,
    on_progress: Progress | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Import technology needs; each is keyed on (organisation, external ref or title)."""
    _require_org(session, org_id)
    report = ImportReport() if report is None else report

    def build(row: dict[str, str | None]) -> tuple[NeedRecord | None, Issues]:
        return build_need_record(row, has_org=org_id is not None)

    run_batches(
        session,
        (record for _, _, record in _validated(path, "need", build, report)),
        lambda batch: upsert_needs(session, batch, report, org_id=org_id),
        max(1, batch_size),
        _progress(report, on_progress),
        report.checkpoint,
    )
    return report
