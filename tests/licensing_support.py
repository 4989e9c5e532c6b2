"""Shared setup of the licensing tests: organisations, patents, needs, a fixed matcher."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, select

from app.auth.principal import Principal, Role
from app.catalog.enums import ChangeOp, EntityKind, LegalStatus, NeedStatus, OrgKind
from app.catalog.models import IndexChange, Organisation, Patent, TechNeed
from app.licensing.models import PaymentMode
from app.licensing.schemas import DeclarationCreate

TODAY = date(2026, 11, 25)


@dataclass
class World:
    university: Organisation
    enterprise: Organisation
    patent: Patent
    tto: Principal
    buyer: Principal


def make_org(session: Session, kind: OrgKind, name: str) -> Organisation:
    org = Organisation(kind=kind, name=name)
    session.add(org)
    session.flush()
    return org


def make_patent(session: Session, owner: Organisation, key: str, **kw: Any) -> Patent:
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


def make_world(session: Session) -> World:
    """A university owning one granted patent, an enterprise, and their principals."""
    university = make_org(session, OrgKind.UNIVERSITY, "浙江某大学")
    enterprise = make_org(session, OrgKind.ENTERPRISE, "杭州某电池有限公司")
    patent = make_patent(session, university, "CN201910000001")
    return World(
        university,
        enterprise,
        patent,
        Principal(key_id=1, org_id=university.id, role=Role.TTO),
        Principal(key_id=2, org_id=enterprise.id, role=Role.ENTERPRISE),
    )


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


def make_need(session: Session, org: Organisation, **kw: Any) -> TechNeed:
    need = TechNeed(org_id=org.id, title="动力电池负极材料", status=NeedStatus.PUBLISHED, **kw)
    session.add(need)
    session.flush()
    return need
