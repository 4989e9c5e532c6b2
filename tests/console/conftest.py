"""Console test fixtures: the API test app (fresh database per module) and signed-in people."""

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.accounts import service
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.console.identity import invite
from app.settings import Settings
from tests.api.conftest import IPC_FIXTURE, api_engine, client  # noqa: F401  (fixtures)

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Hashing encoder, tmp dirs, the tiny IPC scheme, and cheap Argon2 parameters."""
    root = tmp_path_factory.mktemp("console")
    scheme = root / "shared" / "data" / "ipc" / "ipc_zh_2026_01.csv"
    scheme.parent.mkdir(parents=True)
    scheme.write_text(IPC_FIXTURE, encoding="utf-8")
    return Settings(
        model_name="hashing",
        index_dir=root / "index",
        var_dir=root / "var",
        shared_dir=root / "shared",
        rate_limit_per_minute=100_000,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        argon2_parallelism=1,
        index_inline=True,  # writes searchable when the request returns: deterministic asserts
    )


@dataclass(frozen=True)
class Person:
    """A console user with a password."""

    user_id: int
    org_id: int | None
    email: str


def make_person(
    engine: Engine,
    settings: Settings,
    kind: OrgKind | None,
    email: str,
    *,
    org_admin: bool = False,
    region: str = "330106",
) -> Person:
    """An organisation of ``kind`` (none: platform admin) in ``region``, a user with a password."""
    with Session(engine) as session:
        org_id = None
        if kind is not None:
            org = Organisation(kind=kind, name=f"{kind.value} {email}", region=region)
            session.add(org)
            session.flush()
            org_id = org.id
        made = invite(
            session,
            settings,
            org_id=org_id,
            email=email,
            display_name=email.split("@")[0],
            is_org_admin=org_admin,
            actor=None,
        )
        service.redeem_token(session, made.token, PASSWORD, settings)
        session.commit()
        assert made.user.id is not None
        return Person(made.user.id, org_id, made.user.email)


def sign_in(browser: TestClient, person: Person) -> str:
    """Sign ``person`` in on ``browser``; returns the CSRF token of the new session."""
    browser.cookies.clear()
    page = browser.get("/signin")
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    response = browser.post(
        "/signin",
        data={"email": person.email, "password": PASSWORD, "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(browser.get("/deals").text)


def csrf_of(html: str) -> str:
    """The CSRF token in a console page's forms."""
    return html.split('name="csrf" value="')[1].split('"')[0]
