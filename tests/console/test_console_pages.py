"""The console over a TestClient: sign-in, CSRF, roles, the workbench pages and forms."""

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.accounts.models import AuditEntry
from app.catalog.enums import OrgKind
from app.settings import Settings
from tests.console.conftest import PASSWORD, csrf_of, make_person, sign_in


def test_pages_redirect_to_sign_in(client: TestClient) -> None:
    client.cookies.clear()
    response = client.get("/portfolio?q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/portfolio%3Fq%3Dx"


def test_sign_in_sets_a_strict_cookie_and_is_audited(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.UNIVERSITY, "tto1@example.edu.cn")
    client.cookies.clear()
    page = client.get("/signin")
    assert "登录" in page.text
    token = csrf_of(page.text)
    response = client.post(
        "/signin",
        data={"email": person.email, "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "pm_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    with Session(api_engine) as session:
        actions = [
            e.action
            for e in session.exec(select(AuditEntry).where(AuditEntry.subject == person.email))
        ]
    assert "sign_in" in actions


def test_sign_in_without_the_form_token_is_refused(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.UNIVERSITY, "tto2@example.edu.cn")
    client.cookies.clear()
    response = client.post(
        "/signin", data={"email": person.email, "password": PASSWORD, "csrf": "forged"}
    )
    assert response.status_code == 403


def test_a_form_post_without_csrf_is_refused(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "ent1@example.cn")
    sign_in(client, person)
    response = client.post("/needs/new", data={"title": "无令牌"})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]


def test_wrong_passwords_are_throttled(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "ent2@example.cn")
    client.cookies.clear()
    statuses = []
    for _ in range(api_settings.signin_max_failures + 1):
        token = csrf_of(client.get("/signin").text)
        statuses.append(
            client.post(
                "/signin", data={"email": person.email, "password": "wrong-password", "csrf": token}
            ).status_code
        )
    assert statuses[:-1] == [401] * api_settings.signin_max_failures
    assert statuses[-1] == 429


def test_enterprise_posts_publishes_and_sees_matches(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "ent3@example.cn")
    csrf = sign_in(client, person)
    response = client.post(
        "/needs/new",
        data={
            "csrf": csrf,
            "title": "高镍正极材料循环寿命提升",
            "description": "提升高温循环稳定性",
            "budget_max": "2000000",
            "cooperation_modes": ["licence", "open_licence"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    need_url = response.headers["location"]
    assert "发布后即可看到匹配的专利" in client.get(need_url).text
    published = client.post(f"{need_url}/publish", data={"csrf": csrf})
    assert published.status_code == 200
    assert "匹配的专利" in published.text
    assert "可直接获得的开放许可专利" in published.text


def test_bad_form_input_is_an_html_page_naming_the_field(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "ent4@example.cn")
    csrf = sign_in(client, person)
    response = client.post("/needs/new", data={"csrf": csrf, "title": "x", "budget_min": "abc"})
    assert response.status_code == 422
    assert "budget_min" in response.text


def test_the_language_switch_renders_english(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "ent5@example.cn")
    sign_in(client, person)
    client.get("/lang/en?next=/needs")
    assert "Technology needs" in client.get("/needs").text
    client.get("/lang/zh")
    assert "技术需求" in client.get("/needs").text


def test_roles_keep_to_their_workbench(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "ent6@example.cn")
    sign_in(client, person)
    assert client.get("/portfolio").status_code == 403
    assert client.get("/team").status_code == 403
    assert client.get("/admin/orgs").status_code == 403


def test_sign_out_everywhere_ends_the_session(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.UNIVERSITY, "tto3@example.edu.cn")
    csrf = sign_in(client, person)
    old = client.cookies.get("pm_session")
    assert (
        client.post("/signout-everywhere", data={"csrf": csrf}, follow_redirects=False).status_code
        == 303
    )
    client.cookies.set("pm_session", old or "")
    assert client.get("/portfolio", follow_redirects=False).status_code == 303
