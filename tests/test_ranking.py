"""Hybrid ranking: fusion, IPC tables, subclass inference, re-ranking and confidence."""

import numpy as np
import pytest

from app.search.calibration import (
    Calibration,
    CalibrationSet,
    Features,
    brier,
    confidence,
    fit_calibration,
    monotone,
)
from app.search.fusion import Hits, Signals
from app.search.fusion import rank_hybrid as rank_signals
from app.search.ipc_inference import IpcTable, SchemePrior, clean_scheme_title
from app.search.ranking import (
    RankingParams,
    dedupe_best,
    fuse,
    rerank,
    shared_subclasses,
    subclass_belief,
)

DEFAULT_CALIBRATION = Calibration(bias=0.0)


def rank_hybrid(dense, lexical, table, params, calibration, scheme=None, dense_scores=None):
    """The engine's ranking of a title-like query from plain id lists (scores fall by rank)."""
    dense = np.asarray(dense, dtype=np.int64)
    lexical = np.asarray(lexical, dtype=np.int64)
    cosines = dense_scores if dense_scores is not None else 1.0 - 0.01 * np.arange(len(dense))
    signals = Signals(
        dense=Hits(dense, np.asarray(cosines, dtype=np.float32)),
        lexical=Hits(lexical, np.arange(len(lexical), 0, -1, dtype=np.float32)),
    )
    return rank_signals(signals, table, params, calibration, scheme)


def test_fuse_records_ranks_and_prefers_agreement():
    params = RankingParams(rrf_k=60)
    cands = fuse(np.array([7, 3, 9]), np.array([3, 5]), params)
    by_id = {int(i): n for n, i in enumerate(cands.ids)}
    assert int(cands.ids[0]) == 3  # found by both retrievers
    assert cands.dense_rank[by_id[3]] == 2
    assert cands.lexical_rank[by_id[3]] == 1
    assert cands.lexical_rank[by_id[7]] == 0  # not retrieved lexically
    assert cands.dense_rank[by_id[5]] == 0
    assert cands.fused[by_id[3]] == pytest.approx(1 / 62 + 1 / 61)
    assert list(cands.fused) == sorted(cands.fused, reverse=True)


def test_fuse_respects_pool_and_weights():
    cands = fuse(np.arange(10), np.array([], dtype=np.int64), RankingParams(pool=4))
    assert sorted(cands.ids.tolist()) == [0, 1, 2, 3]
    lexical_first = fuse(
        np.array([1]), np.array([2]), RankingParams(dense_weight=0.5, lexical_weight=1.0)
    )
    assert int(lexical_first.ids[0]) == 2


def test_dedupe_best_keeps_best_chunk_and_drops_padding():
    ids, scores = dedupe_best(np.array([4, 2, 4, -1, 2]), np.array([0.3, 0.9, 0.8, 0.0, 0.1]))
    assert ids.tolist() == [2, 4]
    assert scores.tolist() == pytest.approx([0.9, 0.8])


def test_ipc_table_membership_updates_and_unknown_ids():
    table = IpcTable()
    table.upsert([10, 20, 30], [["H01M"], ["H01M 4/36", "C01B"], []])
    member = table.membership(np.array([20, 99, 10])).toarray()
    assert member.shape == (3, 2)
    assert member[0].tolist() == [1, 1]
    assert member[1].tolist() == [0, 0]  # unknown id → empty row
    assert table.subclasses(20) == ["H01M", "C01B"]
    table.upsert([10], [["G06F"]])
    table.delete([20])
    assert table.codes == ["H01M", "C01B", "G06F"]  # columns only grow
    assert table.membership(np.array([10, 20])).toarray().tolist() == [[0, 0, 1], [0, 0, 0]]


def test_set_keys_equal_only_for_equal_subclass_sets():
    table = IpcTable()
    table.upsert([1, 2, 3, 4], [["A01B", "B02C"], ["B02C", "A01B"], ["A01B"], []])
    keys = table.set_keys(np.array([1, 2, 3, 4, 5]))
    assert keys[0] == keys[1]
    assert keys[0] != keys[2]
    assert keys[3] == -1
    assert keys[4] == -1


def test_ipc_lookup_finds_dense_and_sparse_ids_alike():
    table = IpcTable()
    dense = list(range(1, 3001))
    table.upsert(dense, [["H01M"] if i % 2 else ["A01D"] for i in dense])
    # Far past the dense range: found through the dict, not the id-indexed array.
    table.upsert([10**12, -5], [["G06F"], ["F03D"]])
    table.delete([2, 3])
    table.upsert([3], [["C01B"]])
    wanted = np.array([1, 2, 3, 4, 10**12, -5, 5000, 10**12 + 1])
    expected = [table.subclasses(int(i)) for i in wanted]
    cols = table.columns(wanted)
    assert [[table.codes[c] for c in row if c >= 0] for row in cols] == expected
    assert expected[:6] == [["H01M"], [], ["C01B"], ["A01D"], ["G06F"], ["F03D"]]
    assert expected[6:] == [[], []]


