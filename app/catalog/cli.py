"""CLI: ``patentmatch import …`` and ``patentmatch demo …``."""

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
from app.catalog.import_output import print_report
from app.catalog.importer import import_needs, import_patents
from app.catalog.ipc import load_ipc_scheme
from app.catalog.orgs import resolve_org
from app.catalog.readers import estimate_rows
from app.catalog.report import ImportReport, ReportPaths, default_report_paths, write_reports
from app.db import engine_from_settings
from app.errors import AppError
from app.settings import Settings, get_settings

import_app = typer.Typer(
    help="Import patents and technology needs from csv, xlsx or jsonl.", no_args_is_help=True
)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)

EXIT_REJECTED = 2
EXIT_INTERRUPTED = 130
# Files shorter than this finish before a progress bar would be worth drawing.
PROGRESS_MIN_ROWS = 300

FileArg = typer.Argument(
    ...,
    help="csv (UTF-8, UTF-8 with BOM, GBK/GB18030), xlsx (every sheet with a header) or jsonl",
)
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of text.")
ErrorsOpt = typer.Option(
    None,
    "--errors",
    help="Error report path (default var/import-reports/<file>-<time>-errors.csv).",
)
WarningsOpt = typer.Option(
    None,
    "--warnings",
    help="Warning report path (default var/import-reports/<file>-<time>-warnings.csv).",
)
BatchOpt = typer.Option(None, "--batch-size", min=1, help="Rows per transaction.")
EXIT_CODES = (
    "Exit codes: 0 all rows loaded; 2 some rows were rejected (see the error report); "
    "1 the file or database could not be used (an empty or header-only file included); "
    "130 interrupted (the reports cover the completed batches)."
)

# (session, the report to fill, progress callback, batch size) → fills the report.
Importer = Callable[[Session, ImportReport, Callable[[int], None], int], object]


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
    paths: ReportPaths,
    batch: int | None,
) -> None:
    report = ImportReport()
    try:
        with (
            _user_errors(),
            _database(settings) as session,
            _progress(file, not json_output) as on_progress,
        ):
            importer(session, report, on_progress, batch or settings.import_batch_size)
    except KeyboardInterrupt:
        # The open batch was rolled back: report what the committed ones did.
        report.rewind()
    written = write_reports(report, paths)
    print_report(file, report, written, json_output)
    if report.interrupted:
        typer.echo("interrupted: completed batches were kept; re-run to finish", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _org_id(session: Session, org: str | None) -> int | None:
    return None if org is None else resolve_org(session, org).id


def _paths(
    settings: Settings, file: Path, errors: Path | None, warnings: Path | None
) -> ReportPaths:
    return default_report_paths(settings.var_dir, file).with_overrides(errors, warnings)


@import_app.command("patents", epilog=EXIT_CODES)
def import_patents_command(
    file: Path = FileArg,
    org: str | None = typer.Option(
        None, "--org", help="Owning organisation: id or unique name (see `orgs list`)."
    ),
    json_output: bool = JsonOpt,
    errors: Path | None = ErrorsOpt,
    warnings: Path | None = WarningsOpt,
    batch_size: int | None = BatchOpt,
) -> None:
    """Import patents (申请号 is the key: re-importing a file updates, never duplicates)."""
    settings = get_settings()

    def run(
        session: Session, report: ImportReport, on_progress: Callable[[int], None], batch: int
    ) -> object:
        return import_patents(
            session,
            file,
            owner_org_id=_org_id(session, org),
            batch_size=batch,
            on_progress=on_progress,
            ipc_scheme=load_ipc_scheme(settings.shared_dir),
            report=report,
        )

    paths = _paths(settings, file, errors, warnings)
    _run_import(settings, file, run, json_output, paths, batch_size)


@import_app.command("needs", epilog=EXIT_CODES)
def import_needs_command(
    file: Path = FileArg,
    org: str | None = typer.Option(
        None,
        "--org",
        help="Organisation (id or unique name) posting every need "
        "(else by 企业名称 / 统一社会信用代码).",
    ),
    json_output: bool = JsonOpt,
    errors: Path | None = ErrorsOpt,
    warnings: Path | None = WarningsOpt,
    batch_size: int | None = BatchOpt,
) -> None:
    """Import technology needs (技术需求); rows without a 状态 column are published."""
    settings = get_settings()

    def run(
        session: Session, report: ImportReport, on_progress: Callable[[int], None], batch: int
    ) -> object:
        return import_needs(
            session,
            file,
            org_id=_org_id(session, org),
            batch_size=batch,
            on_progress=on_progress,
            report=report,
        )

    paths = _paths(settings, file, errors, warnings)
    _run_import(settings, file, run, json_output, paths, batch_size)


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
