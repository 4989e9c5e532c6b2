"""How every CLI command reports an expected error: a plain message, never a traceback."""

import typer
from sqlalchemy.exc import DBAPIError

from app.db import NOT_INITIALISED
from app.errors import AppError


def fail(error: AppError) -> typer.Exit:
    """Print ``error`` (with its field errors) on stderr and give the exit (code 1) to raise."""
    typer.secho(f"error: {error.detail}", err=True, fg=typer.colors.RED)
    for item in error.extra.get("errors", []):
        typer.secho(f"  {item.get('field')}: {item.get('message')}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


# PostgreSQL's SQLSTATE for "relation does not exist".
_UNDEFINED_TABLE = "42P01"


def database_failure(error: DBAPIError) -> str:
    """One line for a database that cannot serve a command: not migrated, or unreachable."""
    original = error.orig
    if "no such table" in str(original) or getattr(original, "sqlstate", None) == _UNDEFINED_TABLE:
        return NOT_INITIALISED
    first = str(original or error).strip().splitlines()
    return "database unavailable: " + (first[0] if first else type(error).__name__)
