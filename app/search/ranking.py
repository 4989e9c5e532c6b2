"""Hybrid ranking: fuse dense and lexical candidates, infer the query's IPC subclasses, re-rank.

All steps are numpy over a few hundred candidates (no per-candidate Python loops), so ranking
adds well under a millisecond to a search.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.search.calibration import Calibration, Features, confidence, monotone
from app.search.ipc_inference import IpcTable


@dataclass(frozen=True)
class RankingParams:
    """Ranking knobs; defaults chosen on the dev set (``patentmatch eval report``), few tuned."""

    # Candidates taken from each retriever before fusion, and the most problem statements of a
    # need posting that get a dense search of their own (both set the request's cost).
    pool: int = 200
    max_statements: int = 8
    # Reciprocal-rank-fusion constant (the needs' dense ranking) and per-signal weights of the
    # z-score fusion (``fusion.fuse_signals``): whole-query dense, BM25 (title-like queries and
    # need postings apart), the need's title and its best problem statement.
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    need_lexical_weight: float = 1.0
    title_weight: float = 0.0
    statement_weight: float = 0.0
    # Times the title is repeated in a need's BM25 query (its terms weigh more).
    title_repeat: int = 1
    # How many fused candidates vote for the query's subclasses.
    vote_depth: int = 30
    # Share of the subclass belief that comes from the IPC scheme titles (0 = neighbours only),
    # for title-like queries and for need postings.
    scheme_share: float = 0.3
    need_scheme_share: float = 0.0
    # Weight of IPC agreement (expected graded gain) against the [0, 1] fused text score, for
    # title-like queries and for need postings: IPC is evidence, the text is what a need asks.
    ipc_weight: float = 0.9
    need_ipc_weight: float = 0.0
    # Extra gain of an exact subclass-set match over sharing one subclass: (2²−1) − (2¹−1).
    exact_set_bonus: float = 2.0
    # Subclasses reported as "inferred" need at least this belief.
    inferred_min: float = 0.15
    # A candidate that both retrievers rank first stays first when the scheme titles side with
    # it against the neighbours' votes (``consensus_guard``).
    consensus_first: bool = True


@dataclass
class Candidates:
    """Fused candidates: ids with their fused score and 1-based ranks (0 = not retrieved)."""

    ids: np.ndarray
    fused: np.ndarray
    dense_rank: np.ndarray
    lexical_rank: np.ndarray
    # Absolute dense cosine (best chunk); candidates the dense retriever missed get its lowest.
    cosine: np.ndarray | None = None
    # The best problem statement's cosine (need postings; None otherwise).
    statement: np.ndarray | None = None
    # The query's best BM25 score over the whole collection (how much of its wording the
    # catalog has at all: with the best cosine, what tells a need nothing answers).
    lexical_top: float = 0.0


@dataclass
class Ranking:
    """Re-ranked hits, best first, with what explains them."""

    ids: np.ndarray
    scores: np.ndarray
    confidence: np.ndarray
    text: np.ndarray
    agreement: np.ndarray
    dense_rank: np.ndarray
    lexical_rank: np.ndarray
    cosine: np.ndarray
    primary: np.ndarray
    statement: np.ndarray | None = None
    inferred: list[str] = field(default_factory=list)
    # The calibration features of each hit, in ranking order.
    features: Features | None = None
    belief: dict[str, float] = field(default_factory=dict)

    @property
    def top_cosine(self) -> float:
        """The query's best cosine (what the no-good-match gate reads besides the best hit's
        confidence); 0 without features."""
        if self.features is None or not len(self.features):
            return 0.0
        return float(self.features.columns["top_cosine"][0])


def dedupe_best(ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep each id once with its best score, best first (chunks → their document)."""
    ids = np.asarray(ids, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float32)
    keep = ids >= 0  # FAISS pads missing results with -1
    ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))
    ids, scores = ids[order], scores[order]
    _, first = np.unique(ids, return_index=True)
    first.sort()
    return ids[first], scores[first]


