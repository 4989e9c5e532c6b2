"""The page benches' common ending: per-page p95 against the target, a one-line verdict, and the
exit status (0: every page within the target, 1: some page over it).

Wall time is the server time a visitor waits; on a shared machine other work inflates it, so
the CPU time the process spent is judged beside it (``--judge cpu`` decides on CPU time when the
machine is known to be loaded). The load average is printed at the start and at the end.
"""

import argparse
import os
import statistics

TARGET_P95_MS = 200.0


def add_judge_argument(parser: argparse.ArgumentParser) -> None:
    """``--judge wall|cpu``: which p95 decides the exit status (default wall)."""
    parser.add_argument(
        "--judge",
        choices=("wall", "cpu"),
        default="wall",
        help="the p95 that decides the verdict: wall (default) or CPU time (a loaded machine)",
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as uptime prints them."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def p95(times: list[float]) -> float:
    """The 95th percentile of sorted times (nearest rank)."""
    return times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def page_row(url: str, wall: list[float], cpu: list[float]) -> dict[str, object]:
    """One page's JSON line: wall and CPU p50/p95/max (sorted milliseconds) and the verdict."""
    return {
        "page": url,
        "n": len(wall),
        "p50_ms": round(statistics.median(wall), 1),
        "p95_ms": round(p95(wall), 1),
        "max_ms": round(wall[-1], 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(p95(cpu), 1),
        "within_target": p95(wall) <= TARGET_P95_MS,
        "cpu_within_target": p95(cpu) <= TARGET_P95_MS,
    }


def verdict(rows: list[dict[str, object]], judge: str, started_load: str, what: str) -> int:
    """Print the verdict line (and every page over the target); 0 when all are within it."""
    key = "p95_ms" if judge == "wall" else "cpu_p95_ms"
    over = [r for r in rows if float(str(r[key])) > TARGET_P95_MS]
    for row in over:
        print(f"OVER {row['page']}: wall p95 {row['p95_ms']} ms, CPU p95 {row['cpu_p95_ms']} ms")
    worst_wall = max(rows, key=lambda r: float(str(r["p95_ms"])))
    worst_cpu = max(rows, key=lambda r: float(str(r["cpu_p95_ms"])))
    outcome = (
        f"PASS: every page's {judge} p95 within {TARGET_P95_MS:.0f} ms"
        if not over
        else f"FAIL: {len(over)} of {len(rows)} pages' {judge} p95 over {TARGET_P95_MS:.0f} ms"
    )
    worst = (
        f"worst wall p95 {worst_wall['p95_ms']} ms ({worst_wall['page']}), "
        f"worst CPU p95 {worst_cpu['cpu_p95_ms']} ms ({worst_cpu['page']})"
    )
    load = f"load average {started_load} at the start, {load_average()} at the end"
    print(f"verdict: {outcome} ({what}); {worst}; {load}")
    return 1 if over else 0
