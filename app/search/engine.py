"""``MatchEngine``: keeps the search indexes in step with the database and matches both ways.

Directions: need or free text → patents (hybrid dense + BM25, IPC re-ranked, filtered against
database rows), patent → published needs, organisation portfolio (its idle patents in force) →
published needs. Match calls never replay the change log: the background indexer
(``app.search.indexer``) does, in rounds (``replay_round``) that encode outside any transaction
and outside the engine lock. ``sync`` replays everything at once (CLI, tests); both work in
memory, and ``save`` (also done by ``load_or_rebuild`` and ``rebuild``) persists the indexes
atomically under ``index_dir``.
"""

import threading
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.catalog.enums import ConversionStatus
from app.catalog.ipc import IpcScheme, load_ipc_scheme
from app.catalog.models import Organisation, Patent, TechNeed
from app.errors import NotFound, ValidationFailed
from app.search.ann_params import AnnParams
from app.search.calibration import CalibrationSet
from app.search.documents import (
    DEFAULT_MAX_CHARS,
    all_chunk_keys,
    chunk_key,
    need_text,
    patent_text,
)
from app.search.encoder import Encoder
from app.search.filters import INACTIVE_STATUSES, MatchFilters
from app.search.indexing import Progress, build_all
from app.search.ipc_inference import clean_scheme_title
from app.search.lexical import Tokenizer
from app.search.nearest import Near, nearest_documents
from app.search.penalties import PenaltyProvider, no_penalties
from app.search.querying import (
    QueryContext,
    query_vectors,
    search_needs,
    search_patents,
    subclass_weights,
)
from app.search.ranking import RankingParams
from app.search.replay import (
    IndexLag,
    PendingDocs,
    apply_encoded,
    encode_pending,
    index_lag,
    pending_count,
    read_pending,
)
from app.search.results import Explanation, Match, MatchResult, StageTimer
from app.search.scheme_store import prepare_scheme
from app.search.store import (
    EngineIndexes,
    EngineManifest,
    load_indexes,
    read_engine_manifest,
    save_indexes,
)
from app.search.tuned import load_calibrations, load_ranking_params
from app.search.write_signal import WriteSignal
from app.settings import Settings

__all__ = ["Explanation", "Match", "MatchEngine", "MatchFilters", "MatchResult", "StageTimer"]

# A portfolio query takes at most this many of the organisation's patents (newest first).
PORTFOLIO_LIMIT = 100
MAX_K = 200


