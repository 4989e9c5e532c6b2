"""Shared fixtures: a migrated database per run, and a rolled-back transaction per test.

Tests run on SQLite by default and on PostgreSQL when PATENTMATCH_TEST_DATABASE_URL is set.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from app.db import create_schema, make_engine

# ../shared beside the checkout, or where PATENTMATCH_SHARED_DIR points (git worktrees).
SHARED_DIR = Path(
    os.environ.get("PATENTMATCH_SHARED_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared"
)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder (PATENTMATCH_SHARED_DIR, else ``../shared``); tests that need it
    are skipped without it."""
    folder = Path(os.environ.get("PATENTMATCH_SHARED_DIR") or SHARED_DIR)
    if not folder.is_dir():
        pytest.skip(f"{folder} is not available")
    return folder


def _backends() -> list[str]:
    # Every database test runs on SQLite, and again on PostgreSQL when a URL is given.
    return (
        ["sqlite", "postgresql"] if os.environ.get("PATENTMATCH_TEST_DATABASE_URL") else ["sqlite"]
    )


@pytest.fixture(scope="session", params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh SQLite file, or the PostgreSQL database named by PATENTMATCH_TEST_DATABASE_URL."""
    if request.param == "postgresql":
        return os.environ["PATENTMATCH_TEST_DATABASE_URL"]
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a schema created once for the run (dropped first on PostgreSQL)."""
    engine = make_engine(database_url)
    from app.db import import_all_models

    import_all_models()
    SQLModel.metadata.drop_all(engine)
    create_schema(engine)
    yield engine
    SQLModel.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test.

    Code under test may commit: commits become savepoints and vanish with the rollback.
    """
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()
