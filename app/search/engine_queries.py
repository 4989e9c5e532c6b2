"""The matching half of ``MatchEngine``: need or text → patents, patent or portfolio → needs.

Each call works on an ``EngineView``, the engine's state as one request reads it; the engine
(``app.search.engine``) keeps the indexes in step with the database and hands out views. These
functions validate the query, search (``querying``, ``need_search``) and shape the result: best
first, Chinese IPC titles attached, flagged when even the best match is under the threshold.
"""

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from app.catalog.enums import ConversionStatus
from app.catalog.ipc import IpcScheme
from app.catalog.models import Organisation, Patent, TechNeed
from app.errors import NotFound, ValidationFailed
from app.search.calibration import Calibration
from app.search.documents import all_chunk_keys, chunk_key, need_text, patent_text
from app.search.encoder import Encoder
from app.search.filters import INACTIVE_STATUSES, MatchFilters
from app.search.ipc_inference import clean_scheme_title
from app.search.memo import LruMemo
from app.search.need_search import search_needs, subclass_weights
from app.search.querying import QueryContext, query_vectors, search_patents
from app.search.results import Match, MatchResult
from app.search.store import EngineIndexes

# A portfolio query takes at most this many of the organisation's patents (newest first).
PORTFOLIO_LIMIT = 100
MAX_K = 200


@dataclass(frozen=True)
class EngineView:
    """What a match call reads from the engine: its indexes, encoder, IPC titles, threshold."""

    indexes: EngineIndexes
    encoder: Encoder
    # The CNIPA scheme (None until the engine has loaded it): titles of shared subclasses.
    labels: IpcScheme | None
    # ``match_min_confidence``: overrides the calibration's own no-good-match threshold.
    min_confidence: float | None
    # Recent free-text queries' vectors (encoding is a pure function of the text): a repeated
    # query skips the encoder. None: encode every time.
    encoded: LruMemo[np.ndarray] | None = None


def _calibration(view: EngineView, ctx: QueryContext, needs: bool) -> Calibration:
    """The direction's calibration, its no-good-match threshold replaced by the setting's."""
    calibration = ctx.calibration.for_model(view.encoder.name, needs=needs)
    if view.min_confidence is None:
        return calibration
    return replace(calibration, no_match_below=view.min_confidence)


def _label_ipc(labels: IpcScheme | None, matches: list[Match]) -> None:
    """Attach the Chinese titles of each match's shared subclasses (CNIPA scheme)."""
    if labels is None:
        return
    for match in matches:
        codes = match.explanation.shared_ipc
        titles = {c: labels.label(c) for c in codes}
        match.explanation.ipc_labels = {c: clean_scheme_title(t) for c, t in titles.items() if t}


def _result(
    view: EngineView,
    ctx: QueryContext,
    matches: list[Match],
    rows: dict[int, Any],
    top_cosine: float,
    *,
    needs: bool = False,
) -> MatchResult:
    """Best first (ties by id); flagged when the best confidence (through the calibration's
    gate, with the query's ``top_cosine``, where it has one) is under the threshold."""
    matches.sort(key=lambda m: (-m.score, m.id))
    _label_ipc(view.labels, matches)
    best = max((m.confidence for m in matches), default=None)
    flagged = _calibration(view, ctx, needs).no_good_match(best, top_cosine)
    return MatchResult(matches, no_good_match=flagged, rows=rows)


def match_patents(
    view: EngineView,
    session: Session,
    text: str,
    filters: MatchFilters,
    k: int,
    ctx: QueryContext,
    need_id: int | None = None,
) -> MatchResult:
    """Take the need's stored query vector or encode ``text`` (the query), then search."""
    _check_query(text, k)
    with ctx.timer.stage("encode"):
        stored = None if need_id is None else view.indexes.need_queries.get(need_id)
        vectors = _encoded(view, text, ctx.params.max_statements) if stored is None else stored
    matches, rows, top_cosine = search_patents(
        session, view.indexes, text, vectors, filters, k, ctx
    )
    patents = {pid: rows[pid][0] for pid in (m.id for m in matches)}
    return _result(view, ctx, matches, patents, top_cosine)


