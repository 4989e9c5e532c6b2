"""Settings from the environment (prefix ``PATENTMATCH_``); never read at import time.

Relative paths (the defaults included) are resolved against the home folder: ``PATENTMATCH_HOME``,
else the project root when run from a checkout, else the user data folder, so every command
behaves the same from any working directory.
"""

import os
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_CHECKOUT = Path(__file__).resolve().parents[1]
_SQLITE = "sqlite:///"


class Settings(BaseSettings):
    """All runtime configuration. Build one with ``get_settings()`` where it is needed."""

    model_config = SettingsConfigDict(env_prefix="PATENTMATCH_", env_file=".env", extra="ignore")

    # Where relative paths below point; see default_home().
    home: Path | None = None
    database_url: str = "sqlite:///var/patentmatch.db"
    # Connection pool per process (PostgreSQL and SQLite files): requests beyond size+overflow
    # wait up to pool_timeout seconds for a connection instead of failing at once.
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: float = 30.0
    # SQLite: how long a writer waits for the write lock before "database is locked".
    sqlite_busy_timeout_ms: int = 15_000
    shared_dir: Path = Path("../shared")
    var_dir: Path = Path("var")
    models_dir: Path = Path("models")
    index_dir: Path = Path("index")

    # Matching engine.
    # MIT-licensed; m3e-small (non-commercial licence) stays available as an option.
    model_name: str = "multilingual-e5-small"
    encode_batch_size: int = 32
    # Intra-op threads for encoding (torch or onnxruntime); 0 keeps the library's default.
    encode_threads: int = 0
    # "onnx": the model's ONNX export (onnxruntime); "torch": sentence-transformers;
    # "auto": onnx where `patentmatch model fetch` exported it, else torch.
    encoder_backend: Literal["auto", "onnx", "torch"] = "auto"
    # Which ONNX file the onnx backend encodes passages with (patents, stored need vectors,
    # IPC scheme titles, eval corpora): the float32 export, or its int8 copy. Passages are
    # encoded once, off the request path, and the dev needs were judged on float32 vectors
    # (int8 ones pull unjudged documents into the top 10). The index manifest records it:
    # changing it rebuilds the index at `patentmatch index update`.
    encoder_precision: Literal["int8", "fp32"] = "fp32"
    # Which ONNX file encodes free text inside a request (match queries): int8 keeps a query's
    # encode fast, and its vectors search the fp32 passage vectors (cosine ~0.997 to fp32's).
    encoder_query_precision: Literal["int8", "fp32"] = "int8"
    # Below this many vectors the index is exact (flat); above it, HNSW.
    ann_threshold: int = 20_000  # exact search costs ~1.5 ms/query at 20k × 512, ~3.5 ms at 50k
    hnsw_m: int = 48  # M 32 plateaued at recall@10 0.93 at 1M; 48 reaches 0.96 (bench_search)
    hnsw_ef_construction: int = 120
    hnsw_ef_search: int = 128
    ann_compact_fraction: float = 0.2
    # Per-request search is single-threaded: 2 OpenMP threads were 3–4x slower per query here.
    search_threads: int = 1
    # A match result is flagged no_good_match when its best confidence (or, where the calibration
    # has a gate, P(the result holds a useful match) from it and the query's best cosine) is
    # below this; unset, the threshold fitted with it (`patentmatch eval calibrate --write`).
    match_min_confidence: float | None = None
    # Patent rankings of recent queries kept until the indexes change (a need's matches repeat:
    # only the database reads and explanations run again); 0 turns the memo off.
    match_memo_size: int = 128
    # Tuned ranking parameters / confidence calibrations (unset: the packaged artefacts that
    # `patentmatch eval tune --write` and `eval calibrate --write` produce).
    ranking_file: Path | None = None
    calibration_file: Path | None = None

    # Background indexer: how often it looks for catalog changes (other processes' writes
    # included), how many changes it encodes per round, how often it saves a generation.
    index_poll_seconds: float = 0.25
    index_batch_size: int = 256
    index_save_seconds: float = 60.0
    # HNSW graphs are searched in place in their memory-mapped files, so the workers of one
    # host (`serve --workers N`) share one copy of the saved vectors instead of N.
    index_mmap: bool = True
    # /readyz says not ready while the index is this far behind the catalog.
    index_max_lag_seconds: float = 30.0
    # Tests only: index each write inside the request that made it (deterministic asserts).
    # Production keeps it off: request handlers never encode catalog text.
    index_inline: bool = False

    # Industry chains: a patent or need is tagged to a node by text similarity when its cosine
    # to the node's description is this many standard deviations above the collection's mean,
    # among the node's chain_tag_similar_k nearest; the tagger reads this many catalog changes
    # per round, and the server's tagger thread runs every chain_tag_seconds (0: off, leave
    # it to `patentmatch worker` or `patentmatch chains tag`).
    chain_tag_min_z: float = 3.0
    chain_tag_similar_k: int = 300
    chain_tag_batch: int = 2000
    chain_tag_seconds: float = 30.0

    # Import.
    import_batch_size: int = 500
    # An import job whose heartbeat is older than this is taken for dead and marked failed.
    import_lease_seconds: float = 120.0

    # API.
    rate_limit_per_minute: int = 600
    # Shared rate limits across processes/replicas (redis://host:port/db); in-process when unset.
    redis_url: str | None = None
    # Failed authentications per client address and minute before it gets 429s (0: no limit).
    auth_failures_per_minute: int = 30
    cors_origins: list[str] = []
    # Request bodies: JSON (and every other non-upload request) and file uploads, in bytes.
    max_json_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 50 * 1024 * 1024
    # /metrics is open only when this is true; else it takes an admin key or metrics_token.
    metrics_public: bool = False
    # A bearer token for Prometheus scrapers (Authorization: Bearer …), instead of an admin key.
    metrics_token: str | None = None

    # Deals and alerts.
    deal_overdue_days: int = 14
    webhook_max_attempts: int = 5
    webhook_backoff_seconds: float = 2.0
    # Lets webhooks target loopback/private addresses (tests, intranet deployments).
    webhook_allow_private_hosts: bool = False

    # People's accounts and the console.
    # Argon2id cost: argon2-cffi's default, the second recommended profile of RFC 9106.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65_536
    argon2_parallelism: int = 4
    session_hours: int = 12
    # Mark the session cookie Secure: set true whenever the console is served over HTTPS.
    cookie_secure: bool = False
    signin_max_failures: int = 5  # per e-mail address within the window
    signin_max_failures_per_ip: int = 20
    signin_window_minutes: int = 15
    account_token_hours: int = 72  # invitation and reset links
    # Where people reach the service; links printed by the CLI start with it.
    public_url: str = "http://127.0.0.1:8000"

    @model_validator(mode="after")
    def _resolve_paths(self) -> "Settings":
        home = Path(os.path.normpath((self.home or default_home()).expanduser().absolute()))
        self.home = home
        for name in ("shared_dir", "var_dir", "models_dir", "index_dir"):
            setattr(self, name, _under(home, getattr(self, name)))
        self.database_url = _sqlite_under(home, self.database_url)
        return self


def default_home() -> Path:
    """The project root when this code runs from a checkout, else the user data folder."""
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "app").is_dir():
        return _CHECKOUT
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "patentmatch"


def _under(home: Path, path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else Path(os.path.normpath(home / path))


def _sqlite_under(home: Path, url: str) -> str:
    """A relative SQLite file path made absolute under ``home``; other URLs unchanged."""
    if not url.startswith(_SQLITE) or url.startswith(_SQLITE + ":memory:"):
        return url
    rest = url.removeprefix(_SQLITE)
    file, sep, query = rest.partition("?")
    if not file or file.startswith("/"):
        return url
    return f"{_SQLITE}{_under(home, Path(file))}{sep}{query}"


def get_settings() -> Settings:
    """Read settings from the environment now (and from ``.env`` in the home and working folder)."""
    given = os.environ.get("PATENTMATCH_HOME")
    home = Path(given).expanduser() if given else default_home()
    return Settings(_env_file=(home / ".env", ".env"))
