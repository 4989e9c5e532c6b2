"""Product filing in a real Chromium: an enterprise of 安康 files, the city's official approves."""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from app.api.main import create_app
from app.catalog.enums import LegalStatus, OrgKind
from app.catalog.models import Organisation
from app.db import create_schema, make_engine
from app.settings import Settings
from tests.browser.conftest import LiveServer, Tab, _person, browser_settings, open_tab
from tests.filing_support import add_patent

ENTERPRISE, OFFICIAL = "tea@example.cn", "ankang-amr@example.gov.cn"


@dataclass(frozen=True)
class FilingSite:
    """The live server, its people and the enterprise's patents."""

    url: str
    shots: Path | None
    owned: int
    lapsed: int


def _seed(session: Session, settings: Settings) -> tuple[int, int]:
    tea = Organisation(kind=OrgKind.ENTERPRISE, name="安康示例富硒茶业有限公司", region="610902")
    office = Organisation(kind=OrgKind.GOVERNMENT, name="安康市市场监督管理局", region="610900")
    session.add_all([tea, office])
    session.flush()
    _person(session, settings, tea, ENTERPRISE)
    _person(session, settings, office, OFFICIAL)
    owned = add_patent(session, tea.id, LegalStatus.GRANTED, "一种富硒茶叶的加工方法")
    return owned, add_patent(session, tea.id, LegalStatus.LAPSED, "一种茶叶杀青装置")


@pytest.fixture(scope="module")
def filing_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilingSite]:
    """A fresh database with an enterprise, its city office and two patents, served live."""
    settings = browser_settings(tmp_path_factory.mktemp("filing"))
    engine = make_engine(settings.database_url)
    create_schema(engine)
    with Session(engine) as session:
        owned, lapsed = _seed(session, settings)
        session.commit()
    live = LiveServer.start(create_app(settings, engine=engine))
    shots = os.environ.get("PATENTMATCH_SCREENSHOT_DIR")
    yield FilingSite(live.url, Path(shots) if shots else None, owned, lapsed)
    live.stop()
    engine.dispose()


@pytest.fixture
def filing_tab(chromium: Any, filing_site: FilingSite) -> Iterator[Tab]:
    """A fresh browser tab on the filing site."""
    yield from open_tab(chromium, filing_site)


def _cite(tab: Tab, patent: int, basis: str) -> None:
    tab.page.fill("form.link-patent input[name=patent_id]", str(patent))
    tab.page.select_option("form.link-patent select[name=basis]", basis)
    tab.page.click("form.link-patent button")
    tab.page.wait_for_load_state()


def test_enterprise_files_a_product_and_the_official_approves_it(
    filing_tab: Tab, filing_site: FilingSite
) -> None:
    tab = filing_tab
    tab.sign_in(ENTERPRISE)
    tab.page.click("nav >> text=产品备案")
    tab.page.click("text=登记产品")
    tab.page.fill("input[name=name]", "富硒绿茶")
    tab.page.fill("input[name=category]", "茶叶")
    tab.page.fill("input[name=industry_code]", "C1530")
    tab.page.fill("input[name=annual_output_yuan]", "8000000")
    tab.page.click("button:has-text('保存')")
    tab.page.wait_for_url(re.compile(r"/filings/\d+$"))
    product_url = tab.page.url
    _cite(tab, filing_site.lapsed, "owned")
    assert "status is lapsed" in tab.page.inner_text(".errors")
    tab.shot("filing-refused")
    tab.page.goto(product_url)
    _cite(tab, filing_site.owned, "owned")
    assert "一种富硒茶叶的加工方法" in tab.page.inner_text("table.cited")
    tab.page.click("button:has-text('提交备案')")
    tab.page.wait_for_load_state()
    assert "待审核" in tab.page.inner_text("h1")
    tab.shot("filing-submitted")

    tab.page.context.clear_cookies()
    tab.sign_in(OFFICIAL)
    tab.page.goto(f"{filing_site.url}/filings")
    tab.page.click("text=富硒绿茶")
    tab.page.check("input[value=approve]")
    tab.page.click("button:has-text('提交审核意见')")
    tab.page.wait_for_load_state()
    assert "已备案" in tab.page.inner_text("h1")
    assert "通过" in tab.page.inner_text("ol.history")
    tab.shot("filing-approved")
