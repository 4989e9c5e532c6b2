"""The patent-side key figures counted in SQL: idle patents, open-licence declarations and
licences taken, per group, with the region scope and the dashboard's filter in the WHERE clause.

A patent groups by its owner's region and organisation, its main IPC section, the month of
the event, or each chain (node) it is tagged to. The month is grouped as year and month
numbers (``EXTRACT``, portable across SQLite and PostgreSQL) and compared in Python, as the
filter compares ``YYYY-MM`` keys; the database returns one row per group, not per patent.
"""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import ColumnElement, extract, func, null
from sqlmodel import Session, col, select

from app.catalog.enums import ConversionStatus, LegalStatus
from app.catalog.models import Organisation, Patent
from app.deals.figure_filter import FigureFilter
from app.deals.figure_groups import UNKNOWN, GroupBy
from app.deals.figure_sql import chain_tags, prefix
from app.licensing.models import LicenceKind, OpenLicenceDeclaration, PatentLicence

_IN_FORCE = (LegalStatus.GRANTED, LegalStatus.PENDING)

# Figure name → (patent id column, event time column, the event's own conditions).
_EVENTS: dict[str, tuple[Any, Any, tuple[ColumnElement[bool], ...]]] = {
    "idle_patents": (
        col(Patent.id),
        col(Patent.created_at),
        (
            col(Patent.conversion_status) == ConversionStatus.IDLE,
            col(Patent.legal_status).in_(_IN_FORCE),
        ),
    ),
    "open_licence_declarations": (
        col(OpenLicenceDeclaration.patent_id),
        col(OpenLicenceDeclaration.declared_at),
        (),
    ),
    "licences_taken": (
        col(PatentLicence.patent_id),
        col(PatentLicence.created_at),
        (col(PatentLicence.kind) == LicenceKind.OPEN,),
    ),
}


def patent_side_counts(
    session: Session,
    group_by: GroupBy,
    region_level: int,
    only: FigureFilter | None,
    scope: str | None,
) -> Iterator[tuple[str, str, int]]:
    """(figure name, group key, count) of every patent-side figure, unordered."""
    if only is not None and only.industry is not None:
        return  # patent-side events carry no industry: none passes an industry filter
    by_month = group_by is GroupBy.MONTH or _has_months(only)
    for figure, (patent_id, when, own) in _EVENTS.items():
        totals: dict[str, int] = {}
        for key, year, month, count in session.exec(
            _grouped(group_by, region_level, only, scope, patent_id, when, own, by_month)
        ):
            moment = f"{int(year):04d}-{int(month):02d}" if year is not None else None
            if not count or (only is not None and not only.in_months(moment)):
                continue
            name = (moment or UNKNOWN) if group_by is GroupBy.MONTH else _key(key)
            totals[name] = totals.get(name, 0) + int(count)
        for name, count in totals.items():
            yield figure, name, count


def _has_months(only: FigureFilter | None) -> bool:
    return only is not None and (only.month_from is not None or only.month_to is not None)


def _key(value: object) -> str:
    # NULL or '' (no owner, no region, no IPC code) is the unknown group, as in Python.
    return UNKNOWN if value is None or value == "" else str(value)


def _grouped(
    group_by: GroupBy,
    region_level: int,
    only: FigureFilter | None,
    scope: str | None,
    patent_id: Any,
    when: Any,
    own: tuple[ColumnElement[bool], ...],
    by_month: bool,
) -> Any:
    """SELECT key, year, month, count(*) of one event table, filtered and grouped."""
    region, ipc, org = col(Organisation.region), col(Patent.ipc_main), col(Patent.owner_org_id)
    keys: dict[GroupBy, Any] = {
        GroupBy.REGION: prefix(region, region_level),
        GroupBy.IPC_SECTION: prefix(ipc, 1),
        GroupBy.ORG: org,
    }
    chains = chain_tags(group_by)
    key = chains.c.owner if chains is not None else keys.get(group_by)
    year_month = (extract("year", when), extract("month", when)) if by_month else ()
    # No NULL constants in GROUP BY: PostgreSQL cannot type a bare parameter there.
    grouped = [e for e in (key, *year_month) if e is not None]
    year, month = year_month or (null(), null())
    shown = null() if key is None else key
    stmt = select(shown, year, month, func.count()).select_from(patent_id.class_)
    if patent_id.class_ is not Patent:
        stmt = stmt.join(Patent, col(Patent.id) == patent_id, isouter=True)
    stmt = stmt.join(Organisation, col(Organisation.id) == org, isouter=True)
    if chains is not None:
        stmt = stmt.join(chains, chains.c.entity_id == patent_id, isouter=True)
    conditions = [*own, *_filters(only, scope, region, ipc, org)]
    return stmt.where(*conditions).group_by(*grouped)


def _filters(
    only: FigureFilter | None, scope: str | None, region: Any, ipc: Any, org: Any
) -> list[ColumnElement[bool]]:
    """The scope (owner's region in the jurisdiction) and the filter as SQL conditions."""
    conditions: list[ColumnElement[bool]] = []
    if scope is not None:
        conditions += [region != "", region.startswith(scope, autoescape=True)]
    if only is None:
        return conditions
    if only.region is not None:
        conditions.append(region.startswith(only.region, autoescape=True))
    if only.ipc_section is not None:
        conditions.append(prefix(ipc, 1) == only.ipc_section)
    if only.org_id is not None:
        conditions.append(org == only.org_id)
    return conditions
