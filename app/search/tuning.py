"""``patentmatch eval tune``: choose the ranking parameters by cross-validation on the dev sets.

Two groups, each on the queries it governs: the need-posting weights (BM25, title, best
statement, IPC, scheme share, BM25 query form) and the request's cost settings (pool, statements
searched) on the need-style set, the title-like weights (BM25, IPC, scheme share) on the title
and field tasks together (one objective, every query weighing the same). Each candidate setting
is scored per query once; k-fold cross-validation over queries then picks on k−1 folds and
scores the held-out fold, which gives the CV figure; the setting written is the best on all
queries. Cost is a constraint, not an objective: only (pool, statements) pairs whose dense
candidates per request, pool × (2 + statements), stay within ``budget`` are tried. One pool
serves every query, so it is chosen over both groups: each pool gets both groups tuned on it,
and the pool whose two cross-validated figures sum highest wins (a pool chosen on the needs
alone once cost the field task 0.05 nDCG@10).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.search.calibration import Calibration
from app.search.evaldata import load_qrels, load_queries
from app.search.evaluate import EvalIndex, QueryParts, query_parts, signals_of
from app.search.fusion import rank_hybrid
from app.search.needeval import NeedSet, load_need_set, query_scores
from app.search.ranking import RankingParams

NEED_GRID: dict[str, Sequence[float]] = {
    "need_lexical_weight": (0.2, 0.3),
    "title_weight": (0.3, 0.45, 0.6),
    "statement_weight": (0.3, 0.45),
    "need_ipc_weight": (0.1, 0.2, 0.3),
    "need_scheme_share": (0.0, 0.3),
}
# Settings that change the signals themselves: BM25 query form (the title once more won in
# every earlier run, so 0 is no longer searched), candidates per list, problem statements
# searched (each one more dense search). On the dev needs (ONNX e5) pools of 200–800 and 1–8
# statements were within 0.01 nDCG@10 of each other, so the cheap ones are searched.
TITLE_REPEATS = (1,)
POOLS = (200, 300, 400)
STATEMENTS = (1, 2, 3)
TITLE_GRID: dict[str, Sequence[float]] = {
    "lexical_weight": (0.2, 0.5, 1.0),
    "ipc_weight": (0.75, 0.9),
    "scheme_share": (0.0, 0.3, 0.5),
}
TITLE_TASKS = ("title", "field")
NEUTRAL = Calibration(bias=0.0)


@dataclass(frozen=True)
class Choice:
    """A tuned group: the chosen values, its all-query score and its cross-validated score."""

    values: dict[str, float]
    dev: float
    cv: float
    # Per task, the chosen setting's mean on all its queries (the title-like group).
    tasks: dict[str, float] = field(default_factory=dict)


def settings_of(grid: dict[str, Sequence[float]]) -> Iterator[dict[str, float]]:
    """Every combination of the grid's values (a scheme share only where IPC weighs: without
    IPC weight the share cannot change the ranking)."""
    names = list(grid)
    for combo in itertools.product(*(grid[n] for n in names)):
        values = dict(zip(names, combo, strict=True))
        idle = values.get("need_ipc_weight") == 0 and values.get("need_scheme_share", 0) > 0
        if not idle:
            yield values


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


def cost_settings(budget: int) -> list[tuple[int, int]]:
    """(pool, statements) pairs whose dense candidates per request stay within ``budget``."""
    pairs = [(p, s) for p in POOLS for s in STATEMENTS if p * (2 + s) <= budget]
    if not pairs:
        raise ValueError(f"no pool fits a budget of {budget} candidates")
    return pairs


def _ndcg_rows(
    index: EvalIndex,
    parts: list[QueryParts],
    settings: list[RankingParams],
    judge: Sequence[tuple[dict[str, int], str]],
) -> np.ndarray:
    """(settings, queries) nDCG@10 of each setting on each query."""
    keys = index.corpus.keys
    out = np.zeros((len(settings), len(parts)))
    cache: dict[tuple[int, int, int], list[Any]] = {}
    for s, params in enumerate(settings):
        form = (params.pool, params.title_repeat, params.max_statements)
        if form not in cache:
            cache = {form: [signals_of(p, params) for p in parts]}
        for q, (signal, part, (grades, seed)) in enumerate(
            zip(cache[form], parts, judge, strict=True)
        ):
            ranking = rank_hybrid(signal, index.table, params, NEUTRAL, part.scheme)
            top = [keys[int(i)] for i in ranking.ids[:10]]
            out[s, q] = query_scores(grades, seed, top)["ndcg@10"]
    return out


def tune_needs(
    index: EvalIndex, needs: NeedSet, base: RankingParams, k: int, budget: int,
    only_pool: int | None = None,
) -> Choice:  # fmt: skip
    """The need-posting group, cross-validated over the in-domain needs (on ``only_pool``
    alone when given)."""
    texts = dict(needs.queries)
    qids = needs.in_domain
    judge = [(needs.grades.get(q, {}), needs.seeds[q]) for q in qids]
    forms = [(p, s) for p, s in cost_settings(budget) if only_pool in (None, p)]
    parts, _ = query_parts(index, [texts[q] for q in qids], max(p for p, _ in forms), TITLE_REPEATS)
    labels = [
        {**g, "title_repeat": repeat, "pool": pool, "max_statements": most}
        for repeat, (pool, most) in itertools.product(TITLE_REPEATS, forms)
        for g in settings_of(NEED_GRID)
    ]
    settings = [replace(base, **label) for label in labels]  # type: ignore[arg-type]
    best, dev, cv = cross_validate(_ndcg_rows(index, parts, settings, judge), k)
    return Choice(labels[best], dev, cv)


def tune_titles(index: EvalIndex, dev_dir: Path, base: RankingParams, k: int) -> Choice:
    """The title-like group, cross-validated over the title and field tasks' queries."""
    texts: list[str] = []
    judge: list[tuple[dict[str, int], str]] = []
    task_of: list[str] = []
    for task in TITLE_TASKS:
        qrels = load_qrels(dev_dir / f"{task}_qrels.tsv")
        for qid, text in load_queries(dev_dir / f"{task}_queries.jsonl"):
            texts.append(text)
            judge.append((qrels.get(qid, {}), ""))
            task_of.append(task)
    parts, _ = query_parts(index, texts, base.pool, (base.title_repeat,))
    grid = list(settings_of(TITLE_GRID))
    settings = [replace(base, **g) for g in grid]  # type: ignore[arg-type]
    table = _ndcg_rows(index, parts, settings, judge)
    best, dev, cv = cross_validate(table, k)
    tasks = np.array(task_of)
    by_task = {t: float(table[best, tasks == t].mean()) for t in TITLE_TASKS if (tasks == t).any()}
    return Choice(grid[best], dev, cv, by_task)


