"""Query paths over the engine's indexes: hybrid patent search with filters, and need search.

Patents: dense (best chunk per patent) and BM25 candidates are fused and IPC-re-ranked by the
ranking module; the ranked ids are then checked page by page against their database rows (one
query per page) and the candidate pool is widened when too few pass the filters. A selective
filter (open licence only) adds its allowed patents to the candidates instead (``restrict``).
Needs: dense candidates re-ranked by the agreement between the query's IPC subclasses (given,
or counted over a portfolio) and the subclasses inferred for each need when it was indexed.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from sqlmodel import Session, col, select

from app.catalog.enums import NeedStatus
from app.catalog.ipc import subclass_of
from app.catalog.models import TechNeed
from app.search.calibration import Calibration, CalibrationSet
from app.search.documents import DEFAULT_MAX_CHARS, need_text, patent_of_keys, patent_text
from app.search.encoder import Encoder
from app.search.filters import MatchFilters, PatentRows, fetch_patents, select_accepted
from app.search.fusion import Hits, dense_hits, need_signals, rank_hybrid
from app.search.ipc_inference import IpcTable
from app.search.needquery import NeedQuery, lexical_text, parse_need, vector_texts
from app.search.penalties import PenaltyProvider, no_penalties, penalised, penalty_factors
from app.search.ranking import Ranking, RankingParams, dedupe_best, fuse, rerank
from app.search.ranking import shared_subclasses as shared_in
from app.search.restrict import allowed_patents, only_allowed, with_allowed
from app.search.results import Explanation, Match, StageTimer, rank_or_none
from app.search.store import EngineIndexes

# Chunk hits fetched per wanted patent: most patents have one or two chunks (HNSW cost grows
# with k: 400 hits took 1.4 ms, 300 took 1.1 ms at 100k vectors).
CHUNK_FANOUT = 1.5
# Widening stops here: a filter that almost nothing passes must not scan the whole catalog.
MAX_POOL = 12_800
# The first database page holds this many candidates per wanted match; later pages grow 4x.
PAGE_FACTOR = 3
# A selective filter is ranked over its allowed patents when there are at most this many (2,000
# patents are ~3,000 chunk vectors to score exactly); past it, widening finds enough quickly.
RESTRICT_LIMIT = 2000


@dataclass
class QueryContext:
    """Per-request ranking knobs, calibrations, clock, timer and ranking feedback."""

    params: RankingParams
    calibration: CalibrationSet
    today: date
    timer: StageTimer
    # Characters per patent chunk when indexing (the encoder's window).
    max_chars: int = DEFAULT_MAX_CHARS
    penalties: PenaltyProvider = no_penalties
    restrict_limit: int = RESTRICT_LIMIT


@dataclass
class PatentRanking:
    """A query's ranking over patents, the problem statements and their dense hits."""

    ranking: Ranking
    exhausted: bool
    statements: tuple[str, ...] = ()
    statement_hits: list[Hits] = field(default_factory=list)


def rank_patents(
    indexes: EngineIndexes, text: str, vectors: np.ndarray, pool: int, ctx: QueryContext,
    allowed: np.ndarray | None = None,
) -> PatentRanking:  # fmt: skip
    """The engine's ranking of up to ``pool`` patents per signal (``fusion.rank_hybrid``), and
    of every ``allowed`` patent too (scored exactly wherever it ranks).

    ``vectors``: the query's vectors in ``needquery.vector_texts`` order; a single row (e.g. a
    need indexed before statements existed) ranks on the whole text alone.
    """
    params = replace(ctx.params, pool=pool)
    whole = parse_need(text)
    query = whole.capped(params.max_statements)
    vectors = np.atleast_2d(vectors)
    searched = len(vector_texts(text, query))
    if len(vectors) not in (searched, len(vector_texts(text, whole))):
        vectors, query = vectors[:1], NeedQuery(whole.title, ())
    # Stored need vectors cover every statement; the ranking searches the first few.
    vectors = vectors[: len(vector_texts(text, query))]
    index = indexes.patent_vectors
    chunk_k = min(int(pool * CHUNK_FANOUT), len(index))
    with ctx.timer.stage("dense"):
        dense = _dense_patents(indexes, vectors, chunk_k)
        if allowed is not None:
            dense = with_allowed(indexes, vectors, dense, allowed, pool)
            # Nothing may be cut from the extended lists.
            params = replace(params, pool=pool + len(allowed))
    with ctx.timer.stage("lexical"):
        found = indexes.patent_lexical.search_moments(
            lexical_text(text, query, params.title_repeat), pool, allowed
        )
    with ctx.timer.stage("scheme"):
        scheme = scheme_probabilities(indexes, vectors[0])
    with ctx.timer.stage("fusion"):
        calibration = ctx.calibration.for_model(index.model)
        signals = need_signals(dense[0], Hits(*found), dense[1:])
        ranking = rank_hybrid(signals, indexes.patent_ipc, params, calibration, scheme)
    exhausted = chunk_k >= len(index) or pool >= len(indexes.patent_ids)
    return PatentRanking(ranking, exhausted, query.statements, dense[2:])