def fuse(
    dense_ids: np.ndarray,
    lexical_ids: np.ndarray,
    params: RankingParams,
    dense_scores: np.ndarray | None = None,
) -> Candidates:
    """Reciprocal rank fusion of two best-first id lists (each id at most once per list)."""
    dense_ids = np.asarray(dense_ids, dtype=np.int64)[: params.pool]
    lexical_ids = np.asarray(lexical_ids, dtype=np.int64)[: params.pool]
    ids, inverse = np.unique(np.concatenate([dense_ids, lexical_ids]), return_inverse=True)
    dense_rank = np.zeros(len(ids), dtype=np.int32)
    lexical_rank = np.zeros(len(ids), dtype=np.int32)
    dense_rank[inverse[: len(dense_ids)]] = np.arange(1, len(dense_ids) + 1)
    lexical_rank[inverse[len(dense_ids) :]] = np.arange(1, len(lexical_ids) + 1)
    fused = np.zeros(len(ids), dtype=np.float32)
    has_dense, has_lexical = dense_rank > 0, lexical_rank > 0
    fused[has_dense] += params.dense_weight / (params.rrf_k + dense_rank[has_dense])
    fused[has_lexical] += params.lexical_weight / (params.rrf_k + lexical_rank[has_lexical])
    order = np.lexsort((ids, -fused))
    cosine = None
    if dense_scores is not None:
        scores = np.asarray(dense_scores, dtype=np.float32)[: len(dense_ids)]
        floor = scores.min() if len(scores) else np.float32(0)
        cosine = np.full(len(ids), floor, dtype=np.float32)
        cosine[inverse[: len(dense_ids)]] = scores
        cosine = cosine[order]
    return Candidates(ids[order], fused[order], dense_rank[order], lexical_rank[order], cosine)


