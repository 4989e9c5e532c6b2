"""The Alembic migrations build exactly the schema that the table models describe."""

import os
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from app.db import import_all_models, make_engine
from app.dbcli import upgrade_database


def test_upgrade_from_empty_matches_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade_database(url)
    import_all_models()
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert differences == []
    assert {"organisation", "patent", "techneed", "index_change"} <= tables


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    upgrade_database(url)
    upgrade_database(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        assert "alembic_version" in inspect(connection).get_table_names()
    engine.dispose()


@pytest.mark.skipif(
    not os.environ.get("PATENTMATCH_TEST_DATABASE_URL"), reason="PostgreSQL URL not given"
)
def test_upgrade_on_postgresql_in_a_scratch_schema() -> None:
    url = os.environ["PATENTMATCH_TEST_DATABASE_URL"]
    schema = f"migration_check_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        # %3D is '=': also proves that URL-encoded characters survive Alembic's config parser.
        upgrade_database(f"{url}?options=-csearch_path%3D{schema}")
        with admin.connect() as connection:
            tables = set(inspect(connection).get_table_names(schema=schema))
        assert {"organisation", "patent", "techneed", "alembic_version"} <= tables
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