def _encoded(view: EngineView, text: str, most: int) -> np.ndarray:
    """``query_vectors`` of the text, through the view's memo (read-only arrays there)."""
    key = (view.encoder.name, text, most)
    hit = None if view.encoded is None else view.encoded.get(key)
    if hit is not None:
        return hit
    vectors = query_vectors(view.encoder, text, most)
    if view.encoded is not None:
        vectors.setflags(write=False)  # shared by every request that repeats the text
        view.encoded.put(key, vectors)
    return vectors


def match_need(
    view: EngineView,
    session: Session,
    need_id: int,
    filters: MatchFilters,
    k: int,
    ctx: QueryContext,
) -> MatchResult:
    """A technology need → patents that could meet it (published needs are pre-encoded)."""
    with ctx.timer.stage("database"):
        need = session.get(TechNeed, need_id)
    if need is None:
        raise NotFound(f"need {need_id} does not exist")
    return match_patents(view, session, need_text(need), filters, k, ctx, need_id)


def match_patent(
    view: EngineView, session: Session, patent_id: int, k: int, ctx: QueryContext
) -> MatchResult:
    """A patent → published needs it could serve."""
    patent = session.get(Patent, patent_id)
    if patent is None:
        raise NotFound(f"patent {patent_id} does not exist")
    text = patent_text(patent)
    _check_query(text, k)
    # The patent's own indexed chunk vectors: a request never encodes catalog text.
    vectors = view.indexes.patent_vectors.vectors_of(all_chunk_keys([patent_id]))
    if not len(vectors):  # not indexed yet (the indexer catches up within a second)
        return MatchResult([], no_good_match=True, rows={})
    weights = subclass_weights([patent.ipc_codes])
    found = search_needs(session, view.indexes, (text, vectors, weights), k, ctx)
    return _result(view, ctx, *found, needs=True)


def match_portfolio(
    view: EngineView, session: Session, org_id: int, k: int, ctx: QueryContext
) -> MatchResult:
    """An organisation's idle patents in force (its 存量专利) → published needs."""
    if session.get(Organisation, org_id) is None:
        raise NotFound(f"organisation {org_id} does not exist")
    _check_k(k)
    patents = _portfolio(session, org_id)
    if not patents:
        return MatchResult([], no_good_match=True, rows={})
    # Each patent's first indexed chunk (title and the start of its abstract).
    firsts = [chunk_key(int(p.id), 0) for p in patents if p.id is not None]
    vectors = view.indexes.patent_vectors.vectors_of(firsts)
    if not len(vectors):
        return MatchResult([], no_good_match=True, rows={})
    weights = subclass_weights([p.ipc_codes for p in patents])
    query = ("\n".join(p.title for p in patents), vectors, weights)
    found = search_needs(session, view.indexes, query, k, ctx)
    return _result(view, ctx, *found, needs=True)


def _portfolio(session: Session, org_id: int) -> list[Patent]:
    """The organisation's idle patents that are not lapsed/expired/withdrawn/invalidated."""
    stmt = (
        select(Patent)
        .where(
            col(Patent.owner_org_id) == org_id,
            col(Patent.conversion_status) == ConversionStatus.IDLE,
            col(Patent.legal_status).not_in(list(INACTIVE_STATUSES)),
        )
        .order_by(col(Patent.id).desc())
        .limit(PORTFOLIO_LIMIT)
    )
    return list(session.exec(stmt))


def _check_query(text: str, k: int) -> None:
    """Refuse blank queries and out-of-range ``k`` with field-level errors."""
    if not text.strip():
        raise ValidationFailed(
            "the query text is empty", errors=[{"field": "text", "message": "must not be blank"}]
        )
    _check_k(k)


def _check_k(k: int) -> None:
    """Refuse an out-of-range number of matches."""
    if not 1 <= k <= MAX_K:
        raise ValidationFailed(
            f"k must be between 1 and {MAX_K}, got {k}",
            errors=[{"field": "k", "message": f"must be between 1 and {MAX_K}"}],
        )
