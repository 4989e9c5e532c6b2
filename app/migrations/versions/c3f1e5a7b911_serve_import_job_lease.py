"""import job lease: lease_owner, heartbeat_at, upload_path (serve)

Revision ID: c3f1e5a7b911
Revises: c7e5a1d3b9f2
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'c3f1e5a7b911'
down_revision: str | None = 'c7e5a1d3b9f2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('import_job') as batch:
        batch.add_column(sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('upload_path', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('import_job') as batch:
        batch.drop_column('upload_path')
        batch.drop_column('heartbeat_at')
        batch.drop_column('lease_owner')
