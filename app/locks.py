"""Exclusive locks between processes: a file lock per folder, a database-wide named lock.

``FolderLock`` guards one folder on one host (the index publisher of an index folder shared by
several workers). ``named_lock`` gives work that must run once per deployment (the alert
dispatcher) a PostgreSQL advisory lock, held by a dedicated connection for as long as the lock
is held; on SQLite, which has no such thing and serves one host, it is a file lock next to the
database file.
"""

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError


class ExclusiveLock(Protocol):
    """A lock taken without waiting; ``held`` re-checks that it is still ours."""

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now."""
        ...

    def held(self) -> bool:
        """Whether this process still holds the lock."""
        ...

    def release(self) -> None:
        """Give the lock up (no-op when not held)."""
        ...


class FolderLock:
    """An ``flock`` on a file; the kernel drops it when the process dies, even by SIGKILL."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if free."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Unlock and close the file."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.sha256(f"patentmatch:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock, held by its own connection."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.key = advisory_key(name)
        self._connection: Connection | None = None
        self._backend = 0  # the server process of the session that holds the lock

    def try_acquire(self) -> bool:
        """Take the lock if no other session holds it."""
        if self.held():
            return True
        connection = self.engine.connect()
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"), {"k": self.key}
        ).one()
        if bool(got[0]):
            connection.commit()  # end the implicit transaction; the lock is session-level
            self._connection, self._backend = connection, int(got[1])
            return True
        connection.close()
        return False

    def held(self) -> bool:
        """True while the lock's session is alive: a dropped connection loses the lock, and a
        reconnected one is another session that does not hold it."""
        if self._connection is None:
            return False
        try:
            backend = self._connection.execute(text("SELECT pg_backend_pid()")).scalar()
            self._connection.commit()
        except DBAPIError:
            backend = None
        if backend != self._backend:
            self._drop()
            return False
        return True

    def release(self) -> None:
        """Unlock and return the connection."""
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._connection.commit()
                self._connection.close()
                self._connection = None
            except DBAPIError:
                self._drop()  # the connection is gone, and the lock with it

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None


def named_lock(engine: Engine, name: str, var_dir: Path) -> ExclusiveLock:
    """A deployment-wide lock: PostgreSQL advisory lock, else a file lock under ``var_dir``."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, name)
    return FolderLock(var_dir / "locks" / f"{name}.lock")
