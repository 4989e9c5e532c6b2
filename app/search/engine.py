"""``MatchEngine``: keeps the search indexes in step with the database and matches both ways.

Directions: need or free text → patents (hybrid dense + BM25, IPC re-ranked, filtered against
database rows), patent → published needs, organisation portfolio (its idle patents in force) →
published needs. Match calls never replay the change log: the background indexer
(``app.search.indexer``) does, in rounds (``replay_round``) that encode outside any transaction
and outside the engine lock. ``sync`` replays everything at once (CLI, tests); both work in
memory, and ``save`` (also done by ``load_or_rebuild`` and ``rebuild``) persists the indexes
atomically under ``index_dir``. The match calls themselves live in ``engine_queries``: this
class hands them a view of its current state.
"""

import threading
from datetime import date

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session

from app.catalog.ipc import IpcScheme, load_ipc_scheme
from app.search import engine_queries
from app.search.ann_params import AnnParams
from app.search.calibration import CalibrationSet
from app.search.documents import DEFAULT_MAX_CHARS
from app.search.encoder import Encoder, vectors_tag
from app.search.engine_manifest import EngineManifest, read_engine_manifest
from app.search.engine_queries import EngineView
from app.search.filters import MatchFilters
from app.search.indexing import Progress, build_all
from app.search.lexical import Tokenizer
from app.search.memo import LruMemo
from app.search.nearest import Near, nearest_documents
from app.search.penalties import PenaltyProvider, no_penalties
from app.search.querying import QueryContext
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
from app.search.split_encoder import passage_encoder, scheme_encoder
from app.search.store import EngineIndexes, load_indexes, save_indexes
from app.search.tuned import load_calibrations, load_ranking_params
from app.search.write_signal import WriteSignal
from app.settings import Settings

__all__ = ["Explanation", "Match", "MatchEngine", "MatchFilters", "MatchResult", "StageTimer"]


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
        # The passage vectors' tag, recorded in (and checked against) the index manifest.
        self._tag = vectors_tag(encoder)
        # Free-text query vectors of recent requests (the rankings are memoised per indexes).
        self._encoded: LruMemo[np.ndarray] = LruMemo(settings.match_memo_size)

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

    # Lifecycle -------------------------------------------------------------------------------

    def _empty(self) -> EngineIndexes:
        """Empty indexes for this engine's encoder."""
        encoder = self.encoder
        return self._sized(
            EngineIndexes.empty(encoder.name, encoder.dim, self._ann, self._tokenizer)
        )

    def _read_saved(self) -> EngineIndexes:
        """The saved generation (graphs memory-mapped when ``index_mmap``)."""
        settings, encoder = self.settings, self.encoder
        return self._sized(load_indexes(
            settings.index_dir, encoder.name, encoder.dim, self._ann, self._tokenizer,
            mmap=settings.index_mmap, tag=self._tag,
        ))  # fmt: skip

    def _sized(self, indexes: EngineIndexes) -> EngineIndexes:
        """The indexes with their ranking memo sized by ``match_memo_size``."""
        indexes.rankings.size = self.settings.match_memo_size
        return indexes

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
        """Rebuild when there is no index or it was built with another model or
        vectors tag (backend, precision); else catch up.

        Returns True when it rebuilt. Catching up replays only the pending changes, so a restart
        does not re-encode the whole catalog.
        """
        saved = read_engine_manifest(self.settings.index_dir)
        wanted = (self.encoder.name, self.encoder.dim, self._tag)
        if saved is None or (saved.model, saved.dim, saved.vectors_tag) != wanted:
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
        scheme_by = scheme_encoder(self.encoder)
        fresh.scheme, fresh.scheme_file = prepare_scheme(self.settings, scheme_by, progress)
        build_all(session, self.encoder, fresh, self._context(), progress)
        with self._lock:
            manifest = save_indexes(
                self.settings.index_dir, fresh, self.encoder.name, self.encoder.dim, self._tag
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
                self.settings.index_dir,
                self._indexes,
                self.encoder.name,
                self.encoder.dim,
                self._tag,
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
        encoder = passage_encoder(self.encoder)
        return nearest_documents(self._indexes, encoder, texts, k, needs=needs)

    # Matching (``engine_queries``) ---------------------------------------------------------

    def _view(self) -> EngineView:
        """The state one match call reads (the indexes a refresh or rebuild may swap later)."""
        minimum = self.settings.match_min_confidence
        return EngineView(self._indexes, self.encoder, self._labels, minimum, self._encoded)

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
        ctx = self._context(timer)
        return engine_queries.match_patents(self._view(), session, text, filters, k, ctx)

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
        return engine_queries.match_need(self._view(), session, need_id, filters, k, ctx)

    def match_patent(self, session: Session, patent_id: int, k: int) -> MatchResult:
        """A patent → published needs it could serve."""
        return engine_queries.match_patent(self._view(), session, patent_id, k, self._context())

    def match_portfolio(self, session: Session, org_id: int, k: int) -> MatchResult:
        """An organisation's idle patents in force (its 存量专利) → published needs."""
        return engine_queries.match_portfolio(self._view(), session, org_id, k, self._context())
