"""Parameters of the vector index (flat below a threshold, HNSW above), built from settings."""

from dataclasses import asdict, dataclass
from typing import Any

from app.settings import Settings


@dataclass(frozen=True)
class AnnParams:
    """How a ``VectorIndex`` is built and searched; structural fields are fixed once built."""

    # Exact (flat) search up to this many live vectors; HNSW above it.
    threshold: int = 20_000
    hnsw_m: int = 48
    hnsw_ef_construction: int = 120
    hnsw_ef_search: int = 128
    # Rebuild the HNSW graph when tombstones exceed this fraction of its stored vectors.
    compact_fraction: float = 0.2
    search_threads: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> "AnnParams":
        """Take the ``ann_*``/``hnsw_*`` fields of ``settings``."""
        return cls(
            threshold=settings.ann_threshold,
            hnsw_m=settings.hnsw_m,
            hnsw_ef_construction=settings.hnsw_ef_construction,
            hnsw_ef_search=settings.hnsw_ef_search,
            compact_fraction=settings.ann_compact_fraction,
            search_threads=settings.search_threads,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AnnParams":
        """Rebuild from a manifest's ``params``, ignoring unknown keys from other versions."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the manifest."""
        return asdict(self)
