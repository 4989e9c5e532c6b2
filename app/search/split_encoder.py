"""``SplitEncoder``: documents on one ONNX precision, request-time queries on another.

Passages (patents, stored need vectors, scheme titles, eval corpora) are encoded once, off the
request path, so they can afford the float32 export; a free-text query is encoded inside a
request, where the int8 copy's speed matters. Both are the same model, prompts and tokenizer,
so query vectors of either precision search the float32 passage vectors (int8 and fp32 rows of
one text agree to a cosine of about 0.997).

A passage written in Traditional characters gets a second view: its vector is the mean of the
float32 vector of its own text and the int8 vector of its Simplified form, normalised. The
model sees far less Traditional than Simplified text, and most needs are written in Simplified;
on the dev needs two views ranked better than either script alone (figures in the README's
Quality section). Only Traditional passages pay for the second encoding (on the fast int8 file), and
the IPC scheme titles (all Simplified) are encoded on the int8 file too, which more than pays
for it at the first start (``scheme_encoder``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from app.catalog.text import to_simplified
from app.search.documents import DEFAULT_MAX_CHARS
from app.search.encoder import Encoder, normalise_rows, vectors_tag

# Tag suffix of passage vectors that carry the Simplified view of Traditional text.
SCRIPT_VIEW_TAG = "sv"


class SplitEncoder:
    """The ``Encoder`` protocol over two encoders: ``passages`` for documents, ``queries``
    for request-time free text. The passage encoder loads on first use (a server that never
    indexes does not hold the float32 model)."""

    def __init__(
        self, queries: Encoder, load_passages: Callable[[], Encoder], passage_tag: str
    ) -> None:
        self.queries = queries
        self._load_passages = load_passages
        self._passages: Encoder | None = None
        self._lock = threading.Lock()
        self.name = queries.name
        self.dim = queries.dim
        self.vectors_tag = f"{passage_tag}+{SCRIPT_VIEW_TAG}"
        self.query_vectors_tag = vectors_tag(queries)
        # Same tokenizer on both sides, so the query encoder's chunk size holds for passages.
        self.max_chars = int(getattr(queries, "max_chars", DEFAULT_MAX_CHARS))

    @property
    def passages(self) -> Encoder:
        """The document encoder, loaded on first use."""
        with self._lock:
            if self._passages is None:
                self._passages = self._load_passages()
            return self._passages

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Request-time queries, on the query precision."""
        return self.queries.encode_queries(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Documents, on the passage precision; Traditional ones averaged with the query
        precision's vector of their Simplified form (see the module docstring)."""
        vectors = np.array(self.passages.encode_documents(texts), dtype=np.float32)
        views = [(row, plain) for row, text in enumerate(texts)
                 if (plain := to_simplified(text)) != text]  # fmt: skip
        if views:
            rows = [row for row, _ in views]
            simplified = self.queries.encode_documents([plain for _, plain in views])
            vectors[rows] = normalise_rows(vectors[rows] + simplified)
        return vectors


def passage_encoder(encoder: Encoder) -> Encoder:
    """The encoder for work done off the request path (indexing, stored need query vectors):
    a ``SplitEncoder``'s passage one, else the encoder itself."""
    return encoder.passages if isinstance(encoder, SplitEncoder) else encoder


def scheme_encoder(encoder: Encoder) -> Encoder:
    """The encoder of the IPC scheme titles: a ``SplitEncoder``'s query one (they only feed
    the subclass prior, and encoding 8,115 of them on float32 took a minute of the first
    start), else the encoder itself."""
    return encoder.queries if isinstance(encoder, SplitEncoder) else encoder
