"""VectorIndex: database ids, upsert/delete, flat→HNSW switch, atomic save/load, recall."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.errors import BadRequest, ServiceUnavailable
from app.search import index_manifest
from app.search.ann_params import AnnParams
from app.search.vector_index import VectorIndex
from app.settings import Settings

DIM = 32
MODEL = "test-model"
SMALL_HNSW = AnnParams(threshold=100, hnsw_m=16, hnsw_ef_construction=64, hnsw_ef_search=64)


def clustered(
    n: int, *, dim: int = DIM, centres: int = 50, seed: int = 0, noise: float = 0.5
) -> np.ndarray:
    """Unit vectors scattered around a few random centres (a stand-in for embeddings)."""
    rng = np.random.default_rng(seed)
    middle = np.random.default_rng(1234).standard_normal((centres, dim))
    x = middle[rng.integers(0, centres, n)] + noise * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def keys(n: int) -> np.ndarray:
    """Sparse, database-like primary keys (never positions)."""
    return np.arange(n, dtype=np.int64) * 10 + 1001


def build(n: int, params: AnnParams) -> tuple[VectorIndex, np.ndarray, np.ndarray]:
    """An index over ``n`` clustered vectors with sparse ids."""
    vectors, ids = clustered(n), keys(n)
    index = VectorIndex.create(DIM, model=MODEL, params=params)
    index.index(ids, vectors)
    return index, ids, vectors


@pytest.fixture(params=["flat", "hnsw"])
def built(request: pytest.FixtureRequest) -> tuple[VectorIndex, np.ndarray, np.ndarray]:
    """300 vectors, exact or HNSW."""
    params = AnnParams(threshold=10_000) if request.param == "flat" else SMALL_HNSW
    index, ids, vectors = build(300, params)
    assert index.kind == request.param
    return index, ids, vectors


def test_params_come_from_settings():
    settings = Settings(ann_threshold=7, hnsw_ef_search=33, search_threads=1)
    params = AnnParams.from_settings(settings)
    assert (params.threshold, params.hnsw_ef_search) == (7, 33)
    assert AnnParams.from_dict({**params.to_dict(), "unknown": 1}) == params


def test_search_returns_database_ids(built):
    index, ids, vectors = built
    scores, found = index.search(vectors[:20], 5)
    assert found.dtype == np.int64
    assert found.shape == (20, 5)
    assert (found[:, 0] == ids[:20]).all()
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    assert set(found.ravel()) <= set(ids.tolist())


def test_upsert_replaces_and_adds(built):
    index, ids, vectors = built
    other = clustered(2, seed=99)
    index.upsert(np.array([ids[0], 5]), other)
    assert len(index) == 301
    _, found = index.search(other, 1)
    assert found[:, 0].tolist() == [ids[0], 5]
    scores, found = index.search(vectors[:1], 301)
    # Only the new vector of ids[0] remains: it scores as the new vector, once.
    hits = np.flatnonzero(found[0] == ids[0])
    assert hits.size == 1
    assert scores[0, hits[0]] == pytest.approx(float(vectors[0] @ other[0]), abs=1e-5)


def test_delete_removes(built):
    index, ids, vectors = built
    index.delete([int(ids[3]), int(ids[4]), 999_999])
    assert len(index) == 298
    _, found = index.search(vectors[3:5], 20)
    assert not np.isin(found, ids[3:5]).any()


def test_vectors_of_returns_the_stored_vectors_of_live_ids(built):
    index, ids, vectors = built
    wanted = [int(ids[7]), 999_999, int(ids[2])]
    assert np.allclose(index.vectors_of(wanted), vectors[[7, 2]], atol=1e-6)
    index.delete([int(ids[7])])
    assert np.allclose(index.vectors_of(wanted), vectors[[2]], atol=1e-6)
    assert index.vectors_of([]).shape == (0, DIM)


def test_fewer_vectors_than_k_pads_with_minus_one():
    index = VectorIndex.create(DIM, model=MODEL, params=AnnParams())
    _scores, found = index.search(clustered(1), 3)
    assert found.tolist() == [[-1, -1, -1]]
    index.upsert(keys(2), clustered(2))
    _, found = index.search(clustered(1), 3)
    assert sorted(found[0].tolist()) == [-1, *keys(2).tolist()]


def test_switches_to_hnsw_on_save_and_deletes_afterwards(tmp_path):
    index, ids, vectors = build(80, SMALL_HNSW)
    assert index.kind == "flat"
    more = clustered(60, seed=5)
    index.upsert(keys(140)[80:], more)
    assert index.kind == "flat"  # switching waits for save (or index())
    index.save(tmp_path, last_change_id=3)
    assert index.kind == "hnsw"
    assert len(index) == 140
    index.delete([int(ids[0])])
    _, found = index.search(vectors[:1], 10)
    assert ids[0] not in found
    assert len(index) == 139


def test_compaction_drops_tombstones_on_save(tmp_path):
    index, ids, vectors = build(300, SMALL_HNSW)
    index.delete(ids[:100].tolist())
    assert index.tombstones == 100
    index.save(tmp_path, last_change_id=1)
    assert index.tombstones == 0
    assert len(index) == 200
    _, found = index.search(vectors[:100], 5)
    assert not np.isin(found, ids[:100]).any()


def test_a_memory_mapped_graph_takes_writes_beside_it_and_saves_them(tmp_path):
    index, ids, vectors = build(300, SMALL_HNSW)
    index.save(tmp_path / "a", last_change_id=1)
    queries = clustered(30, seed=7)
    viewed = VectorIndex.load(tmp_path / "a", model=MODEL, dim=DIM, mmap=True)
    assert [a.tolist() for a in viewed.search(queries, 10)] == [
        a.tolist() for a in index.search(queries, 10)
    ]
    # Writes never touch the mapped graph (FAISS would abort): they go beside it.
    other = clustered(3, seed=99)
    for target in (index, viewed):
        target.upsert(np.array([ids[0], 5, 6]), other)
        target.delete([int(ids[1]), 6])
    assert len(viewed) == len(index) == 300
    _, found = viewed.search(other, 1)
    assert found[:2, 0].tolist() == [ids[0], 5]
    _, found = viewed.search(vectors[:2], 300)
    assert ids[1] not in found
    assert (found == ids[0]).sum(axis=1).tolist() == [1, 1]
    assert np.allclose(viewed.vectors_of([5, int(ids[2]), int(ids[1])]), [other[1], vectors[2]])
    viewed.save(tmp_path / "b", last_change_id=2)
    reread = VectorIndex.load(tmp_path / "b", model=MODEL, dim=DIM, mmap=True)
    for target in (viewed, reread):
        assert len(target) == 300
        _, found = target.search(other[:2], 1)
        assert found[:, 0].tolist() == [ids[0], 5]


def test_save_load_round_trip(built, tmp_path):
    index, _, vectors = built
    index.delete([int(index.search(vectors[:1], 1)[1][0, 0])])
    queries = clustered(50, seed=7)
    before = index.search(queries, 10)
    index.save(tmp_path, last_change_id=42)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["model"] == MODEL
    assert manifest["dim"] == DIM
    assert manifest["count"] == 299
    assert manifest["last_change_id"] == 42
    assert manifest["kind"] == index.kind
    assert manifest["created_at"]
    loaded = VectorIndex.load(tmp_path, model=MODEL, dim=DIM)
    assert loaded.kind == index.kind
    assert len(loaded) == 299
    assert loaded.last_change_id == 42
    after = loaded.search(queries, 10)
    assert (after[1] == before[1]).all()
    assert np.allclose(after[0], before[0])


def test_load_refuses_other_model_or_dim(tmp_path):
    index, _, _ = build(10, AnnParams())
    index.save(tmp_path, last_change_id=0)
    with pytest.raises(ServiceUnavailable, match=r"test-model.*other-model"):
        VectorIndex.load(tmp_path, model="other-model", dim=DIM)
    with pytest.raises(ServiceUnavailable, match=r"dim 32.*dim 64"):
        VectorIndex.load(tmp_path, model=MODEL, dim=64)


def test_missing_or_damaged_index_is_a_clear_error(tmp_path):
    with pytest.raises(ServiceUnavailable, match=r"manifest\.json missing"):
        VectorIndex.load(tmp_path, model=MODEL, dim=DIM)
    index, _, _ = build(50, AnnParams())
    index.save(tmp_path, last_change_id=0)
    data = next(tmp_path.glob("vectors-*.faiss"))
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(ServiceUnavailable, match="bytes, manifest says"):
        VectorIndex.load(tmp_path, model=MODEL, dim=DIM)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ServiceUnavailable, match="unreadable"):
        VectorIndex.load(tmp_path, model=MODEL, dim=DIM)


def test_damaged_file_of_right_size_is_refused(tmp_path):
    index, _, _ = build(50, AnnParams())
    index.save(tmp_path, last_change_id=0)
    data = next(tmp_path.glob("vectors-*.faiss"))
    data.write_bytes(b"\0" * data.stat().st_size)
    with pytest.raises(ServiceUnavailable, match="damaged"):
        VectorIndex.load(tmp_path, model=MODEL, dim=DIM)


@pytest.mark.parametrize("params", [AnnParams(), SMALL_HNSW], ids=["flat", "hnsw"])
def test_interrupted_save_keeps_previous_index(tmp_path, monkeypatch, params):
    index, ids, vectors = build(200, params)
    index.save(tmp_path, last_change_id=1)
    expected = index.search(vectors[:10], 5)
    index.delete(ids[:50].tolist())

    def crash(directory: Path, manifest: index_manifest.Manifest) -> None:
        raise OSError("disk full")

    # Data files of the new save are written; the crash hits before the manifest is replaced.
    monkeypatch.setattr("app.search.vector_index.commit_manifest", crash)
    with pytest.raises(OSError, match="disk full"):
        index.save(tmp_path, last_change_id=2)
    monkeypatch.undo()
    loaded = VectorIndex.load(tmp_path, model=MODEL, dim=DIM)
    assert len(loaded) == 200
    assert loaded.last_change_id == 1
    got = loaded.search(vectors[:10], 5)
    assert (got[1] == expected[1]).all()
    # The next good save cleans up the orphaned files of the interrupted one.
    index.save(tmp_path, last_change_id=3)
    names = {p.name for p in tmp_path.iterdir()}
    assert len(names) == (2 if index.kind == "flat" else 3)


def test_bad_input_is_rejected():
    index = VectorIndex.create(DIM, model=MODEL, params=AnnParams())
    with pytest.raises(BadRequest, match="shape"):
        index.upsert(keys(2), clustered(2, dim=8))
    with pytest.raises(BadRequest, match="2 ids for 3 vectors"):
        index.upsert(keys(2), clustered(3))
    with pytest.raises(BadRequest, match="unique"):
        index.upsert(np.array([1, 1]), clustered(2))
    with pytest.raises(BadRequest, match="non-negative"):
        index.upsert(np.array([-1, 2]), clustered(2))
    with pytest.raises(BadRequest, match="NaN"):
        index.upsert(np.array([1]), np.full((1, DIM), np.nan, dtype=np.float32))
    with pytest.raises(BadRequest, match="k must be positive"):
        index.search(clustered(1), 0)
    assert len(index) == 0


def test_hnsw_recall_on_clustered_set():
    n = 20_000
    # Overlapping clusters (noise 1.0): efSearch 16 gives about 0.91 here, 64 about 0.99.
    vectors, ids = clustered(n, centres=200, noise=1.0), keys(n)
    queries = clustered(200, centres=200, seed=3, noise=1.0)
    index = VectorIndex.create(DIM, model=MODEL, params=SMALL_HNSW)
    index.index(ids, vectors)
    assert index.kind == "hnsw"
    _, found = index.search(queries, 10)
    exact = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :10]]
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= 0.9


def test_load_can_override_search_params(tmp_path):
    index, _, vectors = build(300, SMALL_HNSW)
    index.save(tmp_path, last_change_id=0)
    assert VectorIndex.load(tmp_path, model=MODEL, dim=DIM).params == SMALL_HNSW
    tuned = replace(SMALL_HNSW, hnsw_ef_search=200)
    loaded = VectorIndex.load(tmp_path, model=MODEL, dim=DIM, params=tuned)
    assert loaded.params == tuned
    _, found = loaded.search(vectors[:5], 3)
    assert (found[:, 0] == keys(300)[:5]).all()
