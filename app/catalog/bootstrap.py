"""Make sure the database schema exists before a command writes to it."""

from pathlib import Path

from app.db import create_schema, engine_from_settings
from app.dbcli import upgrade_database
from app.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def has_migrations(directory: Path = MIGRATIONS_DIR) -> bool:
    """True when the packaged Alembic migrations contain at least one revision."""
    return directory.is_dir() and any(directory.glob("*.py"))


def ensure_schema(settings: Settings) -> None:
    """Upgrade to the newest migration; while none exist yet, create the tables directly."""
    if has_migrations():
        upgrade_database(settings.database_url)
        return
    engine = engine_from_settings(settings)
    try:
        create_schema(engine)
    finally:
        engine.dispose()
