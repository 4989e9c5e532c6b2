"""Open-licence service: declare, withdraw, take a licence, list, candidates and advice."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from app.api.principal import Principal, Role
from app.catalog.enums import (
    ChangeOp,
    ConversionStatus,
    EntityKind,
    LegalStatus,
    NeedStatus,
    OrgKind,
)
from app.catalog.models import IndexChange, Organisation, Patent, TechNeed
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.licensing import listing, service
from app.licensing.advice import AdviceParams, declaration_advice, open_licence_candidates
from app.licensing.models import DeclarationStatus, LicenceKind, PatentLicence, PaymentMode
from app.licensing.schemas import DeclarationCreate, LicenceNotice

TODAY = date(2026, 11, 25)


@dataclass
class World:
    university: Organisation
    enterprise: Organisation
    patent: Patent
    tto: Principal
    buyer: Principal


def _org(session: Session, kind: OrgKind, name: str) -> Organisation:
    org = Organisation(kind=kind, name=name)
    session.add(org)
    session.flush()
    return org


def _patent(session: Session, owner: Organisation, key: str, **kw: Any) -> Patent:
    values: dict[str, Any] = {
        "natural_key": key,
        "title": f"一种锂电池负极材料 {key}",
        "legal_status": LegalStatus.GRANTED,
        "grant_date": date(2019, 5, 1),
        "expiry_date": date(2036, 3, 1),
        "ipc_main": "H01M 4/36",
        "ipc_codes": ["H01M 4/36"],
        "owner_org_id": owner.id,
    }
    values.update(kw)
    patent = Patent(**values)
    session.add(patent)
    session.flush()
    return patent


@pytest.fixture
def world(session: Session) -> World:
    university = _org(session, OrgKind.UNIVERSITY, "浙江某大学")
    enterprise = _org(session, OrgKind.ENTERPRISE, "杭州某电池有限公司")
    patent = _patent(session, university, "CN201910000001")
    return World(
        university,
        enterprise,
        patent,
        Principal(key_id=1, org_id=university.id, role=Role.TTO),
        Principal(key_id=2, org_id=enterprise.id, role=Role.ENTERPRISE),
    )


def lump_sum(fee: int = 50_000, years: int = 3) -> DeclarationCreate:
    return DeclarationCreate(
        payment_mode=PaymentMode.LUMP_SUM,
        fee_yuan=fee,
        term_years=years,
        contact_name="王老师",
        contact_email="tto@example.edu.cn",
    )


def patent_changes(session: Session, patent_id: int) -> int:
    stmt = select(IndexChange).where(
        IndexChange.entity == EntityKind.PATENT,
        IndexChange.entity_id == patent_id,
        IndexChange.op == ChangeOp.UPSERT,
    )
    return len(session.exec(stmt).all())


def test_declare_sets_open_licence_and_records_change(session, world):
    before = patent_changes(session, world.patent.id)
    declaration = service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    assert declaration.id is not None
    assert declaration.status is DeclarationStatus.ACTIVE
    assert world.patent.conversion_status is ConversionStatus.OPEN_LICENCE
    assert patent_changes(session, world.patent.id) == before + 1


def test_royalty_rate_is_stored_exactly(session, world):
    request = lump_sum().model_copy(
        update={
            "payment_mode": PaymentMode.SALES_ROYALTY,
            "fee_yuan": None,
            "royalty_rate_percent": Decimal("20"),
        }
    )
    declaration = service.declare(session, world.tto, world.patent.id, request, TODAY)
    assert declaration.royalty_rate_bp == 2000


def test_second_active_declaration_conflicts(session, world):
    service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    with pytest.raises(Conflict, match="already has an active"):
        service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)


def test_declare_reports_every_broken_rule(session, world):
    bad = lump_sum(fee=20_000_001, years=20).model_copy(update={"contact_email": None})
    with pytest.raises(ValidationFailed) as caught:
        service.declare(session, world.tto, world.patent.id, bad, TODAY)
    fields = {e["field"] for e in caught.value.extra["errors"]}
    assert fields == {"fee_yuan", "term_years", "contact_phone"}
    assert world.patent.conversion_status is ConversionStatus.IDLE


def test_declare_refused_for_lapsed_patent(session, world):
    world.patent.legal_status = LegalStatus.LAPSED
    with pytest.raises(ValidationFailed) as caught:
        service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    assert caught.value.extra["errors"][0]["field"] == "patent"


@pytest.mark.parametrize(
    ("kind", "end", "blocked"),
    [
        (LicenceKind.EXCLUSIVE, date(2030, 1, 1), True),
        (LicenceKind.SOLE, TODAY, True),
        (LicenceKind.EXCLUSIVE, date(2026, 11, 24), False),
        (LicenceKind.ORDINARY, date(2030, 1, 1), False),
    ],
)
def test_exclusive_or_sole_licence_blocks(session, world, kind, end, blocked):
    session.add(
        PatentLicence(
            patent_id=world.patent.id,
            kind=kind,
            licensee_org_id=world.enterprise.id,
            start_date=date(2025, 1, 1),
            end_date=end,
        )
    )
    session.flush()
    if blocked:
        with pytest.raises(Conflict, match=kind.value):
            service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    else:
        assert service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY).id


def test_only_the_owners_tto_or_admin_may_declare(session, world):
    other = _org(session, OrgKind.UNIVERSITY, "另一所大学")
    stranger = Principal(key_id=3, org_id=other.id, role=Role.TTO)
    for principal in (stranger, world.buyer, Principal(4, world.university.id, Role.STATION)):
        with pytest.raises(Forbidden):
            service.declare(session, principal, world.patent.id, lump_sum(), TODAY)
    admin = Principal(key_id=5, org_id=None, role=Role.ADMIN)
    assert service.declare(session, admin, world.patent.id, lump_sum(), TODAY).id
    with pytest.raises(NotFound):
        service.declare(session, admin, 999_999, lump_sum(), TODAY)


def test_take_licence_records_open_licence_with_declared_terms(session, world):
    declaration = service.declare(session, world.tto, world.patent.id, lump_sum(years=3), TODAY)
    notice = LicenceNotice(intended_use="动力电池负极量产", start_date=date(2027, 1, 1))
    licence = service.take_licence(session, world.buyer, declaration.id, notice, TODAY)
    assert licence.kind is LicenceKind.OPEN
    assert licence.licensee_org_id == world.enterprise.id
    assert (licence.start_date, licence.end_date) == (date(2027, 1, 1), date(2030, 1, 1))
    assert (licence.payment_mode, licence.fee_yuan) == (PaymentMode.LUMP_SUM, 50_000)
    assert licence.declaration_id == declaration.id
    assert declaration.licence_count == 1
    assert world.patent.conversion_status is ConversionStatus.OPEN_LICENCE
    with pytest.raises(Conflict, match="already holds"):
        service.take_licence(session, world.buyer, declaration.id, notice, TODAY)


def test_take_licence_refusals(session, world):
    declaration = service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    notice = LicenceNotice(intended_use="试产")
    for role in (Role.TTO, Role.STATION, Role.ADMIN):
        with pytest.raises(Forbidden):
            service.take_licence(
                session, Principal(9, world.enterprise.id, role), declaration.id, notice, TODAY
            )
    past = LicenceNotice(intended_use="试产", start_date=date(2020, 1, 1))
    with pytest.raises(ValidationFailed):
        service.take_licence(session, world.buyer, declaration.id, past, TODAY)
    service.withdraw(session, world.tto, declaration.id, "转为独占许可谈判", TODAY)
    with pytest.raises(Conflict, match="withdrawn"):
        service.take_licence(session, world.buyer, declaration.id, notice, TODAY)


def test_withdraw_keeps_licences_and_sets_status(session, world):
    declaration = service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    service.take_licence(
        session, world.buyer, declaration.id, LicenceNotice(intended_use="量产"), TODAY
    )
    withdrawn = service.withdraw(session, world.tto, declaration.id, " 技术路线调整 ", TODAY)
    assert withdrawn.status is DeclarationStatus.WITHDRAWN
    assert withdrawn.withdrawn_at is not None
    assert withdrawn.withdrawal_reason == "技术路线调整"
    assert world.patent.conversion_status is ConversionStatus.LICENSED
    assert len(service.active_licences(session, world.patent.id, TODAY)) == 1
    with pytest.raises(Conflict):
        service.withdraw(session, world.tto, declaration.id, "again", TODAY)
    # A new declaration is allowed once the old one is withdrawn.
    assert service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY).id


def test_withdraw_without_licences_goes_back_to_idle(session, world):
    declaration = service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    with pytest.raises(Forbidden):
        service.withdraw(session, world.buyer, declaration.id, "no", TODAY)
    service.withdraw(session, world.tto, declaration.id, "专利权转让", TODAY)
    assert world.patent.conversion_status is ConversionStatus.IDLE


def test_list_filters_and_pages(session, world):
    other = _patent(session, world.university, "CN201910000002", ipc_main="G06F 16/33")
    third = _patent(session, world.university, "CN201910000003")
    first = service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    royalty = lump_sum().model_copy(
        update={
            "payment_mode": PaymentMode.PROFIT_ROYALTY,
            "fee_yuan": None,
            "royalty_rate_percent": Decimal("30"),
        }
    )
    second = service.declare(session, world.tto, other.id, royalty, TODAY)
    gone = service.declare(session, world.tto, third.id, lump_sum(), TODAY)
    service.withdraw(session, world.tto, gone.id, "撤回", TODAY)

    def ids(**kw: Any) -> list[int]:
        rows, _ = listing.list_declarations(session, listing.DeclarationQuery(**kw))
        return [d.id for d, _ in rows]

    assert ids() == [second.id, first.id]
    assert ids(ipc_prefix="h01m") == [first.id]
    assert ids(ipc_prefix="G06F16") == [second.id]
    assert ids(payment_mode=PaymentMode.PROFIT_ROYALTY) == [second.id]
    assert ids(status=DeclarationStatus.WITHDRAWN) == [gone.id]
    assert ids(status=None) == [gone.id, second.id, first.id]
    page, cursor = listing.list_declarations(session, listing.DeclarationQuery(limit=1))
    assert [d.id for d, _ in page] == [second.id]
    assert cursor
    rest, end = listing.list_declarations(session, listing.DeclarationQuery(cursor=cursor, limit=1))
    assert [d.id for d, _ in rest] == [first.id]
    assert end is None
    with pytest.raises(ValidationFailed):
        ids(ipc_prefix="H01M%")


@dataclass
class Hit:
    id: int
    score: float
    confidence: float


@dataclass
class Result:
    matches: list[Hit]
    no_good_match: bool = False


@dataclass
class FixedMatcher:
    """Returns preset matches, and records the filters it was asked with."""

    patents: list[Hit] = field(default_factory=list)
    needs: dict[int, list[Hit]] = field(default_factory=dict)
    filters: list[Any] = field(default_factory=list)

    def match_need(self, session: Session, need_id: int, filters: Any, k: int) -> Result:
        self.filters.append(filters)
        return Result(self.patents[:k])

    def match_patent(self, session: Session, patent_id: int, k: int) -> Result:
        return Result(self.needs.get(patent_id, [])[:k])


def _need(session: Session, org: Organisation, **kw: Any) -> TechNeed:
    need = TechNeed(org_id=org.id, title="动力电池负极材料", status=NeedStatus.PUBLISHED, **kw)
    session.add(need)
    session.flush()
    return need


def test_candidates_have_terms_and_fee_estimates(session, world):
    royalty_patent = _patent(session, world.university, "CN201910000004")
    service.declare(session, world.tto, world.patent.id, lump_sum(fee=800_000), TODAY)
    royalty = lump_sum().model_copy(
        update={
            "payment_mode": PaymentMode.SALES_ROYALTY,
            "fee_yuan": None,
            "royalty_rate_percent": Decimal("5"),
        }
    )
    service.declare(session, world.tto, royalty_patent.id, royalty, TODAY)
    need = _need(session, world.enterprise, budget_min=100_000, budget_max=500_000)
    stale = _patent(session, world.university, "CN201910000005")  # not declared: index lag
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
    need = _need(session, world.enterprise)
    need.status = NeedStatus.DRAFT
    with pytest.raises(NotFound):
        open_licence_candidates(session, FixedMatcher(), world.tto, need.id)
    assert open_licence_candidates(session, FixedMatcher(), world.buyer, need.id).no_good_match


def test_advice_ranks_idle_patents_by_demand_with_reasons(session, world):
    old_idle = _patent(session, world.university, "CN201510000001", grant_date=date(2016, 1, 1))
    short = _patent(session, world.university, "CN201510000002", expiry_date=date(2028, 1, 1))
    recent = _patent(session, world.university, "CN202610000001", grant_date=date(2026, 6, 1))
    lapsed = _patent(session, world.university, "CN201510000003", legal_status=LegalStatus.LAPSED)
    need = _need(session, world.enterprise)
    draft = _need(session, world.enterprise)
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
    from app.licensing.advice import IdlePatent, score_patent

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