class MatchEngine:
    """Hybrid matcher over patents and needs, backed by indexes derived from the database."""

    def __init__(
        self,
        settings: Settings,
        encoder: Encoder,
        *,
        params: RankingParams | None = None,
        calibration: CalibrationSet | None = None,
        tokenizer: Tokenizer | None = None,
        penalties: PenaltyProvider = no_penalties,
    ) -> None:
        self.settings = settings
        # Relevance feedback from the features above search (deals' decline reasons).
        self.penalties = penalties
        self.encoder = encoder
        self.params = params or load_ranking_params(settings.ranking_file)
        self.calibration = calibration or load_calibrations(settings.calibration_file)
        self._labels: IpcScheme | None = None
        self._ann = AnnParams.from_settings(settings)
        # One tokenizer for every lexical index this engine builds: loading jieba takes seconds.
        self._tokenizer = tokenizer or Tokenizer()
        self._indexes = self._empty()
        # Held while the indexes change or are saved (never while encoding); searches rely on
        # each index's own lock and never take it.
        self._lock = threading.RLock()
        # Serialises replay rounds (read → encode → apply), so that they apply in log order.
        self._replay_lock = threading.Lock()
        # Fired after a catalog write commits: the indexer listens (``mark_written``).
        self.writes = WriteSignal()
        self._max_chars = int(getattr(encoder, "max_chars", DEFAULT_MAX_CHARS))

    def _context(self, timer: StageTimer | None = None) -> QueryContext:
        """Ranking knobs, calibration and clock for one request."""
        return QueryContext(
            self.params,
            self.calibration,
            date.today(),
            timer or StageTimer(),
            self._max_chars,
            self.penalties,
        )

    def _threshold(self, needs: bool) -> float:
        """The no-good-match threshold: the setting, else the calibration's own."""
        if self.settings.match_min_confidence is not None:
            return self.settings.match_min_confidence
        return self.calibration.for_model(self.encoder.name, needs=needs).no_match_below

    def _label_ipc(self, matches: list[Match]) -> None:
        """Attach the Chinese titles of each match's shared subclasses (CNIPA scheme)."""
        if self._labels is None:
            return
        for match in matches:
            codes = match.explanation.shared_ipc
            labels = {c: self._labels.label(c) for c in codes}
            match.explanation.ipc_labels = {
                c: clean_scheme_title(t) for c, t in labels.items() if t
            }

    # Lifecycle -------------------------------------------------------------------------------

    def _empty(self) -> EngineIndexes:
        """Empty indexes for this engine's encoder."""
        return EngineIndexes.empty(self.encoder.name, self.encoder.dim, self._ann, self._tokenizer)

    def _read_saved(self) -> EngineIndexes:
        """The saved generation (graphs memory-mapped when ``index_mmap``)."""
        settings, encoder = self.settings, self.encoder
        return load_indexes(
            settings.index_dir, encoder.name, encoder.dim, self._ann, self._tokenizer,
            mmap=settings.index_mmap,
        )  # fmt: skip

    def load(self) -> None:
        """Load the saved indexes; refuses ones built with another model or dimension."""
        self._labels = self._labels or load_ipc_scheme(self.settings.shared_dir)
        indexes = self._read_saved()
        with self._lock:
            self._indexes = indexes

    def refresh(self, db: Engine) -> bool:
        """Switch to a generation another process saved since this one was loaded, caught up
        with the log first; True when it switched. Processes that share an index folder then
        map the same files (one copy in memory) instead of each growing its own."""
        saved = read_engine_manifest(self.settings.index_dir)
        if saved is None or saved.generation == self._indexes.generation:
            return False
        with self._replay_lock:
            fresh = self._read_saved()
            with Session(db) as session:
                docs = read_pending(session, fresh, self._max_chars)
            encoded = None if docs is None else encode_pending(self.encoder, docs)
            fresh.patent_lexical.search("预热", 1)  # builds its matrix here, not in a request
            with self._lock:
                if encoded is not None:
                    apply_encoded(fresh, encoded, self._context())
                self._indexes = fresh
        return True

    def open(self, session: Session) -> None:
        """Load the saved indexes, or build them when there are none (no catching up here)."""
        if read_engine_manifest(self.settings.index_dir) is None:
            self.rebuild(session)
        else:
            self.load()
        # jieba loads its dictionary on first use (seconds) and the BM25 matrix is built on the
        # first search: both at startup, not in a first request (nor the indexer's first round).
        self._indexes.patent_lexical.search("预热", 1)

    def load_or_rebuild(self, session: Session) -> None:
        """Load the saved indexes (rebuild when there are none), then catch up with the log."""
        if read_engine_manifest(self.settings.index_dir) is None:
            self.rebuild(session)
            return
        self.load()
        if self.sync(session):
            self.save()

    def update(self, session: Session, progress: Progress | None = None) -> bool:
        """Rebuild when there is no index or it was built with another model; else catch up.

        Returns True when it rebuilt. Catching up replays only the pending changes, so a restart
        does not re-encode the whole catalog.
        """
        saved = read_engine_manifest(self.settings.index_dir)
        if saved is None or (saved.model, saved.dim) != (self.encoder.name, self.encoder.dim):
            self.rebuild(session, progress)
            return True
        self.load()
        self.sync(session)
        self.save()
        return False

    def rebuild(self, session: Session, progress: Progress | None = None) -> EngineManifest:
        """Recreate every index from the database, save it, then switch searches over to it."""
        fresh = self._empty()
        self._labels = self._labels or load_ipc_scheme(self.settings.shared_dir)
        # The scheme prior first: the needs' inferred subclasses (indexed last) use it too.
        fresh.scheme, fresh.scheme_file = prepare_scheme(self.settings, self.encoder, progress)
        build_all(session, self.encoder, fresh, self._context(), progress)
        with self._lock:
            manifest = save_indexes(
                self.settings.index_dir, fresh, self.encoder.name, self.encoder.dim
            )
            self._indexes = fresh
        return manifest

    def sync(self, session: Session) -> int:
        """Replay every ``IndexChange`` newer than the indexes, in ``session``; returns how many."""
        with self._replay_lock:
            return self._apply(read_pending(session, self._indexes, self._max_chars))

    def replay_round(self, db: Engine, limit: int) -> int:
        """Replay up to ``limit`` changes: read in a short transaction, encode with no
        transaction and no lock held, then apply under the lock; returns how many."""
        with self._replay_lock:
            with Session(db) as session:
                docs = read_pending(session, self._indexes, self._max_chars, limit)
            return self._apply(docs)

    def _apply(self, docs: PendingDocs | None) -> int:
        """Encode (no lock held), then apply under the lock; callers hold the replay lock."""
        if docs is None:
            return 0
        encoded = encode_pending(self.encoder, docs)
        with self._lock:
            return apply_encoded(self._indexes, encoded, self._context())

    def save(self) -> EngineManifest:
        """Persist the current indexes atomically."""
        with self._lock:
            return save_indexes(
                self.settings.index_dir, self._indexes, self.encoder.name, self.encoder.dim
            )

    def mark_written(self) -> None:
        """A catalog write committed: wake the indexer (it does the encoding, not the caller)."""
        self.writes.fire()

    def pending_changes(self, session: Session) -> int:
        """Changes in the log that the indexes do not contain yet."""
        return pending_count(session, self._indexes.last_change_id)

    def lag(self, session: Session) -> IndexLag:
        """Pending changes and the age of the oldest one (0 s when there is none)."""
        return index_lag(session, self._indexes.last_change_id)

    def stats(self) -> dict[str, object]:
        """Model, dimension, what the indexes hold and the last change they contain."""
        indexes = self._indexes
        return {
            "model": self.encoder.name,
            "dim": self.encoder.dim,
            "patents": len(indexes.patent_ids),
            "patent_chunks": len(indexes.patent_vectors),
            "needs": len(indexes.need_ids),
            "last_change_id": indexes.last_change_id,
        }

    def nearest(self, texts: list[str], k: int, *, needs: bool = False) -> list[list[Near]]:
        """Per text: its ``k`` nearest patents or indexed needs (encodes: background work only)."""
        return nearest_documents(self._indexes, self.encoder, texts, k, needs=needs)

    # Matching --------------------------------------------------------------------------------

    def _result(
        self, matches: list[Match], rows: dict[int, Any], *, needs: bool = False
    ) -> MatchResult:
        """Best first (ties by id); flagged when the best confidence is under the threshold."""
        matches.sort(key=lambda m: (-m.score, m.id))
        best = max((m.confidence for m in matches), default=0.0)
        self._label_ipc(matches)
        return MatchResult(matches, no_good_match=best < self._threshold(needs), rows=rows)

    def _match_patents(
        self,
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
            stored = None if need_id is None else self._indexes.need_queries.get(need_id)
            most = ctx.params.max_statements
            vectors = query_vectors(self.encoder, text, most) if stored is None else stored
        matches, rows = search_patents(session, self._indexes, text, vectors, filters, k, ctx)
        return self._result(matches, {pid: rows[pid][0] for pid in (m.id for m in matches)})

    def match_text(
        self,
        session: Session,
        text: str,
        filters: MatchFilters,
        k: int,
        *,
        timer: StageTimer | None = None,
    ) -> MatchResult:
        """Free text (a need's wording) → patents."""
        return self._match_patents(session, text, filters, k, self._context(timer))

    def match_need(
        self,
        session: Session,
        need_id: int,
        filters: MatchFilters,
        k: int,
        *,
        timer: StageTimer | None = None,
    ) -> MatchResult:
        """A technology need → patents that could meet it (published needs are pre-encoded)."""
        ctx = self._context(timer)
        with ctx.timer.stage("database"):
            need = session.get(TechNeed, need_id)
        if need is None:
            raise NotFound(f"need {need_id} does not exist")
        return self._match_patents(session, need_text(need), filters, k, ctx, need_id)

    def match_patent(self, session: Session, patent_id: int, k: int) -> MatchResult:
        """A patent → published needs it could serve."""
        patent = session.get(Patent, patent_id)
        if patent is None:
            raise NotFound(f"patent {patent_id} does not exist")
        text = patent_text(patent)
        _check_query(text, k)
        # The patent's own indexed chunk vectors: a request never encodes catalog text.
        vectors = self._indexes.patent_vectors.vectors_of(all_chunk_keys([patent_id]))
        if not len(vectors):  # not indexed yet (the indexer catches up within a second)
            return MatchResult([], no_good_match=True, rows={})
        weights = subclass_weights([patent.ipc_codes])
        found = search_needs(session, self._indexes, (text, vectors, weights), k, self._context())
        return self._result(*found, needs=True)

    def match_portfolio(self, session: Session, org_id: int, k: int) -> MatchResult:
        """An organisation's idle patents in force (its 存量专利) → published needs."""
        if session.get(Organisation, org_id) is None:
            raise NotFound(f"organisation {org_id} does not exist")
        _check_k(k)
        patents = _portfolio(session, org_id)
        if not patents:
            return MatchResult([], no_good_match=True, rows={})
        # Each patent's first indexed chunk (title and the start of its abstract).
        firsts = [chunk_key(int(p.id), 0) for p in patents if p.id is not None]
        vectors = self._indexes.patent_vectors.vectors_of(firsts)
        if not len(vectors):
            return MatchResult([], no_good_match=True, rows={})
        weights = subclass_weights([p.ipc_codes for p in patents])
        query = ("\n".join(p.title for p in patents), vectors, weights)
        found = search_needs(session, self._indexes, query, k, self._context())
        return self._result(*found, needs=True)


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
