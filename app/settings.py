"""Settings from the environment (prefix ``PATENTMATCH_``); never read at import time."""

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All runtime configuration. Build one with ``get_settings()`` where it is needed."""

    model_config = SettingsConfigDict(env_prefix="PATENTMATCH_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/patentmatch.db"
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
    # "onnx": the model's int8 ONNX export (onnxruntime); "torch": sentence-transformers;
    # "auto": onnx where `patentmatch model fetch` exported it, else torch.
    encoder_backend: Literal["auto", "onnx", "torch"] = "auto"
    # Below this many vectors the index is exact (flat); above it, HNSW.
    ann_threshold: int = 20_000  # exact search costs ~1.5 ms/query at 20k × 512, ~3.5 ms at 50k
    hnsw_m: int = 48  # M 32 plateaued at recall@10 0.93 at 1M; 48 reaches 0.96 (bench_search)
    hnsw_ef_construction: int = 120
    hnsw_ef_search: int = 128
    ann_compact_fraction: float = 0.2
    # Per-request search is single-threaded: 2 OpenMP threads were 3–4x slower per query here.
    search_threads: int = 1
    # A match result is flagged no_good_match when its best calibrated confidence is below this.
    # At 0.3, flagged dev title queries had P@10 0.19 against 0.56 for the rest.
    match_min_confidence: float = 0.3

    # Import.
    import_batch_size: int = 500

    # API.
    rate_limit_per_minute: int = 600
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


def get_settings() -> Settings:
    """Read settings from the environment now."""
    return Settings()
