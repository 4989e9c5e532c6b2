"""The index manifest's vectors tag, and passages vs request-time queries on a split encoder."""

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session

from app.errors import ServiceUnavailable
from app.search import engine_manifest
from app.search.encoder import HashingEncoder, query_vectors_tag, vectors_tag
from app.search.engine import MatchEngine, MatchFilters
from app.search.lexical import Tokenizer
from app.search.split_encoder import SplitEncoder, passage_encoder, scheme_encoder
from tests.engine_support import Catalog, make_settings

pytest_plugins = ["tests.engine_fixtures"]

FREE_TEXT = "污水处理生物膜反应器"


class Tagged(HashingEncoder):
    """A hashing encoder under another name and vectors tag, recording what it encoded."""

    def __init__(self, name: str, tag: str) -> None:
        super().__init__()
        self.name = name
        self.vectors_tag = tag
        self.queries: list[str] = []
        self.documents: list[str] = []

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.extend(texts)
        return super().encode_queries(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents.extend(texts)
        return super().encode_documents(texts)


def _engine(tmp_path: Path, tokenizer: Tokenizer, encoder: HashingEncoder) -> MatchEngine:
    return MatchEngine(make_settings(tmp_path), encoder, tokenizer=tokenizer)


def _saved_tag(tmp_path: Path) -> str:
    manifest = engine_manifest.read_engine_manifest(tmp_path / "index")
    assert manifest is not None
    return manifest.vectors_tag


def test_update_rebuilds_when_the_passage_precision_changes(
    session: Session, catalog: Catalog, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    assert _engine(tmp_path, tokenizer, Tagged("e5", "e5+onnx-int8")).update(session) is True
    assert _saved_tag(tmp_path) == "e5+onnx-int8"
    assert _engine(tmp_path, tokenizer, Tagged("e5", "e5+onnx-int8")).update(session) is False
    fp32 = _engine(tmp_path, tokenizer, Tagged("e5", "e5+onnx-fp32"))
    # Loading int8 vectors under an fp32 encoder is refused, not silently mixed.
    with pytest.raises(ServiceUnavailable, match="not one vector space"):
        fp32.load()
    assert fp32.update(session) is True
    assert _saved_tag(tmp_path) == "e5+onnx-fp32"
    fp32.load()


def test_an_old_manifest_without_a_tag_holds_the_old_int8_default(
    session: Session, catalog: Catalog, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    _engine(tmp_path, tokenizer, Tagged("e5", "e5+onnx-int8")).rebuild(session)
    path = tmp_path / "index" / engine_manifest.ENGINE_MANIFEST
    data = json.loads(path.read_text())
    del data["vectors_tag"]
    path.write_text(json.dumps(data))
    assert _saved_tag(tmp_path) == "e5+onnx-int8"
    _engine(tmp_path, tokenizer, Tagged("e5", "e5+onnx-int8")).load()  # the old default loads
    # The new default (fp32 passages) rebuilds such an index once.
    assert _engine(tmp_path, tokenizer, Tagged("e5", "e5+onnx-fp32")).update(session) is True
    assert engine_manifest.legacy_vectors_tag("hashing") == "hashing"


def test_free_text_uses_the_query_encoder_and_indexing_the_passage_one(
    session: Session, catalog: Catalog, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    queries, passages = Tagged("e5", "e5+onnx-int8"), Tagged("e5", "e5+onnx-fp32")
    loaded: list[bool] = []

    def load() -> HashingEncoder:
        loaded.append(True)
        return passages

    split = SplitEncoder(queries, load, "e5+onnx-fp32")
    assert (vectors_tag(split), query_vectors_tag(split)) == ("e5+onnx-fp32+sv", "e5+onnx-int8")
    assert not loaded  # the passage model loads only when something is indexed
    engine = _engine(tmp_path, tokenizer, split)
    engine.rebuild(session)
    assert _saved_tag(tmp_path) == "e5+onnx-fp32+sv"
    assert passages.documents
    # The query side encodes no catalog passage (only the scheme titles; the catalog has no
    # Traditional text needing a second view).
    assert not set(queries.documents) & set(passages.documents)
    assert scheme_encoder(split) is queries
    # Published needs' stored query vectors are encoded at indexing, on the passage side.
    assert passages.queries
    assert not queries.queries
    engine.match_text(session, FREE_TEXT, MatchFilters(), 3)
    assert FREE_TEXT in queries.queries
    assert FREE_TEXT not in passages.queries
    assert passage_encoder(split) is passages
    assert passage_encoder(queries) is queries


def test_traditional_passages_get_a_simplified_view_on_the_query_precision() -> None:
    queries, passages = Tagged("e5", "e5+onnx-int8"), Tagged("e5", "e5+onnx-fp32")
    split = SplitEncoder(queries, lambda: passages, "e5+onnx-fp32")
    texts = ["鋰離子電池正極材料", "锂离子电池负极材料"]
    vectors = split.encode_documents(texts)
    assert passages.documents == texts
    # Only the Traditional text is encoded again, in its Simplified form, on the query side.
    assert queries.documents == ["锂离子电池正极材料"]
    own = HashingEncoder().encode_documents(["鋰離子電池正極材料", "锂离子电池正极材料"])
    mean = own.sum(axis=0) / np.linalg.norm(own.sum(axis=0))
    np.testing.assert_allclose(vectors[0], mean, atol=1e-6)
    np.testing.assert_allclose(vectors[1], HashingEncoder().encode_documents(texts[1:])[0])
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0], abs=1e-6)
    assert split.encode_documents([]).shape == (0, split.dim)
