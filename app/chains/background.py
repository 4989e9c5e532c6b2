"""The tagger off the request path: a server thread, or a step of ``patentmatch worker``.

Each tick runs tagging rounds until nothing is pending, holding a deployment-wide lock
(PostgreSQL advisory lock, else a file lock) so that one process tags at a time.
"""

import logging
import threading

from sqlalchemy import Engine

from app.chains.tagging import Neighbours, TagReport, tag_round
from app.locks import ExclusiveLock, named_lock
from app.settings import Settings

log = logging.getLogger("patentmatch.chains")

TAGGER_LOCK = "chain-tagger"
# Rounds per tick at most, so that a stop request is seen between big batches.
MAX_ROUNDS = 50


def tag_pending(
    db: Engine, settings: Settings, neighbours: Neighbours | None, lock: ExclusiveLock
) -> list[TagReport]:
    """Rounds until nothing is pending, if this process holds the tagger lock."""
    if not (lock.try_acquire() and lock.held()):
        return []
    reports: list[TagReport] = []
    for _ in range(MAX_ROUNDS):
        report = tag_round(db, settings, neighbours)
        reports.append(report)
        if not (report.nodes or report.patents or report.needs):
            break
    return reports


class ChainTagger:
    """Runs ``tag_pending`` every ``chain_tag_seconds`` in a daemon thread."""

    def __init__(self, db: Engine, settings: Settings, neighbours: Neighbours | None) -> None:
        self.db = db
        self.settings = settings
        self.neighbours = neighbours
        self._lock = named_lock(db, TAGGER_LOCK, settings.var_dir)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Ticks until stopped; a failed tick is logged and the next one tries again."""
        while not self._stop.wait(self.settings.chain_tag_seconds):
            try:
                tag_pending(self.db, self.settings, self.neighbours, self._lock)
            except Exception:
                # The thread's boundary: tagging must never take the server down.
                log.exception("chain tagging round failed")

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self.run, name="patentmatch-chains", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (after its current round) and give the lock up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._lock.release()
