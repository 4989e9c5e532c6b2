"""Fixtures for the match-engine tests (loaded with ``pytest_plugins``)."""

from collections.abc import Callable
from pathlib import Path

import pytest

from app.search.engine import MatchEngine
from app.search.lexical import Tokenizer
from tests.engine_support import make_engine


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
