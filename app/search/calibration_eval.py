"""Fitting and checking the confidence model on the dev set (``patentmatch eval calibrate``).

Patents: the top 10 of the hybrid for the title and field tasks, relevant = grade ≥ 1. Patent →
needs has no dev set of its own, so it is simulated the way the engine runs it: the field
descriptions (one per IPC subclass) are the needs, indexed as documents with the subclasses
inferred for them from their nearest patents; the title queries are the patents, with the
subclass set of their grade-2 documents; a need is relevant when its subclass is the patent's.
Queries are split by position: even ones fit, odd ones are held out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.catalog.ipc import subclass_of
from app.search.calibration import (
    AGREEMENT_ONLY,
    MODEL_FREE,
    NEEDS_FEATURES,
    NEEDS_FREE,
    Calibration,
    Features,
    brier,
    confidence,
    fit_calibration,
    reliability,
)
from app.search.evaldata import load_qrels, load_queries
from app.search.evaluate import EvalIndex, embed, rank_queries
from app.search.ipc_inference import IpcTable
from app.search.querying import rank_need_candidates
from app.search.ranking import Ranking, RankingParams

Queries = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class CalibrationSample:
    """Top-10 hits of one task's queries: features, 0/1 relevance, query number of each hit."""

    features: Features
    relevant: np.ndarray
    query: np.ndarray
    # Hits that both retrievers rank first (for ``Calibration.both_first``).
    both_first: np.ndarray

    def subset(self, mask: np.ndarray) -> CalibrationSample:
        """The hits where ``mask`` holds."""
        return CalibrationSample(
            self.features.subset(mask), self.relevant[mask], self.query[mask], self.both_first[mask]
        )


def _features(ranking: Ranking, k: int) -> Features:
    """Calibration features of a ranking's top ``k``, as ``rerank`` computes them."""
    n = min(k, len(ranking.ids))
    certainty = max(ranking.belief.values(), default=0.0)
    return Features(
        ranking.agreement[:n], ranking.cosine[:n], np.full(n, certainty), ranking.primary[:n]
    )


def _sample(rankings: list[Ranking], relevant: list[bool]) -> CalibrationSample:
    """The top 10 of each ranking with its relevance (one flag per hit, in order)."""
    features = Features.concat([_features(r, 10) for r in rankings])
    query = [np.full(min(len(r.ids), 10), n, dtype=int) for n, r in enumerate(rankings)]
    both = [(r.dense_rank[:10] == 1) & (r.lexical_rank[:10] == 1) for r in rankings]
    y = np.array(relevant, dtype=np.float64)
    return CalibrationSample(features, y, np.concatenate(query), np.concatenate(both))


def patent_sample(
    index: EvalIndex, queries: Queries, qrels_path: Path, params: RankingParams
) -> CalibrationSample:
    """Features and relevance of the hybrid's top 10 for every query."""
    qrels = load_qrels(qrels_path)
    rankings = rank_queries(index, [t for _, t in queries], params)
    relevant: list[bool] = []
    for (qid, _), ranking in zip(queries, rankings, strict=True):
        rel = qrels.get(qid, {})
        relevant.extend(rel.get(index.corpus.keys[int(i)], 0) > 0 for i in ranking.ids[:10])
    return _sample(rankings, relevant)


def needs_sample(
    index: EvalIndex, patents: Queries, needs: Queries, qrels_path: Path, params: RankingParams
) -> CalibrationSample:
    """Patent → needs simulated on the dev set (see the module docstring)."""
    texts = [t for _, t in needs]
    table = IpcTable()
    table.upsert(list(range(len(needs))), [r.inferred for r in rank_queries(index, texts, params)])
    need_vectors = embed(index, texts, "d")
    need_subclass = [qid.removeprefix("IPC-") for qid, _ in needs]
    position = {key: n for n, key in enumerate(index.corpus.keys)}
    qrels = load_qrels(qrels_path)
    vectors = embed(index, [t for _, t in patents], "q")
    rankings: list[Ranking] = []
    relevant: list[bool] = []
    for (qid, _), vector in zip(patents, vectors, strict=True):
        exact = [position[d] for d, grade in qrels.get(qid, {}).items() if grade == 2]
        if not exact:
            continue  # no document with the same subclass set: the patent's IPC is unknown
        own = {subclass_of(c) for c in index.corpus.ipc[exact[0]]}
        cosines = need_vectors @ vector
        order = np.argsort(-cosines, kind="stable")
        weights = {c: 1.0 / len(own) for c in own}
        ranking = rank_need_candidates(
            (order, cosines[order]), table, weights, params, AGREEMENT_ONLY
        )
        rankings.append(ranking)
        relevant.extend(need_subclass[int(i)] in own for i in ranking.ids[:10])
    return _sample(rankings, relevant)


