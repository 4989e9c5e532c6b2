"""The background indexer: keeps a ``MatchEngine`` in step with the change log.

One loop serves the API server (a thread) and ``patentmatch worker`` (a process): each round
replays a batch of changes (``MatchEngine.replay_round``: read in a short transaction, encode
with no transaction and no lock, apply under the engine lock), and every ``index_save_seconds``
the indexes are published as a new generation (``MatchEngine.save``). Catalog writes wake it up
(``MatchEngine.mark_written``); it also polls, so writes made by other processes or replicas
(the change log is in the shared database) are picked up within ``index_poll_seconds``.

Several processes may share one index folder: only the holder of the folder's lock publishes
generations there; the others keep catching up in memory.
"""

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from app.locks import FolderLock
from app.search.engine import MatchEngine
from app.settings import Settings

log = logging.getLogger("patentmatch.indexer")

PUBLISHER_LOCK = ".publisher.lock"
# After a failed round (database unreachable, ...), wait this long before the next one.
ERROR_BACKOFF_S = 2.0


def publisher_lock(index_dir: Path) -> FolderLock:
    """The lock that makes one process the publisher of an index folder."""
    return FolderLock(index_dir / PUBLISHER_LOCK)


class Indexer:
    """Replays catalog changes into ``matcher`` in rounds and publishes index generations."""

    def __init__(
        self,
        matcher: MatchEngine,
        db: Engine,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.matcher = matcher
        self.db = db
        self.settings = settings
        self._clock = clock
        self._lock = publisher_lock(settings.index_dir)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dirty = 0  # changes applied since the last save
        self._saved_at = clock()
        self.rounds = 0
        self.last_error: str | None = None

    # One round ------------------------------------------------------------------------------

    def step(self) -> int:
        """Replay one batch of changes, publish when due; returns how many were replayed.

        A process that is not the folder's publisher switches to each generation the publisher
        saves (``MatchEngine.refresh``), so that all of them map the same files.
        """
        replayed = self.matcher.replay_round(self.db, self.settings.index_batch_size)
        self._dirty += replayed
        self.rounds += 1
        if self._clock() - self._saved_at >= self.settings.index_save_seconds:
            if self._dirty:
                self.publish()
            if not self._lock.held() and self.settings.index_mmap:
                self._saved_at = self._clock()
                self.matcher.refresh(self.db)
        return replayed

    def catch_up(self) -> int:
        """Replay rounds until nothing is pending; returns how many changes were replayed."""
        total = 0
        while replayed := self.step():
            total += replayed
        return total

    def publish(self) -> bool:
        """Save the indexes as a new generation if this process is the folder's publisher."""
        self._saved_at = self._clock()
        if not self._lock.try_acquire():
            return False
        self.matcher.save()
        self._dirty = 0
        return True

    # The loop -------------------------------------------------------------------------------

    def run(self) -> None:
        """Run rounds until ``stop``: at once while changes keep coming, else on wake or poll."""
        while not self._stop.is_set():
            try:
                replayed = self.step()
                self.last_error = None
            except Exception as exc:
                # The loop's boundary: a failed round is logged and retried, never fatal.
                log.exception("index round failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._stop.wait(ERROR_BACKOFF_S)
                continue
            if replayed:
                continue
            self._wake.wait(self.settings.index_poll_seconds)
            self._wake.clear()

    def notify(self) -> None:
        """Wake the loop now (a write just committed)."""
        self._wake.set()

    def start(self) -> None:
        """Run the loop in a daemon thread, woken by the engine's writes."""
        self.matcher.writes.add(self.notify)
        self._thread = threading.Thread(target=self.run, name="patentmatch-indexer", daemon=True)
        self._thread.start()

    def stop(self, *, save: bool = True) -> None:
        """Stop the loop, then publish what it replayed since the last save."""
        self.matcher.writes.remove(self.notify)
        self.matcher.writes.remove(self.catch_up)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if save and self._dirty:
            self.publish()
        self._lock.release()

    def alive(self) -> bool:
        """True while the loop's thread runs."""
        return self._thread is not None and self._thread.is_alive()


def inline_indexer(matcher: MatchEngine, db: Engine, settings: Settings) -> Indexer:
    """Tests only: every reported write is replayed at once, in the writing thread."""
    indexer = Indexer(matcher, db, settings)
    matcher.writes.add(indexer.catch_up)
    return indexer
