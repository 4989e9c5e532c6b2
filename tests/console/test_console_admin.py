"""Platform administration over a TestClient: organisations (duplicate names refused, USCC
verified, duplicates merged and audited), users and keys, imports, alerts, index, audit log."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.accounts.models import AuditEntry
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation, Patent
from app.settings import Settings
from tests.console.conftest import Person, csrf_of, make_person, sign_in


@pytest.fixture(scope="module")
def root(api_engine: Engine, api_settings: Settings) -> Person:
    return make_person(api_engine, api_settings, None, "root-admin@example.cn")


def _create(client: TestClient, csrf: str, name: str, email: str, **extra: str):
    data = {"csrf": csrf, "kind": "university", "name": name, "region": "330106",
            "admin_email": email, "admin_name": "管理员", **extra}  # fmt: skip
    return client.post("/admin/orgs", data=data)


def test_a_duplicate_name_is_refused_in_console_and_api(client: TestClient, root: Person) -> None:
    csrf = sign_in(client, root)
    assert _create(client, csrf, "重名大学", "a@dup.edu.cn").status_code == 200
    refused = _create(client, csrf, "重名大学 ", "b@dup.edu.cn")
    assert refused.status_code == 409
    assert "already named" in refused.text
    bad = _create(client, csrf, "校验码大学", "c@dup.edu.cn", uscc="91330100716105852A")
    assert bad.status_code == 422
    assert "uscc" in bad.text


def test_uscc_verification_and_a_merge(
    client: TestClient, api_engine: Engine, root: Person
) -> None:
    with Session(api_engine) as session:
        kept = Organisation(kind=OrgKind.UNIVERSITY, name="合并示例大学")
        twin = Organisation(kind=OrgKind.UNIVERSITY, name="合并示例大学（旧）", region="110108")
        session.add_all([kept, twin])
        session.flush()
        session.add(Patent(natural_key="admin-merge-1", title="专利", owner_org_id=twin.id))
        session.commit()
        kept_id, twin_id = kept.id, twin.id
    csrf = sign_in(client, root)
    page = client.get(f"/admin/orgs/{kept_id}")
    assert page.status_code == 200
    wrong = client.post(
        f"/admin/orgs/{kept_id}/uscc", data={"csrf": csrf, "uscc": "12100000400000624X"}
    )
    assert wrong.status_code == 422
    assert "check character" in wrong.text
    ok = client.post(
        f"/admin/orgs/{kept_id}/uscc", data={"csrf": csrf, "uscc": "12100000400000624D"}
    )
    assert ok.status_code == 200
    assert "已校验" in ok.text
    merged = client.post(f"/admin/orgs/{kept_id}/merge", data={"csrf": csrf, "duplicate": twin_id})
    assert merged.status_code == 200
    assert f"#{twin_id}" in merged.text
    assert re.search(r'data-count="patents">1<', merged.text)
    with Session(api_engine) as session:
        assert session.get(Organisation, twin_id) is None
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "org_merged")).one()
        assert entry.subject == f"org:{kept_id}"
        assert entry.detail["moved"] == {"patent.owner_org_id": 1}
    log = client.get("/admin/audit?action=org_merged")
    assert log.status_code == 200
    assert log.text.count('data-action="org_merged"') == 1
    assert 'data-action="sign_in"' not in log.text


def test_the_other_admin_pages(client: TestClient, root: Person) -> None:
    sign_in(client, root)
    for path in ("/admin/people", "/admin/people?role=tto&state=active&org=0",
                 "/admin/imports?status=failed", "/admin/alerts?status=failed",
                 "/admin/index", "/admin/audit?since=2020-01-01&actor=root"):  # fmt: skip
        assert client.get(path).status_code == 200, path
    assert "root-admin@example.cn" in client.get("/admin/people").text
    assert client.get("/admin/audit?since=yesterday").status_code == 422
    # The last day of the calendar has no next day: refused, not a server error.
    assert client.get("/admin/audit?until=9999-12-31").status_code == 422
    assert client.get("/admin/people?state=zombie").status_code == 422


def test_an_admin_revokes_a_key(client: TestClient, root: Person, api_engine: Engine) -> None:
    sign_in(client, root)
    page = client.get("/admin/people?state=active")
    key_id = re.search(r'action="/admin/keys/(\d+)/revoke"', page.text)
    assert key_id is not None
    done = client.post(f"/admin/keys/{key_id.group(1)}/revoke", data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200
    assert f'action="/admin/keys/{key_id.group(1)}/revoke"' not in done.text


def test_only_platform_admins(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(
        api_engine, api_settings, OrgKind.UNIVERSITY, "not-root@example.cn", org_admin=True
    )
    sign_in(client, person)
    for path in ("/admin/orgs", "/admin/people", "/admin/imports", "/admin/alerts",
                 "/admin/index", "/admin/audit"):  # fmt: skip
        assert client.get(path).status_code == 403, path
