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


def test_sqlite_files_run_in_wal_with_a_busy_timeout(tmp_path):
    from sqlalchemy import text

    from app.db import PoolOptions, make_engine

    engine = make_engine(
        f"sqlite:///{tmp_path / 'wal.db'}", PoolOptions(sqlite_busy_timeout_ms=1234)
    )
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 1234
    engine.dispose()


def test_a_connection_left_in_a_transaction_is_reset(tmp_path):
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'reset.db'}", None)
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        raw.execute("BEGIN")  # as a COMMIT that failed would leave it
    with engine.begin() as connection:  # same pooled connection: BEGIN must not fail
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
