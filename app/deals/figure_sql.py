"""SQL expressions the key figures group and filter by, the same on SQLite and PostgreSQL."""

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, literal_column
from sqlmodel import col, select

from app.chains.models import ChainTag, TagEntity, TagStatus
from app.deals.figure_filter import FigureFilter
from app.deals.figure_groups import GroupBy

# GB/T 4754 codes are a section letter (A to T), division digits, or both (validated on the
# way in), so the division is the two characters after a leading letter, as ``division`` has it.
_SECTIONS: list[Any] = [literal_column(f"'{chr(c)}'") for c in range(ord("A"), ord("T") + 1)]


def prefix(column: Any, length: int) -> Any:
    """The first ``length`` characters of a text column."""
    # Inline numbers: PostgreSQL takes substr($1, $2) in SELECT and GROUP BY as different.
    return func.substr(column, literal_column("1"), literal_column(str(int(length))))


def blank_null(value: Any) -> Any:
    """NULL for '': both are the unknown group, one SQL group so distinct counts stay exact."""
    return func.nullif(value, literal_column("''"))


def division(code: Any) -> Any:
    """The GB/T 4754 division (大类) of an industry code column: C3841 → 38; NULL if none."""
    first = func.substr(code, literal_column("1"), literal_column("1"))
    after_letter = func.substr(code, literal_column("2"), literal_column("2"))
    return blank_null(case((first.in_(_SECTIONS), after_letter), else_=prefix(code, 2)))


def chain_tags(group_by: GroupBy) -> Any:
    """Each patent's chains (or nodes), as a subquery; None unless grouping by chain."""
    if group_by not in (GroupBy.CHAIN, GroupBy.CHAIN_NODE):
        return None
    owner = col(ChainTag.node_id) if group_by is GroupBy.CHAIN_NODE else col(ChainTag.chain_id)
    return (
        select(col(ChainTag.entity_id).label("entity_id"), owner.label("owner"))
        .where(col(ChainTag.entity) == TagEntity.PATENT, col(ChainTag.status) != TagStatus.REMOVED)
        .distinct()
        .subquery()
    )


def month_window(only: FigureFilter | None, when: Any) -> list[ColumnElement[bool]]:
    """The filter's month range as conditions on an event time column (none without one).

    A half-open range of the column itself, from the first day of ``month_from`` to the first
    day after ``month_to``: the months ``EXTRACT`` gives (and ``YYYY-MM`` keys compare as), at no
    cost per row. An unknown (NULL) time is in no range.
    """
    if only is None:
        return []
    conditions = []
    # Bound as the column's type: on SQLite a time is text, compared in the column's format.
    if only.month_from is not None:
        conditions.append(when >= literal(_first_day(only.month_from, 0), when.type))
    if only.month_to is not None:
        conditions.append(when < literal(_first_day(only.month_to, 1), when.type))
    return conditions


def _first_day(month: str, after: int) -> date:
    """The first day of the ``YYYY-MM`` month, or of the month ``after`` months later."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + after
    return date(index // 12, index % 12 + 1, 1)
