"""The seam through which features above search (deals) push patents down a ranking."""

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Protocol

import numpy as np
from sqlmodel import Session

from app.search.ranking import Ranking


class PenaltyProvider(Protocol):
    """Penalty in [0, 1) per patent for a need/free-text query; the score is scaled by 1 - it.

    The app wires ``app.deals.declines.decline_penalties`` in (``app.wiring``), so search
    never imports the features built on it.
    """

    def __call__(
        self, session: Session, patent_ids: Sequence[int], query_text: str
    ) -> Mapping[int, float]:
        """Penalties of the patents in ``patent_ids`` that have one; others are absent."""
        ...


def no_penalties(
    session: Session, patent_ids: Sequence[int], query_text: str
) -> Mapping[int, float]:
    """The provider of an engine without feedback: nothing is penalised."""
    return {}


def penalty_factors(penalties: Mapping[int, float], ids: np.ndarray) -> np.ndarray:
    """``1 - penalty`` per id (1 where there is none), the penalty clipped to [0, 1]."""
    if not penalties:  # the usual case: no declines among the candidates
        return np.ones(len(ids), dtype=np.float32)
    return np.array(
        [1.0 - min(max(float(penalties.get(int(i), 0.0)), 0.0), 1.0) for i in ids],
        dtype=np.float32,
    )


def penalised(ranking: Ranking, factors: np.ndarray) -> Ranking:
    """The ranking with scores and confidences scaled by ``factors``, sorted again (the
    confidences stay monotone in the new order)."""
    if not len(factors) or bool((factors == 1.0).all()):
        return ranking
    scores = ranking.scores * factors
    order = np.lexsort((ranking.ids, -scores))
    confidence = np.minimum.accumulate((ranking.confidence * factors)[order])
    per_hit = {
        f.name: getattr(ranking, f.name)[order]
        for f in fields(ranking)
        if isinstance(getattr(ranking, f.name), np.ndarray)
        and len(getattr(ranking, f.name)) == len(order)
    }
    features = None if ranking.features is None else ranking.features.subset(order)
    return replace(
        ranking,
        **{**per_hit, "scores": scores[order], "confidence": confidence, "features": features},
    )
