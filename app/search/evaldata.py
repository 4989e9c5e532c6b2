"""Evaluation data: corpus/queries/qrels files, run files, scoring and the embedding cache.

Scoring reproduces ``shared/tools/score_run.py`` exactly (graded nDCG@10, P@10, MRR@10; queries
missing from the run count as zero) so that our figures and the reference ones agree.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.catalog.ipc import subclass_of
from app.errors import BadRequest
from app.search.provision import sha256_of


@dataclass
class EvalCorpus:
    """Documents of an evaluation corpus; a document's integer id is its position."""

    keys: list[str]
    titles: list[str]
    ipc: list[list[str]]
    digest: str

    def __len__(self) -> int:
        return len(self.keys)


def file_digest(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256 (cache keys)."""
    return sha256_of(path)[:16]


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(line number, object) for each non-blank line; a clear error naming a bad line."""
    if not path.is_file():
        raise BadRequest(f"{path}: no such file")
    rows: list[tuple[int, dict[str, object]]] = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadRequest(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise BadRequest(f"{path}:{number}: expected a JSON object")
            rows.append((number, row))
    return rows


def _field(path: Path, number: int, row: Mapping[str, object], name: str) -> str:
    """A required non-empty string field of a JSONL row."""
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{path}:{number}: field '{name}' is missing or not a non-empty string")
    return value


def load_corpus(path: Path) -> EvalCorpus:
    """Read a corpus JSONL (``id``, ``title``, optional ``ipc`` list of subclasses)."""
    keys: list[str] = []
    titles: list[str] = []
    ipc: list[list[str]] = []
    seen: set[str] = set()
    for number, row in _read_jsonl(path):
        key = _field(path, number, row, "id")
        if key in seen:
            raise BadRequest(f"{path}:{number}: field 'id' repeats {key!r}")
        seen.add(key)
        codes = row.get("ipc") or []
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise BadRequest(f"{path}:{number}: field 'ipc' must be a list of strings")
        keys.append(key)
        titles.append(_field(path, number, row, "title"))
        ipc.append([subclass_of(c) for c in codes if c.strip()])
    if not keys:
        raise BadRequest(f"{path}: the corpus is empty")
    return EvalCorpus(keys=keys, titles=titles, ipc=ipc, digest=file_digest(path))


def load_queries(path: Path) -> list[tuple[str, str]]:
    """Read queries JSONL (``qid``, ``text``) as (qid, text) pairs."""
    rows = _read_jsonl(path)
    return [(_field(path, n, r, "qid"), _field(path, n, r, "text")) for n, r in rows]


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Read qrels TSV (header ``qid doc_id grade``)."""
    if not path.is_file():
        raise BadRequest(f"{path}: no such file")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        for number, row in enumerate(csv.DictReader(f, delimiter="\t"), start=2):
            try:
                qrels.setdefault(row["qid"], {})[row["doc_id"]] = int(row["grade"])
            except (KeyError, TypeError, ValueError) as exc:
                raise BadRequest(f"{path}:{number}: expected columns qid, doc_id, grade") from exc
    return qrels


Run = dict[str, list[tuple[str, float]]]


def write_run(path: Path, run: Run) -> None:
    """Write a run TSV (header ``qid doc_id rank score``, rank 1-based)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["qid", "doc_id", "rank", "score"])
        for qid, hits in run.items():
            for rank, (doc, score) in enumerate(hits, start=1):
                writer.writerow([qid, doc, rank, f"{score:.6f}"])


def score_run(qrels: Mapping[str, Mapping[str, int]], run: Run, k: int = 10) -> dict[str, float]:
    """nDCG@k (graded), P@k, MRR@k averaged over the qrels' queries, as score_run.py does."""
    nd = p = rr = 0.0
    for qid, rel in qrels.items():
        ranked = [doc for doc, _ in run.get(qid, [])[:k]]
        dcg = sum((2 ** rel.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked))
        ideal = sorted(rel.values(), reverse=True)[:k]
        idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        nd += dcg / idcg if idcg else 0
        p += sum(1 for d in ranked if rel.get(d, 0) > 0) / k
        rr += next((1 / (i + 1) for i, d in enumerate(ranked) if rel.get(d, 0) > 0), 0)
    n = len(qrels) or 1
    return {
        "queries": len(qrels),
        "ndcg@10": round(nd / n, 4),
        "p@10": round(p / n, 4),
        "mrr@10": round(rr / n, 4),
        "answered": sum(1 for q in qrels if run.get(q)),
    }


def cached_vectors(cache_dir: Path, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Load ``cache_dir/key.npy`` or compute and store it (expensive embeddings)."""
    path = cache_dir / f"{key}.npy"
    if path.is_file():
        loaded: np.ndarray = np.load(path)
        return loaded
    vectors = np.ascontiguousarray(compute(), dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors


def text_digest(texts: Sequence[str]) -> str:
    """First 16 hex digits of a digest over texts (cache keys for query lists)."""
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8") + b"\x00")
    return h.hexdigest()[:16]


def embedding_key(model: str, kind: str, texts: Sequence[str]) -> str:
    """Cache key of ``texts`` encoded by ``model`` as queries ("q") or documents ("d").

    One format for ``eval``, the engine's scheme prior and the benchmarks, so they share vectors.
    """
    return f"emb-{model}-{kind}-{text_digest(texts)}"
