"""``last_used_at`` of API keys, recorded off the request path.

Writing it while authenticating made every request a writer (on SQLite: every read queued for
the write lock). Requests only note the time in memory; a background round writes the notes in
one short transaction, at most one write per key per ``LAST_USED_RESOLUTION``.
"""

import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col

from app.auth.keys import ApiKey
from app.types import utcnow

# Coarser than this nobody needs "last used"; finer would only add writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class KeyUsage:
    """Last-use times noted by requests, waiting to be written."""

    def __init__(self) -> None:
        self._pending: dict[int, datetime] = {}
        self._written: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def touch(self, key_id: int, now: datetime | None = None) -> None:
        """Note that ``key_id`` was used now (memory only)."""
        now = now or utcnow()
        with self._lock:
            last = self._written.get(key_id)
            if last is None or now - last >= LAST_USED_RESOLUTION:
                self._pending[key_id] = now

    def flush(self, db: Engine) -> int:
        """Write the noted times in one transaction; returns how many keys were updated."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with Session(db) as session:
                for key_id, moment in sorted(pending.items()):
                    stmt = update(ApiKey).where(col(ApiKey.id) == key_id)
                    session.connection().execute(stmt.values(last_used_at=moment))
                session.commit()
        except Exception:
            with self._lock:  # keep them for the next round
                for key_id, moment in pending.items():
                    self._pending.setdefault(key_id, moment)
            raise
        with self._lock:
            self._written.update(pending)
        return len(pending)
