"""API test fixtures: an app over a fresh database per module, orgs and keys for every role."""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.api.main import create_app
from app.auth.keys import create_key
from app.auth.principal import Role
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.db import create_schema, make_engine
from app.settings import Settings

IPC_FIXTURE = """code,level,title_zh,notes_zh
G,section,物理,
G06,class,计算；推算；计数,
G06F,subclass,电数字数据处理,
H,section,电学,
H01,class,电气元件,
H01M,subclass,用于直接转变化学能为电能的方法或装置，例如电池组,
H01M4/00,main_group,电极,
H01M4/36,subgroup,作为活性物质、活性体、活性液体的材料的选择,
"""


@dataclass(frozen=True)
class Actor:
    """An organisation (or none, for admins) with an API key."""

    role: Role
    org_id: int | None
    key_id: int
    headers: dict[str, str]


def make_actor(
    engine: Engine, role: Role, kind: OrgKind | None, region: str = "330106", **key_args: Any
) -> Actor:
    """Create an organisation of ``kind`` (none for admins) in ``region`` and a key for it."""
    with Session(engine) as session:
        org_id = None
        if kind is not None:
            org = Organisation(
                kind=kind,
                name=f"{kind.value} {random.randrange(10**9)}",
                region=region,
                contact_person="张三",
                contact_phone="0571-0000000",
                contact_email="contact@example.cn",
            )
            session.add(org)
            session.flush()
            org_id = org.id
        key, secret = create_key(session, role=role, org_id=org_id, **key_args)
        session.commit()
        assert key.id is not None
        return Actor(role, org_id, key.id, {"X-API-Key": secret})


@pytest.fixture(scope="module")
def api_engine(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Engine]:
    """A fresh database per module: API requests commit for real, so nothing may leak out.

    SQLite gets a new file; PostgreSQL a new schema in the test database, dropped afterwards.
    """
    if database_url.startswith("sqlite"):
        path = tmp_path_factory.mktemp("apidb") / "api.db"
        fresh = make_engine(f"sqlite:///{path}")
        create_schema(fresh)
        yield fresh
        fresh.dispose()
        return
    schema = f"api_{uuid.uuid4().hex[:12]}"
    admin = make_engine(database_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in database_url else "?"
    fresh = make_engine(f"{database_url}{separator}options=-csearch_path%3D{schema}")
    create_schema(fresh)
    try:
        yield fresh
    finally:
        fresh.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Hashing encoder, tmp index/var dirs, and a tiny IPC scheme in a tmp shared dir."""
    root = tmp_path_factory.mktemp("api")
    scheme = root / "shared" / "data" / "ipc" / "ipc_zh_2026_01.csv"
    scheme.parent.mkdir(parents=True)
    scheme.write_text(IPC_FIXTURE, encoding="utf-8")
    return Settings(
        model_name="hashing",
        index_dir=root / "index",
        var_dir=root / "var",
        shared_dir=root / "shared",
        rate_limit_per_minute=100_000,
        webhook_allow_private_hosts=True,  # the receivers of the tests listen on 127.0.0.1
        index_inline=True,  # writes searchable when the request returns: deterministic asserts
    )


@pytest.fixture(scope="module")
def client(api_settings: Settings, api_engine: Engine) -> Iterator[TestClient]:
    """A client of an app whose lifespan has run (match engine loaded)."""
    app = create_app(api_settings, engine=api_engine)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(api_engine: Engine) -> Actor:
    """A platform admin without an organisation."""
    return make_actor(api_engine, Role.ADMIN, None)


@pytest.fixture(scope="module")
def tto(api_engine: Engine) -> Actor:
    """A university tech-transfer office."""
    return make_actor(api_engine, Role.TTO, OrgKind.UNIVERSITY)


@pytest.fixture(scope="module")
def other_tto(api_engine: Engine) -> Actor:
    """A second tto, for cross-organisation checks."""
    return make_actor(api_engine, Role.TTO, OrgKind.RESEARCH_INSTITUTE)


@pytest.fixture(scope="module")
def enterprise(api_engine: Engine) -> Actor:
    """An enterprise."""
    return make_actor(api_engine, Role.ENTERPRISE, OrgKind.ENTERPRISE)


@pytest.fixture(scope="module")
def other_enterprise(api_engine: Engine) -> Actor:
    """A second enterprise."""
    return make_actor(api_engine, Role.ENTERPRISE, OrgKind.ENTERPRISE)


@pytest.fixture(scope="module")
def station(api_engine: Engine) -> Actor:
    """A service station (知识产权服务站)."""
    return make_actor(api_engine, Role.STATION, OrgKind.SERVICE_STATION)
