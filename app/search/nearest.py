"""Nearest documents of free texts, for features that tag by similarity (industry chains).

Each text is encoded as a query; its hits are patents (by their best chunk) or indexed needs,
with the cosine and its standard score against the patent collection's moments (the same
z-scores the dense signal of matching uses), so a threshold means the same for every text.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.search.documents import patent_of_keys
from app.search.encoder import Encoder
from app.search.fusion import dense_hits
from app.search.ranking import dedupe_best
from app.search.store import EngineIndexes

# Chunk hits fetched per wanted patent (most patents have one or two chunks).
CHUNKS_PER_PATENT = 2


@dataclass(frozen=True)
class Near:
    """One hit: a patent or need id, its cosine to the text, and the cosine's standard score."""

    id: int
    cosine: float
    z: float


def nearest_documents(
    indexes: EngineIndexes, encoder: Encoder, texts: Sequence[str], k: int, *, needs: bool
) -> list[list[Near]]:
    """Per text: up to ``k`` nearest patents (``needs=False``) or needs, best first."""
    if not texts:
        return []
    index = indexes.need_vectors if needs else indexes.patent_vectors
    fetch = min(k if needs else k * CHUNKS_PER_PATENT, len(index))
    if fetch <= 0:
        return [[] for _ in texts]
    vectors = encoder.encode_queries(list(texts))
    scores, keys = index.search(vectors, fetch)
    out: list[list[Near]] = []
    for row, vector in enumerate(vectors):
        ids = keys[row] if needs else patent_of_keys(keys[row])
        ids, cosines = dedupe_best(ids, scores[row])
        hits = dense_hits(ids, cosines, vector, indexes.patent_moments)
        mean = float(np.mean(cosines)) if hits.mean is None else hits.mean
        std = float(np.std(cosines)) if hits.std is None else hits.std
        out.append(
            [
                Near(int(i), float(c), (float(c) - mean) / std if std > 0 else 0.0)
                for i, c in zip(ids[:k], cosines[:k], strict=True)
            ]
        )
    return out
