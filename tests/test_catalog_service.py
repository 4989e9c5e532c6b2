"""The catalog service: writes flush and log changes; features react through CatalogHooks."""

import pytest
from sqlmodel import Session, col, select

from app.catalog import service
from app.catalog.enums import ChangeOp, EntityKind, NeedStatus, OrgKind
from app.catalog.hooks import CatalogHooks
from app.catalog.models import IndexChange, Organisation, Patent
from app.catalog.schemas.needs import NeedCreate
from app.catalog.schemas.patents import PatentCreate
from app.errors import Conflict
from tests.api.helpers import patent_body


def _org(session: Session, kind: OrgKind) -> int:
    org = Organisation(name=f"测试{kind.value}", kind=kind)
    session.add(org)
    session.flush()
    assert org.id is not None
    return org.id


def _changes(session: Session, entity_id: int) -> list[ChangeOp]:
    stmt = select(IndexChange).where(IndexChange.entity_id == entity_id)
    return [c.op for c in session.exec(stmt.order_by(col(IndexChange.id)))]


def test_patent_writes_log_changes_and_run_the_registered_reactions(session: Session) -> None:
    owner = _org(session, OrgKind.UNIVERSITY)
    patent = service.create_patent(session, PatentCreate(**patent_body()), owner)
    assert patent.id is not None
    assert patent.ipc_main == "H01M 4/36"  # derived by the catalog's rules
    blocked: list[str] = []
    forgotten: list[int] = []
    hooks = CatalogHooks(
        delete_guards=(lambda _s, _pid: blocked,),
        before_patent_delete=(lambda _s, pid: forgotten.append(pid),),
    )
    blocked.append("deals")
    with pytest.raises(Conflict, match="has deals on record"):
        service.delete_patent(session, patent, hooks)
    assert forgotten == []
    blocked.clear()
    service.delete_patent(session, patent, hooks)
    assert forgotten == [patent.id]
    assert session.get(Patent, patent.id) is None
    assert _changes(session, patent.id) == [ChangeOp.UPSERT, ChangeOp.DELETE]


def test_declared_patents_keep_their_open_licence_status(session: Session) -> None:
    owner = _org(session, OrgKind.UNIVERSITY)
    patent = service.create_patent(session, PatentCreate(**patent_body()), owner)
    declared = CatalogHooks(open_licence_declared=lambda _s, _pid: True)
    with pytest.raises(Conflict, match="open-licence declaration"):
        service.update_patent(session, patent, {"conversion_status": "idle"}, declared)


def test_need_lifecycle(session: Session) -> None:
    org = _org(session, OrgKind.ENTERPRISE)
    need = service.create_need(
        session, NeedCreate(title="高镍正极材料", region="３３０１００"), org
    )
    assert need.region == "330100"
    assert service.publish_need(session, need).status is NeedStatus.PUBLISHED
    with pytest.raises(Conflict, match="already published"):
        service.publish_need(session, need)
    assert service.close_need(session, need).status is NeedStatus.CLOSED
    with pytest.raises(Conflict, match="is closed"):
        service.publish_need(session, need)
    assert need.id is not None
    stmt = select(IndexChange).where(IndexChange.entity == EntityKind.NEED)
    assert {c.entity_id for c in session.exec(stmt)} == {need.id}
