"""The packaged artefacts are what their commands produce: re-derive them and compare.

Slow (the real e5 model over the dev corpus; vectors come from var/cache when present):
``eval tune`` must choose the packaged ranking parameters, ``eval calibrate`` must refit the
packaged calibration within a tolerance.
"""

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from app.search.calibration_eval import calibrate
from app.search.encoder import load_encoder, model_folder
from app.search.evalcli import DEFAULT_BUDGET
from app.search.evaldata import load_corpus
from app.search.evaluate import SCHEME_RELATIVE, build_index
from app.search.needeval import load_need_set
from app.search.tuned import RANKING_FILE, load_calibrations, load_ranking_params
from app.search.tuning import tune
from app.settings import get_settings

pytestmark = pytest.mark.slow
MODEL = "multilingual-e5-small"


@pytest.fixture(scope="module")
def dev_index():
    settings = get_settings().model_copy(update={"model_name": MODEL})
    dev = settings.shared_dir / "eval" / "dev"
    if not (dev / "needs").is_dir() or not (settings.models_dir / MODEL).is_dir():
        pytest.skip("needs ../shared/eval/dev and the provisioned e5 model")
    corpus = load_corpus(dev / "corpus.jsonl")
    # As ``eval tune`` and ``eval calibrate`` build it: the scheme titles' vectors come from
    # the model folder (stored at `model fetch`).
    index = build_index(
        corpus,
        load_encoder(settings),
        cache_dir=settings.var_dir / "cache",
        scheme_path=settings.shared_dir / SCHEME_RELATIVE,
        model_dir=model_folder(settings),
    )
    return index, dev


def test_tune_chooses_the_packaged_ranking_parameters(dev_index):
    index, dev = dev_index
    params, report = tune(index, Path(dev), folds=5, budget=DEFAULT_BUDGET)
    assert asdict(params) == asdict(load_ranking_params())
    assert report["command"] == json.loads(RANKING_FILE.read_text())["command"]


def test_calibrate_refits_the_packaged_calibration(dev_index):
    index, dev = dev_index
    fits, _ = calibrate(index, load_need_set(Path(dev) / "needs"), load_ranking_params(), 5)
    packaged = load_calibrations()
    for direction in ("patents", "needs"):
        refit, saved = fits[MODEL][direction], packaged.for_model(MODEL, needs=direction == "needs")
        assert refit.bias == pytest.approx(saved.bias, abs=0.05)
        for (name, weight), (saved_name, saved_weight) in zip(
            refit.weights, saved.weights, strict=True
        ):
            assert name == saved_name
            assert weight == pytest.approx(saved_weight, abs=0.05)
        assert refit.no_match_below == pytest.approx(saved.no_match_below, abs=0.01)
        # The no-good-match gate is kept or dropped as packaged, with the same weights.
        assert (refit.gate is None) == (saved.gate is None)
        if refit.gate is not None and saved.gate is not None:
            assert refit.gate.bias == pytest.approx(saved.gate.bias, abs=0.05)
            for (name, weight), (saved_name, saved_weight) in zip(
                refit.gate.weights, saved.gate.weights, strict=True
            ):
                assert name == saved_name
                assert weight == pytest.approx(saved_weight, abs=0.05)
