"""Matching-quality evaluation: build a throw-away index from a corpus file, run queries, score.

Document ids in the corpus are strings; internally a document's id is its position. The corpus's
``ipc`` field is used only as document metadata (as the catalogue's IPC codes are in production);
qrels are read only to score a finished run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import numpy as np

from app.catalog.ipc import SCHEME_RELATIVE_PATH
from app.search.calibration import CalibrationSet
from app.search.encoder import Encoder, vectors_tag
from app.search.evaldata import EvalCorpus, Run, cached_vectors, embedding_key
from app.search.fusion import (
    Hits,
    Signals,
    collection_moments,
    dense_hits,
    need_signals,
    rank_hybrid,
)
from app.search.ipc_inference import IpcTable, SchemePrior, read_scheme_titles
from app.search.lexical import LexicalIndex
from app.search.model_vectors import find_model_vectors
from app.search.needquery import lexical_text, parse_need, vector_texts
from app.search.ranking import Ranking, RankingParams, fuse
from app.search.split_encoder import passage_encoder, scheme_encoder
from app.search.tuned import load_calibrations, load_ranking_params

SCHEME_RELATIVE = SCHEME_RELATIVE_PATH


class Method(StrEnum):
    """Retrieval methods that ``eval run`` compares."""

    BM25 = "bm25"
    DENSE = "dense"
    RRF = "rrf"
    HYBRID = "hybrid"


# What the engine serves, and so what ``eval run`` uses without ``--method``.
ENGINE_METHOD = Method.HYBRID


@dataclass
class EvalIndex:
    """Everything needed to answer queries over one evaluation corpus."""

    corpus: EvalCorpus
    lexical: LexicalIndex
    table: IpcTable
    encoder: Encoder | None = None
    vectors: np.ndarray | None = None
    scheme: SchemePrior | None = None
    cache_dir: Path | None = None
    model_dir: Path | None = None
    # Mean and covariance of the document vectors (dense z-scores), computed on first use.
    moments: tuple[np.ndarray, np.ndarray] | None = None


def _say(message: str) -> None:
    """Progress on stderr so that stdout stays parseable."""
    print(message, file=sys.stderr, flush=True)


def embed(
    index: EvalIndex, texts: Sequence[str], kind: str, encoder: Encoder | None = None
) -> np.ndarray:
    """Encode (queries or documents) with ``encoder`` (the index's by default), through the
    cache when there is one."""
    encoder = encoder or index.encoder
    if encoder is None:
        raise ValueError("this index has no encoder")
    model: Encoder = encoder

    def encode(batch: Sequence[str]) -> np.ndarray:
        if kind != "q":
            return model.encode_documents(batch)
        # Eval queries stand for posted needs, whose query vectors the engine stores when it
        # indexes them, on the passage precision (``passage_encoder``); only free text sent to
        # ``/match/text`` is encoded inside a request, on the query precision. Looked up here,
        # so a cached run never loads the passage session.
        return passage_encoder(model).encode_queries(batch)

    # Queries and documents alike are the passage precision's vectors, kept apart by ``kind``.
    key = embedding_key(vectors_tag(encoder), kind, texts)
    # Model-only vectors (the scheme titles) were stored in the model folder at `model fetch`.
    stored = find_model_vectors(index.model_dir, key, (len(texts), encoder.dim))
    if stored is not None:
        return stored
    if index.cache_dir is None:
        return encode(texts)
    return cached_vectors(index.cache_dir, key, lambda: encode(texts))


def build_index(
    corpus: EvalCorpus,
    encoder: Encoder | None,
    *,
    cache_dir: Path | None,
    scheme_path: Path | None,
    model_dir: Path | None = None,
) -> EvalIndex:
    """Index a corpus: BM25 always; embeddings and the scheme prior when there is an encoder."""
    ids = list(range(len(corpus)))
    _say(f"indexing {len(corpus)} documents (BM25)")
    lexical = LexicalIndex()
    lexical.index(ids, corpus.titles)
    table = IpcTable()
    table.upsert(ids, corpus.ipc)
    index = EvalIndex(
        corpus, lexical, table, encoder=encoder, cache_dir=cache_dir, model_dir=model_dir
    )
    if encoder is not None:
        tag = vectors_tag(encoder)
        _say(f"embedding {len(corpus)} documents with {tag} (cached after the first run)")
        index.vectors = embed(index, corpus.titles, "d")
        if scheme_path is not None and scheme_path.is_file():
            entries = read_scheme_titles(scheme_path)
            _say(f"embedding {len(entries)} IPC scheme titles")
            titles = [title for _, title in entries]
            vectors = embed(index, titles, "d", scheme_encoder(encoder))
            index.scheme = SchemePrior([c for c, _ in entries], vectors, model=encoder.name)
    return index


def nearest_documents(
    index: EvalIndex, query_vectors: np.ndarray, k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Exact inner-product top ``k`` (ids, cosines) per query, best first."""
    assert index.vectors is not None
    k = min(k, len(index.vectors))
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for start in range(0, len(query_vectors), 256):
        sims = query_vectors[start : start + 256] @ index.vectors.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for row, cand in enumerate(part):
            best = cand[np.argsort(-sims[row, cand], kind="stable")]
            out.append((best, sims[row, best]))
    return out


def _dense_hits(index: EvalIndex, vectors: np.ndarray, k: int) -> list[Hits]:
    """Exact top-``k`` (ids, cosines) of each vector, with the collection's moments."""
    if not len(vectors):
        return []
    if index.moments is None:
        assert index.vectors is not None
        index.moments = collection_moments(index.vectors)
    top = nearest_documents(index, vectors, k)
    return [dense_hits(i, s, v, index.moments) for (i, s), v in zip(top, vectors, strict=True)]


@dataclass(frozen=True)
class QueryParts:
    """One query's retrieval lists at the largest pool wanted: whole-text dense, BM25 per title
    repeat, the title's and every problem statement's dense hits, the scheme prior."""

    dense: Hits
    lexical: dict[int, Hits]
    extra: list[Hits]
    scheme: np.ndarray | None


def query_parts(
    index: EvalIndex, texts: Sequence[str], pool: int, repeats: Sequence[int] = (1,)
) -> tuple[list[QueryParts], np.ndarray]:
    """Every query's lists (``needquery`` splits need postings) and its whole-text vectors.

    Exact search: the first n hits of a list of ``pool`` are the list of n (``signals_of``).
    """
    parsed = [parse_need(t) for t in texts]
    query_vectors = embed(index, texts, "q")
    extra = [vector_texts(t, p)[1:] for t, p in zip(texts, parsed, strict=True)]
    flat = [t for texts_of in extra for t in texts_of]
    extra_hits = _dense_hits(index, embed(index, flat, "q"), pool) if flat else []
    dense = _dense_hits(index, query_vectors, pool)
    schemes: Sequence[np.ndarray | None] = [None] * len(texts)
    if index.scheme is not None and len(texts):
        schemes = list(index.scheme.probabilities(query_vectors, index.table.codes))
    parts: list[QueryParts] = []
    start = 0
    for row, (text, query) in enumerate(zip(texts, parsed, strict=True)):
        lexical = {r: Hits(*index.lexical.search_moments(lexical_text(text, query, r), pool))
                   for r in repeats}  # fmt: skip
        own = extra_hits[start : start + len(extra[row])]
        start += len(extra[row])
        parts.append(QueryParts(dense[row], lexical, own, schemes[row]))
    return parts, query_vectors


def _first(hits: Hits, n: int) -> Hits:
    """The first ``n`` hits of a list."""
    return Hits(hits.ids[:n], hits.scores[:n], hits.mean, hits.std)


def signals_of(parts: QueryParts, params: RankingParams) -> Signals:
    """The query's signals under ``params`` (pool, title repeat, statements searched)."""
    pool = params.pool
    extra = [_first(h, pool) for h in parts.extra[: 1 + max(params.max_statements, 1)]]
    lexical = _first(parts.lexical[params.title_repeat], pool)
    return need_signals(_first(parts.dense, pool), lexical, extra)


def query_signals(
    index: EvalIndex, texts: Sequence[str], params: RankingParams
) -> tuple[list[Signals], np.ndarray, list[np.ndarray | None]]:
    """Every query's signals, whole-text vectors and scheme prior, as the engine forms them."""
    parts, vectors = query_parts(index, texts, params.pool, (params.title_repeat,))
    return [signals_of(p, params) for p in parts], vectors, [p.scheme for p in parts]


def rank_queries(
    index: EvalIndex,
    texts: Sequence[str],
    params: RankingParams,
    calibrations: CalibrationSet | None = None,
) -> list[Ranking]:
    """Rankings for many queries by the engine's path (signals fused, IPC weighed in)."""
    if index.encoder is None:
        raise ValueError("the hybrid needs an encoder")
    signals, _, schemes = query_signals(index, texts, params)
    calibration = (calibrations or load_calibrations()).for_model(index.encoder.name)
    return [
        rank_hybrid(s, index.table, params, calibration, scheme)
        for s, scheme in zip(signals, schemes, strict=True)
    ]


def run_method(
    index: EvalIndex,
    queries: Sequence[tuple[str, str]],
    method: Method,
    k: int,
    params: RankingParams | None = None,
) -> Run:
    """Top-``k`` documents (corpus keys) per query id with the chosen method."""
    params = params or load_ranking_params()
    keys = index.corpus.keys
    texts = [text for _, text in queries]
    if method is Method.BM25:
        hits = [index.lexical.search_arrays(text, k) for text in texts]
        return {
            q: _named(keys, ids, scores)
            for (q, _), (ids, scores) in zip(queries, hits, strict=True)
        }
    if method is Method.DENSE:
        query_vectors = embed(index, texts, "q")
        assert index.vectors is not None
        run: Run = {}
        for (qid, _), (ids, cosines) in zip(
            queries, nearest_documents(index, query_vectors, k), strict=True
        ):
            run[qid] = _named(keys, ids, cosines)
        return run
    params = replace(params, pool=max(params.pool, k))
    if method is Method.RRF:
        return _plain_rrf(index, queries, params, k)
    rankings = rank_queries(index, texts, params)
    return {
        q: _named(keys, r.ids[:k], r.scores[:k])
        for (q, _), r in zip(queries, rankings, strict=True)
    }


def _plain_rrf(
    index: EvalIndex, queries: Sequence[tuple[str, str]], params: RankingParams, k: int
) -> Run:
    """The reference baseline: RRF(BM25, dense) with k = 60 and equal weights, raw text."""
    vectors = embed(index, [t for _, t in queries], "q")
    plain = RankingParams(pool=params.pool)
    run: Run = {}
    nearest = nearest_documents(index, vectors, params.pool)
    for (qid, text), (ids, _) in zip(queries, nearest, strict=True):
        lexical, _ = index.lexical.search_arrays(text, params.pool)
        fused = fuse(ids, lexical, plain)
        run[qid] = _named(index.corpus.keys, fused.ids[:k], fused.fused[:k])
    return run


def no_good_match(
    index: EvalIndex, queries: Sequence[tuple[str, str]], params: RankingParams | None = None
) -> list[str]:
    """The qids the engine would answer with ``no_good_match`` (best confidence too low)."""
    params = params or load_ranking_params()
    if index.encoder is None:
        raise ValueError("the confidence needs an encoder")
    calibrations = load_calibrations()
    rankings = rank_queries(index, [t for _, t in queries], params, calibrations)
    calibration = calibrations.for_model(index.encoder.name)
    return [
        qid
        for (qid, _), r in zip(queries, rankings, strict=True)
        if calibration.no_good_match(
            float(r.confidence[0]) if len(r.confidence) else None, r.top_cosine
        )
    ]


def _named(keys: Sequence[str], ids: np.ndarray, scores: np.ndarray) -> list[tuple[str, float]]:
    """(corpus key, score) pairs."""
    return [(keys[int(i)], float(s)) for i, s in zip(ids, scores, strict=True)]
