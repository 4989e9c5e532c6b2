"""``patentmatch eval tune``: choose the ranking parameters by cross-validation on the dev sets.

Two groups, each on its own task, because they govern different queries: the need-posting
weights (BM25, title, best statement, IPC, BM25 query form) on the need-style set, the
title-like weights (BM25, IPC) on the title task. Each candidate setting is scored per query
once; k-fold cross-validation over queries then picks on k−1 folds and scores the held-out
fold, which gives the CV figure; the setting written is the best on all queries.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.search.calibration import Calibration
from app.search.evaldata import load_qrels, load_queries
from app.search.evaluate import EvalIndex, query_signals
from app.search.fusion import Signals, rank_hybrid
from app.search.needeval import NeedSet, load_need_set, query_scores
from app.search.ranking import RankingParams

NEED_GRID: dict[str, Sequence[float]] = {
    "need_lexical_weight": (0.1, 0.2, 0.3),
    "title_weight": (0.0, 0.3, 0.45, 0.6, 0.8),
    "statement_weight": (0.0, 0.15, 0.3, 0.45),
    "need_ipc_weight": (0.0, 0.05, 0.1, 0.2),
}
# Settings that change the signals themselves (BM25 query form, candidates per list); a pool
# of 400 lost to 800 in the first tuning run, so the pool is no longer searched.
TITLE_REPEATS = (0, 1)
POOLS = (800,)
TITLE_GRID: dict[str, Sequence[float]] = {
    "lexical_weight": (0.2, 0.5, 1.0),
    "ipc_weight": (0.6, 0.75, 0.9),
}
NEUTRAL = Calibration(bias=0.0)


@dataclass(frozen=True)
class Choice:
    """A tuned group: the chosen values, its all-query score and its cross-validated score."""

    values: dict[str, float]
    dev: float
    cv: float


def settings_of(grid: dict[str, Sequence[float]]) -> Iterator[dict[str, float]]:
    """Every combination of the grid's values."""
    names = list(grid)
    for combo in itertools.product(*(grid[n] for n in names)):
        yield dict(zip(names, combo, strict=True))


def folds_of(n: int, k: int, seed: int = 0) -> list[np.ndarray]:
    """``k`` disjoint index sets covering ``range(n)`` (a fixed shuffle)."""
    order = np.random.default_rng(seed).permutation(n)
    return [order[f::k] for f in range(k)]


def cross_validate(table: np.ndarray, k: int) -> tuple[int, float, float]:
    """(best setting on all queries, its mean, mean held-out score choosing on the other folds).

    ``table``: (settings, queries) per-query scores. Ties go to the earlier setting.
    """
    held: list[float] = []
    for fold in folds_of(table.shape[1], k):
        train = np.setdiff1d(np.arange(table.shape[1]), fold)
        best = int(np.argmax(table[:, train].mean(axis=1)))
        held.extend(table[best, fold].tolist())
    best_all = int(np.argmax(table.mean(axis=1)))
    return best_all, float(table[best_all].mean()), float(np.mean(held))


def _ndcg_rows(
    index: EvalIndex,
    signals: list[Signals],
    settings: list[RankingParams],
    judge: Sequence[tuple[dict[str, int], str]],
) -> np.ndarray:
    """(settings, queries) nDCG@10 of each setting on each query."""
    keys = index.corpus.keys
    out = np.zeros((len(settings), len(signals)))
    for s, params in enumerate(settings):
        for q, (signal, (grades, seed)) in enumerate(zip(signals, judge, strict=True)):
            ranking = rank_hybrid(signal, index.table, params, NEUTRAL)
            top = [keys[int(i)] for i in ranking.ids[:10]]
            out[s, q] = query_scores(grades, seed, top)["ndcg@10"]
    return out


def tune_needs(index: EvalIndex, needs: NeedSet, base: RankingParams, k: int) -> Choice:
    """The need-posting group, cross-validated over the in-domain needs."""
    texts = dict(needs.queries)
    qids = needs.in_domain
    judge = [(needs.grades.get(q, {}), needs.seeds[q]) for q in qids]
    rows: list[np.ndarray] = []
    labels: list[dict[str, float]] = []
    for repeat, pool in itertools.product(TITLE_REPEATS, POOLS):
        params = replace(base, title_repeat=repeat, pool=pool)
        signals, _ = query_signals(index, [texts[q] for q in qids], params)
        grid = list(settings_of(NEED_GRID))
        settings = [replace(params, **g) for g in grid]  # type: ignore[arg-type]
        rows.append(_ndcg_rows(index, signals, settings, judge))
        labels += [{**g, "title_repeat": repeat, "pool": pool} for g in grid]
    best, dev, cv = cross_validate(np.vstack(rows), k)
    return Choice(labels[best], dev, cv)


def tune_titles(index: EvalIndex, dev_dir: Path, base: RankingParams, k: int) -> Choice:
    """The title-like group, cross-validated over the title task's queries."""
    queries = load_queries(dev_dir / "title_queries.jsonl")
    qrels = load_qrels(dev_dir / "title_qrels.tsv")
    signals, _ = query_signals(index, [t for _, t in queries], base)
    judge = [(qrels.get(q, {}), "") for q, _ in queries]
    grid = list(settings_of(TITLE_GRID))
    settings = [replace(base, **g) for g in grid]  # type: ignore[arg-type]
    table = _ndcg_rows(index, signals, settings, judge)
    best, dev, cv = cross_validate(table, k)
    return Choice(grid[best], dev, cv)


def tune(index: EvalIndex, dev_dir: Path, folds: int) -> tuple[RankingParams, dict[str, Any]]:
    """Tune both groups; the parameters and a report (for the artefact and the terminal)."""
    # The CNIPA scheme prior is left out of the tuned ranking: embedding its titles takes about
    # an hour on a shared CPU, and with IPC a weak signal for needs its share was not measured.
    base = RankingParams(scheme_share=0.0)
    needs = tune_needs(index, load_need_set(dev_dir / "needs"), base, folds)
    # The title-like group runs on the pool the needs chose (one pool serves every query).
    pooled = replace(base, pool=int(needs.values["pool"]))
    titles = tune_titles(index, dev_dir, pooled, folds)
    values: dict[str, Any] = {**needs.values, **titles.values}
    values["title_repeat"] = int(values["title_repeat"])
    values["pool"] = int(values["pool"])
    params = replace(base, **values)
    report = {
        "command": f"patentmatch eval tune --folds {folds} --write",
        "model": index.encoder.name if index.encoder else "",
        "needs": _figures(needs, folds),
        "title": _figures(titles, folds),
    }
    return params, report


def _figures(choice: Choice, folds: int) -> dict[str, float]:
    """The figures of a tuned group for the report."""
    return {"ndcg@10 dev": round(choice.dev, 4), f"ndcg@10 {folds}-fold cv": round(choice.cv, 4)}
