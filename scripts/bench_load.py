"""Load benchmark: drive a running patentmatch server with N connections for T seconds.

It starts nothing by itself and only talks to 127.0.0.1 / localhost. Scenarios:

- ``need``: ``GET /needs/{id}/matches`` over the published needs (no encoding on the server);
- ``text``: ``POST /match/text`` with the needs' titles as free text (one query encoding each);
- ``mixed``: 85 % reads (half of each above), 15 % writes (new patents, title edits);
- ``visibility``: create a patent through ``--base`` and poll ``POST /match/text`` through
  ``--read-base`` (another replica, or the same server) until it is returned; prints seconds.

Prints requests/s, p50/p99 latency and errors by status; with ``--pid`` (the server's processes,
e.g. ``$(pgrep -f 'app.cli serve')``) also the server's CPU seconds per request, the fairer
figure on a machine shared with other work, and the client's own CPU time. Keys: ``--keys FILE``
holds one API key per line (rotated over the connections; any role reads); ``--write-key`` is a
tto key.

    python scripts/bench_load.py --base http://127.0.0.1:8103 --keys var/bench-keys \\
        --write-key "$TTO_KEY" --scenario mixed --connections 50 --seconds 30
"""

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from app.catalog.appno import compute_check_char

MAX_CONNECTIONS = 200
MAX_SECONDS = 600
WRITE_SHARE = 0.15
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass
class Tally:
    """Latencies of successful requests and counts by status."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, status: str, seconds: float) -> None:
        """Record one request."""
        self.statuses[status] += 1
        if status.startswith("2"):
            self.latencies.append(seconds)


@dataclass
class Workload:
    """What the requests are made of."""

    base: str
    keys: list[str]
    write_key: str | None
    needs: list[tuple[int, str]]
    own_patents: list[int] = field(default_factory=list)


def _local(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if host not in LOCAL_HOSTS:
        sys.exit(f"refusing {url}: this benchmark only targets 127.0.0.1 / localhost")
    return url.rstrip("/")


def _application_number(rng: random.Random) -> str:
    body = f"{rng.randint(2019, 2024)}1{rng.randint(0, 9_999_999):07d}"
    return f"{body}.{compute_check_char(body)}"


async def _published_needs(client: httpx.AsyncClient, base: str, key: str) -> list[tuple[int, str]]:
    response = await client.get(
        f"{base}/api/v1/needs", params={"status": "published", "limit": 100}, headers=_auth(key)
    )
    response.raise_for_status()
    items = response.json()["items"]
    return [(int(n["id"]), str(n["title"])) for n in items]


def _auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


async def _need(client: httpx.AsyncClient, w: Workload, rng: random.Random, key: str) -> int:
    need_id, _ = rng.choice(w.needs)
    url = f"{w.base}/api/v1/needs/{need_id}/matches"
    return (await client.get(url, params={"k": 10}, headers=_auth(key))).status_code


async def _text(client: httpx.AsyncClient, w: Workload, rng: random.Random, key: str) -> int:
    _, title = rng.choice(w.needs)
    body = {"text": title, "k": 10}
    url = f"{w.base}/api/v1/match/text"
    return (await client.post(url, json=body, headers=_auth(key))).status_code


async def _write(client: httpx.AsyncClient, w: Workload, rng: random.Random) -> int:
    assert w.write_key is not None
    headers = _auth(w.write_key)
    if w.own_patents and rng.random() < 0.5:
        patent_id = rng.choice(w.own_patents)
        body = {"title": f"压测修改标题 {rng.randrange(10**6)} 锂电池正极材料包覆"}
        url = f"{w.base}/api/v1/patents/{patent_id}"
        return (await client.patch(url, json=body, headers=headers)).status_code
    record: dict[str, str | list[str]] = {
        "application_number": _application_number(rng),
        "title": f"压测专利 {rng.randrange(10**6)} 一种污水处理生物膜反应器",
        "abstract": "用于负载测试的专利记录：生物膜载体提高污水处理效率。",
        "ipc_codes": ["C02F 3/10"],
        "legal_status": "granted",
    }
    response = await client.post(f"{w.base}/api/v1/patents", json=record, headers=headers)
    if response.status_code == 201:
        w.own_patents.append(int(response.json()["id"]))
    return response.status_code


async def _one(client: httpx.AsyncClient, w: Workload, scenario: str, rng: random.Random) -> int:
    key = rng.choice(w.keys)
    if scenario == "need":
        return await _need(client, w, rng, key)
    if scenario == "text":
        return await _text(client, w, rng, key)
    roll = rng.random()
    if roll < WRITE_SHARE:
        return await _write(client, w, rng)
    reader = _need if roll < WRITE_SHARE + (1 - WRITE_SHARE) / 2 else _text
    return await reader(client, w, rng, key)


async def _connection(
    w: Workload, scenario: str, deadline: float, tally: Tally, seed: int, timeout: float
) -> None:
    rng = random.Random(seed)
    # One client per simulated connection: each keeps its own keep-alive socket.
    async with httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=1)) as c:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                status = str(await _one(c, w, scenario, rng))
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            tally.add(status, time.perf_counter() - started)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _report(scenario: str, connections: int, elapsed: float, tally: Tally) -> dict[str, object]:
    total = sum(tally.statuses.values())
    errors = {s: n for s, n in sorted(tally.statuses.items()) if not s.startswith("2")}
    return {
        "scenario": scenario,
        "connections": connections,
        "seconds": round(elapsed, 1),
        "requests": total,
        "req_per_s": round(total / elapsed, 1),
        "ok": total - sum(errors.values()),
        "p50_ms": round(_percentile(tally.latencies, 0.50) * 1000, 1),
        "p99_ms": round(_percentile(tally.latencies, 0.99) * 1000, 1),
        "errors_by_status": errors,
    }


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of processes (and their waited-for children), from /proc."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _load(args: argparse.Namespace, w: Workload) -> dict[str, object]:
    tally = Tally()
    server_before, client_before = _cpu_seconds(args.pid), _client_cpu()
    started = time.perf_counter()
    deadline = started + args.seconds
    # Connections are spread over the servers (replicas) round robin.
    bases = args.bases
    await asyncio.gather(
        *(
            _connection(
                replace(w, base=bases[i % len(bases)]),
                args.scenario,
                deadline,
                tally,
                args.seed + i,
                args.timeout,
            )
            for i in range(args.connections)
        )
    )
    report = _report(args.scenario, args.connections, time.perf_counter() - started, tally)
    report["servers"] = len(bases)
    requests = max(1, int(str(report["requests"])))
    if args.pid:
        server_cpu = _cpu_seconds(args.pid) - server_before
        report["server_cpu_ms_per_req"] = round(server_cpu / requests * 1000, 1)
    report["client_cpu_s"] = round(_client_cpu() - client_before, 1)
    report["load_average"] = [round(x, 1) for x in os.getloadavg()]
    return report


async def _visible_after(
    client: httpx.AsyncClient, args: argparse.Namespace, w: Workload, rng: random.Random
) -> float:
    """Seconds from a patent's 201 (through --base) to its first match through --read-base."""
    assert w.write_key is not None
    word = "".join(rng.choice("氢氧钛钒铌钽锆铪铼锇铱铂") for _ in range(6))
    title = f"一种{word}合金薄膜的制备方法"
    body = {"application_number": _application_number(rng), "title": title,
            "ipc_codes": ["C23C 14/00"], "legal_status": "granted"}  # fmt: skip
    response = await client.post(f"{w.base}/api/v1/patents", json=body, headers=_auth(w.write_key))
    response.raise_for_status()
    created, patent_id = time.perf_counter(), int(response.json()["id"])
    query = {"text": title, "k": 10}
    while time.perf_counter() - created < args.visibility_timeout:
        found = await client.post(
            f"{args.read_base}/api/v1/match/text", json=query, headers=_auth(w.keys[0])
        )
        if found.status_code == 200 and any(m["id"] == patent_id for m in found.json()["matches"]):
            return time.perf_counter() - created
        await asyncio.sleep(0.02)
    return float("inf")


