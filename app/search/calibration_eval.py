"""Fitting the confidence model on the need-style judgements (``patentmatch eval calibrate``).

Patents: the top 10 of the engine's ranking for every need (out-of-domain ones included: none
of their hits is useful), useful = grade ≥ 2, unjudged = not useful. Patent → needs has no set
of its own, so it is simulated by swapping roles: every patent judged useful for a need is a query,
the needs are the documents (encoded as documents, with the subclasses inferred for them; the
patent's query vector is its own document vector, as the engine searches with it), and
a need is useful to the patent when it judged the patent ≥ 2; patents that no need's pool ever
held stand for the out-of-domain queries (as many per query as Y needs per D need). Checks are
k-fold over queries: each fold is predicted by a fit on the others (Brier, reliability, flagged
needs). The no-good-match threshold is the 5th percentile of the held-out best confidence over
the queries that have a useful answer: about one in twenty answerable queries is flagged, and
the out-of-domain needs (stray patents) show whether the rest stands apart. A fit with cosine
features may instead get a gate (``calibration.Gate``): a query-level logistic model of "the
query has a useful answer" over its best hit's confidence and the query's best cosine, fitted on
the same training queries after the per-hit model, its threshold chosen the same way; it is kept
only when it flags more of the held-out unanswerable queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.catalog.ipc import subclass_of
from app.search.calibration import (
    FEATURES,
    GATE_FEATURES,
    MODEL_FREE,
    NEEDS_FEATURES,
    NEEDS_FREE,
    Calibration,
    CalibrationSet,
    Features,
    Gate,
    brier,
    confidence,
    fit_calibration,
    logit,
)
from app.search.evaluate import EvalIndex, embed, rank_queries
from app.search.ipc_inference import IpcTable
from app.search.need_search import rank_need_candidates
from app.search.needeval import USEFUL, NeedSet
from app.search.ranking import Ranking, RankingParams
from app.search.tuning import folds_of

TOP = 10
FLAG_SHARE = 0.05
# The fits that may have a gate: the encoder's (a model-free gate would read the best
# confidence alone, which the plain rule already does).
GATED = (FEATURES, NEEDS_FEATURES)
NEUTRAL = CalibrationSet({})


@dataclass(frozen=True)
class Sample:
    """Top-10 hits of many queries: features, usefulness, query number, answerable queries."""

    features: Features
    useful: np.ndarray
    query: np.ndarray
    answerable: np.ndarray  # per query: has a useful document at all

    def subset(self, queries: np.ndarray) -> Sample:
        """The hits of the given query numbers."""
        mask = np.isin(self.query, queries)
        return Sample(self.features.subset(mask), self.useful[mask], self.query[mask],
                      self.answerable)  # fmt: skip


def _sample(
    rankings: Sequence[Ranking], useful: list[list[bool]], answerable: list[bool]
) -> Sample:
    """The top 10 of each ranking with one usefulness flag per hit."""
    parts = [r.features.subset(np.arange(min(TOP, len(r.ids)))) for r in rankings if r.features]
    query = [np.full(len(u), n) for n, u in enumerate(useful)]
    return Sample(
        Features.concat(parts),
        np.array([x for u in useful for x in u], dtype=np.float64),
        np.concatenate(query) if query else np.zeros(0, dtype=int),
        np.array(answerable, dtype=bool),
    )


def patent_sample(index: EvalIndex, needs: NeedSet, params: RankingParams) -> Sample:
    """Need → patents: every need's top 10 with its usefulness."""
    rankings = rank_queries(index, [t for _, t in needs.queries], params, NEUTRAL)
    keys = index.corpus.keys
    useful: list[list[bool]] = []
    for (qid, _), ranking in zip(needs.queries, rankings, strict=True):
        grades = needs.grades.get(qid, {}) if needs.seeds.get(qid) else {}
        useful.append([grades.get(keys[int(i)], 0) >= USEFUL for i in ranking.ids[:TOP]])
    answerable = [bool(needs.seeds.get(q)) for q, _ in needs.queries]
    return _sample(rankings, useful, answerable)


