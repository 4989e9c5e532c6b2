"""Score fusion of a query's retrieval signals: dense (whole query, title, problem statements)
and BM25, each z-normalised over the candidate pool and summed with tuned weights.

Rank fusion (RRF) throws away how far ahead a hit is; on need postings a z-scored sum of the
signals did better on the dev need set (the weights come from ``patentmatch eval tune``). Every
signal is a best-first list of (ids, scores) cut to the pool; a candidate missing from a dense
list gets that list's lowest score (its own is at most that), one missing from BM25 gets 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from app.search.calibration import Calibration
from app.search.ipc_inference import IpcTable
from app.search.ranking import Candidates, Ranking, RankingParams, dedupe_best, rerank


@dataclass(frozen=True)
class Hits:
    """One retrieval list, best first, with the mean and spread of its score over the whole
    collection (what a z-score needs; the pool's own when not known)."""

    ids: np.ndarray
    scores: np.ndarray
    mean: float | None = None
    std: float | None = None


def collection_moments(vectors: np.ndarray, limit: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Mean vector and covariance of (a fixed sample of at most ``limit``) document vectors."""
    if len(vectors) > limit:
        vectors = vectors[np.random.default_rng(0).choice(len(vectors), limit, replace=False)]
    x = np.asarray(vectors, dtype=np.float64)
    if not len(x):
        return np.zeros(x.shape[1]), np.zeros((x.shape[1], x.shape[1]))
    mean = x.mean(axis=0)
    centred = x - mean
    return mean, centred.T @ centred / len(x)


def dense_hits(
    ids: np.ndarray, scores: np.ndarray, query: np.ndarray,
    moments: tuple[np.ndarray, np.ndarray] | None,
) -> Hits:  # fmt: skip
    """Dense hits with the exact mean and spread of the query's cosine over the collection."""
    if moments is None:
        return Hits(ids, scores)
    mean, cov = moments
    q = np.asarray(query, dtype=np.float64)
    return Hits(ids, scores, float(q @ mean), float(np.sqrt(max(q @ cov @ q, 0.0))))


@dataclass(frozen=True)
class Signals:
    """One query's retrieval lists, best first; title/statements only for need postings."""

    dense: Hits
    lexical: Hits
    title: Hits | None = None
    # The best statement's cosine per patent (``dedupe_best`` over every statement's hits).
    statements: Hits | None = None

    @property
    def is_need(self) -> bool:
        """Whether the query had a description (then the need weights apply)."""
        return self.title is not None


def _cut(hits: Hits, pool: int) -> Hits:
    """The first ``pool`` hits as int64 ids and float32 scores."""
    ids = np.asarray(hits.ids, dtype=np.int64)[:pool]
    return Hits(ids, np.asarray(hits.scores, dtype=np.float32)[:pool], hits.mean, hits.std)


def _aligned(hits: Hits, ids: np.ndarray, missing: float) -> np.ndarray:
    """The list's score of each of ``ids`` (sorted), ``missing`` where it has none."""
    out = np.full(len(ids), missing, dtype=np.float64)
    if len(hits.ids):
        out[np.searchsorted(ids, hits.ids)] = hits.scores
    return out


def _z(values: np.ndarray, hits: Hits) -> np.ndarray:
    """Standard scores against the collection's moments (the pool's when unknown)."""
    if not len(values):
        return values
    mean = values.mean() if hits.mean is None else hits.mean
    spread = values.std() if hits.std is None else hits.std
    return (values - mean) / spread if spread > 0 else np.zeros_like(values)


def _ranks(hits: Hits, ids: np.ndarray) -> np.ndarray:
    """1-based rank of each of ``ids`` in the list (0 = absent)."""
    ranks = np.zeros(len(ids), dtype=np.int32)
    if len(hits.ids):
        ranks[np.searchsorted(ids, hits.ids)] = np.arange(1, len(hits.ids) + 1)
    return ranks


def weights_of(signals: Signals, params: RankingParams) -> list[tuple[float, Hits, float]]:
    """(weight, hits, fill for absent candidates) per signal the query has."""
    lexical_weight = params.need_lexical_weight if signals.is_need else params.lexical_weight
    parts = [(params.dense_weight, signals.dense), (lexical_weight, signals.lexical)]
    if signals.title is not None:
        parts.append((params.title_weight, signals.title))
    if signals.statements is not None:
        parts.append((params.statement_weight, signals.statements))
    out = []
    for n, (weight, hits) in enumerate(parts):
        hits = _cut(hits, params.pool)
        floor = 0.0 if n == 1 or not len(hits.scores) else float(hits.scores.min())
        out.append((weight, hits, floor))
    return out


def fuse_signals(signals: Signals, params: RankingParams) -> Candidates:
    """Candidates (the union of every list's pool) ordered by the weighted sum of z-scores.

    ``fused`` is the sum rescaled to [0, 1] over the pool, so that the IPC re-ranking can weigh
    it against agreement; dense and lexical ranks are kept for explanations and confidence.
    """
    parts = weights_of(signals, params)
    ids = np.unique(np.concatenate([hits.ids for _, hits, _ in parts]))
    total = np.zeros(len(ids), dtype=np.float64)
    for weight, hits, floor in parts:
        if weight:
            total += weight * _z(_aligned(hits, ids, floor), hits)
    low, high = (total.min(), total.max()) if len(ids) else (0.0, 0.0)
    fused = (total - low) / (high - low) if high > low else np.ones(len(ids))
    dense = parts[0][1]
    cosine = _aligned(dense, ids, parts[0][2]).astype(np.float32)
    statement = None
    if signals.statements is not None:
        hits = _cut(signals.statements, params.pool)
        floor = float(hits.scores.min()) if len(hits.scores) else 0.0
        statement = _aligned(hits, ids, floor).astype(np.float32)
    order = np.lexsort((ids, -fused))
    return Candidates(
        ids=ids[order],
        fused=fused[order].astype(np.float32),
        dense_rank=_ranks(dense, ids)[order],
        lexical_rank=_ranks(parts[1][1], ids)[order],
        cosine=cosine[order],
        statement=None if statement is None else statement[order],
        lexical_top=float(parts[1][1].scores[0]) if len(parts[1][1].scores) else 0.0,
    )


def rank_hybrid(
    signals: Signals,
    table: IpcTable,
    params: RankingParams,
    calibration: Calibration,
    scheme: np.ndarray | None = None,
) -> Ranking:
    """The one ranking path, shared by the engine and ``eval``: fuse the query's signals, then
    weigh IPC agreement in (need postings with their own, smaller weight) and attach confidences.
    """
    if signals.is_need:
        params = replace(
            params, ipc_weight=params.need_ipc_weight, scheme_share=params.need_scheme_share
        )
    return rerank(fuse_signals(signals, params), table, params, calibration, scheme)


def need_signals(dense: Hits, lexical: Hits, extra: list[Hits]) -> Signals:
    """Signals from the whole query's hits, BM25's, and (need postings) the hits of the title
    vector then of each statement vector, as ``needquery.vector_texts`` orders them."""
    if not extra:
        return Signals(dense=dense, lexical=lexical)
    title, statements = extra[0], extra[1:]
    best = None
    if statements:
        ids, scores = dedupe_best(
            np.concatenate([h.ids for h in statements]),
            np.concatenate([h.scores for h in statements]),
        )
        # The best of several cosines: spread like one of them, centred a little higher.
        means = [h.mean for h in statements if h.mean is not None]
        stds = [h.std for h in statements if h.std is not None]
        mean = max(means) if len(means) == len(statements) else None
        std = float(np.mean(stds)) if len(stds) == len(statements) else None
        best = Hits(ids, scores, mean, std)
    return Signals(dense=dense, lexical=lexical, title=title, statements=best)