def tune(
    index: EvalIndex, dev_dir: Path, folds: int, budget: int
) -> tuple[RankingParams, dict[str, Any]]:
    """Tune both groups; the parameters and a report (for the artefact and the terminal)."""
    base = RankingParams()
    need_set = load_need_set(dev_dir / "needs")
    best: tuple[float, Choice, Choice, RankingParams] | None = None
    for pool in sorted({p for p, _ in cost_settings(budget)}):
        needs = tune_needs(index, need_set, base, folds, budget, pool)
        for name in ("title_repeat", "pool", "max_statements"):
            needs.values[name] = int(needs.values[name])
        pooled = replace(base, **needs.values)  # type: ignore[arg-type]
        titles = tune_titles(index, dev_dir, pooled, folds)
        # Ties go to the smaller pool (the cheaper request).
        if best is None or needs.cv + titles.cv > best[0]:
            params = replace(pooled, **titles.values)  # type: ignore[arg-type]
            best = (needs.cv + titles.cv, needs, titles, params)
    assert best is not None  # cost_settings returns at least one pool
    _, needs, titles, params = best
    report = {
        "command": f"patentmatch eval tune --folds {folds} --budget {budget} --write",
        "model": index.encoder.name if index.encoder else "",
        "needs": _figures(needs, folds),
        "title and field": _figures(titles, folds),
    }
    return params, report


def _figures(choice: Choice, folds: int) -> dict[str, float]:
    """The figures of a tuned group for the report."""
    out = {"ndcg@10 dev": round(choice.dev, 4), f"ndcg@10 {folds}-fold cv": round(choice.cv, 4)}
    return out | {f"ndcg@10 dev, {task}": round(v, 4) for task, v in choice.tasks.items()}