def unpooled_patents(index: EvalIndex, needs: NeedSet, count: int) -> list[str]:
    """A fixed sample of corpus patents that no need's judgements mention (never pooled for
    any need): patent queries that no posted need answers, as the Y needs are for patents."""
    pooled = {d for grades in needs.grades.values() for d in grades}
    free = [k for k in index.corpus.keys if k not in pooled]
    chosen = np.random.default_rng(0).permutation(len(free))[: min(count, len(free))]
    return sorted(free[int(i)] for i in chosen)


def needs_sample(index: EvalIndex, needs: NeedSet, params: RankingParams) -> Sample:
    """Patent → needs by swapping roles (see the module docstring)."""
    texts = [t for _, t in needs.queries]
    table = IpcTable()
    inferred = [r.inferred for r in rank_queries(index, texts, params, NEUTRAL)]
    table.upsert(list(range(len(texts))), inferred)
    need_vectors = embed(index, texts, "d")
    position = {key: n for n, key in enumerate(index.corpus.keys)}
    judged = sorted(
        {
            d
            for q in needs.in_domain
            for d, grade in needs.grades.get(q, {}).items()
            if grade >= USEFUL and d in position
        }
    )
    # As many patents no need answers as there are out-of-domain needs per in-domain one.
    share = len(needs.out_of_domain) / max(len(needs.in_domain), 1)
    stray = unpooled_patents(index, needs, round(share * len(judged)))
    docs = judged + stray
    # The patent's own document vector, as the engine queries with its indexed chunk vectors.
    assert index.vectors is not None
    vectors = index.vectors[[position[d] for d in docs]]
    rankings: list[Ranking] = []
    useful: list[list[bool]] = []
    for doc, vector in zip(docs, vectors, strict=True):
        own = {subclass_of(c) for c in index.corpus.ipc[position[doc]]}
        cosines = need_vectors @ vector
        order = np.argsort(-cosines, kind="stable")
        weights = {c: 1.0 / len(own) for c in own}
        ranking = rank_need_candidates((order, cosines[order]), table, weights, params,
                                       Calibration(bias=0.0))  # fmt: skip
        rankings.append(ranking)
        qids = [needs.queries[int(i)][0] for i in ranking.ids[:TOP]]
        useful.append([needs.grades.get(q, {}).get(doc, 0) >= USEFUL for q in qids])
    # Every judged patent is useful to some need (that is how they were chosen).
    return _sample(rankings, useful, [True] * len(judged) + [False] * len(stray))


def _best_hits(cal: Calibration, sample: Sample, queries: np.ndarray) -> list[tuple[float, float]]:
    """Per query: its best hit's confidence under ``cal`` and its best cosine (constant over
    its hits); an empty result has confidence 0."""
    out: list[tuple[float, float]] = []
    for q in queries:
        hits = sample.features.subset(sample.query == q)
        best = float(confidence(cal, hits)[0]) if len(hits) else 0.0
        out.append((best, float(hits.columns["top_cosine"][0]) if len(hits) else 0.0))
    return out


def _evidence(cal: Calibration, sample: Sample, queries: np.ndarray) -> Features:
    """The gate's features (``GATE_FEATURES``) of each query's result."""
    best = np.array(_best_hits(cal, sample, queries)).reshape(-1, 2)
    logits = np.array([logit(p) for p in best[:, 0]])
    return Features(dict(zip(GATE_FEATURES, (logits, best[:, 1]), strict=True)))


def _fit(sample: Sample, queries: np.ndarray, columns: tuple[str, ...]) -> Calibration:
    """The per-hit fit on ``queries``' hits."""
    train = sample.subset(queries)
    return fit_calibration(train.features, train.useful, columns=columns)


def _with_gate(cal: Calibration, sample: Sample, queries: np.ndarray) -> Calibration:
    """``cal`` with a gate fitted on the same ``queries`` (their best hits under ``cal``)."""
    evidence = _evidence(cal, sample, queries)
    answerable = sample.answerable[queries].astype(np.float64)
    gate = fit_calibration(evidence, answerable, columns=GATE_FEATURES)
    return replace(cal, gate=Gate(gate.bias, gate.weights))


def _answerable(cal: Calibration, sample: Sample, queries: np.ndarray) -> np.ndarray:
    """What ``no_match_below`` is compared with for each query (``Calibration.answerable``)."""
    return np.array([cal.answerable(*hit) for hit in _best_hits(cal, sample, queries)])


