"""A small world for the dashboard: two provinces, three IPC sections, deals in five states
over three months, two contracts, an open-licence declaration and a licence taken."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session

from app.catalog.enums import ConversionStatus, LegalStatus, OrgKind
from app.catalog.models import Organisation, Patent
from app.deals.models import ContractType, Deal, DealContract
from app.deals.states import DealState
from app.licensing.models import LicenceKind, OpenLicenceDeclaration, PatentLicence, PaymentMode


def _at(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FigureWorld:
    """The ids the dashboard tests filter by."""

    zj_university: int
    js_university: int


def _orgs(session: Session, tag: str) -> list[Organisation]:
    orgs = [
        Organisation(kind=OrgKind.UNIVERSITY, name=f"浙江示例大学{tag}", region="330106"),
        Organisation(kind=OrgKind.UNIVERSITY, name=f"江苏示例大学{tag}", region="320102"),
        Organisation(kind=OrgKind.ENTERPRISE, name=f"杭州示例企业{tag}", region="330110"),
        Organisation(kind=OrgKind.ENTERPRISE, name=f"苏州示例企业{tag}", region="320500"),
    ]
    session.add_all(orgs)
    session.flush()
    return orgs


def _patents(session: Session, tag: str, owners: list[int]) -> list[Patent]:
    ipcs = ["H01M 4/36", "G06F 16/00", "A01B 1/00", "H01M 10/05", "G06F 3/01", "H02S 40/10"]
    patents = [
        Patent(
            natural_key=f"dash-{tag}-{i}",
            title=f"示例专利 {i}",
            ipc_codes=[ipc],
            ipc_main=ipc,
            legal_status=LegalStatus.GRANTED,
            conversion_status=ConversionStatus.IDLE,
            owner_org_id=owners[i % 2],
            created_at=_at(1 + i % 3),
        )
        for i, ipc in enumerate(ipcs)
    ]
    session.add_all(patents)
    session.flush()
    return patents


def _deals(session: Session, orgs: list[Organisation], patents: list[Patent]) -> list[Deal]:
    zj_uni, js_uni, zj_ent, js_ent = (o.id or 0 for o in orgs)
    plan = [
        (patents[0], zj_ent, "330110", "C3841", DealState.CLOSED, 1),
        (patents[0], js_ent, "320500", "C3841", DealState.CONTRACT_SIGNED, 2),
        (patents[1], js_ent, "320500", "I6511", DealState.NEGOTIATING, 2),
        (patents[3], zj_ent, "330110", "C2710", DealState.DECLINED, 3),
        (patents[4], zj_ent, "330110", None, DealState.REQUESTED, 3),
        (patents[5], js_ent, "320500", "C3841", DealState.AGREED, 3),
    ]
    deals = [
        Deal(
            patent_id=patent.id,
            requester_org_id=requester,
            owner_org_id=patent.owner_org_id or zj_uni,
            region=region,
            industry_code=industry,
            state=state,
            created_at=_at(month),
        )
        for patent, requester, region, industry, state, month in plan
    ]
    session.add_all(deals)
    session.flush()
    assert js_uni
    return deals


def seed_figures(session: Session, tag: str = "") -> FigureWorld:
    """Write the world (flushed, not committed)."""
    orgs = _orgs(session, tag)
    patents = _patents(session, tag, [orgs[0].id or 0, orgs[1].id or 0])
    deals = _deals(session, orgs, patents)
    contracts = [
        DealContract(
            deal_id=deals[0].id or 0,
            contract_type=ContractType.ASSIGNMENT,
            amount_yuan=800_000,
            signed_on=date(2026, 2, 20),
        ),
        DealContract(
            deal_id=deals[1].id or 0,
            contract_type=ContractType.ASSIGNMENT,
            amount_yuan=250_000,
            signed_on=date(2026, 3, 5),
        ),
    ]
    declaration = OpenLicenceDeclaration(
        patent_id=patents[2].id or 0,
        declared_by_org_id=orgs[0].id,
        payment_mode=PaymentMode.LUMP_SUM,
        fee_yuan=10_000,
        term_years=3,
        contact_name="王老师",
        declared_at=_at(2),
    )
    patents[2].conversion_status = ConversionStatus.OPEN_LICENCE
    session.add_all([*contracts, declaration, patents[2]])
    session.flush()
    licence = PatentLicence(
        patent_id=patents[2].id or 0,
        kind=LicenceKind.OPEN,
        licensee_org_id=orgs[2].id or 0,
        start_date=date(2026, 3, 1),
        end_date=date(2029, 3, 1),
        declaration_id=declaration.id,
        created_at=_at(3),
    )
    session.add(licence)
    session.flush()
    return FigureWorld(orgs[0].id or 0, orgs[1].id or 0)
