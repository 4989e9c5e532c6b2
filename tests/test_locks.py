"""Exclusive locks: a file lock per folder, a PostgreSQL advisory lock per deployment."""

from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.locks import AdvisoryLock, FolderLock, named_lock


def test_folder_lock_admits_one_holder(tmp_path: Path) -> None:
    first, second = FolderLock(tmp_path / "x.lock"), FolderLock(tmp_path / "x.lock")
    assert first.try_acquire()
    assert first.try_acquire()  # re-entrant for its holder
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    assert second.held()
    second.release()
    assert not second.held()


def test_named_lock_is_advisory_on_postgresql_else_a_file(engine: Engine, tmp_path: Path) -> None:
    lock = named_lock(engine, "test-dispatcher", tmp_path)
    other = named_lock(engine, "test-dispatcher", tmp_path)
    expected = AdvisoryLock if engine.dialect.name == "postgresql" else FolderLock
    assert isinstance(lock, expected)
    try:
        assert lock.try_acquire()
        assert lock.held()
        assert not other.try_acquire()
        assert named_lock(engine, "another-name", tmp_path).try_acquire()
    finally:
        lock.release()
    assert other.try_acquire()
    other.release()


def test_advisory_lock_is_lost_with_its_connection(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    lock = AdvisoryLock(engine, "test-lost")
    assert lock.try_acquire()
    assert lock._connection is not None
    lock._connection.invalidate()  # the server dropped us
    assert not lock.held()
    other = AdvisoryLock(engine, "test-lost")
    assert other.try_acquire()
    other.release()
