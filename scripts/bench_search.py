"""Benchmark ``VectorIndex`` (flat vs HNSW) and, for comparison, a raw FAISS IVF-Flat.

Synthetic clustered vectors stand in for patent embeddings: a Gaussian mixture around
``--centroids`` random centres, with most of the spread in a low-dimensional subspace (real
sentence embeddings have a low intrinsic dimension; isotropic 512-d noise would make every
neighbour equidistant) plus a little isotropic noise; then L2-normalised. Queries are held out,
drawn from the same distribution. Recall@k is measured against exact inner-product search;
latency is one query at a time on one thread, as the API serves it.

    python scripts/bench_search.py --sizes 10000,100000 --json var/bench/dev.json
"""

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import faiss
import numpy as np

from app.search.ann_params import AnnParams
from app.search.vector_index import VectorIndex
from app.settings import get_settings

CHUNK = 50_000


@dataclass
class Row:
    """One measured configuration."""

    size: int
    kind: str
    knob: str
    build_s: float
    index_mb: float
    rss_delta_mb: float
    recall: float
    p50_ms: float
    p99_ms: float
    cpu_p99_ms: float  # thread CPU time: the index's own cost, free of other processes' load


def rss_mb() -> float:
    """Resident set size of this process now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Mixture:
    """A fixed clustered distribution to draw database vectors and queries from."""

    def __init__(self, dim: int, centroids: int, intrinsic: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        # Two levels (topics → sub-topics) so that neighbouring clusters overlap, as fields do.
        topics = _unit(rng.standard_normal((max(1, centroids // 32), dim), dtype=np.float32))
        jitter = _unit(rng.standard_normal((centroids, dim), dtype=np.float32))
        self.centres = _unit(topics[rng.integers(0, len(topics), centroids)] + 0.8 * jitter)
        # Unit rows over sqrt(intrinsic): a standard-normal mix of them has norm about 1.
        basis = _unit(rng.standard_normal((intrinsic, dim), dtype=np.float32))
        self.basis = basis / np.float32(np.sqrt(intrinsic))
        self.dim = dim

    def draw(self, n: int, seed: int, spread: float = 0.7, iso: float = 0.25) -> np.ndarray:
        """``n`` normalised points; ``spread``/``iso`` scale the subspace/isotropic noise."""
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            which = rng.integers(0, len(self.centres), m)
            low = rng.standard_normal((m, len(self.basis)), dtype=np.float32) @ self.basis
            noise = rng.standard_normal((m, self.dim), dtype=np.float32) / np.sqrt(self.dim)
            out[start : start + m] = _unit(self.centres[which] + spread * low + iso * noise)
        return out


def _unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    unit: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Positions of the exact top-``k`` by inner product, by chunked matrix products."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(base), 200_000):
        scores = queries @ base[start : start + 200_000].T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        s = np.concatenate([best_s, np.take_along_axis(scores, part, 1)], axis=1)
        i = np.concatenate([best_i, part + start], axis=1)
        keep = np.argsort(-s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s, keep, 1), np.take_along_axis(i, keep, 1)
    return best_i


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the true top-k found."""
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def timed_queries(
    search: object, queries: np.ndarray, k: int
) -> tuple[np.ndarray, list[float], list[float]]:
    """Run queries one at a time; return ids, wall and thread-CPU milliseconds per query."""
    ids = np.empty((len(queries), k), dtype=np.int64)
    wall: list[float] = []
    cpu: list[float] = []
    for row in range(len(queries)):
        t0, c0 = time.perf_counter(), time.thread_time()
        _, found = search(queries[row : row + 1], k)  # type: ignore[operator]
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        ids[row] = found[0]
    return ids, wall, cpu


