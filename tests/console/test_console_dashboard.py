"""The government dashboard over a TestClient: its numbers, exports and report equal the figures
API's for the same filters; charts are inline SVG; only admins (for now) may open it."""

import csv
import io
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session

from app.accounts import service
from app.auth.keys import create_key
from app.auth.principal import Role
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.console.identity import invite
from app.settings import Settings
from tests.api.conftest import Actor, make_actor
from tests.console.conftest import PASSWORD, Person, make_person, sign_in
from tests.dash_support import FigureWorld, seed_figures

FILTERS = [
    "",
    "region=33",
    "region=32&month_from=2026-02&month_to=2026-03",
    "industry=38&group_by=month",
    "ipc_section=H&group_by=org",
]


class _Table(HTMLParser):
    """The figures table: {row key: {figure: text}}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self._row: str | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-key"):
            self._row = found["data-key"]
            self.rows[self._row or ""] = {}
        elif tag == "td" and self._row is not None:
            self._cell = found.get("data-figure") or found.get("data-state")

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._cell:
            self.rows[self._row][self._cell] = data.strip().replace(",", "")
            self._cell = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None


@pytest.fixture(scope="module")
def world(api_engine: Engine) -> FigureWorld:
    with Session(api_engine) as session:
        made = seed_figures(session, "看板")
        session.commit()
    return made


@pytest.fixture(scope="module")
def admin_key(api_engine: Engine) -> Actor:
    return make_actor(api_engine, Role.ADMIN, None)


@pytest.fixture(scope="module")
def admin_person(api_engine: Engine, api_settings: Settings) -> Person:
    return make_person(api_engine, api_settings, None, "dash-admin@example.cn")


@pytest.fixture
def admin_browser(client: TestClient, admin_person: Person) -> TestClient:
    sign_in(client, admin_person)
    return client


def _api(client: TestClient, key: Actor, query: str) -> list[dict]:
    response = client.get(f"/api/v1/figures?{query}", headers=key.headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("query", FILTERS)
def test_the_table_equals_the_figures_api(
    admin_browser: TestClient, admin_key: Actor, world: FigureWorld, query: str
) -> None:
    page = admin_browser.get(f"/dashboard?{query}")
    assert page.status_code == 200, page.text
    table = _Table()
    table.feed(page.text)
    expected = _api(admin_browser, admin_key, query)
    assert expected, query
    assert sorted(table.rows) == sorted(row["key"] for row in expected)
    for row in expected:
        shown = table.rows[row["key"]]
        for name in ("idle_patents", "patents_matched", "contacts_requested", "signed_contracts"):
            assert shown[name] == str(row[name]), (query, row["key"], name)
        assert shown["contract_value_yuan"] == str(row["contract_value_yuan"])
        assert shown["conversion_rate"] == f"{row['conversion_rate'] * 100:.0f}%"
        for state, count in row["deals_by_state"].items():
            assert shown[state] == str(count)


def test_charts_are_inline_svg_with_marks(admin_browser: TestClient, world: FigureWorld) -> None:
    page = admin_browser.get("/dashboard")
    for name in ("trend", "value", "region", "industry", "funnel"):
        start = page.text.index(f'data-chart="{name}"')
        svg = page.text[start : page.text.index("</svg>", start)]
        assert "<polyline" in svg or "<rect" in svg, name
    assert "<script" not in page.text.split("</main>")[0]


def test_csv_export_is_the_api_csv(
    admin_browser: TestClient, admin_key: Actor, world: FigureWorld
) -> None:
    query = "region=33&group_by=ipc_section"
    exported = admin_browser.get(f"/dashboard/export.csv?{query}")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    api = admin_browser.get(f"/api/v1/figures?{query}&format=csv", headers=admin_key.headers)
    assert exported.content.decode("utf-8-sig") == api.text


def test_xlsx_export_has_the_api_numbers(
    admin_browser: TestClient, admin_key: Actor, world: FigureWorld
) -> None:
    query = "region=32&month_from=2026-02"
    exported = admin_browser.get(f"/dashboard/export.xlsx?{query}")
    assert exported.status_code == 200
    book = load_workbook(io.BytesIO(exported.content), read_only=True)
    assert book.sheetnames == ["汇总", "地区", "行业", "IPC 部", "机构", "月份"]
    for sheet, by in (("地区", "region"), ("月份", "month"), ("机构", "org")):
        api = admin_browser.get(
            f"/api/v1/figures?{query}&group_by={by}&format=csv", headers=admin_key.headers
        )
        expected = list(csv.reader(io.StringIO(api.text)))[1:]
        cells = [list(r) for r in book[sheet].iter_rows(min_row=2, values_only=True)]
        numbers = [[float(c) for c in r[2:]] for r in cells]
        assert numbers == [[float(c) for c in r[2:]] for r in expected], sheet
        assert [r[0] for r in cells] == [r[0] for r in expected]


def test_monthly_report_shows_the_month(
    admin_browser: TestClient, admin_key: Actor, world: FigureWorld
) -> None:
    page = admin_browser.get("/dashboard/report?month=2026-03&region=33")
    assert page.status_code == 200
    assert "2026-03" in page.text
    rows = _api(admin_browser, admin_key, "region=33&month_from=2026-03&month_to=2026-03")
    contacts = sum(r["contacts_requested"] for r in rows)
    marker = '<tr data-figure="contacts_requested">'
    cell = page.text.split(marker)[1].split("</tr>")[0]
    assert f'<td class="num">{contacts}</td>' in cell
    assert 'data-chart="trend"' in page.text
    assert "data-print" in page.text


def test_bad_filters_are_named(admin_browser: TestClient) -> None:
    page = admin_browser.get("/dashboard?region=99")
    assert page.status_code == 422
    assert "region" in page.text
    assert admin_browser.get("/dashboard?metric=__class__").status_code == 422


def test_other_roles_may_not_open_it(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    person = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "dash-ent@example.cn")
    sign_in(client, person)
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/export.xlsx").status_code == 403


@pytest.fixture(scope="module")
def official(api_engine: Engine, api_settings: Settings) -> tuple[Person, dict[str, str]]:
    """A user of Hangzhou's market regulator (jurisdiction 3301) and an API key of the office."""
    with Session(api_engine) as session:
        office = Organisation(kind=OrgKind.GOVERNMENT, name="杭州市市场监管局", region="330100")
        session.add(office)
        session.flush()
        _key, secret = create_key(session, role=Role.GOVERNMENT, org_id=office.id)
        made = invite(session, api_settings, org_id=office.id, email="official@hz.gov.cn",
                      display_name="官员", is_org_admin=False, actor=None)  # fmt: skip
        service.redeem_token(session, made.token, PASSWORD, api_settings)
        session.commit()
        assert made.user.id is not None
        return Person(made.user.id, office.id, made.user.email), {"X-API-Key": secret}


