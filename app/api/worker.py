"""``patentmatch worker``: the background work of a deployment, as a process of its own.

It runs the same ``Indexer`` as the API server's thread (catching up with the change log and
publishing generations into its ``index_dir``), fails import jobs whose server died, and runs
the alert dispatcher — under a deployment-wide lock (a PostgreSQL advisory lock), so that
exactly one dispatcher sends webhooks however many workers run — and tags patents and needs to
industry-chain nodes (``app.chains.background.tag_pending``, under its own lock).
"""

import logging
import signal
import threading
from types import FrameType

import typer

from app.api.main import build_match_engine
from app.catalog.job_leases import new_lease_owner, reap_dead_jobs
from app.chains.background import TAGGER_LOCK, tag_pending
from app.db import engine_from_settings
from app.deals.cli import run_rounds
from app.deals.webhooks import DISPATCHER_LOCK
from app.locks import named_lock
from app.search.indexer import Indexer
from app.settings import Settings, get_settings

log = logging.getLogger("patentmatch.worker")

worker_app = typer.Typer(
    help="Background worker: indexer, import-job reaper, alert dispatcher, chain tagger."
)


def run_worker(settings: Settings, stop: threading.Event, *, alerts: bool, interval: float) -> None:
    """Index, reap dead jobs and dispatch alerts until ``stop`` is set; saves at the end."""
    db = engine_from_settings(settings)
    matcher = build_match_engine(settings, db)
    indexer = Indexer(matcher, db, settings)
    indexer.start()
    lock = named_lock(db, DISPATCHER_LOCK, settings.var_dir)
    tagger_lock = named_lock(db, TAGGER_LOCK, settings.var_dir)
    me = new_lease_owner()
    try:
        while not stop.is_set():
            try:
                reap_dead_jobs(db, me, settings.import_lease_seconds)
                if alerts:
                    run_rounds(db, settings, 1, 0.0, lock=lock)
                tag_pending(db, settings, matcher, tagger_lock)
            except Exception:
                # The loop's boundary: log, and try again next round.
                log.exception("worker round failed")
            stop.wait(interval)
    finally:
        indexer.stop(save=True)
        lock.release()
        tagger_lock.release()
        db.dispose()


@worker_app.callback(invoke_without_command=True)
def worker(
    alerts: bool = typer.Option(True, "--alerts/--no-alerts", help="Run the alert dispatcher"),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="Seconds between rounds"),
) -> None:
    """Run until SIGTERM/SIGINT, then save the index and stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    typer.echo("worker started (indexer, import-job reaper" + (", alerts)" if alerts else ")"))
    run_worker(get_settings(), stop, alerts=alerts, interval=interval)
    typer.echo("worker stopped")
