"""Workbench flows over a TestClient: import report, declaration rules, team administration,
organisations, open licences and contact requests."""

import re
import time
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.catalog.changes import record_change
from app.catalog.enums import ChangeOp, EntityKind, LegalStatus, OrgKind, PatentType
from app.catalog.models import Patent
from app.settings import Settings
from tests.api.helpers import new_appno
from tests.console.conftest import PASSWORD, Person, csrf_of, make_person, sign_in


def _patent(
    engine: Engine, owner: int | None, title: str = "一种高镍三元正极材料的表面包覆方法"
) -> int:
    with Session(engine) as session:
        number = new_appno(2018)
        patent = Patent(
            natural_key=number,
            application_number=number,
            patent_type=PatentType.INVENTION,
            title=title,
            ipc_codes=["H01M 4/36"],
            ipc_main="H01M 4/36",
            filing_date=date(2018, 3, 1),
            grant_date=date(2020, 6, 5),
            expiry_date=date(2038, 3, 1),
            legal_status=LegalStatus.GRANTED,
            owner_org_id=owner,
        )
        session.add(patent)
        session.flush()
        assert patent.id is not None
        record_change(session, EntityKind.PATENT, patent.id, ChangeOp.UPSERT)
        session.commit()
        return patent.id


def _link_token(html: str) -> str:
    found = re.search(r"/welcome\?token=([\w-]+)", html)
    assert found, html
    return found.group(1)


