"""Lexical index: BM25 over jieba tokens, Traditional/Simplified, updates, persistence."""

import pytest

from app.search.lexical import LexicalIndex, Tokenizer

DOCS = {
    101: "一种锂离子电池正极材料及其制备方法",
    205: "风力发电机叶片的检测装置",
    307: "鋰電池負極材料",  # Traditional
    412: "农作物收割机的割台",
}


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer()


@pytest.fixture
def index(tokenizer):
    lexical = LexicalIndex(tokenizer=tokenizer)
    lexical.index(list(DOCS), list(DOCS.values()))
    return lexical


def test_tokenizer_drops_boilerplate_and_punctuation(tokenizer):
    tokens = tokenizer("一种锂电池的制备方法，及其装置。")
    assert "锂电池" in tokens
    for boilerplate in ("一种", "制备方法", "方法", "及其", "装置", "的", "，", "。"):
        assert boilerplate not in tokens


def test_search_returns_database_ids_best_first(index):
    hits = index.search("锂离子电池正极", 10)
    ids = [doc_id for doc_id, _ in hits]
    assert ids[0] == 101
    assert set(ids) <= set(DOCS)
    assert 412 not in ids  # shares no term
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)


def test_traditional_and_simplified_meet(index):
    assert 307 in [i for i, _ in index.search("锂电池负极", 10)]
    assert next(i for i, _ in index.search("風力發電機", 10)) == 205


def test_k_limits_results_and_empty_query_finds_nothing(index):
    assert len(index.search("材料", 1)) == 1
    assert index.search("，。", 10) == []
    assert index.search("一种方法", 10) == []  # only stopwords


def test_upsert_replaces_and_adds_without_full_reindex(index):
    index.upsert([205, 999], ["太阳能光伏组件清洗机器人", "锂电池回收工艺"])
    assert 205 not in [i for i, _ in index.search("风力发电机", 10)]
    assert next(i for i, _ in index.search("光伏清洗", 10)) == 205
    assert 999 in [i for i, _ in index.search("锂电池回收", 10)]
    assert len(index) == 5


def test_delete_removes_documents(index):
    index.delete([101, 12345])
    assert 101 not in [i for i, _ in index.search("锂离子电池正极", 10)]
    assert len(index) == 3
    index.delete(list(DOCS))
    assert index.search("锂电池", 10) == []


def test_save_and_load_round_trip(index, tmp_path, tokenizer):
    before = index.search("锂电池材料", 10)
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical", tokenizer=tokenizer)
    assert len(loaded) == len(index)
    after = loaded.search("锂电池材料", 10)
    assert [i for i, _ in after] == [i for i, _ in before]
    assert [s for _, s in after] == pytest.approx([s for _, s in before])


def test_matched_terms_explain_a_hit(index):
    terms = index.matched_terms("锂电池正极材料", DOCS[101])
    assert "正极" in terms
    assert "材料" in terms
    # The longest matched form stands for its parts.
    assert "电池" not in terms or "锂电池" not in terms
    assert index.matched_terms("锂电池", DOCS[412]) == []


def test_written_documents_score_like_a_full_rebuild(tokenizer):
    texts = dict(enumerate(["锂电池正极材料", "锂电池隔膜", "风力发电机", "收割机"]))
    incremental = LexicalIndex(tokenizer=tokenizer)
    incremental.index(list(texts), list(texts.values()))
    incremental.search("锂电池", 5)  # builds the matrix
    incremental.upsert([7, 1], ["锂电池回收", "锂电池负极材料"])
    incremental.delete([2])
    full = LexicalIndex(tokenizer=tokenizer)
    texts.update({7: "锂电池回收", 1: "锂电池负极材料"})
    del texts[2]
    full.index(list(texts), list(texts.values()))
    got = dict(incremental.search("锂电池负极材料", 10))
    want = dict(full.search("锂电池负极材料", 10))
    assert set(got) == set(want)
    # Written documents use live statistics, so they score exactly as after a rebuild.
    assert got[1] == pytest.approx(want[1], rel=1e-5)
    assert got[7] == pytest.approx(want[7], rel=1e-5)


def test_many_writes_trigger_a_rebuild(tokenizer):
    lexical = LexicalIndex(tokenizer=tokenizer)
    lexical.COMPACT_AFTER = 3
    lexical.index([1], ["锂电池"])
    lexical.search("锂电池", 5)
    lexical.upsert([2, 3, 4, 5], ["锂电池一", "锂电池二", "锂电池三", "锂电池四"])
    assert {i for i, _ in lexical.search("锂电池", 10)} == {1, 2, 3, 4, 5}
    assert lexical._delta == {}  # the search rebuilt the matrix
