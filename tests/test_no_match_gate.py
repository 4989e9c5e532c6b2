"""The no-good-match rule: the best confidence, or a fit's gate over it and the best cosine."""

from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session

from app.search.calibration import Calibration, CalibrationSet, Features, Gate
from app.search.calibration_eval import Sample, fit_direction
from app.search.encoder import HashingEncoder
from app.search.engine import MatchEngine, MatchFilters
from tests.engine_support import Catalog, make_settings

pytest_plugins = ["tests.engine_fixtures"]

COLUMNS = ("cosine", "top_cosine", "log_rank", "agreement", "primary")


def test_a_gate_survives_the_artefact_form():
    gated = Calibration(
        bias=-2.0,
        weights=(("cosine", 3.0),),
        no_match_below=0.4,
        gate=Gate(bias=-60.0, weights=(("best_logit", 0.5), ("top_cosine", 70.0))),
    )
    assert Calibration.from_json(gated.to_json()) == gated
    plain = Calibration(bias=-2.0, no_match_below=0.4)
    assert "gate" not in plain.to_json()
    assert Calibration.from_json(plain.to_json()).gate is None
    with pytest.raises(ValueError, match="gate"):
        Calibration.from_json({"bias": 0.0, "gate": [1, 2]})


def test_without_a_gate_the_best_confidence_decides():
    plain = Calibration(bias=0.0, no_match_below=0.3)
    assert plain.answerable(0.25, 0.99) == 0.25  # the cosine plays no part
    assert plain.no_good_match(0.25, 0.99)
    assert not plain.no_good_match(0.35, 0.10)
    assert plain.no_good_match(None, 0.99)  # an empty result


def test_with_a_gate_the_best_cosine_decides_too():
    gate = Gate(bias=-85.0, weights=(("best_logit", 0.1), ("top_cosine", 100.0)))
    gated = Calibration(bias=0.0, no_match_below=0.5, gate=gate)
    # The same best confidence: a query whose best cosine is low has nothing in the catalog.
    assert gated.no_good_match(0.05, 0.80)
    assert not gated.no_good_match(0.05, 0.90)
    assert gated.answerable(0.05, 0.90) == pytest.approx(gate.probability(0.05, 0.90))
    assert 0.0 < gate.probability(0.05, 0.84) < gate.probability(0.05, 0.86) < 1.0


def _swapped_sample(spread: float, seed: int = 0) -> Sample:
    """Queries of 10 hits each, as the swapped patent → needs set looks: IPC agreement orders
    the hits, not their cosine, and the useful hit is the one of the best cosine wherever it
    ranks, so the first hit's confidence says little; unanswerable queries sit ``spread`` lower
    in best cosine and have no useful hit."""
    rng = np.random.default_rng(seed)
    answerable = np.array([True] * 60 + [False] * 20)
    columns: dict[str, list[float]] = {name: [] for name in COLUMNS}
    useful: list[float] = []
    query: list[int] = []
    for q, has_answer in enumerate(answerable):
        top = rng.normal(0.87 if has_answer else 0.87 - spread, 0.01)
        cosines = top - rng.permutation(np.append(0.0, rng.uniform(0.01, 0.05, 9)))
        hits = np.zeros(10)
        if has_answer:
            hits[int(np.argmax(cosines))] = 1.0
        for name, values in (("cosine", cosines), ("top_cosine", np.full(10, top)),
                             ("log_rank", np.log1p(np.arange(10))), ("agreement", np.zeros(10)),
                             ("primary", np.zeros(10))):  # fmt: skip
            columns[name].extend(values.tolist())
        useful.extend(hits.tolist())
        query.extend([q] * 10)
    features = Features({name: np.array(v) for name, v in columns.items()})
    return Sample(features, np.array(useful), np.array(query), answerable)


def test_calibrate_keeps_a_gate_where_it_flags_more_unanswerable_queries():
    fitted, report = fit_direction(_swapped_sample(spread=0.04), COLUMNS, folds=5)
    assert report["gate"] == 1.0
    assert fitted.gate is not None
    assert (
        report["unanswerable flagged (held-out)"]
        > report["unanswerable flagged, best confidence only (held-out)"]
    )
    assert report["unanswerable flagged (held-out)"] >= 15  # of 20
    assert report["answerable flagged (held-out)"] <= 5  # about 5 % of 60
    assert dict(fitted.gate.weights)["top_cosine"] > 0


def test_calibrate_drops_a_gate_that_adds_nothing():
    # Answerable and unanswerable queries alike: the gate cannot flag more of them.
    fitted, report = fit_direction(_swapped_sample(spread=0.0), COLUMNS, folds=5)
    assert report["gate"] == 0.0
    assert fitted.gate is None
    # The model-free columns never get a gate.
    free, free_report = fit_direction(_swapped_sample(spread=0.04), ("log_rank",), folds=5)
    assert free.gate is None
    assert free_report["gate"] == 0.0


def test_patent_to_needs_results_follow_the_gate(
    session: Session, catalog: Catalog, tmp_path: Path, tokenizer
) -> None:
    def engine(gate_bias: float) -> MatchEngine:
        needs = Calibration(
            bias=0.0, no_match_below=0.5, gate=Gate(gate_bias, (("top_cosine", 1.0),))
        )
        calibrations = CalibrationSet({"hashing": {"patents": Calibration(0.0), "needs": needs}})
        settings = make_settings(tmp_path / str(gate_bias))
        matcher = MatchEngine(
            settings, HashingEncoder(256), calibration=calibrations, tokenizer=tokenizer
        )
        matcher.rebuild(session)
        return matcher

    refusing, accepting = engine(-50.0), engine(50.0)
    assert refusing.match_patent(session, catalog.irrigation, 2).no_good_match
    result = accepting.match_patent(session, catalog.irrigation, 2)
    assert result.matches
    assert not result.no_good_match
    # The patent direction has no gate here: its best confidence (neutral: 0.5) decides.
    assert not refusing.match_need(session, catalog.need_battery, MatchFilters(), 3).no_good_match
