"""Fixtures for the match-engine tests (loaded with ``pytest_plugins``)."""

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session

from app.search.engine import MatchEngine
from app.search.lexical import Tokenizer
from tests.engine_support import Catalog, build_catalog, make_engine


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    """One jieba tokenizer for the whole run."""
    return Tokenizer()


@pytest.fixture
def new_matcher(tokenizer: Tokenizer) -> Callable[..., MatchEngine]:
    """A factory of hashing-encoder engines sharing the run's tokenizer."""

    def factory(tmp_path: Path, dim: int = 256, **overrides: object) -> MatchEngine:
        return make_engine(tmp_path, dim, tokenizer, **overrides)

    return factory


@pytest.fixture
def catalog(session: Session) -> Catalog:
    """The small catalog of ``build_catalog``: three organisations, six patents, three needs."""
    return build_catalog(session)


@pytest.fixture
def matcher(
    tmp_path: Path,
    session: Session,
    catalog: Catalog,
    new_matcher: Callable[..., MatchEngine],
) -> MatchEngine:
    """A hashing-encoder engine rebuilt over ``catalog``."""
    engine = new_matcher(tmp_path)
    engine.rebuild(session)
    return engine
