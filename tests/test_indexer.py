"""The background indexer: off the request path, no transaction or engine lock while encoding."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.catalog.enums import LegalStatus
from app.db import create_schema, make_engine
from app.search.engine import MatchEngine
from app.search.filters import MatchFilters
from app.search.indexer import Indexer
from app.search.lexical import Tokenizer
from app.search.store import read_engine_manifest
from tests.engine_support import add_patent, build_catalog, make_settings
from tests.engine_support import make_engine as make_matcher

pytest_plugins = ["tests.engine_fixtures"]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with the small catalog committed (the indexer opens its own sessions)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'indexer.db'}")
    create_schema(engine)
    with Session(engine) as session:
        build_catalog(session)
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def ready(db: Engine, tmp_path: Path, tokenizer: Tokenizer) -> MatchEngine:
    """An engine built over the catalog."""
    matcher = make_matcher(tmp_path, 256, tokenizer)
    with Session(db) as session:
        matcher.rebuild(session)
    return matcher


def _write(db: Engine, title: str) -> int:
    with Session(db) as session:
        new = add_patent(session, title, ["H01M 4/587"], legal_status=LegalStatus.GRANTED)
        session.commit()
    return new


def test_a_write_is_searchable_in_under_a_second_via_the_thread(
    db: Engine, ready: MatchEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    encode = ready.encoder.encode_documents

    def recording(texts: list[str]) -> np.ndarray:
        threads.add(threading.current_thread().name)
        return encode(texts)

    monkeypatch.setattr(ready.encoder, "encode_documents", recording)
    settings = make_settings(tmp_path, index_poll_seconds=5.0)  # the wake-up, not the poll
    indexer = Indexer(ready, db, settings)
    indexer.start()
    try:
        new = _write(db, "一种钠离子电池负极硬碳材料")
        started = time.monotonic()
        ready.mark_written()
        while new not in ready._indexes.patent_ids and time.monotonic() - started < 5:
            time.sleep(0.01)
        assert time.monotonic() - started < 1.0
        with Session(db) as session:
            hits = ready.match_text(session, "钠离子电池硬碳负极", MatchFilters(), 3)
            assert hits.matches[0].id == new
            assert ready.lag(session).pending_changes == 0
    finally:
        indexer.stop(save=False)
    assert threads == {"patentmatch-indexer"}


def test_encoding_holds_no_connection_and_no_engine_lock(
    db: Engine, ready: MatchEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, bool]] = []
    encode = ready.encoder.encode_documents

    def probing(texts: list[str]) -> np.ndarray:
        got: list[bool] = []

        def take() -> None:
            got.append(ready._lock.acquire(timeout=1))
            if got[0]:
                ready._lock.release()

        other = threading.Thread(target=take)
        other.start()
        other.join()
        seen.append((db.pool.checkedout(), got[0]))  # type: ignore[attr-defined]
        return encode(texts)

    monkeypatch.setattr(ready.encoder, "encode_documents", probing)
    _write(db, "一种光伏逆变器的散热结构")
    assert ready.replay_round(db, 100) == 1
    assert seen == [(0, True)]


def test_rounds_are_batched_and_publish_generations(
    db: Engine, ready: MatchEngine, tmp_path: Path
) -> None:
    for n in range(5):
        _write(db, f"批量写入的光纤传感器{n}")
    settings = make_settings(tmp_path, index_batch_size=2, index_save_seconds=0.0)
    indexer = Indexer(ready, db, settings)
    assert indexer.step() == 2
    assert indexer.catch_up() == 3
    saved = read_engine_manifest(settings.index_dir)
    assert saved is not None
    assert saved.last_change_id == ready.stats()["last_change_id"]
    # A second process on the same folder keeps catching up but never publishes there.
    other = Indexer(ready, db, settings)
    assert not other.publish()
    indexer.stop()
    assert other.publish()
    other.stop()


def test_a_follower_switches_to_the_publishers_generation_caught_up(
    db: Engine, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    # A tiny threshold: the graphs are HNSW, searched in place in their mapped files.
    publisher = make_matcher(tmp_path, 256, tokenizer, ann_threshold=5)
    follower = make_matcher(tmp_path, 256, tokenizer, ann_threshold=5)
    with Session(db) as session:
        publisher.rebuild(session)
    follower.load()
    assert not follower.refresh(db)  # already on the saved generation
    saved_one = _write(db, "一种钠离子电池负极硬碳材料")
    with Session(db) as session:
        publisher.sync(session)
    publisher.save()
    unsaved = _write(db, "一种固态电解质薄膜的制备方法")
    assert follower.refresh(db)
    assert {saved_one, unsaved} <= follower._indexes.patent_ids
    assert follower._indexes.generation == publisher._indexes.generation
    assert follower._indexes.patent_vectors.kind == "hnsw"
    with Session(db) as session:
        hits = follower.match_text(session, "固态电解质薄膜", MatchFilters(), 1)
    assert hits.matches[0].id == unsaved
    assert not follower.refresh(db)
