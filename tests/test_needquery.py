"""Need-length queries: title, problem statements, boilerplate; fusion; CV selection."""

import numpy as np
import pytest

from app.search.fusion import Hits, Signals, fuse_signals, need_signals
from app.search.needquery import lexical_text, parse_need, vector_texts
from app.search.ranking import RankingParams
from app.search.tuning import cross_validate, folds_of

NEED = (
    "养殖场沼渣干燥回用。我们是一家奶牛养殖场，沼渣含水率80%。希望利用发电机组废热干燥沼渣，"
    "吨处理成本30元以内。可接受技术转让或设备定制合作。联系电话：0571-1234567"
)


def test_a_need_splits_into_title_and_statements_without_boilerplate():
    query = parse_need(NEED)
    assert query.title == "养殖场沼渣干燥回用"
    assert query.is_need
    assert query.statements == (
        "我们是一家奶牛养殖场，沼渣含水率80%",
        "希望利用发电机组废热干燥沼渣，吨处理成本30元以内",
    )
    assert not any("转让" in s or "电话" in s for s in query.statements)


def test_traditional_boilerplate_is_dropped_and_titles_stay_whole():
    query = parse_need("運動護具彈性片材\n希望導入高回復彈性布料。可洽技術授權或共同開發。")
    assert query.statements == ("希望導入高回復彈性布料",)
    # An IPC field title is one sentence with ；in it: title-like, not a need posting.
    field = parse_need("农业或林业的整地；一般农业机械或农具的部件、零件或附件")
    assert not field.is_need
    assert parse_need("除尘器报警。排放经常超标；希望自动报警").statements == (
        "排放经常超标",
        "希望自动报警",
    )
    title_only = parse_need("一种锂离子电池正极材料")
    assert not title_only.is_need
    assert vector_texts("一种锂离子电池正极材料", title_only) == ["一种锂离子电池正极材料"]


def test_a_capped_need_keeps_its_first_statements_and_stays_a_need():
    query = parse_need(NEED)
    assert query.capped(1).statements == query.statements[:1]
    assert query.capped(0).is_need  # at least one statement: the need weights still apply
    assert query.capped(8) == query


def test_free_text_encodes_only_the_statements_the_ranking_searches():
    from app.search.encoder import HashingEncoder
    from app.search.querying import query_vectors

    encoder = HashingEncoder(64)
    assert len(query_vectors(encoder, NEED)) == 4  # text, title, two statements
    capped = query_vectors(encoder, NEED, max_statements=1)
    np.testing.assert_allclose(capped, query_vectors(encoder, NEED)[:3])


def test_query_texts_follow_the_signal_order():
    query = parse_need(NEED)
    assert vector_texts(NEED, query) == [NEED, query.title, *query.statements]
    assert lexical_text(NEED, query, 0) == NEED
    repeated = lexical_text(NEED, query, 2)
    assert repeated.startswith(f"{query.title}\n{query.title}\n")
    assert "转让" not in repeated


def test_fusion_weighs_z_scores_against_the_collection():
    dense = Hits(np.array([1, 2, 3]), np.array([0.90, 0.85, 0.80]), mean=0.70, std=0.05)
    lexical = Hits(np.array([3]), np.array([12.0]), mean=0.5, std=1.0)
    text_heavy = fuse_signals(Signals(dense, lexical), RankingParams(lexical_weight=1.0))
    assert text_heavy.ids[0] == 3  # 11.5 standard deviations above the collection's BM25
    dense_only = fuse_signals(Signals(dense, lexical), RankingParams(lexical_weight=0.0))
    assert dense_only.ids.tolist() == [1, 2, 3]
    assert dense_only.fused[0] == pytest.approx(1.0)
    assert dense_only.fused[-1] == pytest.approx(0.0)
    assert dense_only.lexical_rank.tolist() == [0, 0, 1]


def test_need_signals_keep_each_patents_best_statement():
    dense = Hits(np.array([1, 2]), np.array([0.9, 0.8]))
    title = Hits(np.array([2]), np.array([0.7]))
    first = Hits(np.array([1, 2]), np.array([0.5, 0.6]), 0.4, 0.1)
    second = Hits(np.array([2, 3]), np.array([0.9, 0.3]), 0.5, 0.1)
    signals = need_signals(dense, Hits(np.zeros(0, np.int64), np.zeros(0)), [title, first, second])
    assert signals.is_need
    assert signals.title is title
    assert signals.statements is not None
    best = dict(
        zip(signals.statements.ids.tolist(), signals.statements.scores.tolist(), strict=False)
    )
    assert best == pytest.approx({1: 0.5, 2: 0.9, 3: 0.3})


def test_cross_validation_scores_each_fold_with_a_choice_made_without_it():
    folds = folds_of(10, 5)
    assert sorted(np.concatenate(folds).tolist()) == list(range(10))
    # Setting 1 is better on every query but one; the CV figure is honest about that one.
    table = np.array([[0.5] * 10, [0.9] * 9 + [0.0]])
    best, dev, cv = cross_validate(table, 5)
    assert best == 1
    assert dev == pytest.approx(0.81)
    assert cv == pytest.approx(0.81)


def test_many_needs_encode_in_one_call_with_the_same_vectors_as_one_by_one():
    from app.search.encoder import HashingEncoder
    from app.search.querying import many_query_vectors, query_vectors

    texts = [
        "锂电池极片涂布。涂层厚度不均，希望偏差小于2微米。可接受技术许可。",
        "一种风能LED路灯",
        "布袋除尘器在线监控报警。排放经常超标；希望自动报警。",
    ]
    calls: list[int] = []
    encoder = HashingEncoder(64)
    real = encoder.encode_queries
    encoder.encode_queries = lambda batch: calls.append(len(batch)) or real(batch)  # type: ignore[method-assign]
    together = many_query_vectors(encoder, texts)
    assert len(calls) == 1
    assert [v.shape[0] for v in together] == [len(vector_texts(t, parse_need(t))) for t in texts]
    for text, vectors in zip(texts, together, strict=True):
        np.testing.assert_allclose(vectors, query_vectors(HashingEncoder(64), text))
    assert many_query_vectors(encoder, []) == []
