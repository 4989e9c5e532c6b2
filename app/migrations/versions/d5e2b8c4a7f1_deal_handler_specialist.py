"""deal.handler_key_id: the station specialist handling a deal (case desk)

Revision ID: d5e2b8c4a7f1
Revises: fd03c1cd42d6
Create Date: 2026-12-02 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'd5e2b8c4a7f1'
down_revision: str | None = 'fd03c1cd42d6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deal') as batch:
        batch.add_column(sa.Column('handler_key_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_deal_handler_key_id_api_key', 'api_key', ['handler_key_id'], ['id']
        )
        batch.create_index('ix_deal_handler_key_id', ['handler_key_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deal') as batch:
        batch.drop_index('ix_deal_handler_key_id')
        batch.drop_constraint('fk_deal_handler_key_id_api_key', type_='foreignkey')
        batch.drop_column('handler_key_id')