def _table_and_candidates():
    table = IpcTable()
    # Neighbours 1-3 are all H01M; candidate 9 (H01M) ranks low on text alone.
    table.upsert([1, 2, 3, 4, 9], [["H01M"], ["H01M"], ["H01M"], ["A01D"], ["H01M"]])
    cands = fuse(np.array([1, 2, 4, 3, 9]), np.array([4, 1]), RankingParams())
    return table, cands


def test_subclass_belief_follows_neighbours():
    table, cands = _table_and_candidates()
    belief = subclass_belief(cands, table, RankingParams(vote_depth=4, scheme_share=0))
    assert belief.sum() == pytest.approx(1.0)
    assert belief[table.codes.index("H01M")] > 0.6


def test_rerank_boosts_candidates_in_inferred_subclass():
    table, cands = _table_and_candidates()
    params = RankingParams(vote_depth=4, scheme_share=0, ipc_weight=0.8)
    ranking = rerank(cands, table, params, DEFAULT_CALIBRATION)
    order = ranking.ids.tolist()
    assert order.index(9) < order.index(4)  # IPC agreement beats a better text rank
    assert ranking.inferred[0] == "H01M"
    assert shared_subclasses(table, 9, ranking.inferred) == ["H01M"]
    assert np.all((ranking.confidence >= 0) & (ranking.confidence <= 1))
    assert list(ranking.scores) == sorted(ranking.scores, reverse=True)
    # With no IPC weight the order is the fused text order.
    plain = rerank(cands, table, RankingParams(ipc_weight=0.0), DEFAULT_CALIBRATION)
    assert plain.ids.tolist() == cands.ids.tolist()


def test_scheme_prior_steers_belief():
    table, cands = _table_and_candidates()
    scheme = np.zeros(len(table.codes), dtype=np.float32)
    scheme[table.codes.index("A01D")] = 1.0
    params = RankingParams(vote_depth=4, scheme_share=0.9)
    belief = subclass_belief(cands, table, params, scheme)
    assert belief[table.codes.index("A01D")] > belief[table.codes.index("H01M")]


def test_scheme_prior_probabilities_from_title_similarity():
    vectors = np.eye(3, dtype=np.float32)
    prior = SchemePrior(["A01B", "A01B", "H01M"], vectors)
    probs = prior.probabilities(
        np.array([[0.0, 0.0, 1.0]], dtype=np.float32),
        ["H01M", "A01B", "G06F"],
        top=3,
        temperature=0.1,
    )
    assert probs.shape == (1, 3)
    assert probs[0].sum() == pytest.approx(1.0)
    assert probs[0, 0] > 0.9
    assert probs[0, 2] == 0.0


def test_clean_scheme_title_drops_references():
    raw = "种植；播种；施肥（农业机械或农具的部件入 A01B51/00）"
    assert clean_scheme_title(raw) == "种植；播种；施肥"


def test_fit_recovers_direction_and_beats_the_base_rate():
    rng = np.random.default_rng(0)
    n = 4000
    agreement, cosine = rng.uniform(0, 1, n), rng.uniform(0.8, 0.95, n)
    truth = 1 / (1 + np.exp(-(-10 + 5.0 * agreement + 8.0 * cosine)))
    relevant = rng.uniform(0, 1, n) < truth
    features = Features({"agreement": agreement, "cosine": cosine})
    fitted = fit_calibration(features, relevant, columns=("agreement", "cosine"), ridge=0.0)
    weights = dict(fitted.weights)
    assert weights["agreement"] == pytest.approx(5.0, abs=1.0)
    assert weights["cosine"] == pytest.approx(8.0, abs=4.0)
    assert "lexical" not in weights  # not a fitted column
    low, high = confidence(fitted, Features({"agreement": np.array([0.5, 0.5]),
                                             "cosine": np.array([0.8, 0.95])}))  # fmt: skip
    assert 0 <= low < high <= 1
    base = Calibration(bias=float(np.log(relevant.mean() / (1 - relevant.mean()))))
    assert brier(fitted, features, relevant) < brier(base, features, relevant)
    assert Calibration.from_json(fitted.to_json()) == fitted


def test_confidences_never_rise_down_a_ranking():
    assert monotone(np.array([0.4, 0.6, 0.2, 0.3], dtype=np.float32)).tolist() == pytest.approx(
        [0.4, 0.4, 0.2, 0.2]
    )
    table = IpcTable()
    table.upsert([1, 2, 3], [["H01M"], ["A01B"], ["H01M"]])
    lexical_only = Calibration(bias=-1.0, weights=(("lexical", 3.0),))
    ranking = rank_hybrid(np.array([1, 2, 3]), np.array([3]), table, RankingParams(), lexical_only)
    assert np.all(np.diff(ranking.confidence) <= 0)


