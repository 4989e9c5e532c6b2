"""Patent search over the engine's indexes (hybrid, with filters), and the per-request context.

Dense (best chunk per patent) and BM25 candidates are fused and IPC-re-ranked by the
ranking module; the ranked ids are then checked page by page against their database rows (one
query per page) and the candidate pool is widened when too few pass the filters. A selective
filter (open licence only) adds its allowed patents to the candidates instead (``restrict``).
Need search (patent or portfolio → needs) lives in ``need_search``.
"""

import hashlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from sqlmodel import Session

from app.search.calibration import CalibrationSet
from app.search.documents import DEFAULT_MAX_CHARS, patent_of_keys, patent_text
from app.search.encoder import Encoder
from app.search.filters import MatchFilters, PatentRows, fetch_patents, select_accepted
from app.search.fusion import Hits, dense_hits, need_signals, rank_hybrid
from app.search.needquery import NeedQuery, lexical_text, parse_need, vector_texts
from app.search.penalties import PenaltyProvider, no_penalties, penalised, penalty_factors
from app.search.ranking import Ranking, RankingParams, dedupe_best
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
) -> tuple[list[Match], PatentRows, float]:
    """The best ``k`` patents passing ``filters`` (widening the pool while too few do, or
    ranking the allowed patents of a selective filter), with the rows read for them and the
    query's best cosine (the no-good-match gate reads it). Penalties apply to the whole pool, before
    the cut."""
    pool = max(ctx.params.pool, 4 * k)
    rows: PatentRows = {}
    with ctx.timer.stage("database"):
        allowed = allowed_patents(session, filters, ctx.restrict_limit)
    if allowed is not None and not len(allowed):
        return [], rows, 0.0
    while True:
        ranked = _memo_ranking(indexes, text, vectors, pool, ctx, allowed)
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
        matches = _patent_matches(indexes, text, ranked, accepted[:k], rows)
    return matches, rows, ranked.ranking.top_cosine


def _memo_key(
    indexes: EngineIndexes, text: str, vectors: np.ndarray, pool: int, ctx: QueryContext
) -> Hashable:
    """Everything ``rank_patents`` reads besides the indexes' state (their ``version``)."""
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    digest = hashlib.blake2b(array.tobytes(), digest_size=16).hexdigest()
    return (indexes.version, indexes.patent_vectors.params, text, array.shape, digest, pool,
            ctx.params, ctx.max_chars, id(ctx.calibration))  # fmt: skip


def _memo_ranking(
    indexes: EngineIndexes, text: str, vectors: np.ndarray, pool: int, ctx: QueryContext,
    allowed: np.ndarray | None,
) -> PatentRanking:  # fmt: skip
    """``rank_patents``, memoised per indexes version: a need's ranking repeats until a write
    is replayed. Rankings restricted to allowed patents are not kept (the list is the filter's).
    A copy is returned: the caller replaces its ``ranking`` (penalties)."""
    if allowed is not None:
        return rank_patents(indexes, text, vectors, pool, ctx, allowed)
    # Read before ranking: a replay racing this request stores nothing under the next version.
    key = _memo_key(indexes, text, vectors, pool, ctx)
    hit = indexes.rankings.get(key)
    # The calibration is keyed by identity: the entry holds it, so the id cannot be reused.
    if hit is not None and hit[0] is ctx.calibration:
        return replace(hit[1])
    ranked = rank_patents(indexes, text, vectors, pool, ctx, allowed)
    indexes.rankings.put(key, (ctx.calibration, ranked))
    return replace(ranked)


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
