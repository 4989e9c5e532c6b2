"""CLI: ``patentmatch chains load|list|show|export|tag|delete`` — industry chains (产业链)."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from app.chains import queries
from app.chains.files import dump, read_chain_file
from app.chains.store import delete_chain, export_chain, upsert_chain
from app.chains.tagging import retag_everything, tag_until_done
from app.cli_errors import fail
from app.db import engine_from_settings
from app.errors import AppError
from app.progress import RateReporter
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from app.search.engine import MatchEngine

chains_app = typer.Typer(
    help="Industry chains (产业链): load from YAML/JSON, list, show, export, tag.",
    no_args_is_help=True,
)
ChainRef = Annotated[str, typer.Argument(help="Chain id or key")]
Format = Annotated[str, typer.Option("--format", help="yaml or json")]


@contextmanager
def _database() -> Iterator[Engine]:
    """The configured database; expected errors become one line and exit 1."""
    engine = engine_from_settings(get_settings())
    try:
        yield engine
    except AppError as error:
        raise fail(error) from None
    finally:
        engine.dispose()


@chains_app.command("load")
def load(
    files: Annotated[list[Path], typer.Argument(help="Chain files (.yaml, .yml or .json)")],
) -> None:
    """Create or update the files' chains by key (loading twice changes nothing).

    Every file is read and checked first, then all are written in one transaction: one bad
    file loads nothing.
    """
    with _database() as engine, Session(engine) as session:
        specs = [spec for file in files for spec in read_chain_file(file)]
        results = [upsert_chain(session, spec) for spec in specs]
        session.commit()
        for spec, result in zip(specs, results, strict=True):
            note = (
                f", removed nodes {', '.join(result.removed_nodes)}" if result.removed_nodes else ""
            )
            typer.echo(
                f"{result.outcome} chain {result.chain.id} {spec.key}: {spec.name} "
                f"({len(spec.nodes)} nodes{note})"
            )
    typer.echo("tags follow in the background (worker, server) or with `patentmatch chains tag`")


@chains_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False) -> None:
    """List the chains with their node and tag counts."""
    with _database() as engine, Session(engine) as session:
        rows = queries.chain_summaries(session, None)
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=1))
        return
    for row in rows:
        mark = " (illustrative)" if row.illustrative else ""
        typer.echo(
            f"{row.id:>4}  {row.owner_region:<6}  {row.key:<28} {row.nodes:>3} nodes  "
            f"{row.patents:>6} patents  {row.needs:>4} needs  {row.name}{mark}"
        )


@chains_app.command("show")
def show(ref: ChainRef, fmt: Format = "yaml") -> None:
    """Show a chain in the file format, with each node's tag counts."""
    with _database() as engine, Session(engine) as session:
        chain = queries.resolve_chain(session, ref)
        view = queries.chain_view(session, chain)
    typer.echo(dump([view.model_dump(mode="json")], fmt), nl=False)


@chains_app.command("export")
def export(
    refs: Annotated[
        list[str] | None, typer.Argument(help="Chain ids or keys (default: all)")
    ] = None,
    fmt: Format = "yaml",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write")] = None,
) -> None:
    """Export chains in the file format (``load`` reads it back)."""
    with _database() as engine, Session(engine) as session:
        chains = (
            [queries.resolve_chain(session, r) for r in refs]
            if refs
            else queries.all_chains(session)
        )
        text = dump([export_chain(session, c) for c in chains], fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(chains)} chain(s) to {output}")


@chains_app.command("delete")
def delete(ref: ChainRef) -> None:
    """Delete a chain, its nodes and their tags."""
    with _database() as engine, Session(engine) as session:
        chain = queries.resolve_chain(session, ref)
        delete_chain(session, chain)
        session.commit()
        typer.echo(f"deleted chain {ref}")


@chains_app.command("tag")
def tag(
    full: Annotated[bool, typer.Option("--full", help="Recompute every node's tags")] = False,
    similarity: Annotated[
        bool, typer.Option("--similarity/--no-similarity", help="Text similarity (the encoder)")
    ] = True,
) -> None:
    """Tag patents and needs to chain nodes until up to date (progress on stderr)."""
    settings = get_settings()
    with _database() as engine:
        if full:
            typer.echo(f"{retag_everything(engine)} node(s) marked for recomputation")
        neighbours = _engine(settings, engine) if similarity else None
        reports = tag_until_done(engine, settings, neighbours, RateReporter(typer.echo))
    added = sum(r.counts.added for r in reports)
    updated = sum(r.counts.updated for r in reports)
    dropped = sum(r.counts.dropped for r in reports)
    nodes = sum(r.nodes for r in reports)
    typer.echo(
        f"tagged: {nodes} node(s) recomputed, {added} tag(s) added, {updated} refreshed, "
        f"{dropped} dropped; change log read up to {reports[-1].last_change_id}"
    )


def _engine(settings: Settings, engine: Engine) -> "MatchEngine":
    """The match engine over the saved indexes, brought up to date (like ``index update``)."""
    from app.search.encoder import load_encoder
    from app.search.engine import MatchEngine

    matcher = MatchEngine(settings, load_encoder(settings))
    with Session(engine) as session:
        matcher.update(session, progress=RateReporter(typer.echo))
    return matcher