def _held_out(
    sample: Sample, columns: tuple[str, ...], folds: int
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Held-out best confidence per query, held-out gate probability (fits that may have a
    gate, else None), and the held-out Brier over all hits; one per-hit fit per fold."""
    queries = np.arange(len(sample.answerable))
    plain = np.zeros(len(queries))
    gated = np.zeros(len(queries)) if columns in GATED else None
    errors: list[float] = []
    for fold in folds_of(len(queries), folds):
        train = np.setdiff1d(queries, fold)
        cal = _fit(sample, train, columns)
        plain[fold] = _answerable(cal, sample, fold)
        if gated is not None:
            gated[fold] = _answerable(_with_gate(cal, sample, train), sample, fold)
        test = sample.subset(fold)
        errors.append(brier(cal, test.features, test.useful) * len(test.useful))
    return plain, gated, float(sum(errors) / max(len(sample.useful), 1))


@dataclass(frozen=True)
class GateCheck:
    """A no-good-match rule's held-out threshold and flagged counts."""

    threshold: float
    answerable_flagged: int
    unanswerable_flagged: int


def _check(values: np.ndarray, answerable: np.ndarray) -> GateCheck:
    """The threshold flagging ``FLAG_SHARE`` of the answerable queries, and what it flags."""
    threshold = float(np.quantile(values[answerable], FLAG_SHARE)) if answerable.any() else 0.5
    flagged = values < threshold
    return GateCheck(threshold, int(flagged[answerable].sum()), int(flagged[~answerable].sum()))


def fit_direction(
    sample: Sample, columns: tuple[str, ...], folds: int
) -> tuple[Calibration, dict[str, float]]:
    """The fit on every query, its no-good-match rule and threshold (held-out), its checks.

    The gate is kept only when, at the same share of answerable queries flagged, it flags more
    of the unanswerable ones held out than the best confidence alone does.
    """
    answerable = sample.answerable
    plain, held_gate, held_brier = _held_out(sample, columns, folds)
    checks = {False: _check(plain, answerable)}
    if held_gate is not None:
        checks[True] = _check(held_gate, answerable)
    gated = (
        checks.get(True, checks[False]).unanswerable_flagged > checks[False].unanswerable_flagged
    )
    chosen = checks[gated]
    everyone = np.arange(len(answerable))
    fitted = _fit(sample, everyone, columns)
    if gated:
        fitted = _with_gate(fitted, sample, everyone)
    fitted = replace(fitted, no_match_below=round(chosen.threshold, 4))
    report = {
        "hits": float(len(sample.useful)),
        "useful share": round(float(sample.useful.mean()), 4) if len(sample.useful) else 0.0,
        f"held-out brier ({folds}-fold)": round(held_brier, 4),
        "gate": float(gated),
        "no_match_below": round(chosen.threshold, 4),
        "answerable flagged (held-out)": float(chosen.answerable_flagged),
        "answerable": float(answerable.sum()),
        "unanswerable flagged (held-out)": float(chosen.unanswerable_flagged),
        "unanswerable flagged, best confidence only (held-out)": float(
            checks[False].unanswerable_flagged
        ),
        "unanswerable": float((~answerable).sum()),
    }
    return fitted, report


def calibrate(
    index: EvalIndex, needs: NeedSet, params: RankingParams, folds: int = 5
) -> tuple[dict[str, dict[str, Calibration]], dict[str, object]]:
    """Fits for the index's encoder and the model-free ones, with a report per fit."""
    patents, swapped = patent_sample(index, needs, params), needs_sample(index, needs, params)
    fits: dict[str, dict[str, Calibration]] = {"": {}, "*": {}}
    report: dict[str, object] = {}
    for name, sample, columns, free in (
        ("patents", patents, FEATURES, MODEL_FREE),
        ("needs", swapped, NEEDS_FEATURES, NEEDS_FREE),
    ):
        fits[""][name], report[name] = fit_direction(sample, columns, folds)
        fits["*"][name], report[f"{name} (model-free)"] = fit_direction(sample, free, folds)
    model = index.encoder.name if index.encoder else "*"
    return {model: fits[""], "*": fits["*"]}, report
