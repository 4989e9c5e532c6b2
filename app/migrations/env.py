"""Alembic environment: the URL comes from the caller's config (settings), never from a file."""

from alembic import context
from sqlmodel import SQLModel

from app.db import import_all_models, make_engine

import_all_models()
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    """Run migrations online against the configured URL."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not configured")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
