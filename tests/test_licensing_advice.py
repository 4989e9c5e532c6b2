"""Open-licence candidates for a need and declaration advice, on a fixed matcher."""

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from app.catalog.enums import LegalStatus, NeedStatus
from app.errors import Forbidden, NotFound
from app.licensing import service
from app.licensing.advice import (
    AdviceParams,
    IdlePatent,
    declaration_advice,
    open_licence_candidates,
    score_patent,
)
from app.licensing.models import PaymentMode
from tests.licensing_support import (
    TODAY,
    FixedMatcher,
    Hit,
    World,
    lump_sum,
    make_need,
    make_patent,
    make_world,
)


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def test_candidates_have_terms_and_fee_estimates(session, world):
    royalty_patent = make_patent(session, world.university, "CN201910000004")
    service.declare(session, world.tto, world.patent.id, lump_sum(fee=800_000), TODAY)
    royalty = lump_sum().model_copy(
        update={
            "payment_mode": PaymentMode.SALES_ROYALTY,
            "fee_yuan": None,
            "royalty_rate_percent": Decimal("5"),
        }
    )
    service.declare(session, world.tto, royalty_patent.id, royalty, TODAY)
    need = make_need(session, world.enterprise, budget_min=100_000, budget_max=500_000)
    stale = make_patent(session, world.university, "CN201910000005")  # not declared: index lag
    matcher = FixedMatcher(
        patents=[
            Hit(world.patent.id, 0.9, 0.8),
            Hit(royalty_patent.id, 0.7, 0.6),
            Hit(stale.id, 0.5, 0.4),
        ]
    )
    result = open_licence_candidates(session, matcher, world.buyer, need.id, k=10)
    assert matcher.filters[0].open_licence_only is True
    by_patent = {c.declaration.patent_id: c for c in result.candidates}
    assert set(by_patent) == {world.patent.id, royalty_patent.id}
    fixed = by_patent[world.patent.id].fee
    assert (fixed.amount_yuan, fixed.is_estimate, fixed.fits_budget) == (800_000, False, False)
    estimate = by_patent[royalty_patent.id].fee
    # 5% of assumed annual net sales of 10 × ¥500,000.
    assert (estimate.amount_yuan, estimate.is_estimate, estimate.fits_budget) == (
        250_000,
        True,
        True,
    )
    assert "assumes annual net sales of ¥5,000,000" in (estimate.assumption or "")


def test_candidates_hide_other_organisations_drafts(session, world):
    need = make_need(session, world.enterprise)
    need.status = NeedStatus.DRAFT
    with pytest.raises(NotFound):
        open_licence_candidates(session, FixedMatcher(), world.tto, need.id)
    assert open_licence_candidates(session, FixedMatcher(), world.buyer, need.id).no_good_match


def test_advice_ranks_idle_patents_by_demand_with_reasons(session, world):
    old_idle = make_patent(session, world.university, "CN201510000001", grant_date=date(2016, 1, 1))
    short = make_patent(session, world.university, "CN201510000002", expiry_date=date(2028, 1, 1))
    recent = make_patent(session, world.university, "CN202610000001", grant_date=date(2026, 6, 1))
    lapsed = make_patent(
        session, world.university, "CN201510000003", legal_status=LegalStatus.LAPSED
    )
    need = make_need(session, world.enterprise)
    draft = make_need(session, world.enterprise)
    draft.status = NeedStatus.DRAFT
    matcher = FixedMatcher(
        needs={
            world.patent.id: [Hit(need.id, 0.9, 0.85), Hit(draft.id, 0.9, 0.9)],
            old_idle.id: [Hit(need.id, 0.5, 0.3)],  # below the confidence threshold
        }
    )
    advice = declaration_advice(
        session, matcher, world.tto, world.university.id, AdviceParams(), TODAY
    )
    ranked = [item.patent_id for item in advice.items]
    assert ranked == [world.patent.id, old_idle.id]
    assert not {short.id, recent.id, lapsed.id} & set(ranked)
    top = advice.items[0]
    assert (top.matching_needs, top.need_ids, top.best_confidence) == (1, [need.id], 0.85)
    assert any("idle for 7.6 years" in r for r in top.reasons)
    assert any("1 published needs match" in r for r in top.reasons)
    assert advice.items[1].matching_needs == 0
    looser = declaration_advice(
        session, matcher, world.tto, world.university.id, AdviceParams(min_remaining_years=1), TODAY
    )
    assert short.id in [item.patent_id for item in looser.items]


def test_advice_is_for_the_organisations_own_tto(session, world):
    with pytest.raises(Forbidden):
        declaration_advice(session, FixedMatcher(), world.buyer, world.university.id, today=TODAY)
    with pytest.raises(NotFound):
        declaration_advice(session, FixedMatcher(), world.tto, 999_999, today=TODAY)


def test_advice_score_is_the_stated_weighted_sum():
    patent = IdlePatent(1, "t", None, date(2021, 11, 25), date(2031, 11, 25))
    demand = [(7, 0.9), (8, 0.6)]
    item = score_patent(patent, demand, AdviceParams(), TODAY)
    # demand 1.5/3 = 0.5, idle 5.0/5 = 1.0 (capped), term 5.0/10 = 0.5.
    assert item.score == pytest.approx(0.5 * 0.5 + 0.3 * 1.0 + 0.2 * 0.5, abs=0.002)
    assert (item.matching_needs, item.need_ids, item.best_confidence) == (2, [7, 8], 0.9)
    assert item.reasons[-1].startswith(f"score {item.score:.3f} = 0.5×demand 0.50")
    none = score_patent(patent, [], AdviceParams(), TODAY)
    assert none.score < item.score
    assert "0 published needs match" in none.reasons[2]
