"""The need-style evaluation set: needs, topical judgements, and scoring as score_needs.py does.

Files (``shared/eval/dev/needs``): ``needs.jsonl`` (``nid``, ``title``, ``description``,
``seed_id``; needs without a seed are out of domain), ``need_queries.jsonl`` (``qid``, ``text``)
and ``judgements.tsv`` (``qid doc_id grade``, 0–3). Scores reproduce
``shared/tools/score_needs.py``: nDCG@10 over grades (gain 2^g − 1), P@10 and MRR@10 at grade
≥ 2, seed recall@10 and the count of unjudged documents in the top 10 (they count as 0). Only
needs with a seed are scored; per-query values let the tuner average over folds.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.errors import BadRequest
from app.search.evaldata import _read_jsonl, load_queries

USEFUL = 2


@dataclass(frozen=True)
class NeedSet:
    """Queries, seeds and judgements of a need-style set."""

    queries: list[tuple[str, str]]
    seeds: dict[str, str]
    grades: dict[str, dict[str, int]]

    @property
    def in_domain(self) -> list[str]:
        """Query ids of the needs written from a corpus patent (the scored ones)."""
        return [q for q, _ in self.queries if self.seeds.get(q)]

    @property
    def out_of_domain(self) -> list[str]:
        """Query ids of the needs nothing in the corpus answers."""
        return [q for q, _ in self.queries if not self.seeds.get(q)]


def load_need_set(folder: Path) -> NeedSet:
    """Read ``needs.jsonl``, ``need_queries.jsonl`` and ``judgements.tsv`` from ``folder``."""
    seeds: dict[str, str] = {}
    for _, row in _read_jsonl(folder / "needs.jsonl"):
        nid, seed = row.get("nid"), row.get("seed_id")
        if isinstance(nid, str):
            seeds[nid] = seed if isinstance(seed, str) else ""
    path = folder / "judgements.tsv"
    if not path.is_file():
        raise BadRequest(f"{path}: no such file")
    grades: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        for number, row in enumerate(csv.DictReader(f, delimiter="\t"), start=2):
            try:
                qid, doc, grade = str(row["qid"]), str(row["doc_id"]), int(str(row["grade"]))
                grades.setdefault(qid, {})[doc] = grade
            except (KeyError, TypeError, ValueError) as exc:
                raise BadRequest(f"{path}:{number}: expected columns qid, doc_id, grade") from exc
    return NeedSet(load_queries(folder / "need_queries.jsonl"), seeds, grades)


def query_scores(
    grades: Mapping[str, int], seed: str, ranked: Sequence[str], k: int = 10
) -> dict[str, float]:
    """nDCG@k, P@k and RR@k at grade ≥ 2, seed hit and unjudged count of one ranked list."""
    top = list(ranked[:k])
    dcg = sum((2 ** grades.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(top))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    useful = [grades.get(d, 0) >= USEFUL for d in top]
    return {
        "ndcg@10": dcg / idcg if idcg else 0.0,
        "p@10": sum(useful) / k,
        "mrr@10": next((1 / (i + 1) for i, u in enumerate(useful) if u), 0.0),
        "seed_recall@10": float(seed in top),
        "unjudged": float(sum(1 for d in top if d not in grades)),
    }


def score_needs(
    needs: NeedSet, run: Mapping[str, Sequence[str]], qids: Sequence[str] | None = None
) -> dict[str, float]:
    """Mean scores over the in-domain needs (or ``qids``); unjudged is a total."""
    chosen = list(qids) if qids is not None else needs.in_domain
    totals = dict.fromkeys(("ndcg@10", "p@10", "mrr@10", "seed_recall@10", "unjudged"), 0.0)
    for qid in chosen:
        scores = query_scores(needs.grades.get(qid, {}), needs.seeds[qid], run.get(qid, []))
        for name, value in scores.items():
            totals[name] += value
    n = max(len(chosen), 1)
    out = {name: round(v / n, 4) for name, v in totals.items() if name != "unjudged"}
    return {"needs": float(len(chosen)), **out, "unjudged": totals["unjudged"]}
