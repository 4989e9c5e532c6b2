"""Scheme-title vectors computed once at model fetch and reused by index builds and eval."""

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.search.evaldata import EvalCorpus
from app.search.evaluate import build_index
from app.search.model_vectors import ensure_scheme_vectors
from app.search.provision import sha256_of
from app.search.scheme_store import prepare_scheme
from app.settings import Settings
from tests.engine_support import write_scheme

SCHEME = [
    ("H01M", "subclass", "用于直接转变化学能为电能的方法或装置"),
    ("H01M4/00", "main_group", "电极"),
    ("F03D", "subclass", "风力发动机"),
]


class CountingEncoder:
    """A fake model encoder: constant-free vectors, counts what it encodes."""

    name = "fake-model"
    dim = 8

    def __init__(self) -> None:
        self.documents = 0

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        rng = np.random.default_rng(len(texts))
        out = rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents += len(texts)
        return self._vectors(texts)


def _model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models" / "fake-model"
    folder.mkdir(parents=True)
    (folder / "patentmatch.json").write_text(json.dumps({"name": "fake-model"}))
    return folder


def test_fetch_stores_the_vectors_once_with_a_checksum(tmp_path: Path) -> None:
    write_scheme(tmp_path / "shared", SCHEME)
    folder, encoder = _model_dir(tmp_path), CountingEncoder()
    said: list[str] = []
    path = ensure_scheme_vectors(folder, encoder, tmp_path / "shared", said.append)
    assert path is not None
    assert path.is_file()
    assert encoder.documents == len(SCHEME)
    assert any("once per model" in line for line in said)
    record = json.loads((folder / "patentmatch.json").read_text())["vectors"]
    assert record[str(path.relative_to(folder))]["sha256"] == sha256_of(path)
    # A second fetch finds them and encodes nothing.
    assert ensure_scheme_vectors(folder, encoder, tmp_path / "shared", said.append) == path
    assert encoder.documents == len(SCHEME)


def test_without_the_scheme_file_nothing_is_stored(tmp_path: Path) -> None:
    said: list[str] = []
    assert (
        ensure_scheme_vectors(_model_dir(tmp_path), CountingEncoder(), tmp_path, said.append)
        is None
    )
    assert "not found" in said[0]


def test_index_builds_and_eval_reuse_the_stored_vectors(tmp_path: Path) -> None:
    csv = write_scheme(tmp_path / "shared", SCHEME)
    folder, encoder = _model_dir(tmp_path), CountingEncoder()
    ensure_scheme_vectors(folder, encoder, tmp_path / "shared", lambda _: None)
    encoder.documents = 0
    settings = Settings(
        shared_dir=tmp_path / "shared",
        models_dir=tmp_path / "models",
        model_name="fake-model",
        index_dir=tmp_path / "index",
        var_dir=tmp_path / "var",
    )
    prior, name = prepare_scheme(settings, encoder)
    assert prior is not None
    assert name
    assert encoder.documents == 0  # the rebuild read them from the model folder
    corpus = EvalCorpus(
        keys=["a", "b"], titles=["锂电池", "风机"], ipc=[["H01M"], ["F03D"]], digest="x"
    )
    index = build_index(
        corpus, encoder, cache_dir=tmp_path / "cache", scheme_path=csv, model_dir=folder
    )
    assert index.scheme is not None
    assert encoder.documents == len(corpus)  # only the corpus was encoded
    assert np.allclose(index.scheme.vectors, prior.vectors)
