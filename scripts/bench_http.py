"""Free text → top-10 over HTTP: ``POST /api/v1/match/text`` against a real server, one at a time.

Run ``scripts/bench_e2e.py`` with the same ``--size`` and ``--work`` first: it builds the
catalog database and the saved indexes this script serves. The server is ``patentmatch serve``
on 127.0.0.1:``--port`` with those settings (one search thread, one encoder thread, the rate
limit lifted); an admin key is created with ``keys ensure-admin``. Latency is measured at the
client (request sent → response read), after 10 warm-up queries. Every text is sent once (the
warm-up texts are others), so no answer comes from the server's memo of recent queries.

    PYTHONPATH=. python scripts/bench_http.py --size 100000 --queries 200 --port 8107
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.settings import get_settings


def _texts(path: Path) -> list[str]:
    """The ``text`` field of each line of a queries JSONL file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line)["text"]) for line in lines if line.strip()]


def _env(work: Path, size: int) -> dict[str, str]:
    """The server's environment: the benchmark's database and indexes, one thread each."""
    return {
        **os.environ,
        "PATENTMATCH_DATABASE_URL": f"sqlite:///{work / f'catalog-{size}.db'}",
        "PATENTMATCH_INDEX_DIR": str(work / f"index-{size}"),
        "PATENTMATCH_VAR_DIR": str(work / "var"),
        "PATENTMATCH_SEARCH_THREADS": "1",
        "PATENTMATCH_ENCODE_THREADS": os.environ.get("PATENTMATCH_ENCODE_THREADS", "1"),
        "PATENTMATCH_RATE_LIMIT_PER_MINUTE": "1000000",
    }


def _admin_key(env: dict[str, str], work: Path) -> str:
    """Create (or reuse) the admin key and read its secret."""
    command = [sys.executable, "-m", "app.cli", "keys", "ensure-admin"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    return (work / "var" / "admin-key").read_text().strip()


def _wait_ready(client: httpx.Client, server: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll /readyz until the server answers 200 (it loads the encoder and the indexes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before it was ready")
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise SystemExit("the server was not ready in time")


def _percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank), in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    """Start the server, time the queries, print p50/p99, stop the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--port", type=int, default=8107)
    parser.add_argument("--work", type=Path, default=Path("var/bench_e2e"))
    args = parser.parse_args()
    base = get_settings()
    texts = list(dict.fromkeys(_texts(base.shared_dir / "eval/dev/title_queries.jsonl")))
    warm_up, texts = texts[args.queries : args.queries + 10], texts[: args.queries]
    env = _env(args.work.resolve(), args.size)
    key = _admin_key(env, args.work.resolve())
    command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
    server = subprocess.Popen([*command, "--port", str(args.port)], env=env)
    url = f"http://127.0.0.1:{args.port}"
    try:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
            _wait_ready(client, server, timeout=600)
            seconds: list[float] = []
            for i, text in enumerate([*warm_up, *texts]):
                start = time.perf_counter()
                response = client.post("/api/v1/match/text", json={"text": text, "k": 10})
                elapsed = time.perf_counter() - start
                response.raise_for_status()
                if i >= len(warm_up):
                    seconds.append(elapsed)
    finally:
        server.terminate()
        server.wait(timeout=30)
    p50, p99 = _percentile(seconds, 0.5), _percentile(seconds, 0.99)
    print(
        f"free text → top-10 over HTTP, {len(seconds)} queries: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )


if __name__ == "__main__":
    main()
