"""CLI: ``patentmatch alerts dispatch`` runs the alert dispatcher once or as a worker loop."""

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import typer
from sqlalchemy import Engine
from sqlmodel import Session

from app.db import engine_from_settings
from app.deals.webhooks import DISPATCHER_LOCK, dispatch, next_due
from app.locks import ExclusiveLock, named_lock
from app.settings import Settings, get_settings

alerts_app = typer.Typer(help="Patent alerts: webhook dispatcher.", no_args_is_help=True)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_rounds(
    engine: Engine,
    settings: Settings,
    rounds: int | None,
    interval: float,
    clock: Callable[[], datetime] = _utcnow,
    sleep: Callable[[float], None] = time.sleep,
    lock: ExclusiveLock | None = None,
) -> int:
    """Dispatch ``rounds`` times (None: forever), sleeping until the next retry or ``interval``.

    Returns the number of deliveries made; each round commits, so a crash loses at most one.
    With ``lock``, a round runs only while this process holds it (one dispatcher at a time).
    """
    delivered, done = 0, 0
    with httpx.Client() as client:
        while rounds is None or done < rounds:
            if lock is not None and not (lock.try_acquire() and lock.held()):
                typer.echo("another dispatcher holds the lock; not dispatching this round")
                done += 1
                if rounds is None or done < rounds:
                    sleep(interval)
                continue
            with Session(engine) as session:
                report = dispatch(session, client, clock(), settings)
                session.commit()
                due = next_due(session)
            delivered += report.delivered
            done += 1
            typer.echo(
                f"events {report.events_found}, queued {report.deliveries_queued}, "
                f"delivered {report.delivered}, retrying {report.retrying}, failed {report.failed}"
            )
            if rounds is not None and done >= rounds:
                break
            wait = interval if due is None else (due - clock()).total_seconds()
            sleep(min(interval, max(0.0, wait)))
    return delivered


@alerts_app.command("dispatch")
def dispatch_command(
    watch: bool = typer.Option(False, "--watch", help="Keep running as a worker"),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="Seconds between scans"),
) -> None:
    """Find new patent events, queue matching webhook deliveries and send what is due."""
    settings = get_settings()
    engine = engine_from_settings(settings)
    lock = named_lock(engine, DISPATCHER_LOCK, settings.var_dir)
    try:
        run_rounds(engine, settings, None if watch else 1, interval, lock=lock)
    finally:
        lock.release()
        engine.dispose()
