"""The FastAPI application: ``create_app`` wires settings, database, match engine and routes."""

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.api.docs import install_docs
from app.api.limits import BodyLimitMiddleware
from app.api.maintenance import Maintenance
from app.api.observability import Metrics, ObservabilityMiddleware, health_router
from app.api.openapi import install_problem_openapi
from app.api.problems import install_problem_handlers
from app.api.ratelimit import RateLimiter, make_rate_limiter
from app.api.routes import alerts as alert_routes
from app.api.routes import chain_views as chain_view_routes
from app.api.routes import chains as chain_routes
from app.api.routes import deals as deal_routes
from app.api.routes import figures as figure_routes
from app.api.routes import filings as filing_routes
from app.api.routes import imports, ipc, licensing, matching, needs, orgs, patents
from app.auth.key_usage import KeyUsage
from app.catalog.industry import load_industry_classes
from app.catalog.ipc import load_ipc_scheme
from app.catalog.job_leases import new_lease_owner
from app.chains.background import ChainTagger
from app.console.setup import install_console
from app.db import engine_from_settings, writer_engine
from app.search.encoder import load_encoder
from app.search.engine import MatchEngine
from app.search.indexer import Indexer, inline_indexer
from app.settings import Settings, get_settings
from app.wiring import catalog_hooks, match_penalties

API_PREFIX = "/api/v1"
# Import threads still running at shutdown get this long to finish their batch.
SHUTDOWN_GRACE_SECONDS = 10.0

DESCRIPTION = """
Patent supply–demand matchmaking (专利供需对接) for IP offices, university tech-transfer offices
(技术转移机构) and service stations (知识产权服务站).

Authenticate with an API key in `X-API-Key` (or `Authorization: Bearer …`); keys are issued with
`patentmatch keys create`. Errors are RFC 9457 `application/problem+json`.
"""

