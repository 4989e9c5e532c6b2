"""Need search over the engine's indexes: published needs for a patent or a portfolio.

Dense candidates re-ranked by the agreement between the query's IPC subclasses (given, or
counted over a portfolio) and the subclasses inferred for each need when it was indexed.
Patent search (the other direction) and the shared ``QueryContext`` live in ``querying``.
"""

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from sqlmodel import Session, col, select

from app.catalog.enums import NeedStatus
from app.catalog.ipc import subclass_of
from app.catalog.models import TechNeed
from app.search.calibration import Calibration
from app.search.documents import need_text
from app.search.ipc_inference import IpcTable
from app.search.querying import QueryContext
from app.search.ranking import Ranking, RankingParams, dedupe_best, fuse, rerank
from app.search.results import Explanation, Match, rank_or_none
from app.search.store import EngineIndexes


def subclass_weights(codes_per_patent: Sequence[Sequence[str]]) -> dict[str, float]:
    """Share of each IPC subclass over patents (each patent's subclasses split evenly)."""
    counts: dict[str, float] = {}
    for codes in codes_per_patent:
        subclasses = {subclass_of(c) for c in codes if c.strip()}
        for code in subclasses:
            counts[code] = counts.get(code, 0.0) + 1.0 / len(subclasses)
    total = sum(counts.values())
    return {code: n / total for code, n in counts.items()} if total else {}


def _prior(table: IpcTable, weights: dict[str, float]) -> np.ndarray:
    """The query's subclass distribution over the table's columns (unknown codes drop out)."""
    prior = np.zeros(len(table.codes), dtype=np.float32)
    for column, code in enumerate(table.codes):
        prior[column] = weights.get(code, 0.0)
    return prior


def _dense_needs(
    indexes: EngineIndexes, vectors: np.ndarray, pool: int
) -> tuple[np.ndarray, np.ndarray]:
    """Need ids best first by their best cosine to any of the query vectors, and the cosines."""
    scores, ids = indexes.need_vectors.search(vectors, pool)
    return dedupe_best(ids.ravel(), scores.ravel())


def rank_need_candidates(
    dense: tuple[np.ndarray, np.ndarray],
    table: IpcTable,
    weights: dict[str, float],
    params: RankingParams,
    calibration: Calibration,
) -> Ranking:
    """Dense need hits (ids, cosines) re-ranked by IPC agreement with the query's subclasses."""
    prior = _prior(table, weights)
    # The query's own subclasses are known: they replace neighbour voting entirely.
    params = replace(params, scheme_share=1.0 if prior.sum() > 0 else 0.0)
    candidates = fuse(dense[0], np.zeros(0, np.int64), params, dense[1])
    return rerank(candidates, table, params, calibration, prior)


def _rank_needs(
    indexes: EngineIndexes, vectors: np.ndarray, weights: dict[str, float], pool: int,
    ctx: QueryContext,
) -> Ranking:  # fmt: skip
    """Dense need candidates re-ranked by IPC agreement with the query's subclass weights."""
    with ctx.timer.stage("dense"):
        dense = _dense_needs(indexes, vectors, pool)
    with ctx.timer.stage("fusion"):
        # Ranks among a handful of needs say little: the needs variant uses cosine + agreement.
        calibration = ctx.calibration.for_model(indexes.need_vectors.model, needs=True)
        params = replace(ctx.params, pool=pool)
        return rank_need_candidates(dense, indexes.need_ipc, weights, params, calibration)


def _published(session: Session, ids: np.ndarray) -> dict[int, TechNeed]:
    """The published needs among ``ids``, in one query."""
    stmt = select(TechNeed).where(
        col(TechNeed.id).in_([int(i) for i in ids]),
        col(TechNeed.status) == NeedStatus.PUBLISHED,
    )
    return {int(n.id): n for n in session.exec(stmt) if n.id is not None}


def search_needs(
    session: Session,
    indexes: EngineIndexes,
    query: tuple[str, np.ndarray, dict[str, float]],
    k: int,
    ctx: QueryContext,
) -> tuple[list[Match], dict[int, TechNeed], float]:
    """Published needs for a query (text, vectors (m, dim), subclass weights), best first,
    with their rows and the query's best cosine (the no-good-match gate reads it)."""
    text, vectors, weights = query
    pool = min(max(ctx.params.pool, 4 * k), len(indexes.need_vectors))
    if pool <= 0 or not len(vectors):
        return [], {}, 0.0
    ranking = _rank_needs(indexes, vectors, weights, pool, ctx)
    with ctx.timer.stage("database"):
        rows = _published(session, ranking.ids)
    matches: list[Match] = []
    for n, nid in enumerate(int(i) for i in ranking.ids):
        if nid not in rows or len(matches) >= k:
            continue
        explanation = Explanation(
            matched_terms=indexes.patent_lexical.matched_terms(text, need_text(rows[nid])),
            shared_ipc=[c for c in indexes.need_ipc.subclasses(nid) if c in weights],
            inferred_ipc=indexes.need_ipc.subclasses(nid),
            dense_rank=rank_or_none(int(ranking.dense_rank[n])),
        )
        score, confidence = float(ranking.scores[n]), float(ranking.confidence[n])
        matches.append(Match(nid, score, confidence, explanation))
    return matches, {m.id: rows[m.id] for m in matches}, ranking.top_cosine
