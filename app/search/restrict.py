"""Dense candidates restricted to a selective filter's allowed patents (open licence only).

Widening the pool until enough candidates pass such a filter would read most of the catalog's
rows; instead the allowed patents (listed by the database, ``filters.allowed_ids``) are scored
exactly against their stored chunk vectors and appended to the engine's usual candidate lists.
The unrestricted head stays in those lists, so the IPC votes, the z-score fusion's scale and
the confidences still come from the query's real neighbours, not from the few allowed patents.
"""

import numpy as np
from sqlmodel import Session

from app.search.documents import patent_of_keys
from app.search.filters import MatchFilters, allowed_ids
from app.search.fusion import Hits
from app.search.ranking import dedupe_best
from app.search.store import EngineIndexes


def allowed_patents(session: Session, filters: MatchFilters, limit: int) -> np.ndarray | None:
    """``filters.allowed_ids`` as a sorted int64 array (None: not selective, or too many)."""
    ids = allowed_ids(session, filters, limit)
    return None if ids is None else np.asarray(ids, dtype=np.int64)


def extend_hits(hits: Hits, ids: np.ndarray, scores: np.ndarray, pool: int) -> Hits:
    """The first ``pool`` hits together with (ids, scores) they lack, best first (ties by id)."""
    head_ids, head_scores = hits.ids[:pool], hits.scores[:pool]
    new = ~np.isin(ids, head_ids)
    merged = dedupe_best(
        np.concatenate([head_ids, ids[new]]), np.concatenate([head_scores, scores[new]])
    )
    return Hits(*merged, hits.mean, hits.std)


def with_allowed(
    indexes: EngineIndexes, vectors: np.ndarray, dense: list[Hits], allowed: np.ndarray, pool: int
) -> list[Hits]:
    """Each query vector's dense hits cut to ``pool``, plus every allowed patent by the exact
    cosine of its best chunk."""
    keys, scores = indexes.patent_vectors.scores_where(
        vectors, lambda stored: np.isin(patent_of_keys(stored), allowed)
    )
    patents = patent_of_keys(keys)
    return [
        extend_hits(hits, *dedupe_best(patents, row), pool)
        for hits, row in zip(dense, scores, strict=True)
    ]


def only_allowed(ranked: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """The ranked ids that are allowed, in order (all of them when there is no allowed list)."""
    return ranked if allowed is None else ranked[np.isin(ranked, allowed)]