async def _visibility(args: argparse.Namespace, w: Workload) -> dict[str, object]:
    # Not the load's seed: its application numbers may be in the database already.
    rng = random.Random(f"visibility-{time.time_ns()}")
    async with httpx.AsyncClient(timeout=args.timeout) as client:
        seconds = [await _visible_after(client, args, w, rng) for _ in range(args.repeat)]
    return {
        "scenario": "visibility",
        "write_base": w.base,
        "read_base": args.read_base,
        "repeat": args.repeat,
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
    }


async def _main(args: argparse.Namespace) -> dict[str, object]:
    keys = [k.strip() for k in Path(args.keys).read_text().splitlines() if k.strip()]
    if not keys:
        sys.exit(f"{args.keys}: no API keys in it")
    async with httpx.AsyncClient(timeout=args.timeout) as client:
        needs = await _published_needs(client, args.base, keys[0])
    if not needs:
        sys.exit("the server has no published needs (load the demo data first)")
    w = Workload(args.base, keys, args.write_key, needs)
    if args.scenario in ("mixed", "visibility") and not args.write_key:
        sys.exit(f"--scenario {args.scenario} needs --write-key (a tto key)")
    if args.scenario == "visibility":
        return await _visibility(args, w)
    return await _load(args, w)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", required=True, help="e.g. http://127.0.0.1:8103; several: comma-separated"
    )
    parser.add_argument("--read-base", help="visibility: the server to read through")
    parser.add_argument("--keys", required=True, help="file with one API key per line")
    parser.add_argument("--write-key", help="a tto key (mixed and visibility)")
    parser.add_argument(
        "--scenario", choices=["need", "text", "mixed", "visibility"], required=True
    )
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=30.0, help="per request")
    parser.add_argument("--repeat", type=int, default=10, help="visibility rounds")
    parser.add_argument("--visibility-timeout", type=float, default=10.0)
    # Fresh by default: new patents of an earlier run must not collide with this one's.
    parser.add_argument("--seed", type=int, default=time.time_ns() % 10**9)
    parser.add_argument("--pid", type=int, action="append", default=[], help="server process")
    args = parser.parse_args()
    args.bases = [_local(b) for b in args.base.split(",") if b.strip()]
    args.base = args.bases[0]
    args.read_base = _local(args.read_base or args.base)
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        parser.error(f"--connections must be 1..{MAX_CONNECTIONS}")
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS}]")
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_main(_args())), ensure_ascii=False))