def bench_vector_index(
    base: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace, kind: str
) -> list[Row]:
    """Build a ``VectorIndex`` of ``kind`` over ``base``; measure each efSearch."""
    settings = get_settings()
    params = AnnParams.from_settings(settings)
    params = replace(params, threshold=0 if kind == "hnsw" else len(base))
    ids = np.arange(len(base), dtype=np.int64) * 3 + 1  # database-like keys, not positions
    before = rss_mb()
    index = VectorIndex.create(base.shape[1], model="bench", params=params)
    faiss.omp_set_num_threads(args.build_threads)
    t0 = time.perf_counter()
    index.index(ids, base)
    build = time.perf_counter() - t0
    faiss.omp_set_num_threads(params.search_threads)
    delta = rss_mb() - before
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        index.save(Path(tmp), last_change_id=0)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
    knobs = args.ef_search if kind == "hnsw" else [0]
    rows = []
    for ef in knobs:
        if kind == "hnsw":
            index.params = replace(index.params, hnsw_ef_search=ef)  # sweep without rebuild
        n = len(queries) if kind == "hnsw" else min(len(queries), args.flat_queries)
        found, *times = timed_queries(index.search, queries[:n], args.k)
        found = np.where(found >= 0, (found - 1) // 3, -1)
        rows.append(
            _row(
                len(base),
                kind,
                f"ef={ef}" if ef else "-",
                build,
                size,
                delta,
                recall_at_k(found, truth[:n]),
                times,
            )
        )
    return rows


def bench_ivf(
    base: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace
) -> list[Row]:
    """Raw FAISS IVF-Flat (inner product), nlist ≈ 4·√n, for comparison with HNSW."""
    nlist = max(16, int(4 * np.sqrt(len(base))))
    before = rss_mb()
    faiss.omp_set_num_threads(args.build_threads)
    t0 = time.perf_counter()
    index = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(base.shape[1]), base.shape[1], nlist, faiss.METRIC_INNER_PRODUCT
    )
    # 32 points per list and 10 k-means rounds: enough for stable lists, affordable at 1M.
    index.cp.niter = 10
    sample = base[np.random.default_rng(1).permutation(len(base))[: min(len(base), 32 * nlist)]]
    index.train(sample)
    index.add(base)
    build = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    delta = rss_mb() - before
    size = len(faiss.serialize_index(index)) / 2**20 if len(base) <= 200_000 else delta
    rows = []
    for nprobe in args.nprobe:
        index.nprobe = nprobe
        found, *times = timed_queries(index.search, queries, args.k)
        rows.append(
            _row(
                len(base),
                f"ivf{nlist}",
                f"nprobe={nprobe}",
                build,
                size,
                delta,
                recall_at_k(found, truth),
                times,
            )
        )
    return rows


def _row(
    size: int,
    kind: str,
    knob: str,
    build: float,
    index_mb: float,
    delta: float,
    recall: float,
    times: list[list[float]],
) -> Row:
    """Round the figures into a row."""
    p50, p99 = np.percentile(times[0], [50, 99])
    cpu99 = np.percentile(times[1], 99)
    return Row(
        size,
        kind,
        knob,
        round(build, 2),
        round(index_mb, 1),
        round(delta, 1),
        round(recall, 4),
        round(float(p50), 3),
        round(float(p99), 3),
        round(float(cpu99), 3),
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=ints, default=[10_000, 100_000])
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--centroids", type=int, default=2000)
    p.add_argument("--intrinsic", type=int, default=48, help="dimension of the cluster spread")
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--flat-queries", type=int, default=200, help="queries timed on flat")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--kinds", default="flat,hnsw", help="any of flat,hnsw,ivf")
    p.add_argument("--ef-search", type=ints, default=[get_settings().hnsw_ef_search])
    p.add_argument("--nprobe", type=ints, default=[16, 32, 64])
    p.add_argument("--build-threads", type=int, default=1)
    p.add_argument("--tmp", default="var/bench", help="where the save-size probe writes")
    p.add_argument("--json", type=Path, help="also write the rows here")
    p.add_argument(
        "--real",
        nargs=2,
        type=Path,
        metavar=("DOCS.npy", "QUERIES.npy"),
        help="real embeddings instead of the mixture (e.g. cached m3e vectors of shared/eval)",
    )
    return p.parse_args(argv)


def datasets(args: argparse.Namespace) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(base, queries) per size from the mixture, or once from ``--real`` embedding files."""
    if args.real:
        base, queries = (_unit(np.load(path).astype(np.float32)) for path in args.real)
        yield base, queries
        return
    mixture = Mixture(args.dim, args.centroids, args.intrinsic, seed=0)
    queries = mixture.draw(args.queries, seed=2)
    for size in args.sizes:
        yield mixture.draw(size, seed=1), queries


def main(argv: list[str]) -> None:
    """Run every size and kind; print a table, optionally write JSON."""
    args = parse_args(argv)
    Path(args.tmp).mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    print(
        f"{'size':>8} {'kind':>8} {'knob':>10} {'build_s':>8} {'index_MB':>9} "
        f"{'rss_dMB':>8} {'recall':>7} {'p50_ms':>7} {'p99_ms':>7} {'cpu_p99':>7}",
        flush=True,
    )
    for base, queries in datasets(args):
        truth = exact_topk(base, queries, args.k)
        for kind in args.kinds.split(","):
            new = (
                bench_ivf(base, queries, truth, args)
                if kind == "ivf"
                else bench_vector_index(base, queries, truth, args, kind)
            )
            for r in new:
                print(
                    f"{r.size:>8} {r.kind:>8} {r.knob:>10} {r.build_s:>8} {r.index_mb:>9} "
                    f"{r.rss_delta_mb:>8} {r.recall:>7} {r.p50_ms:>7} {r.p99_ms:>7} "
                    f"{r.cpu_p99_ms:>7}",
                    flush=True,
                )
            rows.extend(new)
            if args.json:
                args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
