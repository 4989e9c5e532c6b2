"""Server time of the dashboard and platform administration pages: p50/p95/max in milliseconds,
and the CPU time the process spent (the machine is shared: wall time alone overstates).

Loads the demo catalog into a SQLite database of its own under var/bench_dashboard/ (or copies
one given with ``--from``), adds ``--deals`` synthetic deals across regions, industries, states
and months (a fixed seed) with contracts for the signed ones, signs in a platform admin, and
requests each page ``--repeat`` times in process (TestClient).

    PYTHONPATH=. python scripts/bench_dashboard.py --deals 2000 --repeat 30

It ends with a verdict line (``verdict: PASS`` / ``verdict: FAIL``, the worst wall and CPU p95
and the load average) and exits 1 when a page's p95 is over the 200 ms target (wall time, or
CPU time with ``--judge cpu`` on a machine others load). The database is made once: delete
var/bench_dashboard/ to measure another ``--deals``.
"""

import argparse
import json
import random
import resource
import shutil
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bench_verdict import add_judge_argument, load_average, page_row, verdict
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts import service
from app.api.main import create_app
from app.catalog.demo import load_demo
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation, Patent
from app.console.identity import invite
from app.db import create_schema, make_engine
from app.deals.models import ContractType, Deal, DealContract
from app.deals.states import SIGNED_STATES, DealState
from app.settings import Settings, get_settings

PASSWORD = "bench password 123"
EMAIL = "bench-root@example.cn"
REGIONS = ("330106", "330110", "330200", "320500", "110108", "440300", "510100")
INDUSTRIES = ("C3841", "C2710", "I6511", "C3562", None)
PAGES = (
    "/dashboard",
    "/dashboard?group_by=org",
    "/dashboard?region=33&group_by=month&month_from=2025-01",
    "/dashboard/export.xlsx",
    "/dashboard/report?month=2026-03",
    "/admin/orgs",
    "/admin/people",
    "/admin/imports",
    "/admin/audit",
)


def _deals(session: Session, count: int) -> None:
    """``count`` deals on demo patents, owners as the patents', requested by demo enterprises."""
    rng = random.Random(16)
    patents = session.exec(
        select(Patent.id, Patent.owner_org_id).where(col(Patent.owner_org_id).is_not(None))
    ).all()
    buyers = session.exec(
        select(Organisation.id).where(Organisation.kind == OrgKind.ENTERPRISE)
    ).all()
    states = list(DealState)
    for _ in range(count):
        patent_id, owner = rng.choice(patents)
        month = rng.randrange(1, 13)
        deal = Deal(
            patent_id=patent_id, owner_org_id=owner or 0, requester_org_id=rng.choice(buyers) or 0,
            region=rng.choice(REGIONS), industry_code=rng.choice(INDUSTRIES),
            state=rng.choice(states), created_at=datetime(2025 + month % 2, month, 9, tzinfo=UTC),
        )  # fmt: skip
        session.add(deal)
        session.flush()
        if deal.state in SIGNED_STATES:
            session.add(DealContract(deal_id=deal.id or 0, contract_type=ContractType.ASSIGNMENT,
                                     amount_yuan=rng.randrange(10_000, 2_000_000),
                                     signed_on=date(2026, month, 20)))  # fmt: skip


def _prepare(settings: Settings, deals: int) -> None:
    engine = make_engine(settings.database_url)
    create_schema(engine)
    with Session(engine) as session:
        if session.exec(select(func.count()).select_from(Patent)).one() == 0:
            print("loading the demo data (once)…", file=sys.stderr)
            load_demo(session, settings.shared_dir)
        have = session.exec(select(func.count()).select_from(Deal)).one()
        if have < deals:
            _deals(session, deals - have)
        made = invite(session, settings, org_id=None, email=EMAIL, display_name="bench",
                      is_org_admin=False, actor=None)  # fmt: skip
        service.redeem_token(session, made.token, PASSWORD, settings)
        session.commit()
    engine.dispose()


def _time(client: TestClient, url: str, repeat: int) -> dict[str, object]:
    """One page's row: wall and CPU time (user + sys of the process) of ``repeat`` requests."""
    client.get(url)  # warm-up
    times, cpu = [], []
    for _ in range(repeat):
        start, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        response = client.get(url)
        after = resource.getrusage(resource.RUSAGE_SELF)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime) * 1000)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    return page_row(url, sorted(times), sorted(cpu))


def main() -> int:
    """Measure and print one JSON line per page, then the verdict (exit 1: a page over)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--from", dest="source", type=Path, help="a demo.db to start from")
    add_judge_argument(parser)
    args = parser.parse_args()
    root = Path("var/bench_dashboard")
    root.mkdir(parents=True, exist_ok=True)
    if args.source and not (root / "demo.db").exists():
        shutil.copy(args.source, root / "demo.db")
    settings = get_settings().model_copy(
        update={
            "database_url": f"sqlite:///{root / 'demo.db'}",
            "index_dir": root / "index",
            "model_name": "hashing",
        }
    )
    if not (root / "ready").exists():
        _prepare(settings, args.deals)
        (root / "ready").write_text("1")
    engine = make_engine(settings.database_url)
    create_schema(engine)  # tables added since the database was made
    with Session(engine) as session:
        deals = session.exec(select(func.count()).select_from(Deal)).one()
    engine.dispose()
    started_load, rows = load_average(), []
    with TestClient(create_app(settings)) as client:
        client.cookies.clear()
        token = client.get("/signin").text.split('name="csrf" value="')[1].split('"')[0]
        client.post("/signin", data={"email": EMAIL, "password": PASSWORD, "csrf": token})
        for url in PAGES:
            rows.append(_time(client, url, args.repeat))
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    what = f"{deals} deals, --repeat {args.repeat}"
    return verdict(rows, args.judge, started_load, what)


if __name__ == "__main__":
    sys.exit(main())