def _gather(values: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``values[col]`` for each slot of a -1 padded column array (padding reads 0)."""
    padded = np.append(values, np.float32(0))
    return padded[np.where(cols >= 0, cols, len(values))]


def _aligned(scheme: np.ndarray | None, size: int) -> np.ndarray | None:
    """The scheme prior cut or zero-padded to ``size`` columns (None when it says nothing)."""
    if scheme is None or not scheme.sum() > 0:
        return None
    prior = np.zeros(size, dtype=np.float32)
    prior[: min(size, len(scheme))] = scheme[:size]
    return prior


def subclass_belief(
    candidates: Candidates,
    table: IpcTable,
    params: RankingParams,
    scheme: np.ndarray | None = None,
    cols: np.ndarray | None = None,
) -> np.ndarray:
    """P(subclass | query) over ``table.codes``: neighbour votes mixed with the scheme prior.

    The top ``vote_depth`` fused candidates vote with their fused score, split evenly over their
    subclasses (a patent in five subclasses is weaker evidence for each of them).
    """
    depth = min(params.vote_depth, len(candidates.ids))
    top = table.columns(candidates.ids[:depth]) if cols is None else cols[:depth]
    present = top >= 0
    sizes = np.maximum(present.sum(axis=1), 1)
    weights = np.broadcast_to((candidates.fused[:depth] / sizes)[:, None], top.shape)
    votes = np.bincount(top[present], weights=weights[present], minlength=len(table.codes))
    belief = (votes / votes.sum() if votes.sum() > 0 else votes).astype(np.float32)
    prior = _aligned(scheme, len(table.codes))
    if prior is not None and params.scheme_share > 0:
        share = params.scheme_share if belief.sum() > 0 else 1.0
        belief = (1 - share) * belief + share * prior
    return belief.astype(np.float32)


def same_set_belief(
    candidates: Candidates,
    table: IpcTable,
    params: RankingParams,
    cols: np.ndarray,
    cand_keys: np.ndarray,
    scheme: np.ndarray | None = None,
) -> np.ndarray:
    """P(the query's subclass set equals the candidate's), from votes of whole neighbour sets.

    The scheme prior speaks for single subclasses only, so it backs single-subclass candidates.
    """
    depth = min(params.vote_depth, len(candidates.ids))
    top_keys, weights = cand_keys[:depth], candidates.fused[:depth].astype(np.float64)
    valid = top_keys != -1
    out = np.zeros(len(candidates.ids), dtype=np.float64)
    if valid.any() and weights[valid].sum() > 0:
        keys, inverse = np.unique(top_keys[valid], return_inverse=True)
        shares = np.bincount(inverse, weights=weights[valid]) / weights[valid].sum()
        pos = np.minimum(np.searchsorted(keys, cand_keys), len(keys) - 1)
        out = np.where((keys[pos] == cand_keys) & (cand_keys != -1), shares[pos], 0.0)
    prior = _aligned(scheme, len(table.codes))
    if prior is not None and params.scheme_share > 0:
        single = (cols >= 0).sum(axis=1) == 1
        singles = np.where(single, _gather(prior, cols[:, :1])[:, 0], 0.0)
        share = params.scheme_share if out.any() else 1.0
        out = (1 - share) * out + share * singles
    return out.astype(np.float32)


def consensus_guard(
    candidates: Candidates,
    table: IpcTable,
    params: RankingParams,
    scheme: np.ndarray | None,
    cols: np.ndarray,
) -> np.ndarray:
    """Which candidate (at most one) keeps first place against the neighbours' IPC votes.

    The candidate both retrievers rank first, when the neighbours' most voted subclass is not
    one of its own and the scheme titles do not back the vote (their first choice is the
    candidate's, or they place the query in none of the catalog's subclasses): on a catalog
    skewed to one field the votes follow the catalog, not the query. Dev: guarding every
    top-1-in-both candidate cost 0.004–0.009 nDCG@10; this rule changes nothing measurable.
    """
    guard = np.zeros(len(candidates.ids), dtype=bool)
    if not params.consensus_first or not len(candidates.ids):
        return guard
    both = np.flatnonzero((candidates.dense_rank == 1) & (candidates.lexical_rank == 1))
    votes = subclass_belief(candidates, table, params, None, cols)
    if not len(both) or votes.sum() <= 0:
        return guard
    mine = cols[both]
    lacks_voted = ~(mine == int(np.argmax(votes))).any(axis=1)
    prior = _aligned(scheme, len(table.codes))
    # The scheme's first choice is the candidate's, or the scheme places the query in none of
    # the catalog's subclasses (then the votes only echo the catalog's mix).
    backed = True if prior is None else (mine == int(np.argmax(prior))).any(axis=1)
    guard[both] = lacks_voted & backed
    return guard


def features_of(candidates: Candidates, order: np.ndarray, agreement: np.ndarray,
                primary: np.ndarray) -> Features:  # fmt: skip
    """Calibration features of the ranked candidates (``order``), as ``calibration`` names them."""
    n = len(order)
    cosine = candidates.cosine if candidates.cosine is not None else np.zeros(len(agreement))
    statement = candidates.statement if candidates.statement is not None else cosine
    top = float(cosine.max()) if len(cosine) else 0.0
    return Features(
        {
            "cosine": cosine[order],
            "top_cosine": np.full(n, top),
            "top_lexical": np.full(n, np.log1p(max(candidates.lexical_top, 0.0))),
            "statement": statement[order],
            "log_rank": np.log1p(np.arange(n, dtype=np.float64)),
            "lexical": (candidates.lexical_rank[order] > 0).astype(np.float64),
            "agreement": agreement[order],
            "primary": primary[order],
        }
    )


def rerank(
    candidates: Candidates,
    table: IpcTable,
    params: RankingParams,
    calibration: Calibration,
    scheme: np.ndarray | None = None,
) -> Ranking:
    """Weigh the text score against IPC agreement with the query's likely subclasses; attach
    confidences (calibrated, monotone in rank)."""
    cols, keys = table.lookup(candidates.ids)
    belief = subclass_belief(candidates, table, params, scheme, cols)
    any_shared = np.minimum(_gather(belief, cols).sum(axis=1), 1.0)
    same_set = same_set_belief(candidates, table, params, cols, keys, scheme)
    # Expected graded gain of the candidate, scaled to [0, 1].
    bonus = params.exact_set_bonus
    agreement = ((any_shared + bonus * same_set) / (1 + bonus)).astype(np.float32)
    text = candidates.fused / candidates.fused.max() if len(candidates.ids) else candidates.fused
    scores = (1 - params.ipc_weight) * text + params.ipc_weight * agreement
    guard = consensus_guard(candidates, table, params, scheme, cols)
    if guard.any():
        # Strictly above the rest, so that sorting by score alone (the engine does) keeps it.
        top = np.float32(scores.max())
        scores = np.where(guard, np.nextafter(top, np.float32(np.inf)), scores)
    order = np.lexsort((candidates.ids, -scores))
    ranked_codes = np.argsort(-belief)[:5]
    inferred = [table.codes[c] for c in ranked_codes if belief[c] >= params.inferred_min]
    cosine = candidates.cosine if candidates.cosine is not None else np.zeros(len(scores))
    primary = _gather(belief, cols[:, :1])[:, 0]
    features = features_of(candidates, order, agreement, primary)
    statement = None if candidates.statement is None else candidates.statement[order]
    return Ranking(
        ids=candidates.ids[order],
        scores=scores[order].astype(np.float32),
        confidence=monotone(confidence(calibration, features)),
        text=text[order],
        agreement=agreement[order],
        dense_rank=candidates.dense_rank[order],
        lexical_rank=candidates.lexical_rank[order],
        cosine=cosine[order].astype(np.float32),
        primary=primary[order].astype(np.float32),
        statement=statement,
        features=features,
        inferred=inferred,
        belief={table.codes[c]: float(belief[c]) for c in ranked_codes if belief[c] > 0},
    )


def shared_subclasses(table: IpcTable, doc_id: int, query_subclasses: list[str]) -> list[str]:
    """The document's subclasses that the query has (given or inferred), in query order."""
    mine = set(table.subclasses(doc_id))
    return [c for c in query_subclasses if c in mine]
