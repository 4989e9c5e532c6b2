"""Duplicate organisations: the service refuses a second one of the same (normalised) name, and
a merge moves everything the duplicate had to the kept organisation, then deletes it."""

import pytest
from sqlmodel import Session, select

from app.accounts.models import AuditEntry, UserAccount
from app.auth.keys import ApiKey, create_key
from app.auth.principal import Role
from app.catalog import service
from app.catalog.enums import OrgKind
from app.catalog.models import IndexChange, Organisation, Patent, TechNeed
from app.catalog.org_merge import duplicate_groups, merge_orgs, org_references
from app.catalog.schemas.orgs import OrgCreate, OrgUpdate
from app.deals.models import Deal
from app.errors import Conflict, NotFound, ValidationFailed


def _org(session: Session, name: str, kind: OrgKind = OrgKind.UNIVERSITY, **fields) -> int:
    org = Organisation(kind=kind, name=name, **fields)
    session.add(org)
    session.flush()
    assert org.id is not None
    return org.id


def test_a_second_organisation_of_the_same_name_is_refused(session: Session) -> None:
    first = service.create_org(
        session, OrgCreate(kind=OrgKind.ENTERPRISE, name="示例（中国）有限公司")
    )
    for spelling in ("示例（中国）有限公司", "示例(中国)有限公司", " 示例 (中国) 有限公司 "):
        with pytest.raises(Conflict) as refused:
            service.create_org(session, OrgCreate(kind=OrgKind.ENTERPRISE, name=spelling))
        assert refused.value.extra["existing_org_id"] == first.id
    other = service.create_org(session, OrgCreate(kind=OrgKind.ENTERPRISE, name="另一家公司"))
    with pytest.raises(Conflict):
        service.update_org(session, other, OrgUpdate(name="示例(中国)有限公司"))
    service.update_org(session, first, OrgUpdate(name="示例（中国）有限公司"))  # its own name


def test_existing_duplicates_are_flagged(session: Session) -> None:
    a = _org(session, "浙江示例大学")
    b = _org(session, "浙江示例大学 ")
    _org(session, "江苏示例大学")
    assert [[org_id for org_id, _ in g] for g in duplicate_groups(session)] == [[a, b]]


def test_every_organisation_reference_is_known() -> None:
    names = {f"{t.name}.{c.name}" for t, c in org_references()}
    assert {"patent.owner_org_id", "techneed.org_id", "user_account.org_id", "api_key.org_id",
            "deal.owner_org_id", "deal.requester_org_id", "audit_entry.org_id",
            "import_job.owner_org_id"} <= names  # fmt: skip


def _fill(session: Session, org_id: int, tag: str) -> None:
    patent = Patent(natural_key=f"merge-{tag}", title="专利", owner_org_id=org_id)
    need = TechNeed(org_id=org_id, title="需求", external_ref=f"ref-{tag}")
    create_key(session, role=Role.TTO, org_id=org_id)
    user = UserAccount(org_id=org_id, email=f"{tag}@example.cn", display_name=tag, role="tto")
    session.add_all([patent, need, user])
    session.flush()
    enterprise = _org(session, f"企业{tag}", OrgKind.ENTERPRISE)
    session.add(Deal(patent_id=patent.id, requester_org_id=enterprise, owner_org_id=org_id))
    session.add(AuditEntry(action="x", subject="y", org_id=org_id))
    session.flush()


def test_a_merge_moves_everything_and_deletes_the_duplicate(session: Session) -> None:
    kept = _org(session, "示例大学", region="330106")
    merged = _org(session, "示例大学（重复）", uscc="12100000400000624D", contact_phone="0571-1")
    _fill(session, kept, "k")
    _fill(session, merged, "m")
    report = merge_orgs(session, kept, merged)
    assert report.moved == {
        "patent.owner_org_id": 1, "techneed.org_id": 1, "api_key.org_id": 1,
        "user_account.org_id": 1, "deal.owner_org_id": 1, "audit_entry.org_id": 1,
    }  # fmt: skip
    assert session.get(Organisation, merged) is None
    org = session.get(Organisation, kept)
    assert org is not None
    assert (org.uscc, org.region, org.contact_phone) == ("12100000400000624D", "330106", "0571-1")
    for model, column in ((Patent, Patent.owner_org_id), (TechNeed, TechNeed.org_id),
                          (ApiKey, ApiKey.org_id), (UserAccount, UserAccount.org_id)):  # fmt: skip
        assert len(session.exec(select(model).where(column == kept)).all()) == 2
    changes = session.exec(select(IndexChange.entity).order_by(IndexChange.id.desc()).limit(2))
    assert sorted(changes) == ["need", "patent"]


def test_merges_that_cannot_be_done(session: Session) -> None:
    kept = _org(session, "甲大学")
    other_kind = _org(session, "甲公司", OrgKind.ENTERPRISE)
    with pytest.raises(ValidationFailed):
        merge_orgs(session, kept, kept)
    with pytest.raises(ValidationFailed):
        merge_orgs(session, kept, other_kind)
    with pytest.raises(NotFound):
        merge_orgs(session, kept, 999_999)
    clash = _org(session, "甲大学 ")
    session.add_all([TechNeed(org_id=kept, title="a", external_ref="R1"),
                     TechNeed(org_id=clash, title="b", external_ref="R1")])  # fmt: skip
    session.flush()
    with pytest.raises(Conflict) as refused:
        merge_orgs(session, kept, clash)
    assert "external_ref='R1'" in refused.value.detail
