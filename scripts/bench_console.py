"""Server time of every console page on the demo data: p50/p95/max per page, in milliseconds.

Loads the demo catalog (``patentmatch demo load``: the dev corpus's real patents under five
university TTOs, the illustrative needs and enterprises) into a SQLite database of its own under
var/bench_console/<model>/, signs in a TTO and an enterprise, and requests each page ``--repeat``
times in process (TestClient: no network, so the time is the server's plus a little client
overhead). Beside the wall time it reports the process CPU time of each request (user + sys of
every thread), which other work on a shared machine does not inflate. Writes nothing to the demo
database besides the bench users and one small import job; ``--declare N`` declares N patents for
open licensing on a copy of the database and index (var/bench_console/<model>/declared/).
For the case desk's pages it also files ``DESK_DEALS`` contact requests from the enterprise to the
TTO's patents (brokered by the demo's service station, half of them moved to owner_contacted).

    PYTHONPATH=. python scripts/bench_console.py --repeat 30                  # the default model
    PYTHONPATH=. python scripts/bench_console.py --model hashing --repeat 30  # from the repo root

It ends with a verdict line (``verdict: PASS`` / ``verdict: FAIL``, the worst wall and CPU p95
and the load average) and exits 1 when a page's p95 is over the 200 ms target (wall time, or
CPU time with ``--judge cpu`` on a machine others load).
"""

import argparse
import json
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from bench_verdict import add_judge_argument, load_average, page_row, verdict
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts import service
from app.accounts.models import UserAccount
from app.api.main import create_app
from app.auth.principal import Principal, Role
from app.catalog.changes import record_change
from app.catalog.demo import load_demo
from app.catalog.enums import ChangeOp, EntityKind, LegalStatus, NeedStatus, OrgKind
from app.catalog.models import Organisation, Patent, TechNeed
from app.console.identity import invite
from app.db import make_engine
from app.dbcli import upgrade_database
from app.deals.models import Deal
from app.deals.requests import request_deal
from app.deals.schemas import DealCreate, TransitionRequest
from app.deals.service import apply_transition
from app.deals.states import DealAction
from app.licensing.models import DeclarationStatus, OpenLicenceDeclaration, PaymentMode
from app.licensing.schemas import DeclarationCreate
from app.licensing.service import declare as declare_patent
from app.settings import Settings, get_settings

PASSWORD = "bench password 123"
DESK_DEALS = 40
STATION_EMAIL = "bench-station@example.cn"


