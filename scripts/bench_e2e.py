"""End-to-end latency of need → top-10 patents at catalog scale, split by stage.

The catalog: the 17,360 real titles of the dev corpus plus synthetic patents up to ``--size``
(two real titles spliced, with the base title's IPC subclasses), with mixed legal statuses,
owners and terms, in a SQLite database of its own. Vectors of the real titles come from the real
model (cached under var/cache, shared with ``patentmatch eval``); a synthetic patent's vector is
its base title's vector plus noise, renormalised, because encoding 80k more titles on this CPU
would take hours and the search cost depends on the count, dimension and spread, not on the text.
The indexes are saved under var/bench_e2e/index and reused by later runs.

Needs are posted and indexed like any other (their query vectors stored, off the request path),
then answered one at a time with ``MatchEngine.match_need``: with ``--needs fields`` (the
default) the 299 need-like IPC field descriptions of the dev set, one sentence each, so the
title-like path; with ``--needs postings`` the 64 dev need postings (title + description), so
a title vector and statement vectors beside the whole text's, each one more dense search. Free
texts (the dev title queries) go through ``MatchEngine.match_text`` (the path ``/match/text``
serves), encoded in the request. Stages: encode, dense, lexical, scheme (query vs the CNIPA
scheme titles), fusion (RRF + IPC re-rank), database (filter check over the page's rows),
explain.

    PYTHONPATH=. python scripts/bench_e2e.py --size 100000 --queries 200   # from the repo root
    PYTHONPATH=. python scripts/bench_e2e.py --size 100000 --queries 200 --needs postings
"""

import argparse
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from app.catalog.changes import record_change
from app.catalog.enums import (
    ChangeOp,
    ConversionStatus,
    EntityKind,
    LegalStatus,
    NeedStatus,
    OrgKind,
    PatentType,
)
from app.catalog.models import Organisation, Patent, TechNeed
from app.db import create_schema, make_engine
from app.search.ann_params import AnnParams
from app.search.documents import CHUNK_SLOTS
from app.search.encoder import Encoder, load_encoder, vectors_tag
from app.search.engine import MatchEngine, MatchFilters, StageTimer
from app.search.engine_manifest import read_engine_manifest
from app.search.evaldata import cached_vectors, embedding_key, load_corpus
from app.search.scheme_store import prepare_scheme
from app.search.store import EngineIndexes, save_indexes
from app.settings import Settings, get_settings
from app.wiring import match_penalties

# Where each ``--needs`` choice's texts come from, under the shared folder.
NEED_SOURCES = {
    "fields": "eval/dev/field_queries.jsonl",
    "postings": "eval/dev/needs/need_queries.jsonl",
}
STAGES = ["encode", "dense", "lexical", "scheme", "fusion", "database", "explain"]
STATUSES = [LegalStatus.GRANTED] * 17 + [LegalStatus.PENDING] * 2 + [LegalStatus.LAPSED]
TYPES = [PatentType.INVENTION] * 3 + [PatentType.UTILITY_MODEL]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
REGIONS = ["110108", "310104", "320500", "330106", "440305", "510107", "420111", "610113"]


def say(message: str) -> None:
    """Progress on stderr; the figures go to stdout."""
    print(message, file=sys.stderr, flush=True)


