"""A selective filter (open licence only) ranks its allowed patents directly: the same top results
as widening the pool over the whole catalog, reading only the allowed patents' rows."""

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session

from app.catalog.enums import ConversionStatus, LegalStatus, OrgKind, PatentType
from app.search.ann_params import AnnParams
from app.search.encoder import HashingEncoder
from app.search.engine import MatchEngine, MatchFilters
from app.search.filters import allowed_ids
from app.search.lexical import LexicalIndex, Tokenizer
from app.search.querying import search_patents
from app.search.ranking import RankingParams
from app.search.vector_index import VectorIndex
from tests.engine_support import add_org, add_patent, make_settings

pytest_plugins = ["tests.engine_fixtures"]

OPEN = ConversionStatus.OPEN_LICENCE
TOPICS = [
    ("锂离子电池正极材料及其制备方法", "H01M 4/58", "磷酸铁锂正极材料提高循环寿命。"),
    ("锂电池电解液添加剂", "H01M 10/0567", "提高锂电池高温性能的电解液。"),
    ("电池管理系统荷电状态估计", "H01M 10/48", "卡尔曼滤波估计锂电池荷电状态。"),
    ("智能灌溉控制系统", "A01G 25/16", "根据土壤湿度自动控制农田灌溉阀门。"),
    ("基于深度学习的图像识别方法", "G06V 10/82", "卷积神经网络识别工业图像缺陷。"),
    ("污水处理用生物膜反应器", "C02F 3/10", "生物膜降解有机污染物。"),
    ("无人机飞行控制方法", "B64C 39/02", "多旋翼无人机姿态稳定控制。"),
    ("钢筋混凝土预制构件", "E04B 1/04", "装配式建筑预制构件连接结构。"),
]
QUERIES = [
    "寻求提高锂电池正极材料循环寿命的技术",
    "农田土壤湿度自动灌溉",
    "工业图像缺陷检测的深度学习方法",
    # A need posting: title, then problem statements (several query vectors).
    "锂电池安全技术需求\n我们需要：1. 提高电解液高温性能；2. 准确估计荷电状态。",
]


def _catalog(session: Session) -> tuple[set[int], int]:
    """40 granted patents over eight topics, six of them open-licensed, one more open-licensed
    but lapsed; returns the open-licensed ids in force and the lapsed one."""
    owner = add_org(session, "杭州某大学", OrgKind.UNIVERSITY, "330106")
    granted = {
        "legal_status": LegalStatus.GRANTED,
        "patent_type": PatentType.INVENTION,
        "owner_org_id": owner,
        "expiry_date": date(2040, 1, 1),
    }
    declared: set[int] = set()
    for n in range(40):
        title, ipc, abstract = TOPICS[n % len(TOPICS)]
        status = OPEN if n in {3, 9, 12, 20, 28, 37} else ConversionStatus.IDLE
        pid = add_patent(session, f"{title}（{n}）", [ipc], abstract=f"{abstract}实施例{n}。",
                         conversion_status=status, **granted)  # fmt: skip
        if status is OPEN:
            declared.add(pid)
    lapsed = add_patent(session, "锂电池正极材料回收方法", ["H01M 4/58"], conversion_status=OPEN,
                        legal_status=LegalStatus.LAPSED, owner_org_id=owner)  # fmt: skip
    session.commit()
    return declared, lapsed


@pytest.fixture
def small_pool(session: Session, tmp_path: Path, tokenizer: Tokenizer) -> MatchEngine:
    """A hashing engine whose pool (4 per retriever, 12 for three matches) is far smaller than
    the catalog, so that widening mostly has to grow it to the whole catalog. The IPC votes come
    from the top 4, inside the pool, as in production (the top 30 of a pool of 800)."""
    params = RankingParams(pool=4, vote_depth=4)
    return MatchEngine(
        make_settings(tmp_path), HashingEncoder(), params=params, tokenizer=tokenizer
    )


@pytest.mark.parametrize("text", QUERIES)
def test_restricted_ranking_matches_the_widened_one(
    session: Session, small_pool: MatchEngine, text: str
) -> None:
    declared, lapsed = _catalog(session)
    small_pool.rebuild(session)
    filters = MatchFilters(open_licence_only=True)
    vectors = small_pool.encoder.encode_queries([text])
    ctx = small_pool._context()
    indexes = small_pool._indexes
    restricted, read, _ = search_patents(session, indexes, text, vectors, filters, 3, ctx)
    wide = replace(ctx, restrict_limit=0)  # no allowed list: the pool widens instead
    widened, read_wide, _ = search_patents(session, indexes, text, vectors, filters, 3, wide)
    assert [m.id for m in restricted] == [m.id for m in widened]
    assert len(restricted) == 3
    assert {m.id for m in restricted} <= declared
    # Only the allowed patents' rows were read (widening reads every candidate's on its way).
    assert set(read) <= declared
    assert len(read) <= len(read_wide)
    assert lapsed not in read


def test_engine_returns_every_declared_patent_in_force(
    session: Session, small_pool: MatchEngine
) -> None:
    declared, _lapsed = _catalog(session)
    small_pool.rebuild(session)
    result = small_pool.match_text(session, QUERIES[0], MatchFilters(open_licence_only=True), 10)
    assert {m.id for m in result.matches} == declared


def test_allowed_ids_follow_the_sql_side_of_the_filters(session: Session) -> None:
    declared, lapsed = _catalog(session)
    assert allowed_ids(session, MatchFilters(), 100) is None
    assert allowed_ids(session, MatchFilters(open_licence_only=True), 100) == sorted(declared)
    lapsed_only = MatchFilters(open_licence_only=True, legal_status=[LegalStatus.LAPSED])
    assert allowed_ids(session, lapsed_only, 100) == [lapsed]
    utility = MatchFilters(open_licence_only=True, patent_type=[PatentType.UTILITY_MODEL])
    assert allowed_ids(session, utility, 100) == []
    # More than the limit: the caller widens the pool instead.
    assert allowed_ids(session, MatchFilters(open_licence_only=True), 5) is None


@pytest.mark.parametrize("threshold", [1000, 4])
def test_scores_where_scores_the_selected_live_vectors_exactly(threshold: int) -> None:
    rng = np.random.default_rng(1)
    params = AnnParams(threshold=threshold)
    index = VectorIndex.create(8, model="m", params=params)
    vectors = rng.normal(size=(12, 8)).astype(np.float32)
    index.index(np.arange(100, 112), vectors)
    index.delete([104])  # a tombstone in the HNSW layout
    queries = rng.normal(size=(2, 8)).astype(np.float32)
    ids, scores = index.scores_where(queries, lambda stored: stored % 2 == 0)
    assert sorted(ids.tolist()) == [100, 102, 106, 108, 110]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    expected = q @ unit[ids - 100].T
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    none, empty = index.scores_where(queries, lambda stored: stored < 0)
    assert none.size == 0
    assert empty.shape == (2, 0)


def test_lexical_search_also_returns_the_included_documents(tokenizer: Tokenizer) -> None:
    index = LexicalIndex(tokenizer=tokenizer)
    texts = ["锂电池正极材料", "锂电池电解液", "锂电池隔膜", "锂电池外壳", "灌溉系统"]
    index.index([1, 2, 3, 4, 5], texts)
    top, _, _, _ = index.search_moments("锂电池正极材料", 1)
    assert top.tolist() == [1]
    ids, scores, _, _ = index.search_moments("锂电池正极材料", 1, np.array([4, 5]))
    # 4 shares a term and comes after the top hit; 5 shares none and stays out.
    assert ids.tolist() == [1, 4]
    assert scores[0] > scores[1] > 0
