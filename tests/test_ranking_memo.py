"""The ranking memo: repeated queries get what recomputing gives; any index change invalidates."""

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from sqlmodel import Session

from app.catalog.enums import LegalStatus
from app.catalog.models import Patent, TechNeed
from app.search.engine import MatchEngine, MatchFilters, MatchResult
from app.search.memo import LruMemo
from tests.engine_support import Catalog, add_patent, touch

pytest_plugins = ["tests.engine_fixtures"]


def _plain(result: MatchResult) -> list[tuple[object, ...]]:
    return [(m.id, m.score, m.confidence, asdict(m.explanation)) for m in result.matches]


def _need(matcher: MatchEngine, session: Session, need_id: int) -> MatchResult:
    return matcher.match_need(session, need_id, MatchFilters(), 5)


def test_lru_memo_drops_the_least_recently_used() -> None:
    memo: LruMemo[int] = LruMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "b" is now the least recently used
    memo.put("c", 3)
    assert (memo.get("b"), memo.get("a"), memo.get("c")) == (None, 1, 3)
    memo.clear()
    assert len(memo) == 0
    assert memo.get("a") is None
    off: LruMemo[int] = LruMemo(0)
    off.put("a", 1)
    assert off.get("a") is None


def test_a_repeated_need_is_served_from_the_memo_with_identical_results(
    matcher: MatchEngine, session: Session, catalog: Catalog, tmp_path: Path,
    new_matcher: Callable[..., MatchEngine],
) -> None:  # fmt: skip
    first = _need(matcher, session, catalog.need_battery)
    memo = matcher._indexes.rankings
    hits = memo.hits
    again = _need(matcher, session, catalog.need_battery)
    assert memo.hits == hits + 1
    assert _plain(again) == _plain(first)
    # An engine without the memo ranks the same.
    plain = new_matcher(tmp_path / "off", match_memo_size=0)
    plain.rebuild(session)
    assert _plain(_need(plain, session, catalog.need_battery)) == _plain(first)
    assert len(plain._indexes.rankings) == 0


def test_a_replayed_patent_write_invalidates_the_memo(
    matcher: MatchEngine, session: Session, catalog: Catalog
) -> None:
    before = _need(matcher, session, catalog.need_battery)
    version = matcher._indexes.version
    new = add_patent(
        session, "一种高循环寿命磷酸铁锂正极材料的制备方法", ["H01M 4/58"],
        abstract="提高锂电池正极材料的循环寿命。", legal_status=LegalStatus.GRANTED,
    )  # fmt: skip
    session.commit()
    assert matcher.sync(session) == 1
    assert matcher._indexes.version > version
    assert len(matcher._indexes.rankings) == 0
    after = _need(matcher, session, catalog.need_battery)
    assert new in [m.id for m in after.matches]
    assert new not in [m.id for m in before.matches]


def test_an_edited_need_is_ranked_on_its_new_text(
    matcher: MatchEngine, session: Session, catalog: Catalog
) -> None:
    _need(matcher, session, catalog.need_battery)
    need = session.get(TechNeed, catalog.need_battery)
    assert need is not None
    touch(session, need, title="农田智能灌溉控制", description="需要土壤湿度自动灌溉阀门控制。")
    session.commit()
    matcher.sync(session)
    top = _need(matcher, session, catalog.need_battery).matches[0]
    assert top.id == catalog.irrigation


def test_rows_and_filters_are_read_fresh_on_a_memo_hit(
    matcher: MatchEngine, session: Session, catalog: Catalog
) -> None:
    assert catalog.cathode in [m.id for m in _need(matcher, session, catalog.need_battery).matches]
    patent = session.get(Patent, catalog.cathode)
    assert patent is not None
    # Committed but not replayed yet: the ranking is memoised, the filter reads the row.
    patent.legal_status = LegalStatus.LAPSED
    session.add(patent)
    session.commit()
    granted = MatchFilters(legal_status=[LegalStatus.GRANTED])
    result = matcher.match_need(session, catalog.need_battery, granted, 5)
    assert catalog.cathode not in [m.id for m in result.matches]


def test_a_repeated_free_text_is_encoded_once(matcher: MatchEngine, session: Session) -> None:
    calls: list[list[str]] = []
    encode = matcher.encoder.encode_queries

    def counting(texts: list[str]):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        return encode(texts)

    matcher.encoder.encode_queries = counting  # type: ignore[method-assign]
    text = "锂电池正极材料循环寿命"
    first = matcher.match_text(session, text, MatchFilters(), 5)
    again = matcher.match_text(session, text, MatchFilters(), 5)
    assert len(calls) == 1
    assert _plain(again) == _plain(first)
    matcher.match_text(session, "农田智能灌溉", MatchFilters(), 5)
    assert len(calls) == 2
