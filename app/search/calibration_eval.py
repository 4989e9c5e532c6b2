"""Fitting the confidence model on the need-style judgements (``patentmatch eval calibrate``).

Patents: the top 10 of the engine's ranking for every need (out-of-domain ones included: none
of their hits is useful), useful = grade ≥ 2, unjudged = not useful. Patent → needs has no set
of its own, so it is simulated by swapping roles: every patent judged useful for a need is a query,
the needs are the documents (encoded as documents, with the subclasses inferred for them), and
a need is useful to the patent when it judged the patent ≥ 2; patents that no need's pool ever
held stand for the out-of-domain queries (as many per query as Y needs per D need). Checks are
k-fold over queries: each fold is predicted by a fit on the others (Brier, reliability, flagged
needs). The
no-good-match threshold is the 5th percentile of the best hit's held-out confidence over the
queries that have a useful answer: about one in twenty answerable queries is flagged, and the
out-of-domain needs show whether the rest stands apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.catalog.ipc import subclass_of
from app.search.calibration import (
    FEATURES,
    MODEL_FREE,
    NEEDS_FEATURES,
    NEEDS_FREE,
    Calibration,
    CalibrationSet,
    Features,
    brier,
    confidence,
    fit_calibration,
    monotone,
)
from app.search.evaluate import EvalIndex, embed, rank_queries
from app.search.ipc_inference import IpcTable
from app.search.needeval import USEFUL, NeedSet
from app.search.querying import rank_need_candidates
from app.search.ranking import Ranking, RankingParams
from app.search.tuning import folds_of

TOP = 10
FLAG_SHARE = 0.05
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
    vectors = embed(index, [index.corpus.titles[position[d]] for d in docs], "q")
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


def _best(cal: Calibration, sample: Sample, queries: np.ndarray) -> np.ndarray:
    """Each query's top-hit confidence (monotone, so the first hit's) under ``cal``."""
    out = np.zeros(len(queries))
    for n, q in enumerate(queries):
        mask = sample.query == q
        p = monotone(confidence(cal, sample.features.subset(mask)))
        out[n] = float(p[0]) if len(p) else 0.0
    return out


def _held_out(sample: Sample, columns: tuple[str, ...], folds: int) -> tuple[np.ndarray, float]:
    """Held-out top-hit confidence per query and the held-out Brier over all hits."""
    queries = np.arange(len(sample.answerable))
    best = np.zeros(len(queries))
    errors: list[float] = []
    for fold in folds_of(len(queries), folds):
        train = sample.subset(np.setdiff1d(queries, fold))
        test = sample.subset(fold)
        cal = fit_calibration(train.features, train.useful, columns=columns)
        best[fold] = _best(cal, sample, fold)
        errors.append(brier(cal, test.features, test.useful) * len(test.useful))
    return best, float(sum(errors) / max(len(sample.useful), 1))


def fit_direction(
    sample: Sample, columns: tuple[str, ...], folds: int
) -> tuple[Calibration, dict[str, float]]:
    """The fit on every query, its threshold (from held-out confidences) and its checks."""
    best, held_brier = _held_out(sample, columns, folds)
    answerable = sample.answerable
    threshold = float(np.quantile(best[answerable], FLAG_SHARE)) if answerable.any() else 0.5
    fitted = replace(fit_calibration(sample.features, sample.useful, columns=columns),
                     no_match_below=round(threshold, 4))  # fmt: skip
    report = {
        "hits": float(len(sample.useful)),
        "useful share": round(float(sample.useful.mean()), 4) if len(sample.useful) else 0.0,
        f"held-out brier ({folds}-fold)": round(held_brier, 4),
        "no_match_below": round(threshold, 4),
        "answerable flagged (held-out)": float((best[answerable] < threshold).sum()),
        "answerable": float(answerable.sum()),
        "unanswerable flagged (held-out)": float((best[~answerable] < threshold).sum()),
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
