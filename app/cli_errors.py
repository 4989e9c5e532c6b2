"""How every CLI command reports an expected error: a plain message, never a traceback."""

import typer

from app.errors import AppError


def fail(error: AppError) -> typer.Exit:
    """Print ``error`` (with its field errors) on stderr and give the exit (code 1) to raise."""
    typer.secho(f"error: {error.detail}", err=True, fg=typer.colors.RED)
    for item in error.extra.get("errors", []):
        typer.secho(f"  {item.get('field')}: {item.get('message')}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)
