"""Product filing in the console: an enterprise registers and cites, its city's official reviews."""

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.catalog.enums import LegalStatus, OrgKind
from app.settings import Settings
from tests.console.conftest import Person, csrf_of, make_person, sign_in
from tests.filing_support import add_patent


def _patent(engine: Engine, owner: int | None, status: LegalStatus) -> int:
    with Session(engine) as session:
        patent = add_patent(session, owner, status, "一种茶叶加工设备")
        session.commit()
        return patent


def _post(client: TestClient, url: str, csrf: str, **data: str) -> Any:
    return client.post(url, data={"csrf": csrf, **data}, follow_redirects=False)


def _register(client: TestClient, csrf: str, **fields: str) -> Any:
    data = {"name": "富硒绿茶", "category": "茶叶", "industry_code": "C1530",
            "annual_output_yuan": "8,000,000", **fields}  # fmt: skip
    return _post(client, "/filings/new", csrf, **data)


def _people(engine: Engine, settings: Settings) -> tuple[Person, Person, Person]:
    enterprise = make_person(
        engine, settings, OrgKind.ENTERPRISE, "tea@example.cn", region="610902"
    )
    gov_a = make_person(
        engine, settings, OrgKind.GOVERNMENT, "ankang@example.gov.cn", region="610900"
    )
    gov_b = make_person(
        engine, settings, OrgKind.GOVERNMENT, "hanzhong@example.gov.cn", region="610700"
    )
    return enterprise, gov_a, gov_b


def test_enterprise_files_and_the_city_official_reviews(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    enterprise, gov_a, gov_b = _people(api_engine, api_settings)
    owned = _patent(api_engine, enterprise.org_id, LegalStatus.GRANTED)
    lapsed = _patent(api_engine, enterprise.org_id, LegalStatus.LAPSED)
    csrf = sign_in(client, enterprise)
    bad = _register(client, csrf, industry_code="12x")
    assert bad.status_code == 422
    assert "industry_code" in bad.text
    created = _register(client, csrf)
    assert created.status_code == 303
    url = created.headers["location"]
    product = int(re.findall(r"\d+", url)[-1])
    refused = _post(client, f"{url}/patents", csrf, patent_id=str(lapsed), basis="owned")
    assert refused.status_code == 422
    assert "status is lapsed" in refused.text
    assert (
        _post(client, f"{url}/patents", csrf, patent_id=str(owned), basis="owned").status_code
        == 303
    )
    assert _post(client, f"{url}/submit", csrf).status_code == 303
    assert "待审核" in client.get(url).text

    sign_in(client, gov_b)
    assert client.get(url).status_code == 404
    assert f"/filings/{product}" not in client.get("/filings").text

    csrf = sign_in(client, gov_a)
    listing = client.get("/filings")
    assert f"/filings/{product}" in listing.text
    assert "/deals" not in listing.text.split("<main>")[0]  # officials see no deals tab
    page = client.get(url).text
    assert f'action="/filings/{product}/review"' in page
    assert _post(client, f"{url}/review", csrf, decision="return").status_code == 422
    _post(client, f"{url}/review", csrf, decision="return", reason="请补充检测报告")
    csrf = sign_in(client, enterprise)
    assert "请补充检测报告" in client.get(url).text
    _post(client, f"{url}/submit", csrf)
    csrf = sign_in(client, gov_a)
    assert _post(client, f"{url}/review", csrf, decision="approve").status_code == 303
    page = client.get(url).text
    assert "已备案" in page
    history = page.split('class="history"')[1]
    assert history.count("<li>") == 6  # registered, cited, submitted, returned, submitted, approved
    assert "请补充检测报告" in history
    export = client.get("/filings/export.csv", params={"status": "approved"})
    assert export.headers["content-type"].startswith("text/csv")
    assert "富硒绿茶" in export.text
    assert csrf_of(page)
