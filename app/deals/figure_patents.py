"""The patent-side key figures counted in SQL: idle patents, open-licence declarations and
licences taken, per group, with the region scope and the dashboard's filter in the WHERE clause.

A patent groups by its owner's region and organisation, its main IPC section, the month of
the event, or each chain (node) it is tagged to. The month is grouped, and the filter's month
range compared, as year and month numbers (``EXTRACT``, portable across SQLite and PostgreSQL);
the database returns one row per group, not per patent.
"""

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, extract, func
from sqlmodel import Session, col

from app.catalog.enums import ConversionStatus, LegalStatus
from app.catalog.models import Organisation, Patent
from app.chains.figures import CHAIN_GROUPS
from app.deals.figure_filter import FigureFilter
from app.deals.figure_groups import UNKNOWN, GroupBy
from app.deals.figure_sql import chain_tags, month_window, prefix
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


def patent_side_sets(
    session: Session,
    groupings: tuple[GroupBy, ...],
    region_level: int,
    only: FigureFilter | None,
    scope: str | None,
) -> dict[GroupBy, list[tuple[str, str, int]]]:
    """(figure name, group key, count) of every patent-side figure, per grouping, unordered.

    The groupings but chains share one query per figure, grouped by each of their key columns
    at once and added up per grouping in Python (counts add up); each chain grouping has its own.
    """
    if only is not None and only.industry is not None:
        # Patent-side events carry no industry: none passes an industry filter.
        return {by: [] for by in groupings}
    plain = tuple(by for by in groupings if by not in CHAIN_GROUPS)
    sets = _counted(session, plain, region_level, only, scope) if plain else {}
    for by in groupings:
        if by in CHAIN_GROUPS:
            sets |= _counted(session, (by,), region_level, only, scope)
    return sets


def patent_side_counts(
    session: Session,
    group_by: GroupBy,
    region_level: int,
    only: FigureFilter | None,
    scope: str | None,
) -> list[tuple[str, str, int]]:
    """(figure name, group key, count) of every patent-side figure, unordered."""
    return patent_side_sets(session, (group_by,), region_level, only, scope)[group_by]


def _counted(
    session: Session,
    groupings: tuple[GroupBy, ...],
    region_level: int,
    only: FigureFilter | None,
    scope: str | None,
) -> dict[GroupBy, list[tuple[str, str, int]]]:
    """One query per figure, keyed by the columns of ``groupings`` (one chain grouping, or
    others), its rows added up per grouping."""
    columns = _key_columns(groupings, region_level)
    by_month = GroupBy.MONTH in groupings
    totals: dict[GroupBy, Counter[tuple[str, str]]] = {by: Counter() for by in groupings}
    for figure, event in _EVENTS.items():
        for row in session.exec(_grouped(columns, only, scope, event, by_month)):
            values = dict(zip(columns, row, strict=False))
            moment = _moment(row[len(columns) : len(columns) + 2]) if by_month else None
            if not row[-1]:
                continue
            for by in groupings:
                name = (moment or UNKNOWN) if by is GroupBy.MONTH else _key(values.get(by))
                totals[by][figure, name] += int(row[-1])
    return {by: [(f, k, n) for (f, k), n in counts.items()] for by, counts in totals.items()}


def _key_columns(groupings: tuple[GroupBy, ...], region_level: int) -> dict[GroupBy, Any]:
    """The SQL key column of each grouping that has one (the month is year and month)."""
    keys: dict[GroupBy, Any] = {
        GroupBy.REGION: prefix(col(Organisation.region), region_level),
        GroupBy.IPC_SECTION: prefix(col(Patent.ipc_main), 1),
        GroupBy.ORG: col(Patent.owner_org_id),
    }
    columns = {by: keys[by] for by in groupings if by in keys}
    for by in groupings:
        chains = chain_tags(by)
        if chains is not None:
            columns[by] = chains.c.owner
    return columns


def _moment(year_month: Any) -> str | None:
    """``YYYY-MM`` of the year and month numbers of a row, None for an unknown moment."""
    year, month = year_month
    return None if year is None else f"{int(year):04d}-{int(month):02d}"


def _key(value: object) -> str:
    # NULL or '' (no owner, no region, no IPC code) is the unknown group, as in Python.
    return UNKNOWN if value is None or value == "" else str(value)


def _grouped(
    columns: dict[GroupBy, Any],
    only: FigureFilter | None,
    scope: str | None,
    event: tuple[Any, Any, tuple[ColumnElement[bool], ...]],
    by_month: bool,
) -> Any:
    """SELECT keys, [year, month,] count(*) of one event table, filtered and grouped."""
    patent_id, when, own = event
    region, ipc, org = col(Organisation.region), col(Patent.ipc_main), col(Patent.owner_org_id)
    year_month = [extract("year", when), extract("month", when)] if by_month else []
    keys = [*columns.values(), *year_month]
    stmt: Any = sa.select(*keys, func.count()).select_from(patent_id.class_)
    if patent_id.class_ is not Patent:
        stmt = stmt.join(Patent, col(Patent.id) == patent_id, isouter=True)
    if GroupBy.REGION in columns or scope is not None or (only and only.region is not None):
        stmt = stmt.join(Organisation, col(Organisation.id) == org, isouter=True)
    for by, column in columns.items():
        if by in CHAIN_GROUPS:
            chains = column.table
            stmt = stmt.join(chains, chains.c.entity_id == patent_id, isouter=True)
    conditions = [*own, *_filters(only, scope, region, ipc, org), *month_window(only, when)]
    return stmt.where(*conditions).group_by(*keys)


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
