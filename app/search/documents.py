"""The searchable text of patents and needs, and the reversible ids of patent chunks.

A patent is indexed as title + abstract + first claim, split into chunks by the encoder module's
``chunk_text``; each chunk is a separate vector whose id is ``patent_id * CHUNK_SLOTS + chunk_no``
so that ``chunk_no = key % CHUNK_SLOTS`` and ``patent_id = key // CHUNK_SLOTS``. A patent's dense
score is the best of its chunks. Needs are one vector each, keyed by ``TechNeed.id``.
"""

from collections.abc import Sequence

import numpy as np

from app.catalog.models import Patent, TechNeed
from app.search.encoder import chunk_text

# Chunk slots per patent. 64 chunks of ~500 characters is far beyond any title + abstract +
# first claim; text past the last slot is dropped rather than overflowing into the next patent.
CHUNK_SLOTS = 64
# Chunk size when the encoder does not say (the hashing encoder has no token limit).
DEFAULT_MAX_CHARS = 500


def patent_text(patent: Patent) -> str:
    """Title, abstract and first claim (主权项), one per line."""
    parts = [patent.title, patent.abstract or "", patent.first_claim or ""]
    return "\n".join(p.strip() for p in parts if p and p.strip())


def need_text(need: TechNeed) -> str:
    """Title and description of a technology need."""
    parts = [need.title, need.description or ""]
    return "\n".join(p.strip() for p in parts if p and p.strip())


def chunk_key(patent_id: int, chunk_no: int) -> int:
    """The vector id of chunk ``chunk_no`` of patent ``patent_id``."""
    if not 0 <= chunk_no < CHUNK_SLOTS:
        raise ValueError(f"chunk_no must be in [0, {CHUNK_SLOTS}), got {chunk_no}")
    return patent_id * CHUNK_SLOTS + chunk_no


def patent_of_keys(keys: np.ndarray) -> np.ndarray:
    """Patent ids of chunk keys (``-1``, FAISS's "no result", stays ``-1``)."""
    keys = np.asarray(keys, dtype=np.int64)
    return np.where(keys < 0, -1, keys // CHUNK_SLOTS)


def all_chunk_keys(patent_ids: Sequence[int]) -> list[int]:
    """Every possible chunk key of these patents (to delete them whatever their chunk count)."""
    return [pid * CHUNK_SLOTS + n for pid in patent_ids for n in range(CHUNK_SLOTS)]


def patent_chunks(patents: Sequence[Patent], max_chars: int) -> tuple[list[int], list[str]]:
    """Chunk keys and chunk texts of ``patents``; every patent gets at least one chunk."""
    keys: list[int] = []
    texts: list[str] = []
    for patent in patents:
        if patent.id is None:
            raise ValueError("patent has no id; flush the session before indexing")
        chunks = chunk_text(patent_text(patent), max_chars)[:CHUNK_SLOTS] or [patent.title]
        for number, chunk in enumerate(chunks):
            keys.append(chunk_key(patent.id, number))
            texts.append(chunk)
    return keys, texts