def _declare(session: Session, tto: int, count: int) -> None:
    """Give the TTO ``count`` granted patents and declare them for open licensing (once)."""
    declared = select(OpenLicenceDeclaration.id).where(
        OpenLicenceDeclaration.status == DeclarationStatus.ACTIVE
    )
    if session.exec(declared).first() is not None:
        return
    cutoff = date.today() + timedelta(days=5 * 366)
    eligible = session.exec(
        select(Patent)
        .where(Patent.legal_status == LegalStatus.GRANTED, col(Patent.expiry_date) > cutoff)
        .order_by(col(Patent.id))
    ).all()
    assert len(eligible) >= count, f"only {len(eligible)} patents can be declared"
    # Spread over the catalog, not one corner of it.
    patents = eligible[:: len(eligible) // count][:count]
    for patent in patents:
        assert patent.id is not None
        patent.owner_org_id = tto
        session.add(patent)
        record_change(session, EntityKind.PATENT, patent.id, ChangeOp.UPSERT)
    user = session.exec(
        select(UserAccount).where(UserAccount.email == "bench-tto@example.cn")
    ).one()
    assert user.actor_key_id is not None
    principal = Principal(key_id=user.actor_key_id, org_id=tto, role=Role.TTO)
    terms = DeclarationCreate(
        payment_mode=PaymentMode.LUMP_SUM,
        fee_yuan=50_000,
        term_years=3,
        contact_name="技术转移中心",
        contact_phone="0571-00000000",
    )
    for patent in patents:
        assert patent.id is not None
        declare_patent(session, principal, patent.id, terms)


def _bench_user(session: Session, settings: Settings, org_id: int, email: str) -> None:
    found = select(func.count()).select_from(UserAccount).where(UserAccount.email == email)
    if session.exec(found).one() == 0:
        made = invite(
            session,
            settings,
            org_id=org_id,
            email=email,
            display_name="bench",
            is_org_admin=True,
            actor=None,
        )
        service.redeem_token(session, made.token, PASSWORD, settings)


def _actor(session: Session, email: str, role: Role) -> Principal:
    user = session.exec(select(UserAccount).where(UserAccount.email == email)).one()
    assert user.actor_key_id is not None
    return Principal(key_id=user.actor_key_id, org_id=user.org_id, role=role)


def _seed_deals(session: Session, tto: int, ent: int, station: int) -> None:
    """``DESK_DEALS`` contact requests brokered by the station, once."""
    if session.exec(select(func.count()).select_from(Deal)).one() > 0:
        return
    buyer = _actor(session, "bench-ent@example.cn", Role.ENTERPRISE)
    broker = _actor(session, STATION_EMAIL, Role.STATION)
    needs = session.exec(select(TechNeed.id).where(TechNeed.org_id == ent)).all()
    patents = session.exec(
        select(Patent.id).where(Patent.owner_org_id == tto).limit(DESK_DEALS)
    ).all()
    for n, patent_id in enumerate(patents):
        body = DealCreate(need_id=needs[n % len(needs)], patent_id=patent_id)
        deal = request_deal(session, buyer, body).deal
        assert deal.id is not None
        if deal.station_org_id != station:
            step = TransitionRequest(action=DealAction.ASSIGN, station_org_id=station)
            apply_transition(session, broker, deal.id, step)
        if n % 2 == 0:
            apply_transition(
                session, broker, deal.id, TransitionRequest(action=DealAction.CONTACT_OWNER)
            )
    session.commit()


def _prepare(settings: Settings, declare: int) -> tuple[int, int]:
    """The demo database (built once) and the ids of the busiest TTO and enterprise."""
    engine = make_engine(settings.database_url)
    # Migrations, not create_all: a database kept from an earlier run gets the new columns.
    upgrade_database(settings.database_url)
    with Session(engine) as session:
        if session.exec(select(func.count()).select_from(Patent)).one() == 0:
            print("loading the demo data (once)…", file=sys.stderr)
            load_demo(session, settings.shared_dir)
            session.commit()
        tto = session.exec(
            select(Patent.owner_org_id, func.count())
            .where(col(Patent.owner_org_id).is_not(None))
            .group_by(col(Patent.owner_org_id))
            .order_by(func.count().desc())
        ).first()
        ent = session.exec(
            select(TechNeed.org_id).group_by(col(TechNeed.org_id)).order_by(func.count().desc())
        ).first()
        assert tto is not None
        assert tto[0] is not None
        assert ent is not None
        station = session.exec(
            select(Organisation.id).where(Organisation.kind == OrgKind.SERVICE_STATION)
        ).first()
        assert station is not None
        people = (
            (tto[0], "bench-tto@example.cn"),
            (ent, "bench-ent@example.cn"),
            (station, STATION_EMAIL),
        )
        for org_id, email in people:
            _bench_user(session, settings, org_id, email)
        session.commit()
        _seed_deals(session, int(tto[0]), int(ent), station)
        session.commit()
        if declare:
            _declare(session, int(tto[0]), declare)
            session.commit()
    engine.dispose()
    return int(tto[0]), int(ent)


def _sign_in(client: TestClient, email: str) -> None:
    client.cookies.clear()
    token = client.get("/signin").text.split('name="csrf" value="')[1].split('"')[0]
    response = client.post(
        "/signin",
        data={"email": email, "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _time(client: TestClient, url: str, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of ``repeat`` requests, each list sorted."""
    client.get(url)  # warm-up (template compile, caches)
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    return sorted(wall), sorted(cpu)


def _caught_up(client: TestClient, settings: Settings, limit_s: float = 900) -> None:
    """Wait until the background indexer has replayed every change (the declarations)."""
    engine = make_engine(settings.database_url)
    deadline = time.monotonic() + limit_s
    with Session(engine) as session:
        while client.app.state.matcher.pending_changes(session):  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the indexer did not catch up"
            time.sleep(0.5)
    engine.dispose()


def _pages(settings: Settings, tto: int, ent: int) -> tuple[list[str], list[str]]:
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        patents = session.exec(select(Patent.id).where(Patent.owner_org_id == tto).limit(3)).all()
        needs = session.exec(
            select(TechNeed.id)
            .where(TechNeed.org_id == ent, TechNeed.status == NeedStatus.PUBLISHED)
            .limit(2)
        ).all()
        deal = session.exec(select(Deal.id).order_by(col(Deal.id))).first()
    engine.dispose()
    tto_pages = [
        "/portfolio",
        "/portfolio?legal_status=granted&ipc=G06&q=方法",
        "/portfolio/import",
        *(f"/patents/{i}" for i in patents),
        *(f"/patents/{i}/declare" for i in patents[:1]),
        "/advice",
        "/team",
        "/deals",
    ]
    ent_pages = ["/needs", "/needs/new", *(f"/needs/{i}" for i in needs), "/deals"]
    if deal is not None:
        tto_pages.append(f"/deals/{deal}")
        ent_pages.append(f"/deals/{deal}")
    return tto_pages, ent_pages


def _desk_pages(settings: Settings) -> list[str]:
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        deals = session.exec(select(Deal.id).order_by(col(Deal.id)).limit(2)).all()
    engine.dispose()
    pages = ["/desk", "/desk?mine=true", "/desk/overdue", "/desk/workload", "/desk/coverage"]
    return pages + [f"/deals/{i}" for i in deals]


def _settings(model: str | None, declare: int) -> Settings:
    """The bench's settings: its own database and index under var/bench_console/<model>/."""
    base = get_settings()
    root = Path("var/bench_console") / (model or base.model_name)
    root.mkdir(parents=True, exist_ok=True)
    if declare:
        # The demo declares nothing; this variant measures pages once patents are declared.
        plain, root = root, root / f"declared-{declare}"
        if not root.exists() and (plain / "demo.db").exists():
            root.mkdir()
            shutil.copy(plain / "demo.db", root / "demo.db")
            # The index too, so that only the declared patents' changes are replayed.
            if (plain / "index").exists():
                shutil.copytree(plain / "index", root / "index")
        root.mkdir(exist_ok=True)
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{root / 'demo.db'}",
            "index_dir": root / "index",
            "model_name": model or base.model_name,
        }
    )


def main() -> int:
    """Measure and print one JSON line per page, then the verdict (exit 1: a page over)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedding model (default: the settings')")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--declare",
        type=int,
        nargs="?",
        const=1,
        default=0,
        metavar="N",
        help="on a copy of the demo database and index, declare N patents (default 1) first",
    )
    add_judge_argument(parser)
    args = parser.parse_args()
    settings = _settings(args.model, args.declare)
    tto, ent = _prepare(settings, args.declare)
    tto_pages, ent_pages = _pages(settings, tto, ent)
    started_load, rows = load_average(), []
    with TestClient(create_app(settings)) as client:
        _caught_up(client, settings)
        for email, pages in (
            ("bench-tto@example.cn", tto_pages),
            ("bench-ent@example.cn", ent_pages),
            (STATION_EMAIL, _desk_pages(settings)),
        ):
            _sign_in(client, email)
            for url in pages:
                rows.append(page_row(url, *_time(client, url, args.repeat)))
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    what = f"{settings.model_name}, --repeat {args.repeat}, --declare {args.declare}"
    return verdict(rows, args.judge, started_load, what)


if __name__ == "__main__":
    sys.exit(main())
