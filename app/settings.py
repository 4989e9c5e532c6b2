"""Settings from the environment (prefix ``PATENTMATCH_``); never read at import time."""

from pathlib import Path

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
    # torch intra-op threads for encoding; 0 keeps torch's default (all cores).
    encode_threads: int = 0
    # Below this many vectors the index is exact (flat); above it, HNSW.
    ann_threshold: int = 20_000  # exact search costs ~1.5 ms/query at 20k × 512, ~3.5 ms at 50k
    hnsw_m: int = 48  # M 32 plateaued at recall@10 0.93 at 1M; 48 reaches 0.96 (bench_search)
    hnsw_ef_construction: int = 120
    hnsw_ef_search: int = 128
    ann_compact_fraction: float = 0.2
    # Per-request search is single-threaded: 2 OpenMP threads were 3–4x slower per query here.
    search_threads: int = 1
    # A match result is flagged no_good_match when its best calibrated confidence is below this;
    # unset, the threshold fitted with the calibration (`patentmatch eval calibrate --write`).
    match_min_confidence: float | None = None
    # Tuned ranking parameters / confidence calibrations (unset: the packaged artefacts that
    # `patentmatch eval tune --write` and `eval calibrate --write` produce).
    ranking_file: Path | None = None
    calibration_file: Path | None = None

    # Import.
    import_batch_size: int = 500

    # API.
    rate_limit_per_minute: int = 600
    cors_origins: list[str] = []

    # Deals and alerts.
    deal_overdue_days: int = 14
    webhook_max_attempts: int = 5
    webhook_backoff_seconds: float = 2.0
    # Lets webhooks target loopback/private addresses (tests, intranet deployments).
    webhook_allow_private_hosts: bool = False


def get_settings() -> Settings:
    """Read settings from the environment now."""
    return Settings()
