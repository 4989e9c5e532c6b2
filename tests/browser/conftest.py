"""Browser tests: a live uvicorn on 127.0.0.1 (hashing model, fresh SQLite) driven by Debian's
Chromium through Playwright. Nothing is downloaded; requests that would leave the machine are
aborted and recorded, and each test asserts there were none."""

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlmodel import Session

from app.accounts import service
from app.accounts.models import UserAccount
from app.api.main import create_app
from app.auth.principal import Principal, Role
from app.catalog.appno import compute_check_char
from app.catalog.changes import record_change
from app.catalog.enums import ChangeOp, EntityKind, LegalStatus, NeedStatus, OrgKind, PatentType
from app.catalog.models import Organisation, Patent, TechNeed, utcnow
from app.console.identity import invite
from app.db import create_schema, make_engine
from app.deals.requests import request_deal
from app.deals.schemas import DealCreate
from app.settings import Settings
from tests.api.conftest import IPC_FIXTURE

CHROMIUM = os.environ.get("PATENTMATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
STATION_EMAIL = "station@example.cn"
COLLEAGUE_EMAIL = "colleague@example.cn"  # a second specialist of the same station
TTO_PHONE = "0571-87951234"
BUYER_PHONE = "0571-86660000"


@dataclass(frozen=True)
class Site:
    """The live server and the seeded people and records."""

    url: str
    tto_email: str
    enterprise_email: str
    patent_id: int
    shots: Path | None
    desk: "DeskSeed"


@dataclass(frozen=True)
class DeskSeed:
    """What the case-desk tests start from: a need to request contact for, and two deals."""

    station_email: str
    walk_need_id: int
    walk_patent_id: int
    sign_deal_id: int  # assigned to the station: the station takes it to signed
    decline_deal_id: int  # assigned: the owner declines it


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _appno(serial: int) -> str:
    body = f"20181{serial:07d}"
    return f"{body}.{compute_check_char(body)}"


def _person(session: Session, settings: Settings, org: Organisation, email: str) -> UserAccount:
    made = invite(
        session,
        settings,
        org_id=org.id,
        email=email,
        display_name=email.split("@")[0],
        is_org_admin=True,
        actor=None,
    )
    return service.redeem_token(session, made.token, PASSWORD, settings)


def _orgs(session: Session) -> list[Organisation]:
    uni = Organisation(
        kind=OrgKind.UNIVERSITY,
        name="示例大学技术转移中心",
        region="330106",
        contact_person="王老师",
        contact_phone=TTO_PHONE,
    )
    ent = Organisation(
        kind=OrgKind.ENTERPRISE,
        name="杭州示例新能源科技有限公司",
        region="330110",
        contact_person="张经理",
        contact_phone=BUYER_PHONE,
    )
    other = Organisation(kind=OrgKind.ENTERPRISE, name="宁波示例电池有限公司", region="330200")
    station = Organisation(
        kind=OrgKind.SERVICE_STATION,
        name="杭州知识产权服务站",
        region="330100",
        coverage_regions=["33"],
    )
    session.add_all([uni, ent, other, station])
    session.flush()
    return [uni, ent, other, station]


def _seed(session: Session, settings: Settings) -> tuple[int, DeskSeed]:
    uni, ent, other, station = _orgs(session)
    _person(session, settings, uni, "tto@example.edu.cn")
    buyer = _person(session, settings, ent, "buyer@example.cn")
    _person(session, settings, station, STATION_EMAIL)
    _person(session, settings, station, COLLEAGUE_EMAIL)
    patent = Patent(
        natural_key=_appno(1234567),
        application_number=_appno(1234567),
        patent_type=PatentType.INVENTION,
        title="一种高镍三元正极材料的表面包覆方法",
        abstract="通过氧化铝表面包覆提高高镍正极材料在高温下的循环稳定性和容量保持率。",
        ipc_codes=["H01M 4/36"],
        ipc_main="H01M 4/36",
        applicants=["示例大学"],
        filing_date=date(2018, 3, 1),
        grant_date=date(2020, 6, 5),
        expiry_date=date(2038, 3, 1),
        legal_status=LegalStatus.GRANTED,
        owner_org_id=uni.id,
    )
    assert other.id is not None
    need = TechNeed(
        org_id=other.id,
        title="高镍正极材料高温循环稳定性提升",
        region="330200",
        description="需要提升高镍三元正极材料在高温下的循环稳定性。",
        status=NeedStatus.PUBLISHED,
        published_at=utcnow(),
    )
    session.add_all([patent, need])
    session.flush()
    assert patent.id is not None
    assert need.id is not None
    record_change(session, EntityKind.PATENT, patent.id, ChangeOp.UPSERT)
    record_change(session, EntityKind.NEED, need.id, ChangeOp.UPSERT)
    assert buyer.actor_key_id is not None
    assert ent.id is not None
    assert uni.id is not None
    return patent.id, _seed_desk(
        session, Principal(buyer.actor_key_id, ent.id, Role.ENTERPRISE), uni.id
    )


def _desk_patent(session: Session, serial: int, title: str, owner: int) -> int:
    patent = Patent(
        natural_key=_appno(serial),
        application_number=_appno(serial),
        patent_type=PatentType.INVENTION,
        title=title,
        ipc_codes=["H01M 4/583"],
        ipc_main="H01M 4/583",
        applicants=["示例大学"],
        filing_date=date(2019, 4, 1),
        grant_date=date(2021, 5, 6),
        expiry_date=date(2039, 4, 1),
        legal_status=LegalStatus.GRANTED,
        owner_org_id=owner,
    )
    session.add(patent)
    session.flush()
    assert patent.id is not None
    record_change(session, EntityKind.PATENT, patent.id, ChangeOp.UPSERT)
    return patent.id


def _seed_desk(session: Session, buyer: Principal, owner: int) -> DeskSeed:
    # Titles far from the other tests' need, so that their first match stays their patent.
    walk = _desk_patent(session, 2345678, "一种钠离子电池硬碳负极材料的制备方法", owner)
    need = TechNeed(
        org_id=buyer.org_id,
        title="钠离子电池硬碳负极材料量产",
        region="330110",
        industry_code="3841",
        description="寻求钠离子电池硬碳负极材料的制备技术，拟独占许可。",
        status=NeedStatus.PUBLISHED,
        published_at=utcnow(),
    )
    session.add(need)
    session.flush()
    assert need.id is not None
    record_change(session, EntityKind.NEED, need.id, ChangeOp.UPSERT)
    deals = [
        request_deal(
            session,
            buyer,
            DealCreate(patent_id=_desk_patent(session, serial, title, owner), message="希望许可"),
        ).deal.id
        for serial, title in (
            (3456789, "一种光伏组件清洗机器人"),
            (4567890, "一种风电叶片除冰装置"),
        )
    ]
    assert deals[0] is not None
    assert deals[1] is not None
    return DeskSeed(STATION_EMAIL, need.id, walk, deals[0], deals[1])


def browser_settings(root: Path) -> Settings:
    """Hashing model, a fresh SQLite file, the tiny IPC scheme and cheap Argon2, under ``root``."""
    scheme = root / "shared" / "data" / "ipc" / "ipc_zh_2026_01.csv"
    scheme.parent.mkdir(parents=True)
    scheme.write_text(IPC_FIXTURE, encoding="utf-8")
    return Settings(
        model_name="hashing",
        database_url=f"sqlite:///{root / 'console.db'}",
        index_dir=root / "index",
        var_dir=root / "var",
        shared_dir=root / "shared",
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        argon2_parallelism=1,
    )


@dataclass(frozen=True)
class LiveServer:
    """An app served by uvicorn on a free loopback port, in a thread."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    @classmethod
    def start(cls, app: Any) -> "LiveServer":
        """Serve ``app`` and wait until it accepts connections."""
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the console server did not start")
            time.sleep(0.05)
        return cls(server, thread, f"http://127.0.0.1:{port}")

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Seed a fresh database and serve the app on a free loopback port."""
    settings = browser_settings(tmp_path_factory.mktemp("browser"))
    engine = make_engine(settings.database_url)
    create_schema(engine)
    with Session(engine) as session:
        patent_id, desk = _seed(session, settings)
        session.commit()
    live = LiveServer.start(create_app(settings, engine=engine))
    shots = os.environ.get("PATENTMATCH_SCREENSHOT_DIR")
    yield Site(
        live.url,
        "tto@example.edu.cn",
        "buyer@example.cn",
        patent_id,
        Path(shots) if shots else None,
        desk,
    )
    live.stop()
    engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Tab:
    """A page of a fresh browser context, with the requests that tried to leave the site."""

    page: Any
    outside: list[str]
    site: Site

    def shot(self, name: str, *, full_page: bool = True) -> None:
        """Save a screenshot when PATENTMATCH_SCREENSHOT_DIR is set."""
        if self.site.shots is not None:
            self.site.shots.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(self.site.shots / f"{name}.png"), full_page=full_page)

    def sign_in(self, email: str) -> None:
        """Sign in through the form."""
        self.page.goto(f"{self.site.url}/signin")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()


@pytest.fixture
def tab(chromium: Any, site: Site) -> Iterator[Tab]:
    """A new context (no cookies) whose requests off 127.0.0.1 are aborted and recorded."""
    yield from open_tab(chromium, site)


def open_tab(chromium: Any, site: Any) -> Iterator[Tab]:
    """A tab on ``site`` (anything with ``url`` and ``shots``); asserts nothing left the machine."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith((site.url + "/", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yielded = Tab(page, outside, site)
    yield yielded
    context.close()
    assert outside == [], f"requests left the machine: {outside}"
