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