def synthetic_catalog(titles: list[str], size: int, seed: int) -> list[tuple[str, int]]:
    """(title, base index) for ``size`` patents: the real titles, then spliced variants."""
    rng = random.Random(seed)
    rows = [(title, i) for i, title in enumerate(titles)]
    while len(rows) < size:
        a, b = rng.randrange(len(titles)), rng.randrange(len(titles))
        head, tail = titles[a], titles[b]
        rows.append((head[: max(4, len(head) * 2 // 3)] + tail[len(tail) // 2 :], a))
    return rows


def fill_needs(settings: Settings, texts: list[str], kind: str) -> None:
    """Post ``texts`` as published needs tagged ``kind``, logged for the engine's sync.

    A field title is a need's title; a need posting's first sentence is its title and the
    rest its description, as an enterprise fills in the form.
    """
    db = make_engine(settings.database_url)
    with Session(db) as session:
        if _bench_need_ids(session, kind):
            return
        poster = Organisation(name="需求方企业", kind=OrgKind.ENTERPRISE, region="320500")
        session.add(poster)
        session.flush()
        assert poster.id is not None
        for n, text in enumerate(texts):
            title, _, rest = text.partition("。") if kind == "postings" else (text, "", "")
            need = TechNeed(
                org_id=poster.id,
                title=title[:300],
                description=rest,
                status=NeedStatus.PUBLISHED,
                external_ref=f"bench-{kind}-{n}",
            )
            session.add(need)
            session.flush()
            assert need.id is not None
            record_change(session, EntityKind.NEED, need.id, ChangeOp.UPSERT)
        session.commit()


def _bench_need_ids(session: Session, kind: str) -> list[int]:
    """Ids of the needs ``fill_needs`` posted as ``kind``, in posting order."""
    query = select(TechNeed.id).where(col(TechNeed.external_ref).startswith(f"bench-{kind}-"))
    return [int(i) for i in session.exec(query.order_by(col(TechNeed.id))) if i]


def fill_database(settings: Settings, rows: list[tuple[str, int]], ipc: list[list[str]]) -> None:
    """Write organisations and patents (bulk insert) unless the database already holds them."""
    db = make_engine(settings.database_url)
    create_schema(db)
    with Session(db) as session:
        if session.exec(select(func.count()).select_from(Patent)).one() == len(rows):
            return
        say(f"writing {len(rows)} patents to {settings.database_url}")
        orgs = [
            Organisation(name=f"机构{n}", kind=list(OrgKind)[n % 3], region=REGIONS[n % 8])
            for n in range(200)
        ]
        session.add_all(orgs)
        session.flush()
        rng = random.Random(7)
        for start in range(0, len(rows), 5_000):
            batch = [
                _patent_row(n, title, ipc[base], rng, orgs[n % 200].id)
                for n, (title, base) in enumerate(rows[start : start + 5_000], start)
            ]
            session.execute(insert(Patent), batch)
        session.commit()


def _patent_row(
    n: int, title: str, codes: list[str], rng: random.Random, owner: int | None
) -> dict[str, object]:
    """One patent row of the synthetic catalog (id = n + 1)."""
    return {
        "id": n + 1,
        "natural_key": f"bench:{n}",
        "title": title,
        "ipc_codes": codes,
        "ipc_main": codes[0] if codes else None,
        "legal_status": rng.choice(STATUSES),
        "patent_type": rng.choice(TYPES),
        "owner_org_id": owner,
        "expiry_date": date(2027, 1, 1) + timedelta(days=rng.randrange(20 * 365)),
        "conversion_status": ConversionStatus.IDLE,
        "language": "zh-Hans",
        "applicants": [],
        "patentees": [],
        "inventors": [],
        "content_hash": "",
        "created_at": NOW,
        "updated_at": NOW,
    }


def patent_vectors(
    encoder: Encoder, titles: list[str], rows: list[tuple[str, int]], cache: Path
) -> np.ndarray:
    """Real vectors for the corpus titles (cached), perturbed copies for the synthetic ones."""
    key = embedding_key(vectors_tag(encoder), "d", titles)
    say(f"document vectors for {len(titles)} titles (cache {cache / key}.npy)")
    real = cached_vectors(cache, key, lambda: encoder.encode_documents(titles))
    bases = np.array([base for _, base in rows[len(titles) :]], dtype=np.int64)
    noise = np.random.default_rng(11).standard_normal((len(bases), real.shape[1]))
    noise = noise.astype(np.float32) * (0.25 / np.sqrt(real.shape[1]))
    extra = real[bases] + noise
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    return np.vstack([real, extra]).astype(np.float32)


def build_indexes(
    settings: Settings, encoder: Encoder, rows: list[tuple[str, int]], ipc: list[list[str]],
    vectors: np.ndarray,
) -> None:  # fmt: skip
    """Index the catalog directly from the vectors and save it where the engine loads it."""
    ids = np.arange(1, len(rows) + 1, dtype=np.int64)
    indexes = EngineIndexes.empty(encoder.name, encoder.dim, AnnParams.from_settings(settings))
    say(f"building the vector index ({len(ids)} vectors, HNSW above {settings.ann_threshold})")
    indexes.patent_vectors.index(ids * CHUNK_SLOTS, vectors)
    say("tokenising titles for BM25")
    indexes.patent_lexical.index(ids.tolist(), [title for title, _ in rows])
    indexes.patent_ipc.upsert(ids.tolist(), [ipc[base] for _, base in rows])
    indexes.patent_ids.update(ids.tolist())
    say("scheme prior (title vectors from the model folder, stored at `model fetch`)")
    indexes.scheme, indexes.scheme_file = prepare_scheme(settings, encoder)
    save_indexes(settings.index_dir, indexes, encoder.name, encoder.dim, vectors_tag(encoder))


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    matcher: MatchEngine, settings: Settings, queries: list[int] | list[str]
) -> dict[str, list[float]]:
    """Seconds per stage and in total, per query (need ids or free texts), after a warm-up."""
    db = make_engine(settings.database_url)
    timings: dict[str, list[float]] = {name: [] for name in [*STAGES, "total", "total_cpu"]}
    with Session(db) as session:

        def run(query: int | str, timer: StageTimer | None = None) -> None:
            if isinstance(query, int):
                matcher.match_need(session, query, MatchFilters(), 10, timer=timer)
            else:
                matcher.match_text(session, query, MatchFilters(), 10, timer=timer)

        for query in queries[:10]:
            run(query)
        for query in queries:
            timer = StageTimer()
            start, cpu = time.perf_counter(), time.thread_time()
            run(query, timer)
            timings["total"].append(time.perf_counter() - start)
            # CPU time of this thread: what the request costs, without the other tenants' load.
            timings["total_cpu"].append(time.thread_time() - cpu)
            for name in STAGES:
                timings[name].append(timer.seconds.get(name, 0.0))
    return timings


def index_needs(matcher: MatchEngine, settings: Settings, kind: str, count: int) -> list[int]:
    """Sync the posted needs into the engine (encoded once, saved); ``count`` ids of ``kind``
    (repeated when fewer were posted: no memo answers a repeat)."""
    with Session(make_engine(settings.database_url)) as session:
        if matcher.sync(session):
            say("needs indexed; saving")
            matcher.save()
        ids = _bench_need_ids(session, kind)
    return [ids[n % len(ids)] for n in range(count)] if ids else []


def main() -> None:
    """Build (or reuse) the benchmark catalog and indexes, then time need → top-10 queries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("var/bench_e2e"))
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--needs", choices=NEED_SOURCES, default="fields",
        help="fields: the dev IPC field titles (one sentence, title-like); postings: the dev "
        "need postings (title + description: several vectors per need)",
    )  # fmt: skip
    args = parser.parse_args()
    base = get_settings()
    settings = replace_settings(base, args.work, args.size)
    corpus = load_corpus(base.shared_dir / "eval/dev/corpus.jsonl")
    rows = synthetic_catalog(corpus.titles, args.size, seed=3)
    fill_database(settings, rows, corpus.ipc)
    encoder = load_encoder(settings)
    matcher = MatchEngine(settings, encoder, penalties=match_penalties())
    manifest = read_engine_manifest(settings.index_dir)
    stale = (
        manifest is None
        or manifest.patents != len(rows)
        or (manifest.model, manifest.vectors_tag) != (encoder.name, vectors_tag(encoder))
    )
    if manifest is None or stale or not manifest.scheme:
        vectors = patent_vectors(encoder, corpus.titles, rows, base.var_dir / "cache")
        build_indexes(settings, encoder, rows, corpus.ipc, vectors)
    matcher.load()
    fill_needs(settings, _texts(base.shared_dir / NEED_SOURCES[args.needs]), args.needs)
    need_ids = index_needs(matcher, settings, args.needs, args.queries)
    free_texts = _texts(base.shared_dir / "eval/dev/title_queries.jsonl")[: args.queries]
    say(f"timing {len(need_ids)} needs and {len(free_texts)} free texts on {matcher.stats()}")
    figures = {
        "need": report("need → top-10 (stored need vector)", measure(matcher, settings, need_ids)),
        "text": report("free text → top-10 (encoded)", measure(matcher, settings, free_texts)),
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"stats": matcher.stats(), **figures}, indent=2))


def replace_settings(base: Settings, work: Path, size: int) -> Settings:
    """The benchmark's own database and index folder; one thread per request; no memo."""
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{work / f'catalog-{size}.db'}",
            "index_dir": work / f"index-{size}",
            "search_threads": 1,
            "encode_threads": base.encode_threads or 1,
            # The warm-up repeats measured queries: a memo would answer those without searching.
            "match_memo_size": 0,
        }
    )


def _texts(path: Path) -> list[str]:
    """The ``text`` field of each line of a queries JSONL file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line)["text"]) for line in lines if line.strip()]


def report(title: str, timings: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Print p50/p99 per stage and in total (ms); return them."""
    figures = {
        name: {"p50_ms": round(percentile(v, 0.5), 2), "p99_ms": round(percentile(v, 0.99), 2)}
        for name, v in timings.items()
    }
    print(f"{title}: {len(timings['total'])} queries")
    for name, row in figures.items():
        print(f"  {name:<9} p50 {row['p50_ms']:>8.2f} ms   p99 {row['p99_ms']:>8.2f} ms")
    return figures


if __name__ == "__main__":
    main()
