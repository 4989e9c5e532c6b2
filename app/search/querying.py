"""Query paths over the engine's indexes: hybrid patent search with filters, and need search.

Patents: dense (best chunk per patent) and BM25 candidates are fused and IPC-re-ranked by the
ranking module; the ranked ids are then checked page by page against their database rows (one
query per page) and the candidate pool is widened when too few pass the filters.
Needs: dense candidates re-ranked by the agreement between the query's IPC subclasses (given,
or counted over a portfolio) and the subclasses inferred for each need when it was indexed.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from sqlmodel import Session, col, select

from app.catalog.enums import NeedStatus
from app.catalog.ipc import subclass_of
from app.catalog.models import TechNeed
from app.search.calibration import Calibration
from app.search.documents import DEFAULT_MAX_CHARS, need_text, patent_of_keys, patent_text
from app.search.filters import MatchFilters, PatentRows, fetch_patents, select_accepted
from app.search.ipc_inference import IpcTable
from app.search.ranking import Ranking, RankingParams, dedupe_best, fuse, rank_hybrid, rerank
from app.search.ranking import shared_subclasses as shared_in
from app.search.results import Explanation, Match, StageTimer, rank_or_none
from app.search.store import EngineIndexes

# Chunk hits fetched per wanted patent: most patents have one or two chunks (HNSW cost grows
# with k: 400 hits took 1.4 ms, 300 took 1.1 ms at 100k vectors).
CHUNK_FANOUT = 1.5
# Widening stops here: a filter that almost nothing passes must not scan the whole catalog.
MAX_POOL = 12_800
# The first database page holds this many candidates per wanted match; later pages grow 4x.
PAGE_FACTOR = 3


@dataclass
class QueryContext:
    """Per-request ranking knobs, calibration, clock and timer."""

    params: RankingParams
    calibration: Calibration
    today: date
    timer: StageTimer
    # Characters per patent chunk when indexing (the encoder's window).
    max_chars: int = DEFAULT_MAX_CHARS


def rank_patents(
    indexes: EngineIndexes, text: str, vector: np.ndarray, pool: int, ctx: QueryContext
) -> tuple[Ranking, bool]:
    """Hybrid ranking of up to ``pool`` patents per retriever; also whether nothing is left."""
    params = replace(ctx.params, pool=pool)
    vectors = indexes.patent_vectors
    chunk_k = min(int(pool * CHUNK_FANOUT), len(vectors))
    with ctx.timer.stage("dense"):
        dense_ids, cosines = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if chunk_k > 0:
            scores, keys = vectors.search(vector.reshape(1, -1), chunk_k)
            dense_ids, cosines = dedupe_best(patent_of_keys(keys[0]), scores[0])
    with ctx.timer.stage("lexical"):
        lexical_ids, _ = indexes.patent_lexical.search_arrays(text, pool)
    with ctx.timer.stage("scheme"):
        scheme = scheme_probabilities(indexes, vector)
    with ctx.timer.stage("fusion"):
        calibration = ctx.calibration.for_model(vectors.model)
        table = indexes.patent_ipc
        ranking = rank_hybrid(dense_ids, lexical_ids, table, params, calibration, scheme, cosines)
    exhausted = chunk_k >= len(vectors) or pool >= len(indexes.patent_ids)
    return ranking, exhausted


def scheme_probabilities(indexes: EngineIndexes, vector: np.ndarray) -> np.ndarray | None:
    """P(subclass) over the patent table's codes from the scheme titles (None without a prior)."""
    if indexes.scheme is None:
        return None
    probabilities: np.ndarray = indexes.scheme.probabilities(
        vector.reshape(1, -1), indexes.patent_ipc.codes
    )[0]
    return probabilities


def _accept_pages(
    session: Session,
    ranked: np.ndarray,
    filters: MatchFilters,
    k: int,
    rows: PatentRows,
    ctx: QueryContext,
) -> list[int]:
    """Ranked ids passing the filters, reading rows one growing page at a time until ``k``."""
    ids = [int(i) for i in ranked]
    accepted: list[int] = []
    start, page = 0, PAGE_FACTOR * k
    while start < len(ids) and len(accepted) < k:
        chunk = ids[start : start + page]
        with ctx.timer.stage("database"):
            rows.update(fetch_patents(session, [i for i in chunk if i not in rows]))
        accepted.extend(select_accepted(rows, chunk, filters, ctx.today))
        start, page = start + page, page * 4
    return accepted


def search_patents(
    session: Session,
    indexes: EngineIndexes,
    text: str,
    vector: np.ndarray,
    filters: MatchFilters,
    k: int,
    ctx: QueryContext,
) -> list[Match]:
    """The best ``k`` patents passing ``filters``, widening the candidate pool while too few do."""
    pool = max(ctx.params.pool, 4 * k)
    rows: PatentRows = {}
    while True:
        ranking, exhausted = rank_patents(indexes, text, vector, pool, ctx)
        accepted = _accept_pages(session, ranking.ids, filters, k, rows, ctx)
        if len(accepted) >= k or exhausted or pool >= MAX_POOL:
            break
        pool = min(pool * 4, MAX_POOL)
    with ctx.timer.stage("explain"):
        return _patent_matches(indexes, text, ranking, accepted[:k], rows)


def _patent_matches(
    indexes: EngineIndexes, text: str, ranking: Ranking, ids: Sequence[int], rows: PatentRows
) -> list[Match]:
    """Matches with explanations for the accepted ids (already in ranking order)."""
    position = {int(i): n for n, i in enumerate(ranking.ids)}
    matches: list[Match] = []
    for pid in ids:
        n = position[pid]
        explanation = Explanation(
            matched_terms=indexes.patent_lexical.matched_terms(
                text, patent_text(rows[pid][0]), pid
            ),
            shared_ipc=shared_in(indexes.patent_ipc, pid, ranking.inferred),
            inferred_ipc=list(ranking.inferred),
            dense_rank=rank_or_none(int(ranking.dense_rank[n])),
            lexical_rank=rank_or_none(int(ranking.lexical_rank[n])),
        )
        score, confidence = float(ranking.scores[n]), float(ranking.confidence[n])
        matches.append(Match(pid, score, confidence, explanation))
    return matches


def infer_subclasses(
    indexes: EngineIndexes, text: str, vector: np.ndarray, ctx: QueryContext
) -> list[str]:
    """The IPC subclasses a text likely belongs to, voted by its nearest patents."""
    ranking, _ = rank_patents(indexes, text, vector, ctx.params.pool, ctx)
    return list(ranking.inferred)


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
) -> list[Match]:
    """Published needs for a query (text, vectors (m, dim), subclass weights), best first."""
    text, vectors, weights = query
    pool = min(max(ctx.params.pool, 4 * k), len(indexes.need_vectors))
    if pool <= 0 or not len(vectors):
        return []
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
    return matches
