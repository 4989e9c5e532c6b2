"""SQLite ids are never reused: models and the migration declare AUTOINCREMENT, data survives."""

import sqlite3
from datetime import date
from pathlib import Path

from alembic import command
from sqlmodel import Session, SQLModel

from app.catalog.enums import OrgKind
from app.catalog.models import Organisation, Patent
from app.db import import_all_models, make_engine
from app.dbcli import alembic_config, upgrade_database
from app.licensing.models import OpenLicenceDeclaration, PaymentMode

BEFORE = "c0a5e1acc001"  # the revision before ours


def _schema_sql(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        return dict(rows.fetchall())


def _id_tables() -> list[str]:
    import_all_models()
    return [t.name for t in SQLModel.metadata.tables.values() if t.autoincrement_column is not None]


def test_every_generated_id_is_autoincrement_in_the_models() -> None:
    tables = _id_tables()
    assert {"patent", "techneed", "organisation", "deal", "api_key"} <= set(tables)
    for name in tables:
        assert SQLModel.metadata.tables[name].dialect_options["sqlite"]["autoincrement"], name


def _seed(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with Session(engine) as session:
        org = Organisation(kind=OrgKind.UNIVERSITY, name="示例大学")
        session.add(org)
        session.flush()
        assert org.id is not None
        patents = [
            Patent(natural_key=f"k{i}", title=f"专利{i}", owner_org_id=org.id) for i in (1, 2)
        ]
        session.add_all(patents)
        session.flush()
        declaration = OpenLicenceDeclaration(
            patent_id=patents[0].id, payment_mode=PaymentMode.LUMP_SUM, fee_yuan=1000,
            term_years=3, contact_name="王老师",
        )  # fmt: skip
        session.add(declaration)
        session.commit()
        assert patents[1].id is not None
        result = org.id, patents[1].id
    engine.dispose()
    return result


def test_migration_rebuilds_tables_with_their_rows_and_references(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), BEFORE)
    org_id, last_patent = _seed(url)
    upgrade_database(url)
    schema = _schema_sql(path)
    for name in _id_tables():
        assert "AUTOINCREMENT" in schema[name], name
    # The partial unique index (one active declaration per patent) keeps its condition.
    assert "WHERE" in schema["uq_open_licence_declaration_active_patent"]
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        assert connection.execute("SELECT count(*) FROM patent").fetchone() == (2,)
    engine = make_engine(url)
    with Session(engine) as session:
        session.delete(session.get(Patent, last_patent))
        session.commit()
        again = Patent(
            natural_key="k3", title="专利3", owner_org_id=org_id, filing_date=date.today()
        )
        session.add(again)
        session.commit()
        assert again.id is not None
        assert again.id > last_patent
    engine.dispose()


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade_database(url)
    command.downgrade(alembic_config(url), BEFORE)
    assert "AUTOINCREMENT" not in _schema_sql(tmp_path / "roundtrip.db")["patent"]
    upgrade_database(url)
    assert "AUTOINCREMENT" in _schema_sql(tmp_path / "roundtrip.db")["patent"]