@pytest.mark.parametrize(
    ("query", "contacts"), [("", 4), ("group_by=org", 4), ("region=330110&group_by=month", 3)]
)
def test_an_official_sees_the_jurisdiction_as_the_api_does(
    client: TestClient, official, world: FigureWorld, query: str, contacts: int
) -> None:
    person, headers = official
    sign_in(client, person)
    page = client.get(f"/dashboard?{query}")
    assert page.status_code == 200, page.text
    assert "3301" in page.text  # the jurisdiction tag
    table = _Table()
    table.feed(page.text)
    expected = client.get(f"/api/v1/figures?{query}", headers=headers).json()
    assert expected
    for row in expected:
        shown = table.rows[row["key"]]
        assert shown["contacts_requested"] == str(row["contacts_requested"])
        assert shown["idle_patents"] == str(row["idle_patents"])
    # The jurisdiction keeps the deals with a party in Hangzhou (four of the six), the region
    # filter those whose demand is in 330110 (three).
    assert sum(int(r["contacts_requested"]) for r in table.rows.values()) == contacts


def test_an_official_may_not_look_outside(client: TestClient, official, world) -> None:
    sign_in(client, official[0])
    assert client.get("/dashboard?region=32").status_code == 403
    assert client.get("/dashboard?region=33").status_code == 403  # the whole province
    assert client.get("/dashboard/export.xlsx?region=32").status_code == 403
    assert client.get("/dashboard?region=330106").status_code == 200


def test_a_month_outside_the_calendar_is_refused(admin_browser: TestClient) -> None:
    for path in ("/dashboard/report?month=0000-01", "/dashboard?month_to=9999-12"):
        page = admin_browser.get(path)
        assert page.status_code == 422, path
        assert "Traceback" not in page.text
