"""Database engine and sessions. Engines are built explicitly from settings, never at import."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, MetaData, event
from sqlmodel import Session, SQLModel, create_engine

from app.errors import NotFound
from app.settings import Settings

RowT = TypeVar("RowT", bound=SQLModel)


def _configure_sqlite_connection(dbapi_connection: Any, _record: object) -> None:
    # SQLite ignores FOREIGN KEY clauses unless asked per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    dbapi_connection.isolation_level = None


# Execution option that makes SQLite transactions take the write lock when they begin.
SQLITE_IMMEDIATE = "patentmatch_sqlite_immediate"


def _begin_sqlite_transaction(connection: Connection) -> None:
    # A deferred transaction that read first and then writes fails at once with "database is
    # locked" when another writer holds the lock; BEGIN IMMEDIATE waits for it instead.
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # e.g. Alembic's autocommit_block: PRAGMA foreign_keys only works outside one
    immediate = options.get(SQLITE_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite parent folders are created and FKs enforced."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def writer_engine(engine: Engine) -> Engine:
    """The same engine (and pool) for sessions that will write: on SQLite they queue for the
    write lock up front instead of failing when two writers meet; elsewhere a no-op."""
    return engine.execution_options(**{SQLITE_IMMEDIATE: True})


def engine_from_settings(settings: Settings) -> Engine:
    """Create the engine named by the settings."""
    return make_engine(settings.database_url)


def import_all_models() -> None:
    """Import every table module so that ``SQLModel.metadata`` is complete."""
    import app.table_registry  # noqa: F401

    never_reuse_ids(SQLModel.metadata)


def never_reuse_ids(metadata: MetaData) -> None:
    """Give every table with a generated integer id SQLite's AUTOINCREMENT.

    Without it SQLite hands the largest id out again after that row is deleted, and alerts,
    deals, caches and index manifests that still hold the old id would name the new row.
    Set here, for all tables at once, so that no new table can forget it.
    """
    for table in metadata.tables.values():
        if table.autoincrement_column is not None:
            table.dialect_options["sqlite"]["autoincrement"] = True


def create_schema(engine: Engine) -> None:
    """Create missing tables directly (tests); production uses ``patentmatch db upgrade``."""
    import_all_models()
    SQLModel.metadata.create_all(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_or_404(session: Session, model: type[RowT], row_id: int, what: str) -> RowT:
    """The ``model`` row with this primary key, or 404 "<what> <row_id> does not exist"."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} does not exist")
    return row


class _Persisted(Protocol):
    id: int | None


def persisted_id(row: _Persisted) -> int:
    """The primary key of a row that was flushed; a row without one is a bug, not bad input.

    Replaces ``assert row.id is not None``, which ``python -O`` strips.
    """
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id: flush it first")
    return row.id
