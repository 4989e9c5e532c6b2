"""Encoders: chunking, the hashing encoder's similarities, prompts and model loading."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from app.errors import ServiceUnavailable
from app.search.encoder import (
    HashingEncoder,
    chunk_documents,
    chunk_text,
    load_encoder,
    read_prompts,
)
from app.settings import Settings

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"


def test_short_text_is_one_chunk_and_blank_is_none():
    assert chunk_text("  一种锂电池  ", 50) == ["一种锂电池"]
    assert chunk_text("   ", 50) == []


def test_long_text_splits_on_sentence_punctuation_within_limit():
    sentences = [
        "第一句描述电池结构。",
        "第二句描述正极材料；",
        "第三句描述制备工艺！",
        "第四句总结。",
    ]
    text = "".join(sentences)
    chunks = chunk_text(text, 22)
    assert all(len(c) <= 22 for c in chunks)
    assert len(chunks) > 1
    # Nothing is lost: every sentence appears whole in some chunk.
    for sentence in sentences:
        assert any(sentence in c for c in chunks)


def test_consecutive_chunks_overlap_by_a_sentence():
    text = "甲甲甲甲。乙乙乙乙。丙丙丙丙。丁丁丁丁。"
    chunks = chunk_text(text, 10)
    for before, after in itertools.pairwise(chunks):
        assert before.split("。")[-2] in after


def test_sentence_longer_than_limit_is_cut_into_overlapping_windows():
    text = "电" * 25 + "池" * 25
    chunks = chunk_text(text, 20, overlap=5)
    assert all(len(c) <= 20 for c in chunks)
    assert "".join(chunks).count("池") >= 25
    assert chunks[0][-5:] == chunks[1][:5]


def test_decimal_point_does_not_split():
    assert chunk_text("浓度为1.5的溶液。" * 3, 12)[0].startswith("浓度为1.5的溶液")


def test_chunk_documents_maps_chunks_to_their_document():
    chunks, owners = chunk_documents(["短文本", "", "长句子一。长句子二。长句子三。"], 6)
    assert owners.tolist()[0] == 0
    assert owners.tolist()[1] == 1  # a blank document still gets a chunk
    assert set(owners.tolist()[2:]) == {2}
    assert len(chunks) == len(owners)


def test_hashing_vectors_are_unit_float32_and_deterministic():
    encoder = HashingEncoder(dim=128)
    vectors = encoder.encode_documents(["一种锂电池正极材料", "风力发电机叶片"])
    assert vectors.shape == (2, 128)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = HashingEncoder(dim=128).encode_documents(["一种锂电池正极材料", "风力发电机叶片"])
    assert np.array_equal(vectors, again)
    assert encoder.encode_queries([]).shape == (0, 128)


def test_hashing_similarity_is_meaningful_across_scripts():
    encoder = HashingEncoder()
    docs = encoder.encode_documents(
        ["锂离子电池正极材料的制备方法", "鋰離子電池正極材料", "农作物收割机"]
    )
    query = encoder.encode_queries(["锂电池正极材料"])[0]
    sims = docs @ query
    # Related texts (in either script) beat an unrelated one by a wide margin.
    assert sims[0] > sims[2] + 0.3
    assert sims[1] > sims[2] + 0.3
    assert encoder.encode_documents(["鋰電池"])[0] @ encoder.encode_documents(["锂电池"])[0] > 0.99


def test_load_encoder_hashing_and_missing_model(tmp_path):
    assert isinstance(load_encoder(Settings(model_name="hashing")), HashingEncoder)
    with pytest.raises(ServiceUnavailable, match="patentmatch model fetch no-such-model"):
        load_encoder(Settings(model_name="no-such-model", models_dir=tmp_path))


def test_prompts_prefer_our_file_then_sentence_transformers_config(tmp_path):
    assert read_prompts(tmp_path) == ("", "")
    st_config = {"prompts": {"query": "query: ", "passage": "passage: "}}
    (tmp_path / "config_sentence_transformers.json").write_text(json.dumps(st_config))
    assert read_prompts(tmp_path) == ("query: ", "passage: ")
    ours = {"query_prompt": "q: ", "document_prompt": "d: "}
    (tmp_path / "patentmatch.json").write_text(json.dumps(ours))
    assert read_prompts(tmp_path) == ("q: ", "d: ")


@pytest.mark.slow
def test_m3e_small_encodes_related_titles_closer():
    if not (MODELS_DIR / "m3e-small" / "config.json").is_file():
        pytest.skip("models/m3e-small is not provisioned")
    encoder = load_encoder(Settings(model_name="m3e-small", models_dir=MODELS_DIR))
    assert encoder.dim == 512
    docs = encoder.encode_documents(["锂离子电池正极材料", "鋰離子電池正極材料", "农作物收割机"])
    query = encoder.encode_queries(["锂电池正极"])[0]
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    sims = docs @ query
    assert min(sims[0], sims[1]) > sims[2]