def test_import_report_lists_the_bad_row_first_and_downloads(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    csrf = sign_in(
        client, make_person(api_engine, api_settings, OrgKind.UNIVERSITY, "imp@example.edu.cn")
    )
    good = new_appno()
    # The same number with another check character: rejected on its row.
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    data = (
        f"申请号,专利名称,分类号,申请日\n{good},一种光伏板清洗机器人,H02S 40/10,2015-06-01\n"
        f"{bad},校验位错误,H01M 4/36,2015-06-01\n"
    )
    response = client.post(
        "/portfolio/import",
        data={"csrf": csrf},
        files={"file": ("p.csv", data.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    job_url = response.headers["location"]
    deadline = time.monotonic() + 20
    while "导入中" in (page := client.get(job_url).text) or "排队中" in page:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "被拒绝的行（1）" in page
    for worker in list(client.app.state.import_threads):  # type: ignore[attr-defined]
        worker.join(timeout=30)  # its index sync holds the SQLite write lock a moment longer
    report = client.get(f"{job_url}/errors.csv")
    assert report.headers["content-type"].startswith("text/csv")
    lines = report.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "kind,row,field,reason,value"
    assert lines[1].startswith("error,3,")


def test_declaration_is_refused_over_the_fee_cap_then_made(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.UNIVERSITY, "decl@example.edu.cn")
    csrf = sign_in(client, person)
    patent_id = _patent(api_engine, person.org_id)
    page = client.get(f"/patents/{patent_id}")
    assert "作为活性物质" in page.text  # CNIPA label of H01M 4/36
    form = client.get(f"/patents/{patent_id}/declare").text
    assert "专利已授权且在保护期内" in form
    fields = {
        "csrf": csrf,
        "payment_mode": "lump_sum",
        "fee_yuan": "30000000",
        "term_years": "3",
        "contact_name": "王老师",
        "contact_phone": "0571-87951111",
    }
    refused = client.post(f"/patents/{patent_id}/declare", data=fields)
    assert refused.status_code == 422
    assert "fee_yuan" in refused.text
    assert "20,000,000" in refused.text
    made = client.post(
        f"/patents/{patent_id}/declare",
        data={**fields, "fee_yuan": "50000"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert "开放许可" in client.get(f"/patents/{patent_id}").text
    assert client.get("/advice").status_code == 200
    listed = client.get(
        "/portfolio", params={"conversion_status": "open_licence", "min_years": "5"}
    )
    assert str(patent_id) in listed.text


def test_org_admin_invites_resets_and_deactivates(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    admin = make_person(
        api_engine, api_settings, OrgKind.ENTERPRISE, "boss@example.cn", org_admin=True
    )
    csrf = sign_in(client, admin)
    invited = client.post(
        "/team/invite", data={"csrf": csrf, "email": "new@example.cn", "display_name": "新同事"}
    )
    token = _link_token(invited.text)
    client.cookies.clear()
    assert "新同事" in client.get(f"/welcome?token={token}").text
    welcomed = client.post(
        "/welcome",
        data={"token": token, "password": PASSWORD, "password_again": PASSWORD},
        follow_redirects=False,
    )
    assert welcomed.status_code == 303
    assert client.get("/needs").status_code == 200  # signed in as the colleague
    assert client.get(f"/welcome?token={token}").status_code == 404  # used up
    colleague_cookie = client.cookies.get("pm_session")
    csrf = sign_in(client, admin)
    team = client.get("/team").text
    user_id = re.search(r'action="/team/(\d+)/reset"', team)
    assert user_id
    reset = client.post(f"/team/{user_id.group(1)}/reset", data={"csrf": csrf})
    assert _link_token(reset.text) != token
    deactivated = client.post(
        f"/team/{user_id.group(1)}/deactivate", data={"csrf": csrf}, follow_redirects=False
    )
    assert deactivated.status_code == 303
    client.cookies.clear()
    client.cookies.set("pm_session", colleague_cookie or "")
    assert client.get("/needs", follow_redirects=False).status_code == 303


def test_org_admin_creates_an_api_key_that_works(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    admin = make_person(
        api_engine, api_settings, OrgKind.UNIVERSITY, "keys@example.edu.cn", org_admin=True
    )
    csrf = sign_in(client, admin)
    page = client.post("/team/keys", data={"csrf": csrf, "label": "ERP", "expires_days": "30"}).text
    secret = re.search(r'<code class="secret">(pm_[\w-]+)</code>', page)
    assert secret
    client.cookies.clear()
    assert client.get("/api/v1/patents", headers={"X-API-Key": secret.group(1)}).status_code == 200


def test_platform_admin_creates_an_organisation_and_its_first_admin(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    root = make_person(api_engine, api_settings, None, "root@example.cn")
    csrf = sign_in(client, root)
    assert client.get("/admin/orgs").status_code == 200
    page = client.post(
        "/admin/orgs",
        data={
            "csrf": csrf,
            "kind": "university",
            "name": "新建大学",
            "region": "330106",
            "admin_email": "first@new.edu.cn",
            "admin_name": "首位管理员",
        },
    )
    assert page.status_code == 200
    assert "新建大学" in page.text
    _link_token(page.text)
    bad = client.post(
        "/admin/orgs",
        data={
            "csrf": csrf,
            "kind": "university",
            "name": "坏地区",
            "region": "999999",
            "admin_email": "x@y.cn",
            "admin_name": "x",
        },
    )
    assert bad.status_code == 422


def test_enterprise_takes_an_open_licence_and_requests_contact(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    owner = make_person(api_engine, api_settings, OrgKind.UNIVERSITY, "own@example.edu.cn")
    csrf = sign_in(client, owner)
    patent_id = _patent(api_engine, owner.org_id, "一种钠离子电池负极材料及其制备方法")
    client.post(
        f"/patents/{patent_id}/declare",
        data={
            "csrf": csrf,
            "payment_mode": "lump_sum",
            "fee_yuan": "10000",
            "term_years": "2",
            "contact_name": "李老师",
            "contact_email": "li@example.edu.cn",
        },
    )
    buyer: Person = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "buy@example.cn")
    csrf = sign_in(client, buyer)
    made = client.post(
        "/needs/new",
        data={
            "csrf": csrf,
            "title": "钠离子电池负极材料",
            "budget_max": "100000",
            "description": "寻求钠离子电池负极材料制备方法",
        },
        follow_redirects=False,
    )
    need_url = made.headers["location"]
    page = client.post(f"{need_url}/publish", data={"csrf": csrf}).text
    take = re.search(r'href="(/open-licences/\d+/take\?need=\d+)"', page)
    assert take, page
    assert client.get(take.group(1)).status_code == 200
    taken = client.post(
        take.group(1).split("?")[0],
        data={"csrf": csrf, "intended_use": "试生产"},
        follow_redirects=False,
    )
    assert taken.status_code == 303
    contact = re.search(rf'action="({need_url}/contact/{patent_id})"', page)
    assert contact
    asked = client.post(contact.group(1), data={"csrf": csrf}, follow_redirects=False)
    assert asked.status_code == 303
    deals = client.get("/deals").text
    assert "一种钠离子电池负极材料及其制备方法" in deals
    assert "已申请" in client.get(need_url).text or "已分派" in deals
    assert csrf_of(deals)


def test_enterprise_edits_a_need_and_a_bad_budget_is_refused(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    buyer = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "edit@example.cn")
    csrf = sign_in(client, buyer)
    made = client.post(
        "/needs/new",
        data={"csrf": csrf, "title": "锂电池极片涂布", "cooperation_modes": ["licence"]},
        follow_redirects=False,
    )
    need_url = made.headers["location"]
    edited = client.post(
        f"{need_url}/edit",
        data={"csrf": csrf, "title": "锂电池极片涂布均匀性", "budget_max": "50000"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    page = client.get(need_url).text
    assert "锂电池极片涂布均匀性" in page
    assert "50,000" in page
    bad = client.post(f"{need_url}/edit", data={"csrf": csrf, "title": "x", "budget_max": "很多"})
    assert bad.status_code == 422
    assert "budget_max" in bad.text
    assert "锂电池极片涂布均匀性" in client.get(need_url).text
