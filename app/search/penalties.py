"""Ranking feedback from outside search: the ``PenaltyProvider`` seam.

Search sits below deals, so it cannot ask deals about declined patents itself; whoever builds
the engine (the API) passes a provider (``app.deals.declines.decline_penalties``). The engine
applies it to the whole candidate pool before the top-k cut, so a declined patent can leave the
results, not only move within them.
"""

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from sqlmodel import Session


class PenaltyProvider(Protocol):
    """Penalty in [0, 1) per patent id for a query text; ids without one are left out."""

    def __call__(
        self, session: Session, patent_ids: Sequence[int], query_text: str
    ) -> dict[int, float]: ...


def no_penalties(session: Session, patent_ids: Sequence[int], query_text: str) -> dict[int, float]:
    """The provider of an engine without feedback: nothing is penalised."""
    return {}


def penalty_factors(penalties: dict[int, float], ids: np.ndarray) -> np.ndarray:
    """``1 - penalty`` per id (1 where there is none), clipped to [0, 1]."""
    factors = np.ones(len(ids), dtype=np.float32)
    if penalties:
        for n, pid in enumerate(ids):
            factors[n] = 1.0 - min(max(penalties.get(int(pid), 0.0), 0.0), 1.0)
    return factors
