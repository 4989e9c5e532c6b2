"""The API process's housekeeping thread: key last-use times, dead import jobs.

Both are short writes done here, off the request path, in their own transactions.
"""

import logging
import threading

from sqlalchemy import Engine

from app.auth.key_usage import KeyUsage
from app.catalog.job_leases import reap_dead_jobs
from app.settings import Settings

log = logging.getLogger("patentmatch.api.maintenance")

# Seconds between rounds; dead jobs are looked for every REAP_EVERY rounds.
ROUND_SECONDS = 5.0
REAP_EVERY = 6


class Maintenance:
    """Flushes ``KeyUsage`` and reaps dead import jobs in a daemon thread."""

    def __init__(self, db: Engine, settings: Settings, usage: KeyUsage, lease_owner: str) -> None:
        self.db = db
        self.settings = settings
        self.usage = usage
        self.lease_owner = lease_owner
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reap(self) -> list[int]:
        """Fail the import jobs whose process died."""
        return reap_dead_jobs(self.db, self.lease_owner, self.settings.import_lease_seconds)

    def run(self) -> None:
        """Rounds until stopped; a failed round is logged and the next one tries again."""
        rounds = 0
        while not self._stop.wait(ROUND_SECONDS):
            rounds += 1
            try:
                self.usage.flush(self.db)
                if rounds % REAP_EVERY == 0:
                    self.reap()
            except Exception:
                # The thread's boundary: housekeeping must never take the server down.
                log.exception("maintenance round failed")

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self.run, name="patentmatch-maintenance")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is still noted."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=ROUND_SECONDS + 1)
        try:
            self.usage.flush(self.db)
        except Exception:
            log.exception("could not write key last-use times at shutdown")
