"""security: SQLite ids are never reused (AUTOINCREMENT on every generated id)

Revision ID: c7e5a1d3b9f2
Revises: c0a5e1acc001
Create Date: 2026-12-01 23:10:00

SQLite reuses the largest rowid after a delete unless a table is declared AUTOINCREMENT, and
that can only be declared when a table is created: each table is rebuilt (batch mode, data
copied). Foreign keys are switched off meanwhile, outside a transaction as SQLite requires,
so that dropping the old copy of a referenced table does not touch the rows that refer to it.
PostgreSQL's sequences never hand an id out twice: nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c7e5a1d3b9f2"
down_revision: str | None = "c0a5e1acc001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table with a generated integer id (initial schema and console accounts).
TABLES = (
    "index_change",
    "organisation",
    "api_key",
    "patent",
    "techneed",
    "alert_subscription",
    "deal",
    "import_job",
    "open_licence_declaration",
    "alert_delivery",
    "deal_event",
    "patent_licence",
    "deal_contract",
    "delivery_attempt",
    "user_account",
    "account_token",
    "audit_entry",
    "user_session",
)


def _rebuild(autoincrement: bool) -> None:
    context = op.get_context()
    if context.dialect.name != "sqlite":
        return
    with context.autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        for name in TABLES:
            with op.batch_alter_table(
                name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
            ):
                pass
    finally:
        with context.autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
