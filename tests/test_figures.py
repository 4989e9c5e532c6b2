"""Key figures: grouping of patent-side and deal-side figures, conversion rate, CSV export."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from app.catalog.enums import ConversionStatus, LegalStatus
from app.catalog.models import Patent
from app.deals.figures import GroupBy, compute_figures, figures_csv
from app.deals.models import ContractType, Deal, DealContract
from app.deals.states import DealState
from app.licensing.models import LicenceKind, PatentLicence, PaymentMode
from app.licensing.schemas import DeclarationCreate
from app.licensing.service import declare
from tests.deals_support import World, build_world

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(session: Session) -> World:
    """The base world plus a second, lapsed patent, three deals, a contract and a licence."""
    world = build_world(session)
    lapsed = Patent(
        natural_key="lapsed-1", title="过期专利", ipc_codes=["A01B 1/00"], ipc_main="A01B 1/00",
        legal_status=LegalStatus.LAPSED, owner_org_id=world.university.id,
        created_at=datetime(2026, 1, 5, tzinfo=UTC),
    )  # fmt: skip
    world.patent.created_at = datetime(2026, 2, 1, tzinfo=UTC)
    session.add_all([lapsed, world.patent])
    base = {"requester_org_id": world.enterprise.id, "owner_org_id": world.university.id}
    deals = [
        Deal(**base, patent_id=world.patent.id, need_id=world.need.id, region="320500",
             industry_code="3841", state=DealState.CLOSED, created_at=NOW),
        Deal(**base, patent_id=world.patent.id, region="320500", state=DealState.NEGOTIATING,
             created_at=NOW),
        Deal(**base, region="110105", industry_code="C2710", state=DealState.DECLINED,
             created_at=datetime(2026, 2, 10, tzinfo=UTC)),
    ]  # fmt: skip
    session.add_all(deals)
    session.flush()
    session.add(DealContract(deal_id=deals[0].id or 0, contract_type=ContractType.ASSIGNMENT,
                             amount_yuan=800_000, signed_on=date(2026, 3, 20)))  # fmt: skip
    offer = DeclarationCreate(
        payment_mode=PaymentMode.LUMP_SUM, fee_yuan=10_000, term_years=3, contact_name="王老师",
        contact_phone="025-1",
    )  # fmt: skip
    declaration = declare(session, world.owner, world.patent.id or 0, offer, today=NOW.date())
    licence = PatentLicence(
        patent_id=world.patent.id or 0, kind=LicenceKind.OPEN, start_date=NOW.date(),
        licensee_org_id=world.enterprise.id or 0, end_date=date(2029, 3, 1),
        declaration_id=declaration.id,
    )  # fmt: skip
    session.add(licence)
    session.flush()
    return world


def test_by_region_splits_patents_and_deals_by_their_own_region(
    session: Session, world: World
) -> None:
    rows = {r.key: r for r in compute_figures(session, GroupBy.REGION)}
    jiangsu, beijing = rows["32"], rows["11"]
    assert jiangsu.contacts_requested == 2
    assert jiangsu.patents_matched == 1
    assert jiangsu.deals_by_state == {"closed": 1, "negotiating": 1}
    assert jiangsu.signed_contracts == 1
    assert jiangsu.conversion_rate == 0.5
    assert jiangsu.contract_value_yuan == 800_000
    # The declared patent is no longer idle; the lapsed one never counted.
    assert world.patent.conversion_status is ConversionStatus.OPEN_LICENCE
    assert jiangsu.idle_patents == 0
    assert jiangsu.open_licence_declarations == 1
    assert jiangsu.licences_taken == 1
    assert beijing.contacts_requested == 1
    assert beijing.conversion_rate == 0.0
    assert beijing.patents_matched == 0


def test_by_region_level_four(session: Session, world: World) -> None:
    keys = {r.key for r in compute_figures(session, GroupBy.REGION, region_level=4)}
    assert {"3205", "3201", "1101"} <= keys


def test_by_industry_ipc_section_org_and_month(session: Session, world: World) -> None:
    industry = {r.key: r for r in compute_figures(session, GroupBy.INDUSTRY)}
    assert industry["38"].signed_contracts == 1
    assert industry["27"].deals_by_state == {"declined": 1}
    assert industry["unknown"].contacts_requested == 1
    ipc = {r.key: r for r in compute_figures(session, GroupBy.IPC_SECTION)}
    assert ipc["H"].contacts_requested == 2
    assert ipc["H"].open_licence_declarations == 1
    orgs = {r.key: r for r in compute_figures(session, GroupBy.ORG)}
    mine = orgs[str(world.university.id)]
    assert mine.label == world.university.name
    assert mine.contacts_requested == 3
    assert mine.signed_contracts == 1
    months = {r.key: r for r in compute_figures(session, GroupBy.MONTH)}
    assert months["2026-03"].contacts_requested == 2
    assert months["2026-02"].contacts_requested == 1
    assert months["2026-03"].contract_value_yuan == 800_000


def test_csv_has_one_row_per_group_and_a_column_per_state(session: Session, world: World) -> None:
    rows = compute_figures(session, GroupBy.REGION)
    parsed = list(csv.DictReader(io.StringIO(figures_csv(rows))))
    assert [r["key"] for r in parsed] == [r.key for r in rows]
    jiangsu = next(r for r in parsed if r["key"] == "32")
    assert jiangsu["deals_closed"] == "1"
    assert jiangsu["deals_negotiating"] == "1"
    assert jiangsu["conversion_rate"] == "0.5"
    assert jiangsu["contract_value_yuan"] == "800000"