def query_vectors(encoder: Encoder, text: str, max_statements: int | None = None) -> np.ndarray:
    """The query's vectors (m, dim): the whole text, then a need's title and statements (the
    first ``max_statements`` of them when given: the others would not be searched)."""
    query = parse_need(text)
    if max_statements is not None:
        query = query.capped(max_statements)
    return encoder.encode_queries(vector_texts(text, query))


def many_query_vectors(encoder: Encoder, texts: Sequence[str]) -> list[np.ndarray]:
    """``query_vectors`` of each text, encoded in one call (the encoder batches by length)."""
    parts = [vector_texts(text, parse_need(text)) for text in texts]
    if not parts:
        return []
    vectors = encoder.encode_queries([t for pieces in parts for t in pieces])
    bounds = np.cumsum([len(pieces) for pieces in parts])[:-1]
    return list(np.split(vectors, bounds))


def _dense_patents(indexes: EngineIndexes, vectors: np.ndarray, chunk_k: int) -> list[Hits]:
    """Per query vector: patents by their best chunk, with the collection's moments."""
    if chunk_k <= 0:
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        return [Hits(*empty) for _ in vectors]
    scores, keys = indexes.patent_vectors.search(vectors, chunk_k)
    out = []
    for row, vector in enumerate(vectors):
        ids, cosines = dedupe_best(patent_of_keys(keys[row]), scores[row])
        out.append(dense_hits(ids, cosines, vector, indexes.patent_moments))
    return out


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
    vectors: np.ndarray,
    filters: MatchFilters,
    k: int,
    ctx: QueryContext,
) -> tuple[list[Match], PatentRows]:
    """The best ``k`` patents passing ``filters`` (widening the pool while too few do, or
    ranking the allowed patents of a selective filter), with the rows read for them.
    Penalties apply to the whole pool, before the cut."""
    pool = max(ctx.params.pool, 4 * k)
    rows: PatentRows = {}
    with ctx.timer.stage("database"):
        allowed = allowed_patents(session, filters, ctx.restrict_limit)
    if allowed is not None and not len(allowed):
        return [], rows
    while True:
        ranked = rank_patents(indexes, text, vectors, pool, ctx, allowed)
        with ctx.timer.stage("database"):
            # A penalty only lowers a score, so only the head can change the top k: the
            # candidates the first pages would read (the rest would need many declines).
            head = only_allowed(ranked.ranking.ids, allowed)[: PAGE_FACTOR * k * 4]
            penalties = ctx.penalties(session, [int(i) for i in head], text)
        ranked.ranking = penalised(ranked.ranking, penalty_factors(penalties, ranked.ranking.ids))
        candidates = only_allowed(ranked.ranking.ids, allowed)
        accepted = _accept_pages(session, candidates, filters, k, rows, ctx)
        if allowed is not None or len(accepted) >= k or ranked.exhausted or pool >= MAX_POOL:
            break
        pool = min(pool * 4, MAX_POOL)
    with ctx.timer.stage("explain"):
        return _patent_matches(indexes, text, ranked, accepted[:k], rows), rows


def _answering(ranked: PatentRanking, pid: int) -> str | None:
    """The problem statement whose vector is closest to the patent (None without statements)."""
    best, best_score = None, -np.inf
    for statement, hits in zip(ranked.statements, ranked.statement_hits, strict=False):
        where = np.flatnonzero(hits.ids == pid)
        score = float(hits.scores[where[0]]) if len(where) else -np.inf
        if score > best_score:
            best, best_score = statement, score
    return best


def _patent_matches(
    indexes: EngineIndexes, text: str, ranked: PatentRanking, ids: Sequence[int],
    rows: PatentRows,
) -> list[Match]:  # fmt: skip
    """Matches with explanations for the accepted ids (already in ranking order)."""
    ranking = ranked.ranking
    # Positions of the accepted ids only (a dict over the whole pool cost more than the rest).
    where = np.flatnonzero(np.isin(ranking.ids, np.asarray(ids, dtype=np.int64)))
    position = dict(zip(ranking.ids[where].tolist(), where.tolist(), strict=True))
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
            answers=_answering(ranked, pid),
        )
        score, confidence = float(ranking.scores[n]), float(ranking.confidence[n])
        matches.append(Match(pid, score, confidence, explanation))
    return matches


def infer_subclasses(
    indexes: EngineIndexes, text: str, vector: np.ndarray, ctx: QueryContext
) -> list[str]:
    """The IPC subclasses a text likely belongs to, voted by its nearest patents."""
    return list(rank_patents(indexes, text, vector, ctx.params.pool, ctx).ranking.inferred)


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
) -> tuple[list[Match], dict[int, TechNeed]]:
    """Published needs for a query (text, vectors (m, dim), subclass weights), best first,
    with their rows."""
    text, vectors, weights = query
    pool = min(max(ctx.params.pool, 4 * k), len(indexes.need_vectors))
    if pool <= 0 or not len(vectors):
        return [], {}
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
    return matches, {m.id: rows[m.id] for m in matches}
