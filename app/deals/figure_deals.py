"""The deal-side key figures counted in SQL: contacts requested, deals per state, patents
matched and contract value, per group, with the region scope and the dashboard's filter in the
WHERE clause.

A deal groups by the demand's region and industry division, its patent's IPC section (or each
chain, or chain node, the patent is tagged to), the supply-side organisation, or the month it
was requested; a contract's value by the month it was signed. Per grouping, one query counts
the deals (a count per state and the distinct patents, per group) and one sums the contracts:
the database returns one row per group, not per deal. Every group key is computed in SQL, so
that the distinct patent count is exact per key (NULL and '' are one group: unknown).
"""

from collections.abc import Iterator
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import ColumnElement, case, extract, func, literal_column, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.catalog.models import Organisation, Patent
from app.deals.figure_filter import FigureFilter
from app.deals.figure_groups import UNKNOWN, GroupBy
from app.deals.figure_sql import blank_null, chain_tags, division, month_window, prefix
from app.deals.models import Deal, DealContract
from app.deals.states import DealState


class DealGroup(NamedTuple):
    """The deal counts of one group: per state (non-zero only) and distinct patents."""

    key: str
    by_state: dict[DealState, int]
    patents_matched: int


class _Query(NamedTuple):
    """What one grouping's statements share: the group key columns, joins and conditions."""

    keys: list[Any]
    chains: Any  # the chain-tag subquery to join, or None
    conditions: list[ColumnElement[bool]]
    needs_patent: bool


def deal_groups(
    session: Session,
    group_by: GroupBy,
    region_level: int,
    only: FigureFilter | None,
    scope: str | None,
) -> Iterator[DealGroup]:
    """The deals requested, per group: counts per state and distinct patents, unordered."""
    plan = _plan(group_by, region_level, only, col(Deal.created_at))
    states = list(DealState)
    counts = [func.count(case((col(Deal.state) == state, literal_column("1")))) for state in states]
    # Core select: sqlmodel's select() types a fixed number of columns.
    stmt: Any = sa.select(*plan.keys, func.count(func.distinct(col(Deal.patent_id))), *counts)
    width = len(plan.keys)
    for row in session.exec(_finish(stmt.select_from(Deal), plan, scope)):
        by_state = {s: int(n) for s, n in zip(states, row[width + 1 :], strict=True) if n}
        yield DealGroup(_key(group_by, row[:width]), by_state, int(row[width]))


def contract_values(
    session: Session,
    group_by: GroupBy,
    region_level: int,
    only: FigureFilter | None,
    scope: str | None,
) -> Iterator[tuple[str, int]]:
    """(group key, contract value in yuan) of the signed contracts, unordered."""
    plan = _plan(group_by, region_level, only, col(DealContract.signed_on))
    total = func.coalesce(func.sum(col(DealContract.amount_yuan)), literal_column("0"))
    stmt: Any = sa.select(*plan.keys, total).select_from(DealContract)
    stmt = stmt.join(Deal, col(Deal.id) == col(DealContract.deal_id))
    width = len(plan.keys)
    for row in session.exec(_finish(stmt, plan, scope)):
        yield _key(group_by, row[:width]), int(row[width])


def _plan(group_by: GroupBy, region_level: int, only: FigureFilter | None, when: Any) -> _Query:
    """The group key columns, the joins they need and the filter's conditions on ``when``."""
    chains = chain_tags(group_by)
    keys: dict[GroupBy, list[Any]] = {
        GroupBy.MONTH: [extract("year", when), extract("month", when)],
        GroupBy.REGION: [blank_null(prefix(col(Deal.region), region_level))],
        GroupBy.INDUSTRY: [division(col(Deal.industry_code))],
        GroupBy.ORG: [col(Deal.owner_org_id)],
        GroupBy.IPC_SECTION: [blank_null(prefix(col(Patent.ipc_main), 1))],
    }
    chosen = [chains.c.owner] if chains is not None else keys[group_by]
    needs_patent = group_by is GroupBy.IPC_SECTION or (
        only is not None and only.ipc_section is not None
    )
    return _Query(chosen, chains, _filters(only, when), needs_patent)


def _finish(stmt: Any, plan: _Query, scope: str | None) -> Any:
    """The joins the keys, the filter and the scope read; WHERE; GROUP BY the keys."""
    if plan.needs_patent:
        stmt = stmt.join(Patent, col(Patent.id) == col(Deal.patent_id), isouter=True)
    if plan.chains is not None:
        stmt = stmt.join(plan.chains, plan.chains.c.entity_id == col(Deal.patent_id), isouter=True)
    conditions = list(plan.conditions)
    if scope is not None:
        requester, owner = aliased(Organisation), aliased(Organisation)
        stmt = stmt.join(requester, col(requester.id) == col(Deal.requester_org_id), isouter=True)
        stmt = stmt.join(owner, col(owner.id) == col(Deal.owner_org_id), isouter=True)
        regions = (col(Deal.region), col(requester.region), col(owner.region))
        conditions.append(or_(*(_in_scope(region, scope) for region in regions)))
    return stmt.where(*conditions).group_by(*plan.keys)


def _filters(only: FigureFilter | None, when: Any) -> list[ColumnElement[bool]]:
    """The dashboard's filter as SQL conditions: the tests ``FigureFilter.passes`` makes."""
    if only is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if only.region is not None:
        conditions.append(col(Deal.region).startswith(only.region, autoescape=True))
    if only.industry is not None:
        conditions.append(division(col(Deal.industry_code)) == only.industry)
    if only.ipc_section is not None:
        conditions.append(prefix(col(Patent.ipc_main), 1) == only.ipc_section)
    if only.org_id is not None:
        conditions.append(col(Deal.owner_org_id) == only.org_id)
    return conditions + month_window(only, when)


def _in_scope(region: Any, scope: str) -> ColumnElement[bool]:
    # As in_region_scope: a region that is unknown (NULL) or blank lies in no scope.
    in_scope: ColumnElement[bool] = (region != "") & region.startswith(scope, autoescape=True)
    return in_scope


def _key(group_by: GroupBy, values: Any) -> str:
    """The group key of a result row's key columns."""
    if group_by is GroupBy.MONTH:
        year, month = values
        return f"{int(year):04d}-{int(month):02d}" if year is not None else UNKNOWN
    (value,) = values
    return UNKNOWN if value is None or value == "" else str(value)
