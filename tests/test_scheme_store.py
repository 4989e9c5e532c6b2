"""The CNIPA scheme evidence in the engine: built at rebuild, saved, reused, used per query."""

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from app.catalog.enums import LegalStatus, NeedStatus, OrgKind
from app.catalog.models import Patent
from app.search import store
from app.search.encoder import HashingEncoder
from app.search.engine import MatchEngine, MatchFilters, StageTimer
from app.search.lexical import Tokenizer
from app.search.ranking import RankingParams
from app.search.scheme_store import load_scheme
from tests.engine_support import add_need, add_org, add_patent, make_settings, write_scheme

pytest_plugins = ["tests.engine_fixtures"]

SCHEME = [
    ("F03D", "subclass", "风力发动机"),
    ("F03D80/00", "main_group", "风力发动机的零部件、构件或附件，例如叶片除冰"),
    ("C09D", "subclass", "涂料组合物，例如色漆、清漆或天然漆"),
    ("C09D5/00", "main_group", "以物理性质或所产生的效果为特征的涂料组合物，例如防冰涂层"),
    ("H01M", "subclass", "用于直接转变化学能为电能的方法或装置，例如电池组"),
    ("H01M4/00", "main_group", "电极"),
    ("H01M10/00", "main_group", "二次电池及其制造"),
]
BATTERY_TITLES = [
    "锂离子电池正极材料及其制备方法",
    "锂电池负极材料的涂层方法",
    "电池隔膜涂层及锂电池",
    "固态电池电解质层",
    "锂电池电解液添加剂",
    "动力电池模组的热管理结构",
    "电池极片涂布装置",
    "钠离子电池正极材料",
    "锂电池叶片式电极结构",
    "电池电极的表面涂层",
    "磷酸铁锂电池的制备方法",
    "电池包的除湿结构",
]
TARGET = "海上风电叶片除冰涂层"


class CountingEncoder(HashingEncoder):
    """A hashing encoder that counts the documents it encodes."""

    def __init__(self, dim: int = 256) -> None:
        super().__init__(dim)
        self.documents = 0

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents += len(texts)
        return super().encode_documents(texts)


def _engine(
    tmp_path: Path, tokenizer: Tokenizer, *, params: RankingParams | None = None, dim: int = 256
) -> MatchEngine:
    settings = make_settings(tmp_path)
    return MatchEngine(settings, CountingEncoder(dim), params=params, tokenizer=tokenizer)


def _skewed_catalog(session: Session) -> tuple[int, int]:
    """Twelve battery (H01M) patents, the one wind-blade de-icing patent, and a need for it."""
    for title in BATTERY_TITLES:
        add_patent(session, title, ["H01M 4/00"], legal_status=LegalStatus.GRANTED)
    target = add_patent(
        session, TARGET, ["F03D 80/40", "C09D 5/00"], legal_status=LegalStatus.GRANTED
    )
    org = add_org(session, "某风电企业", OrgKind.ENTERPRISE, "320500")
    need = add_need(session, org, TARGET, "", NeedStatus.PUBLISHED)
    session.commit()
    return target, need


