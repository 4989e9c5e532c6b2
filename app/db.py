"""Database engine and sessions. Engines are built explicitly from settings, never at import."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, MetaData, event, inspect
from sqlmodel import Session, SQLModel, create_engine

from app.errors import NotFound, ServiceUnavailable
from app.settings import Settings

RowT = TypeVar("RowT", bound=SQLModel)


def _sqlite_connect_hook(busy_timeout_ms: int, wal: bool) -> Any:
    def configure(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        # SQLite ignores FOREIGN KEY clauses unless asked per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        # Writers wait for the lock this long instead of failing with "database is locked".
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if wal:
            # WAL: readers never block the writer nor wait for it; NORMAL sync is durable
            # across application crashes (only a power loss may drop the last commits).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
        dbapi_connection.isolation_level = None

    return configure


def _reset_sqlite_connection(dbapi_connection: Any, _record: object, _state: object) -> None:
    # A COMMIT that failed (busy) leaves the connection inside its transaction; the next
    # BEGIN on it would fail with "cannot start a transaction within a transaction".
    if dbapi_connection.in_transaction:
        dbapi_connection.execute("ROLLBACK")


# Execution option that makes SQLite transactions take the write lock when they begin.
SQLITE_IMMEDIATE = "patentmatch_sqlite_immediate"


def _begin_sqlite_transaction(connection: Connection) -> None:
    # A deferred transaction that read first and then writes fails at once with "database is
    # locked" when another writer holds the lock; BEGIN IMMEDIATE waits for it instead.
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # e.g. Alembic's autocommit_block: PRAGMA foreign_keys only works outside one
    immediate = options.get(SQLITE_IMMEDIATE, False)
    raw = connection.connection.dbapi_connection
    if raw is not None and raw.in_transaction:
        # Left over from an error the pool did not see (see _reset_sqlite_connection).
        raw.execute("ROLLBACK")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@dataclass(frozen=True)
class PoolOptions:
    """Connection pool sizing; requests beyond size + overflow wait ``timeout`` seconds."""

    size: int = 10
    max_overflow: int = 20
    timeout: float = 30.0
    sqlite_busy_timeout_ms: int = 15_000

    @classmethod
    def from_settings(cls, settings: Settings) -> "PoolOptions":
        """The pool options named by the settings."""
        return cls(
            settings.db_pool_size,
            settings.db_max_overflow,
            settings.db_pool_timeout,
            settings.sqlite_busy_timeout_ms,
        )


def make_engine(url: str, pool: PoolOptions | None = None) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL, a busy timeout and enforced FKs."""
    pool = pool or PoolOptions()
    memory = url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url
    if url.startswith("sqlite:///") and not memory:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"check_same_thread": False}
    if not memory:
        options.update(
            pool_size=pool.size, max_overflow=pool.max_overflow, pool_timeout=pool.timeout
        )
    engine = create_engine(url, **options)
    if url.startswith("sqlite"):
        hook = _sqlite_connect_hook(pool.sqlite_busy_timeout_ms, wal=not memory)
        event.listen(engine, "connect", hook)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        event.listen(engine, "reset", _reset_sqlite_connection)
    return engine


def writer_engine(engine: Engine) -> Engine:
    """The same engine (and pool) for sessions that will write: on SQLite they queue for the
    write lock up front instead of failing when two writers meet; elsewhere a no-op."""
    return engine.execution_options(**{SQLITE_IMMEDIATE: True})


NOT_INITIALISED = "database not initialised: run `patentmatch db upgrade`"


def require_initialised(settings: Settings) -> None:
    """Raise ``ServiceUnavailable`` naming `patentmatch db upgrade` when the schema is missing
    (a cheap check for commands that would otherwise do minutes of work first)."""
    engine = engine_from_settings(settings)
    try:
        if not inspect(engine).has_table("patent"):
            raise ServiceUnavailable(NOT_INITIALISED)
    finally:
        engine.dispose()


def engine_from_settings(settings: Settings) -> Engine:
    """Create the engine named by the settings."""
    return make_engine(settings.database_url, PoolOptions.from_settings(settings))


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
