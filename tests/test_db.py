from sqlmodel import select

from app.catalog.enums import OrgKind
from app.catalog.models import Organisation


def test_rollback_isolation_first(session):
    session.add(Organisation(kind=OrgKind.UNIVERSITY, name="浙江大学"))
    session.commit()
    assert len(session.exec(select(Organisation)).all()) == 1


def test_rollback_isolation_second(session):
    # The organisation committed by the previous test was rolled back.
    assert session.exec(select(Organisation)).all() == []


def test_enum_round_trip(session):
    org = Organisation(kind=OrgKind.SERVICE_STATION, name="杭州知识产权服务站")
    session.add(org)
    session.commit()
    session.expire_all()
    loaded = session.exec(select(Organisation)).one()
    assert loaded.kind is OrgKind.SERVICE_STATION