def test_calibration_is_chosen_per_model_and_direction():
    e5, free = Calibration(bias=1.0), Calibration(bias=2.0)
    e5_needs, free_needs = Calibration(bias=3.0), Calibration(bias=4.0)
    calibrations = CalibrationSet(
        {"e5": {"patents": e5, "needs": e5_needs}, "*": {"patents": free, "needs": free_needs}}
    )
    assert calibrations.for_model("e5") is e5
    assert calibrations.for_model("e5", needs=True) is e5_needs
    assert calibrations.for_model("hashing") is free
    assert calibrations.for_model("hashing", needs=True) is free_needs
    assert CalibrationSet({}).for_model("e5").bias == 0.0  # neutral without a fit


def test_top_hits_of_equal_agreement_get_confidences_from_their_cosine():
    table = IpcTable()
    table.upsert([1, 2, 3], [["H01M"], ["H01M"], ["H01M"]])
    calibration = Calibration(bias=-8.0, weights=(("cosine", 10.0),))
    ranking = rank_hybrid(
        np.array([1, 2, 3]), np.array([], dtype=np.int64), table, RankingParams(), calibration,
        dense_scores=np.array([0.95, 0.88, 0.80]),
    )  # fmt: skip
    assert np.allclose(ranking.agreement, ranking.agreement[0])
    assert ranking.cosine.tolist() == pytest.approx([0.95, 0.88, 0.80])
    assert ranking.confidence[0] > ranking.confidence[1] > ranking.confidence[2]


def test_scheme_prior_save_load_refuses_other_model(tmp_path):
    from app.errors import ServiceUnavailable

    prior = SchemePrior(["A01B", "H01M"], np.eye(2, dtype=np.float32), model="m")
    prior.save(tmp_path / "scheme.npz")
    loaded = SchemePrior.load(tmp_path / "scheme.npz", model="m")
    assert loaded.subclasses == ["A01B", "H01M"]
    assert np.array_equal(loaded.vectors, prior.vectors)
    with pytest.raises(ServiceUnavailable, match="rebuild"):
        SchemePrior.load(tmp_path / "scheme.npz", model="other")


def test_rerank_handles_no_candidates_and_unknown_documents():
    table = IpcTable()
    empty = np.zeros(0, dtype=np.int64)
    ranking = rerank(
        fuse(empty, empty, RankingParams()), table, RankingParams(), DEFAULT_CALIBRATION
    )
    assert len(ranking.ids) == 0
    assert ranking.inferred == []
    table.upsert([1], [["H01M"]])
    ranking = rerank(
        fuse(np.array([5, 1]), empty, RankingParams()), table, RankingParams(), DEFAULT_CALIBRATION
    )
    assert ranking.ids.tolist() == [1, 5]  # the document without IPC codes gets no boost


def _skewed() -> tuple[IpcTable, np.ndarray, np.ndarray]:
    """Doc 1 (F03D) is first in both retrievers; docs 2..9 (H01M) follow."""
    table = IpcTable()
    table.upsert([1], [["F03D"]])
    table.upsert(list(range(2, 10)), [["H01M"]] * 8)
    dense = np.arange(1, 10)
    lexical = np.arange(1, 10)
    return table, dense, lexical


def test_consensus_guard_keeps_the_top_in_both_first_unless_the_scheme_backs_the_vote():
    table, dense, lexical = _skewed()
    params = RankingParams()
    f03d = np.array([1.0 if c == "F03D" else 0.0 for c in table.codes], dtype=np.float32)
    h01m = np.array([1.0 if c == "H01M" else 0.0 for c in table.codes], dtype=np.float32)
    guarded = rank_hybrid(dense, lexical, table, params, DEFAULT_CALIBRATION, f03d)
    assert guarded.ids[0] == 1
    assert guarded.scores[0] > guarded.scores[1]
    off = RankingParams(consensus_first=False)
    assert rank_hybrid(dense, lexical, table, off, DEFAULT_CALIBRATION, f03d).ids[0] != 1
    # The scheme siding with the neighbours: no guard.
    assert rank_hybrid(dense, lexical, table, params, DEFAULT_CALIBRATION, h01m).ids[0] != 1
    # No scheme, or one that places the query in none of the catalog's subclasses: the votes
    # only echo the catalog's mix, so the guard holds.
    silent = np.zeros(len(table.codes), dtype=np.float32)
    assert rank_hybrid(dense, lexical, table, params, DEFAULT_CALIBRATION, silent).ids[0] == 1
    assert rank_hybrid(dense, lexical, table, params, DEFAULT_CALIBRATION).ids[0] == 1
    # Not first in both retrievers: no guard either.
    swapped = np.array([2, 1, *range(3, 10)])
    assert rank_hybrid(dense, swapped, table, params, DEFAULT_CALIBRATION, f03d).ids[0] != 1
