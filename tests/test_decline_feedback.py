"""Structured decline reasons feed back into ranking: a patent declined as "already solved"
for a need sinks for similar needs, and only for them."""

from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

from app.deals.models import Deal
from app.deals.states import DealState, DeclineReason
from app.search.engine import MatchEngine, MatchFilters
from tests.engine_support import build_catalog

pytest_plugins = ["tests.engine_fixtures"]


def _rank(result_ids: list[int], patent_id: int) -> int:
    return result_ids.index(patent_id) if patent_id in result_ids else len(result_ids)


def test_declined_patent_sinks_for_similar_needs_only(
    session: Session, tmp_path: Path, new_matcher: Callable[..., MatchEngine]
) -> None:
    catalog = build_catalog(session)
    matcher = new_matcher(tmp_path)
    matcher.rebuild(session)
    battery_query = "寻求高循环寿命的锂电池正极材料技术，提高磷酸铁锂正极材料的循环寿命"
    before = matcher.match_text(session, battery_query, MatchFilters(), 5)
    before_ids = [m.id for m in before.matches]
    assert before_ids[0] == catalog.cathode
    before_score = before.matches[0].score

    session.add(
        Deal(
            need_id=catalog.need_battery,
            patent_id=catalog.cathode,
            requester_org_id=catalog.poster,
            owner_org_id=catalog.university,
            state=DealState.DECLINED,
            decline_reason=DeclineReason.ALREADY_SOLVED,
        )
    )
    session.flush()

    after = matcher.match_text(session, battery_query, MatchFilters(), 5)
    after_by_id = {m.id: m for m in after.matches}
    assert after_by_id[catalog.cathode].score < before_score
    assert _rank([m.id for m in after.matches], catalog.cathode) > 0

    irrigation = matcher.match_text(session, "农田智能灌溉 土壤湿度", MatchFilters(), 5)
    baseline = new_matcher(tmp_path / "fresh")
    baseline.rebuild(session)
    # An unrelated need sees the same ranking as before the decline.
    assert [m.id for m in irrigation.matches] == [
        m.id
        for m in baseline.match_text(session, "农田智能灌溉 土壤湿度", MatchFilters(), 5).matches
    ]


def test_a_penalty_applies_before_the_cut_so_a_penalised_patent_can_leave_the_results(
    session, tmp_path, tokenizer
):
    from app.search.encoder import HashingEncoder
    from app.search.engine import MatchEngine, MatchFilters
    from tests.engine_support import build_catalog, make_settings

    catalog = build_catalog(session)
    plain = MatchEngine(make_settings(tmp_path / "a"), HashingEncoder(256), tokenizer=tokenizer)
    plain.rebuild(session)
    top = plain.match_need(session, catalog.need_battery, MatchFilters(), 1).matches[0].id

    def sink_top(session, patent_ids, query_text):
        assert top in patent_ids  # the whole pool is offered, not just the k results
        return {top: 0.99}

    settings = make_settings(tmp_path / "b")
    fed = MatchEngine(settings, HashingEncoder(256), tokenizer=tokenizer, penalties=sink_top)
    fed.rebuild(session)
    result = fed.match_need(session, catalog.need_battery, MatchFilters(), 1)
    assert [m.id for m in result.matches] != [top]