TAGS = [
    {"name": "organisations", "description": "Universities, institutes, enterprises, stations."},
    {"name": "patents", "description": "The supply side: patents (专利) of tech-transfer offices."},
    {"name": "needs", "description": "The demand side: enterprises' technology needs (技术需求)."},
    {"name": "imports", "description": "Bulk import of patent files (批量导入)."},
    {"name": "ipc", "description": "IPC codes with CNIPA Chinese labels (分类号)."},
    {"name": "matching", "description": "Hybrid semantic + keyword matching (供需匹配)."},
    {
        "name": "open licensing",
        "description": "Open licensing (专利开放许可, Patent Law art. 50–52): declarations with "
        "statutory fee limits, withdrawal, taking a licence by written notice, candidates for a "
        "need and advice on which idle patents to declare.",
    },
    {
        "name": "deals",
        "description": "The contact workflow (对接): an enterprise requests contact, a service "
        "station (知识产权服务站) brokers it, the owner consents to release contacts, and the "
        "deal ends in a signed contract (licence or assignment) or a structured decline.",
    },
    {
        "name": "alerts",
        "description": "Webhook alerts (订阅提醒) for saved searches and needs: new patents, "
        "status changes and open-licence declarations, signed with HMAC-SHA256.",
    },
    {
        "name": "figures",
        "description": "Key figures (统计指标) for IP offices: idle patents, contacts, deals, "
        "conversion rate, contract value, open licences; by region, industry, IPC section, "
        "organisation or month, as JSON or CSV.",
    },
    {
        "name": "filings",
        "description": "Patent-intensive product filing (专利密集型产品备案): enterprises register "
        "products and cite the patents they hold rights to; the jurisdiction's officials review.",
    },
    {
        "name": "chains",
        "description": "Industry chains (产业链) of a region: nodes up-, mid- and downstream "
        "defined by IPC ranges, GB/T 4754 classes and key phrases; patents and needs tagged to "
        "them (score and evidence, confirmed or removed by people); each chain's idle-patent "
        "pool, its needs and chain-scoped matching.",
    },
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def build_match_engine(settings: Settings, engine: Engine) -> MatchEngine:
    """Load the encoder and the indexes (built from the database when there are none).

    Catching up with the change log is the indexer's job, after startup.
    """
    matcher = MatchEngine(settings, load_encoder(settings), penalties=match_penalties())
    with Session(engine) as session:
        matcher.open(session)
    return matcher


def _start_indexer(settings: Settings, matcher: MatchEngine, db: Engine) -> Indexer:
    if settings.index_inline:
        return inline_indexer(matcher, db, settings)
    indexer = Indexer(matcher, db, settings)
    indexer.start()
    return indexer


@dataclass
class Background:
    """The threads one lifespan started, stopped by that lifespan alone: two lifespans of one
    app (a test client and a fuzzer's) must not stop each other's threads and leak their own."""

    maintenance: Maintenance
    indexer: Indexer | None = None
    chain_tagger: ChainTagger | None = None


async def _start_background(app: FastAPI, settings: Settings, db: Engine) -> Background:
    """Housekeeping first (dead jobs of an earlier start), then the indexer and chain tagger.

    A failure part-way stops what was started: the lifespan never reaches its ``finally``
    then, and a thread left running would go on using a database that is being torn down.
    """
    state = app.state
    state.lease_owner = new_lease_owner()
    state.key_usage = KeyUsage()
    started = Background(
        Maintenance(state.write_engine, settings, state.key_usage, state.lease_owner)
    )
    await run_in_threadpool(started.maintenance.reap)
    started.maintenance.start()
    try:
        started.indexer = _start_indexer(settings, state.matcher, db)
        # Tests (index_inline) tag explicitly; a deployment may leave tagging to its worker.
        if not settings.index_inline and settings.chain_tag_seconds > 0:
            started.chain_tagger = ChainTagger(state.write_engine, settings, state.matcher)
            started.chain_tagger.start()
    except BaseException:
        await _stop_threads(started, save_index=False)
        raise
    return started


async def _stop_threads(started: Background, save_index: bool) -> None:
    """Stop the indexer (saving), the chain tagger and maintenance (flushing key use); each
    stops even when an earlier one failed to."""
    try:
        if started.indexer is not None:
            await run_in_threadpool(started.indexer.stop, save=save_index)
    finally:
        try:
            if started.chain_tagger is not None:
                await run_in_threadpool(started.chain_tagger.stop)
        finally:
            await run_in_threadpool(started.maintenance.stop)


async def _stop_background(app: FastAPI, started: Background, save_index: bool) -> None:
    """Let import threads finish their batch, then stop this lifespan's background threads."""
    for worker in list(app.state.import_threads):
        worker.join(timeout=SHUTDOWN_GRACE_SECONDS)
    await _stop_threads(started, save_index)


def _lifespan(settings: Settings, engine: Engine | None, matcher: MatchEngine | None) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = engine if engine is not None else engine_from_settings(settings)
        state = app.state
        state.engine = db
        state.write_engine = writer_engine(db)
        state.rate_limiter = make_rate_limiter(settings)
        state.auth_failure_limiter = RateLimiter(settings.auth_failures_per_minute)
        state.import_threads = weakref.WeakSet()
        state.ipc_scheme = await run_in_threadpool(load_ipc_scheme, settings.shared_dir)
        state.industry_classes = await run_in_threadpool(load_industry_classes, settings.shared_dir)
        state.matcher = matcher
        if matcher is None:
            state.matcher = await run_in_threadpool(build_match_engine, settings, db)
        started = await _start_background(app, settings, db)
        try:
            yield
        finally:
            # An injected engine is the caller's to save (tests share one between apps).
            await _stop_background(app, started, save_index=matcher is None)
            if engine is None:
                db.dispose()

    return lifespan


def _api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    routes = (orgs, patents, needs, imports, ipc, matching, licensing)
    for module in (
        *routes,
        deal_routes,
        figure_routes,
        filing_routes,
        alert_routes,
        chain_routes,
        chain_view_routes,
    ):
        router.include_router(module.router)
    return router


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    matcher: MatchEngine | None = None,
) -> FastAPI:
    """Build the API app; ``engine`` and ``matcher`` may be injected (tests), else built."""
    settings = settings or get_settings()
    app = FastAPI(
        title="patentmatch API",
        version="1",
        summary="专利供需对接 — patent supply–demand matchmaking",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan(settings, engine, matcher),
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.catalog_hooks = catalog_hooks()
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
        )
    app.add_middleware(
        BodyLimitMiddleware,
        json_limit=settings.max_json_body_bytes,
        upload_limit=settings.max_upload_bytes,
        upload_paths={API_PREFIX + imports.UPLOAD_PATH},
    )
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    install_problem_handlers(app)
    app.include_router(health_router())
    app.include_router(_api_router())
    install_problem_openapi(app)
    install_docs(app, app.openapi_url or "/openapi.json")
    install_console(app)
    return app
