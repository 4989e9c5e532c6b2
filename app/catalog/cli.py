"""CLI: ``patentmatch import …`` and ``patentmatch demo …``."""

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.catalog.bootstrap import ensure_schema
from app.catalog.demo import load_demo
from app.catalog.importer import import_needs, import_patents
from app.catalog.ipc import load_ipc_scheme
from app.catalog.readers import estimate_rows
from app.catalog.report import ImportReport, default_error_path, write_error_report
from app.db import engine_from_settings
from app.errors import AppError
from app.settings import Settings, get_settings

import_app = typer.Typer(
    help="Import patents and technology needs from csv, xlsx or jsonl.", no_args_is_help=True
)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)

EXIT_REJECTED = 2
# Files shorter than this finish before a progress bar would be worth drawing.
PROGRESS_MIN_ROWS = 300

FileArg = typer.Argument(..., help="csv (UTF-8 or GB18030), xlsx (first sheet) or jsonl file")
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of text.")
ErrorsOpt = typer.Option(
    None, "--errors", help="Error report path (default var/import-errors/<file>-<time>.csv)."
)
BatchOpt = typer.Option(None, "--batch-size", min=1, help="Rows per transaction.")
EXIT_CODES = (
    "Exit codes: 0 all rows loaded; 2 some rows were rejected (see the error report); "
    "1 the file or database could not be used."
)

Importer = Callable[[Session, Callable[[int], None], int], ImportReport]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Expected failures (AppError, database errors) become a message and exit code 1."""
    try:
        yield
    except AppError as exc:
        raise _fail(exc.detail) from None
    except DBAPIError as exc:
        raise _fail(f"database error: {exc.orig or exc}") from None


@contextmanager
def _database(settings: Settings) -> Iterator[Session]:
    """A session on the settings' database, its schema brought up to date first."""
    ensure_schema(settings)
    engine = engine_from_settings(settings)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def _progress(file: Path, enabled: bool) -> Iterator[Callable[[int], None]]:
    """An ``on_progress`` callback drawing a bar on stderr for files of a few hundred rows."""
    total = estimate_rows(file) if enabled else None
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task("importing", total=total)
    started = False
    clock = time.monotonic()

    def update(rows: int) -> None:
        nonlocal started
        if enabled and not started and (total or rows) >= PROGRESS_MIN_ROWS:
            bar.start()
            started = True
        rate = rows / max(time.monotonic() - clock, 1e-6)
        bar.update(task, completed=rows, description=f"{rows:,} rows read ({rate:,.0f}/s)")

    try:
        yield update
    finally:
        if started:
            bar.stop()


def _run_import(
    settings: Settings,
    file: Path,
    importer: Importer,
    json_output: bool,
    errors: Path | None,
    batch: int | None,
) -> None:
    try:
        with (
            _user_errors(),
            _database(settings) as session,
            _progress(file, not json_output) as on_progress,
        ):
            report = importer(session, on_progress, batch or settings.import_batch_size)
    except KeyboardInterrupt:
        typer.echo("interrupted: completed batches were kept; re-run to finish", err=True)
        raise typer.Exit(130) from None
    error_file = None
    if report.errors or report.warnings:
        error_file = write_error_report(
            report, errors or default_error_path(settings.var_dir, file)
        )
    _print_report(file, report, error_file, json_output)
    if report.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _print_report(file: Path, report: ImportReport, error_file: Path | None, as_json: bool) -> None:
    if as_json:
        payload = {
            "file": str(file),
            **report.summary(),
            "error_file": error_file and str(error_file),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    typer.echo(
        f"{file.name}: read {report.read}, inserted {report.inserted}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {report.rejected}, "
        f"warnings {len(report.warnings)}"
    )
    if report.ignored_headers:
        typer.echo("ignored columns: " + ", ".join(report.ignored_headers))
    for issue in report.errors[:5]:
        typer.echo(f"  row {issue.row}, {issue.field}: {issue.reason}", err=True)
    if error_file:
        typer.echo(f"error report: {error_file}")


@import_app.command("patents", epilog=EXIT_CODES)
def import_patents_command(
    file: Path = FileArg,
    org: int | None = typer.Option(None, "--org", help="Organisation id owning the patents."),
    json_output: bool = JsonOpt,
    errors: Path | None = ErrorsOpt,
    batch_size: int | None = BatchOpt,
) -> None:
    """Import patents (申请号 is the key: re-importing a file updates, never duplicates)."""
    settings = get_settings()

    def run(session: Session, on_progress: Callable[[int], None], batch: int) -> ImportReport:
        scheme = load_ipc_scheme(settings.shared_dir)
        return import_patents(
            session,
            file,
            owner_org_id=org,
            batch_size=batch,
            on_progress=on_progress,
            ipc_scheme=scheme,
        )

    _run_import(settings, file, run, json_output, errors, batch_size)


@import_app.command("needs", epilog=EXIT_CODES)
def import_needs_command(
    file: Path = FileArg,
    org: int | None = typer.Option(
        None,
        "--org",
        help="Organisation id posting every need (else by 企业名称 / 统一社会信用代码).",
    ),
    json_output: bool = JsonOpt,
    errors: Path | None = ErrorsOpt,
    batch_size: int | None = BatchOpt,
) -> None:
    """Import technology needs (技术需求); rows without a 状态 column are published."""

    def run(session: Session, on_progress: Callable[[int], None], batch: int) -> ImportReport:
        return import_needs(session, file, org_id=org, batch_size=batch, on_progress=on_progress)

    _run_import(get_settings(), file, run, json_output, errors, batch_size)


@demo_app.command("load")
def demo_load(
    shared: Path | None = typer.Option(
        None, "--shared", help="The shared data folder (default PATENTMATCH_SHARED_DIR)."
    ),
) -> None:
    """Load demo patents, organisations and illustrative needs (idempotent)."""
    settings = get_settings()
    folder = shared or settings.shared_dir
    with _user_errors():
        _demo(settings, folder)


def _demo(settings: Settings, folder: Path) -> None:
    if not folder.is_dir():
        typer.echo(f"shared folder {folder} not found: nothing to load (use --shared DIR)")
        return
    with _database(settings) as session:
        summary = load_demo(session, folder, echo=lambda line: typer.echo(line, err=True))
    for line in summary.lines():
        typer.echo(line)
    sys.stdout.flush()
