"""CLI: ``patentmatch db …`` — schema migrations with Alembic."""

from pathlib import Path

import typer
from alembic import command
from alembic.config import Config

from app.settings import get_settings

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


def alembic_config(database_url: str) -> Config:
    """An Alembic config for the packaged migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # Alembic's config is a ConfigParser: a literal % (URL-encoded passwords) must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str) -> None:
    """Bring the database schema to the newest revision."""
    command.upgrade(alembic_config(database_url), "head")


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply all pending migrations to PATENTMATCH_DATABASE_URL."""
    settings = get_settings()
    upgrade_database(settings.database_url)
    typer.echo("database schema is up to date")


@db_app.command("revision")
def revision(message: str = typer.Argument(..., help="Short description")) -> None:
    """Autogenerate a migration from the table models (developers)."""
    settings = get_settings()
    command.revision(alembic_config(settings.database_url), message=message, autogenerate=True)
