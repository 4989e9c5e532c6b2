"""Cursor pagination: an opaque base64 cursor holding the sort key and id of the last item."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import ValidationFailed
from app.types import INT32_MAX

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class SortSpec(Generic[T]):
    """How to order a listing: the SQL expression, the same key in Python, and its parser."""

    name: str
    expression: Any  # a column or SQL expression
    key_of: Callable[[T], Any]  # JSON-serialisable value of ``expression`` for an item
    parse: Callable[[Any], Any] = lambda value: value


def encode_cursor(sort: str, key: Any, item_id: int) -> str:
    """Opaque cursor for the item after which the next page starts."""
    raw = json.dumps([sort, key, item_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed("invalid cursor", errors=[{"field": "cursor", "message": message}])


def decode_cursor(token: str, sort: str) -> tuple[Any, int]:
    """The (sort key, id) in a cursor; 422 when it is malformed or was made for another sort."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        name, key, item_id = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError):
        raise _invalid("not a cursor returned by this API") from None
    if name != sort:
        raise _invalid(f"cursor belongs to another ordering than {sort!r}")
    return key, parse_id(item_id)


def parse_id(value: Any) -> int:
    """An id read back from a cursor: an int within the id range, else a ValueError (422)."""
    # A forged cursor must not reach the database with an id no column can hold.
    if type(value) is not int or not 1 <= value <= INT32_MAX:
        raise _invalid("not a cursor returned by this API")
    return value


def paginate(
    session: Session,
    stmt: SelectOfScalar[T],
    *,
    sort: SortSpec[T],
    id_column: Any,
    descending: bool,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[T], str | None]:
    """One page of ``stmt`` ordered by (sort key, id) and the cursor of the next page, if any."""
    expr = sort.expression
    token_sort = sort.name + (":desc" if descending else ":asc")
    if cursor:
        raw_key, last_id = decode_cursor(cursor, token_sort)
        try:
            key = sort.parse(raw_key)
        except (TypeError, ValueError):
            raise _invalid("cursor holds a malformed sort key") from None
        if descending:
            after = sa.or_(expr < key, sa.and_(expr == key, id_column < last_id))
        else:
            after = sa.or_(expr > key, sa.and_(expr == key, id_column > last_id))
        stmt = stmt.where(after)
    order = (expr.desc(), id_column.desc()) if descending else (expr.asc(), id_column.asc())
    rows = list(session.exec(stmt.order_by(*order).limit(limit + 1)))
    page, more = rows[:limit], len(rows) > limit
    if not more:
        return page, None
    last = page[-1]
    return page, encode_cursor(token_sort, sort.key_of(last), last.id)  # type: ignore[attr-defined]


def paginate_by_id(
    session: Session,
    stmt: SelectOfScalar[T],
    id_column: Any,
    *,
    descending: bool,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[T], str | None]:
    """One page of ``stmt`` ordered by its primary key alone (a cursor sort named "id")."""
    sort: SortSpec[T] = SortSpec("id", id_column, key_of=attrgetter("id"), parse=parse_id)
    return paginate(
        session,
        stmt,
        sort=sort,
        id_column=id_column,
        descending=descending,
        cursor=cursor,
        limit=limit,
    )
