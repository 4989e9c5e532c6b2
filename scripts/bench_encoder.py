"""ONNX int8 vs torch: ``patentmatch eval run --method dense`` end to end, both in one run.

Each backend runs the real command in a subprocess (``PATENTMATCH_ENCODER_BACKEND=onnx|torch``)
with an empty cache of its own (a fresh ``PATENTMATCH_VAR_DIR``), on the dev corpus and the title
queries; the run files are scored like ``shared/tools/score_run.py``. Reported per backend: wall
time, CPU time of the subprocess (the fairer figure on a shared machine), documents per second,
dense title nDCG@10; then the speed-up and the cosine between the two backends' corpus vectors.
Both runs see a shared folder without the IPC scheme, so they encode the same texts: the corpus
and the queries (the dense method does not use the scheme).

    PYTHONPATH=. python scripts/bench_encoder.py [--backends onnx,torch] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.search.evaldata import load_qrels, score_run
from app.settings import get_settings


def _run_of(path: Path) -> dict[str, list[tuple[str, float]]]:
    """A run TSV read back as {qid: [(doc, score), ...]} in rank order."""
    run: dict[str, list[tuple[str, float]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc, _rank, score = line.split("\t")
        run.setdefault(qid, []).append((doc, float(score)))
    return run


def _corpus(dev: Path, limit: int | None, work: Path) -> Path:
    """The dev corpus, or ``limit`` of its lines evenly spread over it, in a file of their own."""
    corpus = dev / "corpus.jsonl"
    if limit is None:
        return corpus
    lines = corpus.read_text(encoding="utf-8").splitlines()
    lines = lines[:: max(1, len(lines) // limit)][:limit]
    out = work / "corpus.jsonl"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def bench(backend: str, corpus: Path, dev: Path, work: Path) -> dict[str, object]:
    """One end-to-end ``eval run --method dense`` with an empty cache; timings and score."""
    var = work / f"var-{backend}"
    out = work / f"run-{backend}.tsv"
    # A shared folder without the IPC scheme: both backends encode exactly the same texts (the
    # corpus and the queries); the dense method never reads the scheme.
    env = {
        **os.environ,
        "PATENTMATCH_ENCODER_BACKEND": backend,
        "PATENTMATCH_VAR_DIR": str(var),
        "PATENTMATCH_SHARED_DIR": str(work / "no-shared"),
    }
    command = [sys.executable, "-m", "app.cli", "eval", "run", "--corpus", str(corpus)]
    command += ["--queries", str(dev / "title_queries.jsonl"), "--out", str(out)]
    command += ["--method", "dense", "--k", "100"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with (work / f"log-{backend}.txt").open("w") as log:
        subprocess.run(command, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    scores = score_run(load_qrels(dev / "title_qrels.tsv"), _run_of(out))
    docs = sum(1 for _ in corpus.open(encoding="utf-8"))
    return {
        "backend": backend,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "docs_per_s": round(docs / wall, 1),
        "ndcg@10": scores["ndcg@10"],
        "var": str(var),
    }


def _corpus_vectors(var: Path, docs: int) -> np.ndarray | None:
    """The corpus vectors a run cached (the one (docs, dim) document array)."""
    for path in sorted((var / "cache").glob("emb-*-d-*.npy")):
        vectors: np.ndarray = np.load(path)
        if vectors.shape[0] == docs:
            return vectors
    return None


def main() -> int:
    """Run the backends, print one line each, then the comparison as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="onnx,torch")
    parser.add_argument("--limit", type=int, help="N corpus documents, evenly spread, only")
    parser.add_argument("--work", type=Path, help="folder for runs and caches (default: temp)")
    args = parser.parse_args()
    dev = (get_settings().shared_dir / "eval" / "dev").resolve()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-encoder-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = _corpus(dev, args.limit, work)
    docs = sum(1 for _ in corpus.open(encoding="utf-8"))
    print(f"corpus {docs} documents; work folder {work}", file=sys.stderr, flush=True)
    results = []
    for backend in args.backends.split(","):
        result = bench(backend, corpus, dev, work)
        print(json.dumps(result), flush=True)
        results.append(result)
    if len(results) == 2:
        a, b = results
        va, vb = (_corpus_vectors(Path(str(r["var"])), docs) for r in results)
        summary: dict[str, object] = {
            "speedup_wall": round(float(str(b["wall_s"])) / float(str(a["wall_s"])), 2),
            "speedup_cpu": round(float(str(b["cpu_s"])) / float(str(a["cpu_s"])), 2),
            "ndcg_delta": round(float(str(a["ndcg@10"])) - float(str(b["ndcg@10"])), 4),
        }
        if va is not None and vb is not None:
            cos = (va * vb).sum(axis=1)
            summary |= {
                "cosine_min": round(float(cos.min()), 4),
                "cosine_mean": round(float(cos.mean()), 5),
            }
        print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