def test_skewed_catalog_keeps_the_exact_title_first(
    session: Session, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    write_scheme(tmp_path / "shared", SCHEME)
    target, need = _skewed_catalog(session)
    matcher = _engine(tmp_path, tokenizer)
    matcher.rebuild(session)
    result = matcher.match_need(session, need, MatchFilters(), 5)
    best = result.matches[0]
    assert best.id == target
    assert (best.explanation.dense_rank, best.explanation.lexical_rank) == (1, 1)
    # The z-scored text fusion keeps it first even without the guard: the neighbours' votes
    # weigh by how far ahead each is, so the exact title's own subclasses count most.
    unguarded = _engine(tmp_path, tokenizer, params=RankingParams(consensus_first=False))
    unguarded.load()
    assert unguarded.match_need(session, need, MatchFilters(), 5).matches[0].id == target


def test_without_a_scheme_the_engine_still_matches(
    session: Session, tmp_path: Path, tokenizer: Tokenizer, caplog: pytest.LogCaptureFixture
) -> None:
    _skewed_catalog(session)
    matcher = _engine(tmp_path, tokenizer)
    with caplog.at_level(logging.WARNING):
        manifest = matcher.rebuild(session)
    assert manifest.scheme == ""
    assert "not found: ranking without the scheme-title evidence" in caplog.text
    assert matcher.match_text(session, "锂电池正极材料", MatchFilters(), 3).matches


def test_rebuild_saves_the_prior_and_reuses_it_while_file_and_model_are_unchanged(
    session: Session, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    csv = write_scheme(tmp_path / "shared", SCHEME)
    _skewed_catalog(session)
    matcher = _engine(tmp_path, tokenizer)
    first = matcher.rebuild(session)
    assert first.scheme.startswith("scheme-")
    assert (tmp_path / "index" / first.scheme).is_file()
    encoder = matcher.encoder
    assert isinstance(encoder, CountingEncoder)
    catalog_docs = encoder.documents - len(SCHEME)
    encoder.documents = 0
    assert matcher.rebuild(session).scheme == first.scheme
    assert encoder.documents == catalog_docs  # the scheme titles were not encoded again
    csv.write_text(csv.read_text(encoding="utf-8") + "C09D7/00,main_group,涂料的特征\n", "utf-8")
    changed = matcher.rebuild(session)
    assert changed.scheme != first.scheme
    matcher.save()  # two saves later only the current prior is left
    assert sorted(p.name for p in (tmp_path / "index").glob("scheme-*")) == [changed.scheme]


def test_reload_checks_the_prior_and_serves_without_a_missing_one(
    session: Session, tmp_path: Path, tokenizer: Tokenizer, caplog: pytest.LogCaptureFixture
) -> None:
    write_scheme(tmp_path / "shared", SCHEME)
    target, need = _skewed_catalog(session)
    manifest = _engine(tmp_path, tokenizer).rebuild(session)
    reloaded = _engine(tmp_path, tokenizer)
    reloaded.load()
    assert reloaded.match_need(session, need, MatchFilters(), 3).matches[0].id == target
    (tmp_path / "index" / manifest.scheme).unlink()
    blind = _engine(tmp_path, tokenizer)
    with caplog.at_level(logging.WARNING):
        blind.load()
    assert "patentmatch index rebuild" in caplog.text
    assert blind.match_need(session, need, MatchFilters(), 3).matches  # degraded, not broken


def test_an_index_saved_before_the_prior_existed_still_loads(
    session: Session, tmp_path: Path, tokenizer: Tokenizer, caplog: pytest.LogCaptureFixture
) -> None:
    _skewed_catalog(session)
    _engine(tmp_path, tokenizer).rebuild(session)
    path = tmp_path / "index" / store.ENGINE_MANIFEST
    # Manifests of earlier versions have no "scheme" key at all.
    saved = json.loads(path.read_text(encoding="utf-8"))
    del saved["scheme"]
    path.write_text(json.dumps(saved), encoding="utf-8")
    old = _engine(tmp_path, tokenizer)
    with caplog.at_level(logging.WARNING):
        old.load()
    assert "no IPC scheme prior" in caplog.text
    assert old.stats()["patents"] == len(BATTERY_TITLES) + 1


def test_prior_of_another_model_or_dimension_is_not_used(
    session: Session, tmp_path: Path, tokenizer: Tokenizer, caplog: pytest.LogCaptureFixture
) -> None:
    write_scheme(tmp_path / "shared", SCHEME)
    _skewed_catalog(session)
    manifest = _engine(tmp_path, tokenizer).rebuild(session)
    index_dir = tmp_path / "index"
    with caplog.at_level(logging.WARNING):
        assert load_scheme(index_dir, manifest.scheme, "hashing", 128) is None
        assert load_scheme(index_dir, manifest.scheme, "m3e-small", 256) is None
    assert "not 128-dimensional" in caplog.text
    assert "built with 'hashing'" in caplog.text
    # Another dimension is another file: the two engines never share a prior.
    narrow = _engine(tmp_path, tokenizer, dim=128)
    assert narrow.rebuild(session).scheme != manifest.scheme
    indexes = store.load_indexes(index_dir, "hashing", 128, narrow._ann, tokenizer)
    assert indexes.scheme is not None
    assert indexes.scheme.vectors.shape[1] == 128


def test_scheme_evidence_is_a_timed_stage_and_names_the_field(
    session: Session, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    write_scheme(tmp_path / "shared", SCHEME)
    _skewed_catalog(session)
    # The packaged ranking gives the scheme no share; this checks the evidence itself.
    matcher = _engine(tmp_path, tokenizer, params=RankingParams())
    matcher.rebuild(session)
    timer = StageTimer()
    result = matcher.match_text(session, "风力发动机叶片除冰", MatchFilters(), 3, timer=timer)
    assert "scheme" in timer.seconds
    assert "F03D" in result.matches[0].explanation.inferred_ipc


def test_the_engine_ranks_like_eval_on_the_same_documents(
    session: Session, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    from app.search.evaldata import EvalCorpus
    from app.search.evaluate import build_index, rank_queries
    from app.search.tuned import load_ranking_params

    csv = write_scheme(tmp_path / "shared", SCHEME)
    _skewed_catalog(session)
    matcher = _engine(tmp_path, tokenizer)
    matcher.rebuild(session)
    titles = [*BATTERY_TITLES, TARGET]
    ipc = [["H01M"]] * len(BATTERY_TITLES) + [["F03D", "C09D"]]
    corpus = EvalCorpus([str(i) for i in range(len(titles))], titles, ipc, digest="test")
    index = build_index(corpus, matcher.encoder, cache_dir=None, scheme_path=csv)
    title_of = {p.id: p.title for p in session.exec(select(Patent))}
    need = "风电叶片结冰。海上风电场冬季叶片结冰停机，希望找到叶片除冰涂层。可接受技术转让。"
    for query in ["风电叶片涂层", "锂电池正极", "电池涂层", TARGET, need]:
        evaluated = rank_queries(index, [query], load_ranking_params())[0]
        served = matcher.match_text(session, query, MatchFilters(), len(titles))
        assert [title_of[m.id] for m in served.matches] == [titles[i] for i in evaluated.ids]
        assert served.matches[0].score == pytest.approx(float(evaluated.scores[0]))
        assert served.matches[0].explanation.inferred_ipc == evaluated.inferred


@pytest.mark.slow
def test_real_e5_with_the_real_scheme_on_the_skewed_catalog(
    session: Session, tmp_path: Path, shared_dir: Path, tokenizer: Tokenizer
) -> None:
    from app.search.encoder import load_encoder

    repo = Path(__file__).resolve().parents[1]
    # var_dir = the repo's: the scheme title vectors `eval` cached there are reused.
    settings = make_settings(
        tmp_path,
        model_name="multilingual-e5-small",
        models_dir=repo / "models",
        shared_dir=shared_dir,
        var_dir=repo / "var",
    )
    target, need = _skewed_catalog(session)
    matcher = MatchEngine(settings, load_encoder(settings), tokenizer=tokenizer)
    assert matcher.rebuild(session).scheme
    result = matcher.match_need(session, need, MatchFilters(), 5)
    best = result.matches[0]
    assert best.id == target
    assert (best.explanation.dense_rank, best.explanation.lexical_rank) == (1, 1)


def test_explanations_name_the_problem_answered_and_the_subclass_in_chinese(
    session: Session, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    write_scheme(tmp_path / "shared", SCHEME)
    _skewed_catalog(session)
    org = add_org(session, "某风电运维公司", OrgKind.ENTERPRISE, "320500")
    description = (
        "我们运维海上风电场，冬季叶片结冰导致停机。希望找到风电叶片除冰涂层。可接受技术转让。"
    )
    need = add_need(session, org, "风机叶片冬季结冰", description, NeedStatus.PUBLISHED)
    session.commit()
    matcher = _engine(tmp_path, tokenizer, params=RankingParams())
    matcher.rebuild(session)
    result = matcher.match_need(session, need, MatchFilters(), 3)
    statements = ("我们运维海上风电场，冬季叶片结冰导致停机", "希望找到风电叶片除冰涂层")
    for match in result.matches:
        assert match.explanation.answers in statements
        assert set(match.explanation.ipc_labels) == set(match.explanation.shared_ipc)
    labelled = [m for m in result.matches if "F03D" in m.explanation.ipc_labels]
    assert labelled
    assert labelled[0].explanation.ipc_labels["F03D"] == "风力发动机"
    # The engine hands back the rows it read: routes do not query them again.
    assert {m.id for m in result.matches} == set(result.rows)
