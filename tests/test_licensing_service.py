"""Open-licence service: declare, withdraw, take a licence, list declarations."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session

from app.auth.principal import Principal, Role
from app.catalog.enums import ConversionStatus, LegalStatus, OrgKind
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.licensing import listing, service
from app.licensing.models import DeclarationStatus, LicenceKind, PatentLicence, PaymentMode
from app.licensing.schemas import LicenceNotice
from tests.licensing_support import (
    TODAY,
    World,
    lump_sum,
    make_org,
    make_patent,
    make_world,
    patent_changes,
)


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


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


def test_declare_refused_for_lapsedmake_patent(session, world):
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
    other = make_org(session, OrgKind.UNIVERSITY, "另一所大学")
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
    other = make_patent(session, world.university, "CN201910000002", ipc_main="G06F 16/33")
    third = make_patent(session, world.university, "CN201910000003")
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


def test_active_declarations_reads_each_patents_active_one(session, world):
    first = service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    service.withdraw(session, world.tto, first.id, "条款调整", TODAY)
    again = service.declare(session, world.tto, world.patent.id, lump_sum(), TODAY)
    undeclared = make_patent(session, world.university, "2023100000099")
    found = service.active_declarations(session, [world.patent.id, undeclared.id, 10**9])
    assert {p: d.id for p, d in found.items()} == {world.patent.id: again.id}
    assert found[world.patent.id] == service.active_declaration(session, world.patent.id)
    assert service.active_declarations(session, []) == {}