def _joined(samples: list[CalibrationSample]) -> CalibrationSample:
    """All samples as one (query numbers made distinct)."""
    offsets = np.cumsum([0] + [int(s.query.max()) + 1 if len(s.query) else 0 for s in samples])
    features = Features.concat([s.features for s in samples])
    relevant = np.concatenate([s.relevant for s in samples])
    query = np.concatenate([s.query + o for s, o in zip(samples, offsets, strict=False)])
    both = np.concatenate([s.both_first for s in samples])
    return CalibrationSample(features, relevant, query, both)


def _threshold_lines(cal: Calibration, sample: CalibrationSample, task: str) -> list[str]:
    """Flagged share and P@10 of flagged vs other queries for a few thresholds."""
    p = confidence(cal, sample.features)
    queries = np.unique(sample.query)
    best = np.array([p[sample.query == q].max() for q in queries])
    precision = np.array([sample.relevant[sample.query == q].sum() / 10 for q in queries])
    lines = []
    for threshold in (0.2, 0.3, 0.4, 0.5):
        flagged = best < threshold
        low = precision[flagged].mean() if flagged.any() else float("nan")
        high = precision[~flagged].mean() if (~flagged).any() else float("nan")
        lines.append(
            f"  {task:<12} best < {threshold:.1f}: flags {flagged.mean():.0%} of queries, "
            f"P@10 flagged {low:.2f} vs rest {high:.2f}"
        )
    return lines


def _check_lines(named: list[tuple[str, Calibration]], sample: CalibrationSample) -> list[str]:
    """Brier of each calibration and reliability bins of the first two on a held-out sample."""
    scores = ", ".join(f"{n} {brier(c, sample.features, sample.relevant):.4f}" for n, c in named)
    lines = [f"Brier {scores}"]
    for name, cal in named[:2]:
        bins = reliability(cal, sample.features, sample.relevant)
        cells = "  ".join(f"[{lo:.1f}) {pred:.2f}/{obs:.2f} n={n}" for lo, pred, obs, n in bins)
        lines.append(f"  {name:<6} predicted/observed: {cells}")
    return lines


def fit_report(samples: list[CalibrationSample], needs: CalibrationSample, model: str) -> list[str]:
    """Fit on the even-numbered queries, check on the odd ones; printable lines."""
    fit = _joined([s.subset(s.query % 2 == 0) for s in samples])
    fitted = fit_calibration(fit.features, fit.relevant)
    free = fit_calibration(fit.features, fit.relevant, columns=MODEL_FREE)
    fit_needs = needs.subset(needs.query % 2 == 0)
    needs_fitted = fit_calibration(fit_needs.features, fit_needs.relevant, columns=NEEDS_FEATURES)
    needs_free = fit_calibration(fit_needs.features, fit_needs.relevant, columns=NEEDS_FREE)
    lines = [f"model {model}; fit on {len(fit.relevant)} hits, held-out = odd queries"]
    lines += [f"patents:    {fitted!r}", f"model-free: {free!r}", f"needs:      {needs_fitted!r}"]
    lines.append(f"needs, model-free: {needs_free!r}")
    both = fit.both_first & (fit.features.agreement < 0.3)
    share = fit.relevant[both].mean() if both.any() else float("nan")
    lines.append(f"both retrievers' first, agreement < 0.3: {share:.2f} relevant (n={both.sum()})")
    for task, sample in zip(("title", "field"), samples, strict=False):
        held = sample.subset(sample.query % 2 == 1)
        named = [("before", AGREEMENT_ONLY), ("after", fitted), ("free", free)]
        checks = _check_lines(named, held)
        lines += [
            f"held-out {task}: {checks[0]}",
            *checks[1:],
            *_threshold_lines(AGREEMENT_ONLY, held, f"{task} before"),
            *_threshold_lines(fitted, held, f"{task} after"),
        ]
    held = needs.subset(needs.query % 2 == 1)
    named = [("before", AGREEMENT_ONLY), ("after", needs_fitted), ("free", needs_free)]
    checks = _check_lines(named, held)
    lines += [f"held-out needs: {checks[0]}", *checks[1:]]
    return lines


def calibrate(index: EvalIndex, dev_dir: Path, params: RankingParams) -> list[str]:
    """Fit and check every calibration on the dev folder; lines to print."""
    title = load_queries(dev_dir / "title_queries.jsonl")
    field = load_queries(dev_dir / "field_queries.jsonl")
    samples = [
        patent_sample(index, title, dev_dir / "title_qrels.tsv", params),
        patent_sample(index, field, dev_dir / "field_qrels.tsv", params),
    ]
    needs = needs_sample(index, title, field, dev_dir / "title_qrels.tsv", params)
    assert index.encoder is not None
    return fit_report(samples, needs, index.encoder.name)
