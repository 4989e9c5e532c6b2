"""ONNX export at model fetch, the OnnxEncoder, backend choice and length-bucketed batches."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.errors import ServiceUnavailable
from app.search.encoder import (
    SentenceTransformerEncoder,
    load_encoder,
    query_vectors_tag,
    vectors_tag,
)
from app.search.onnx_encoder import OnnxEncoder, length_batches
from app.search.onnx_export import FP32_FILE, INT8_FILE, ensure_onnx, onnx_files_ok
from app.search.provision import sha256_of
from app.search.split_encoder import SplitEncoder, passage_encoder
from app.settings import Settings
from tests.onnx_support import DIM, build_tiny_model

TEXTS = [
    "一种锂电池正极材料",
    "风力发电机叶片",
    "a method for wind power",
    "农作物收割装置的制备方法" * 4,
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny model folder with its ONNX files exported once for the module."""
    folder = build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")
    said: list[str] = []
    assert ensure_onnx(folder, say=said.append)
    assert any("once per model" in line for line in said)
    return folder


def test_batches_are_sorted_by_length_and_bounded():
    lengths = [5, 50, 3, 40, 4, 45, 6, 2]
    batches = length_batches(lengths, batch_size=3, token_budget=100)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) * max(lengths[i] for i in batch) <= 100 or len(batch) == 1
    # The short texts share batches; the long ones are not padded together with them.
    assert max(lengths[i] for i in batches[0]) <= 4


def test_export_records_both_files_with_checksums(tiny_model):
    record = json.loads((tiny_model / "patentmatch.json").read_text())
    files = record["onnx"]["files"]
    assert set(files) == {FP32_FILE, INT8_FILE}
    for name, digest in files.items():
        assert sha256_of(tiny_model / name) == digest
    assert onnx_files_ok(tiny_model, verify=True)
    # Intact files are not exported again.
    said: list[str] = []
    assert ensure_onnx(tiny_model, say=said.append)
    assert said == []


def test_onnx_vectors_agree_with_torch_and_keep_the_prompts(tiny_model):
    onnx = OnnxEncoder(tiny_model)
    torch = SentenceTransformerEncoder(tiny_model)
    assert onnx.dim == torch.dim == DIM
    for encode_onnx, encode_torch in (
        (onnx.encode_documents, torch.encode_documents),
        (onnx.encode_queries, torch.encode_queries),
    ):
        a, b = encode_onnx(TEXTS), encode_torch(TEXTS)
        assert a.dtype == np.float32
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        # Random tiny weights quantise worse than the real model's (≥ 0.996 there).
        assert (a * b).sum(axis=1).min() > 0.97
    # Queries and documents get different prompts, hence different vectors.
    assert not np.allclose(onnx.encode_queries(TEXTS[:1]), onnx.encode_documents(TEXTS[:1]))
    assert onnx.encode_documents([]).shape == (0, DIM)


def test_batching_does_not_change_a_texts_vector(tiny_model):
    encoder = OnnxEncoder(tiny_model, batch_size=2)
    together = encoder.encode_documents(TEXTS)
    alone = np.vstack([encoder.encode_documents([t]) for t in TEXTS])
    # Dynamic int8 quantisation scales activations per batch tensor, so batch-mates move a
    # vector by quantisation noise only (seen: ~2e-4 per component); order and identity stay.
    cosines = np.sum(together * alone, axis=1)
    assert cosines.min() > 0.999
    assert np.array_equal(np.argmax(together @ alone.T, axis=1), np.arange(len(TEXTS)))


def test_backend_choice(tiny_model, tmp_path):
    settings = Settings(model_name=str(tiny_model))
    auto = load_encoder(settings)
    # The defaults: fp32 passages, int8 request-time queries.
    assert isinstance(auto, SplitEncoder)
    assert isinstance(auto.queries, OnnxEncoder)
    assert (vectors_tag(auto), query_vectors_tag(auto)) == ("tiny+onnx-fp32+sv", "tiny+onnx-int8")
    same = load_encoder(settings.model_copy(update={"encoder_precision": "int8"}))
    assert isinstance(same, OnnxEncoder)
    assert vectors_tag(same) == query_vectors_tag(same) == "tiny+onnx-int8"
    torch = load_encoder(settings.model_copy(update={"encoder_backend": "torch"}))
    assert isinstance(torch, SentenceTransformerEncoder)
    assert vectors_tag(torch) == "tiny"
    # Without an export, auto falls back to torch and an explicit onnx says what to run.
    bare = build_tiny_model(tmp_path / "bare")
    assert isinstance(load_encoder(Settings(model_name=str(bare))), SentenceTransformerEncoder)
    with pytest.raises(ServiceUnavailable, match="model fetch"):
        load_encoder(Settings(model_name=str(bare), encoder_backend="onnx"))


def test_precision_picks_the_fp32_file_and_tags_its_vectors_apart(tiny_model, monkeypatch):
    monkeypatch.setenv("PATENTMATCH_ENCODER_PRECISION", "fp32")
    settings = Settings(model_name=str(tiny_model), encoder_backend="onnx")
    assert settings.encoder_precision == "fp32"
    fp32 = load_encoder(settings)
    int8 = load_encoder(settings.model_copy(update={"encoder_precision": "int8"}))
    assert vectors_tag(fp32) == "tiny+onnx-fp32+sv"
    assert vectors_tag(int8) == "tiny+onnx-int8"
    torch = SentenceTransformerEncoder(tiny_model).encode_documents(TEXTS)
    # The float32 graph reproduces torch to rounding; the quantised one only approximately.
    fp32_gap = np.abs(fp32.encode_documents(TEXTS) - torch).max()
    int8_gap = np.abs(int8.encode_documents(TEXTS) - torch).max()
    assert fp32_gap < 1e-4
    assert int8_gap > fp32_gap


def test_split_encoder_runs_passages_on_fp32_and_queries_on_int8(tiny_model):
    settings = Settings(model_name=str(tiny_model), encoder_backend="onnx")
    split = load_encoder(settings)
    assert isinstance(split, SplitEncoder)
    fp32 = OnnxEncoder(tiny_model, precision="fp32")
    int8 = OnnxEncoder(tiny_model, precision="int8")
    assert np.allclose(split.encode_queries(TEXTS), int8.encode_queries(TEXTS), atol=1e-6)
    assert np.allclose(split.encode_documents(TEXTS), fp32.encode_documents(TEXTS), atol=1e-6)
    # Work off the request path (stored need query vectors) takes the fp32 session.
    stored = passage_encoder(split).encode_queries(TEXTS)
    assert np.allclose(stored, fp32.encode_queries(TEXTS), atol=1e-6)
    assert not np.allclose(stored, int8.encode_queries(TEXTS), atol=1e-6)


def test_fetch_completes_a_model_under_a_relative_models_dir(tiny_model, tmp_path, monkeypatch):
    from app.search.cli import _complete_model

    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_model, tmp_path / "models" / "tiny")
    settings = Settings(models_dir=Path("models"), shared_dir=tmp_path / "no-shared")
    _complete_model(Path("models") / "tiny", settings)
    assert onnx_files_ok(Path("models") / "tiny", verify=True)
