"""What the match engine returns, and a per-stage timer for measuring where a search spends time."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Explanation:
    """Why an item matched: shared terms, IPC subclasses (shared, inferred), retriever ranks."""

    matched_terms: list[str] = field(default_factory=list)
    shared_ipc: list[str] = field(default_factory=list)
    inferred_ipc: list[str] = field(default_factory=list)
    dense_rank: int | None = None
    lexical_rank: int | None = None
    # The need's problem statement this match answers best (need postings), and the Chinese
    # titles of the shared subclasses (CNIPA scheme).
    answers: str | None = None
    ipc_labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Match:
    """One matched patent or need (``id`` is its primary key)."""

    id: int
    score: float
    confidence: float
    explanation: Explanation


@dataclass
class MatchResult:
    """Matches best first; ``no_good_match`` when even the best is not confident enough."""

    matches: list[Match]
    no_good_match: bool
    # The database rows read for the matches (Patent or TechNeed by id), so callers need not
    # load them again.
    rows: dict[int, Any] = field(default_factory=dict)


@dataclass
class StageTimer:
    """Seconds spent per named stage of one request (accumulated over repeats)."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block under ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed


def rank_or_none(rank: int) -> int | None:
    """A 1-based retriever rank, or None for "not retrieved" (0)."""
    return int(rank) if rank > 0 else None
