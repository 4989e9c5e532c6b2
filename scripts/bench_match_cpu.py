"""CPU per match request in process: need → matches and free text → matches, by stage.

Runs on the database and index the settings name (e.g. after ``bash scripts/run.sh``, or a copy
of them: ``PATENTMATCH_DATABASE_URL=sqlite:///var/x.db PATENTMATCH_INDEX_DIR=var/x-index``) and
changes nothing but one API key it creates (revoked at the end). For each published need (up to
``--needs``), ``--repeat`` rounds of:

- ``GET /api/v1/needs/{id}/matches?k=10`` through ``TestClient`` (the whole HTTP path, in
  process: auth, rate limit, session, engine, serialisation; the client's share is small);
- the engine call alone (``MatchEngine.match_need``) with its ``StageTimer``;
- the same for free text (``POST /match/text`` with the need's title).

Prints process CPU ms per request (all threads) and wall ms, the engine's stage split, and with
``--profile FILE`` a yappi CPU profile (all threads) of the HTTP need requests (yappi must be
importable). ``--dump FILE`` writes every need's ranked ids, scores, confidences and
explanations as JSON, to compare two trees' results.

    python scripts/bench_match_cpu.py --repeat 10 --dump var/before.json
"""

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.api.main import create_app
from app.auth.keys import create_key, revoke_key
from app.auth.principal import Role
from app.catalog.enums import NeedStatus
from app.catalog.models import Organisation, TechNeed
from app.db import engine_from_settings
from app.search.engine import MatchEngine, MatchFilters, StageTimer
from app.settings import get_settings


def _published(session: Session, most: int) -> list[tuple[int, str]]:
    stmt = (
        select(TechNeed)
        .where(col(TechNeed.status) == NeedStatus.PUBLISHED)
        .order_by(col(TechNeed.id))
        .limit(most)
    )
    return [(int(n.id), n.title) for n in session.exec(stmt) if n.id is not None]


def _admin_key(session: Session) -> tuple[int, str]:
    """A fresh admin key (every need is visible to it)."""
    key, secret = create_key(session, role=Role.ADMIN, org_id=None, label="bench_match_cpu")
    session.commit()
    assert key.id is not None
    return key.id, secret


def _timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per call over ``rounds`` calls, process-wide (all threads)."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        call()
    n = max(rounds, 1)
    return (time.process_time() - cpu) * 1000 / n, (time.perf_counter() - wall) * 1000 / n


def _http(client: TestClient, key: str, needs: list[tuple[int, str]], text: bool) -> None:
    headers = {"X-API-Key": key}
    for need_id, title in needs:
        if text:
            response = client.post(
                "/api/v1/match/text", json={"text": title, "k": 10}, headers=headers
            )
        else:
            response = client.get(f"/api/v1/needs/{need_id}/matches?k=10", headers=headers)
        response.raise_for_status()


def _engine(matcher: MatchEngine, db: Any, needs: list[tuple[int, str]], timer: StageTimer,
            text: bool) -> None:  # fmt: skip
    with Session(db) as session:
        for need_id, title in needs:
            if text:
                matcher.match_text(session, title, MatchFilters(), 10, timer=timer)
            else:
                matcher.match_need(session, need_id, MatchFilters(), 10, timer=timer)


def _dump(matcher: MatchEngine, db: Any, needs: list[tuple[int, str]], path: Path) -> None:
    """Every need's and title's top 10 as JSON (ids, scores, confidences, explanations)."""
    out: dict[str, object] = {}
    with Session(db) as session:
        for need_id, title in needs:
            for name, result in (
                (f"need {need_id}", matcher.match_need(session, need_id, MatchFilters(), 10)),
                (f"text {need_id}", matcher.match_text(session, title, MatchFilters(), 10)),
            ):
                out[name] = {
                    "no_good_match": result.no_good_match,
                    "matches": [
                        [m.id, m.score, m.confidence, asdict(m.explanation)] for m in result.matches
                    ],
                }
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


def _measure(client: TestClient, key: str, needs: list[tuple[int, str]], args: argparse.Namespace,
             matcher: MatchEngine, db: Any) -> dict[str, object]:  # fmt: skip
    report: dict[str, object] = {"needs": len(needs), "repeat": args.repeat}
    for kind, text in (("need", False), ("text", True)):
        _http(client, key, needs, text)  # warm-up
        cpu, wall = _timed(partial(_http, client, key, needs, text), args.repeat)
        per = len(needs)
        report[f"{kind}_http_cpu_ms"] = round(cpu / per, 2)
        report[f"{kind}_http_wall_ms"] = round(wall / per, 2)
        timer = StageTimer()
        cpu, wall = _timed(partial(_engine, matcher, db, needs, timer, text), args.repeat)
        report[f"{kind}_engine_cpu_ms"] = round(cpu / per, 2)
        report[f"{kind}_engine_wall_ms"] = round(wall / per, 2)
        calls = per * args.repeat
        report[f"{kind}_stages_ms"] = {
            stage: round(seconds * 1000 / calls, 2) for stage, seconds in timer.seconds.items()
        }
    return report


def _profile(client: TestClient, key: str, needs: list[tuple[int, str]], rounds: int,
             path: Path) -> None:  # fmt: skip
    """yappi's CPU profile of every thread (the route runs in the server's thread pool)."""
    import yappi  # type: ignore[import-not-found]  # a profiling extra, not a dependency

    yappi.set_clock_type("cpu")
    yappi.start(builtins=True)
    for _ in range(rounds):
        _http(client, key, needs, False)
    yappi.stop()
    calls = max(rounds * len(needs), 1)
    stats = sorted(yappi.get_func_stats(), key=lambda f: -f.ttot)
    with path.open("w", encoding="utf-8") as out:
        out.write(f"{calls} requests; ms per request: total (incl. callees), own, calls\n")
        for f in stats[:250]:
            where = f"{Path(f.module).name}:{f.lineno} {f.name}"
            out.write(f"{f.ttot * 1000 / calls:9.3f} {f.tsub * 1000 / calls:9.3f} "
                      f"{f.ncall / calls:8.1f}  {where}\n")  # fmt: skip
    yappi.clear_stats()


def main(argv: list[str] | None = None) -> int:
    """Measure, print JSON; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=100, help="published needs used (first n)")
    parser.add_argument("--repeat", type=int, default=10, help="rounds over the needs")
    parser.add_argument("--profile", type=Path, help="write a yappi profile here")
    parser.add_argument("--dump", type=Path, help="write every need's results here (JSON)")
    args = parser.parse_args(argv)
    settings = get_settings()
    db = engine_from_settings(settings)
    with Session(db) as session:
        needs = _published(session, args.needs)
        if session.exec(select(Organisation).limit(1)).first() is None or not needs:
            sys.exit("no demo data: run `patentmatch demo load` and `patentmatch index update`")
        key_id, key = _admin_key(session)
    try:
        with TestClient(create_app(settings)) as client:
            matcher: MatchEngine = client.app.state.matcher  # type: ignore[attr-defined]
            report = _measure(client, key, needs, args, matcher, db)
            if args.dump:  # after the measurement: what repeated requests get
                _dump(matcher, db, needs, args.dump)
            if args.profile:
                _profile(client, key, needs, args.repeat, args.profile)
    finally:
        with Session(db) as session:
            revoke_key(session, key_id)
            session.commit()
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
