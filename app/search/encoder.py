"""Text encoders: the ``Encoder`` protocol, a sentence-transformers encoder and a hashing encoder.

Both return L2-normalised float32 rows so that inner product is cosine similarity everywhere.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from app.catalog.text import to_simplified
from app.errors import ServiceUnavailable
from app.settings import Settings

HASHING_MODEL = "hashing"
# Sentence ends (full- and half-width) where a long text may be split without cutting a clause.
_SENTENCE_END = re.compile(r"(?<=[。；;！？!?]|\.(?=\s))")
# Characters that carry no meaning for the hashing encoder (punctuation, spaces, symbols).
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into unit vectors; queries and documents may use different prompts."""

    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode search queries (needs, titles) as an (n, dim) float32 L2-normalised array."""
        ...

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Encode indexed documents as an (n, dim) float32 L2-normalised array."""
        ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length (all-zero rows stay zero)."""
    out = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _hard_split(text: str, max_chars: int, overlap: int) -> list[str]:
    """Cut a text without sentence breaks into windows of ``max_chars`` that overlap."""
    step = max(1, max_chars - overlap)
    starts = range(0, max(1, len(text) - overlap), step)
    return [text[i : i + max_chars] for i in starts]


def chunk_text(text: str, max_chars: int, overlap: int | None = None) -> list[str]:
    """Split a long text on sentence punctuation into chunks of at most ``max_chars``.

    Consecutive chunks share their boundary sentence (or ``overlap`` characters when one sentence
    alone is too long) so that a passage spanning a boundary is still seen whole by one chunk.
    Blank text gives no chunks; text that fits gives itself.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    text = text.strip()
    if not text:
        return []
    if len(text) <= max_chars:
        return [text]
    char_overlap = max_chars // 5 if overlap is None else min(overlap, max_chars - 1)
    pieces: list[str] = []
    # Sentences keep their leading space so that joined Latin text stays readable.
    for sentence in (s for s in _SENTENCE_END.split(text) if s.strip()):
        if len(sentence) > max_chars:
            pieces.extend(_hard_split(sentence, max_chars, char_overlap))
        else:
            pieces.append(sentence)
    chunks: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if current and len("".join(current)) + len(piece) > max_chars:
            chunks.append("".join(current).strip())
            # Carry the last sentence over when it fits beside the next one: the overlap.
            last = current[-1]
            current = [last] if len(last) + len(piece) <= max_chars else []
        current.append(piece)
    if current:
        chunks.append("".join(current).strip())
    return chunks


def chunk_documents(texts: Sequence[str], max_chars: int) -> tuple[list[str], np.ndarray]:
    """Chunk many documents; returns the chunks and, per chunk, the position of its document.

    A blank document still yields one (empty) chunk so that every document has a vector.
    """
    chunks: list[str] = []
    owners: list[int] = []
    for position, text in enumerate(texts):
        parts = chunk_text(text, max_chars) or [""]
        chunks.extend(parts)
        owners.extend([position] * len(parts))
    return chunks, np.asarray(owners, dtype=np.int64)


class HashingEncoder:
    """Deterministic character n-gram hashing embedding (no model; for tests and as a fallback).

    Uni-, bi- and tri-grams of the Simplified text are hashed (CRC-32, signed) into ``dim``
    buckets with sublinear weights, so texts sharing many n-grams get a high cosine.
    """

    # (n, weight): single characters are weak evidence in Chinese, bi/tri-grams carry terms.
    _WEIGHTS = ((1, 0.5), (2, 1.0), (3, 1.0))

    def __init__(self, dim: int = 256) -> None:
        self.name = HASHING_MODEL
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        """One un-normalised hashed n-gram vector."""
        vec = np.zeros(self.dim, dtype=np.float32)
        # Traditional → Simplified, so both scripts hash to the same n-grams.
        clean = _NOISE.sub("", to_simplified(text).lower())
        counts: dict[str, float] = {}
        for n, weight in self._WEIGHTS:
            for i in range(len(clean) - n + 1):
                gram = clean[i : i + n]
                counts[gram] = counts.get(gram, 0.0) + weight
        for gram, count in counts.items():
            h = zlib.crc32(gram.encode("utf-8"))
            sign = 1.0 if (h >> 31) & 1 else -1.0
            vec[h % self.dim] += sign * (1.0 + np.log(count))
        return vec

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """Stack and normalise the vectors of ``texts``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise_rows(np.stack([self._vector(t) for t in texts]))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode queries (same space as documents: no prompts)."""
        return self._encode(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Encode documents."""
        return self._encode(texts)


def read_prompts(model_dir: Path) -> tuple[str, str]:
    """Query and document prompts of a model folder: ``patentmatch.json`` first, then ST's config.

    ``patentmatch.json`` (``{"query_prompt": ..., "document_prompt": ...}``) is ours and wins;
    otherwise ``config_sentence_transformers.json``'s ``prompts`` (keys query, document/passage).
    """
    ours = model_dir / "patentmatch.json"
    if ours.is_file():
        data = json.loads(ours.read_text(encoding="utf-8"))
        return str(data.get("query_prompt", "")), str(data.get("document_prompt", ""))
    st_config = model_dir / "config_sentence_transformers.json"
    if st_config.is_file():
        prompts = json.loads(st_config.read_text(encoding="utf-8")).get("prompts") or {}
        document = prompts.get("document", prompts.get("passage", ""))
        return str(prompts.get("query", "")), str(document)
    return "", ""


class SentenceTransformerEncoder:
    """A local sentence-transformers model on CPU, batched, with optional query/document prompts."""

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str | None = None,
        batch_size: int = 32,
        threads: int = 0,
        show_progress: bool = False,
    ) -> None:
        if not (model_dir / "config.json").is_file():
            model = name or model_dir.name
            raise ServiceUnavailable(
                f"embedding model folder {model_dir} is missing or incomplete; "
                f"run `patentmatch model fetch {model}`"
            )
        # Belt and braces: nothing here may reach the Hugging Face hub.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.name = name or model_dir.name
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.query_prompt, self.document_prompt = read_prompts(model_dir)
        self.batch_size = batch_size
        self.show_progress = show_progress
        # Characters per chunk: CJK is about one token per character; keep room for specials.
        self.max_chars = max(16, int(self._model.max_seq_length or 512) - 8)

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        """Encode with ``prompt`` prepended; always float32 unit rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return normalise_rows(np.asarray(vectors))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode queries with the model's query prompt (if any)."""
        return self._encode(texts, self.query_prompt)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Encode documents with the model's document prompt (if any)."""
        return self._encode(texts, self.document_prompt)


def vectors_tag(encoder: Encoder) -> str:
    """The name an encoder's (document) vectors are cached under: the model, plus the backend
    and precision unless torch.

    Torch and ONNX int8 vectors of one model agree to a cosine of about 0.997, not exactly, so
    cached vectors (eval, scheme titles) are kept apart, and an index manifest records the tag
    of the passage vectors it holds.
    """
    return str(getattr(encoder, "vectors_tag", encoder.name))


def query_vectors_tag(encoder: Encoder) -> str:
    """The tag of an encoder's request-time query vectors (its passage tag unless split)."""
    return str(getattr(encoder, "query_vectors_tag", vectors_tag(encoder)))


def model_folder(settings: Settings) -> Path:
    """The folder of ``settings.model_name`` (an absolute path, or a name under models_dir)."""
    model_dir = Path(settings.model_name)
    return model_dir if model_dir.is_absolute() else settings.models_dir / settings.model_name


def load_encoder(settings: Settings, *, show_progress: bool = False) -> Encoder:
    """The encoder named by ``settings.model_name``: "hashing", or a folder under models_dir.

    ``settings.encoder_backend`` picks onnxruntime or torch; "auto" takes the ONNX export where
    `patentmatch model fetch` made one. On ONNX, documents run ``settings.encoder_precision``'s
    file and request-time queries ``encoder_query_precision``'s (a ``SplitEncoder`` when they
    differ).
    """
    if settings.model_name == HASHING_MODEL:
        return HashingEncoder()
    from app.search.onnx_export import onnx_files_ok

    model_dir = model_folder(settings)
    backend = settings.encoder_backend
    if backend == "auto":
        backend = "onnx" if onnx_files_ok(model_dir) else "torch"
    if backend == "onnx":
        return _onnx_encoder(settings, model_dir, show_progress)
    return SentenceTransformerEncoder(
        model_dir,
        name=model_dir.name,
        show_progress=show_progress,
        batch_size=settings.encode_batch_size,
        threads=settings.encode_threads,
    )


def _onnx_encoder(settings: Settings, model_dir: Path, show_progress: bool) -> Encoder:
    """One ``OnnxEncoder``, or a ``SplitEncoder`` over two when the precisions differ."""
    from app.search.onnx_encoder import OnnxEncoder, Precision, onnx_vectors_tag
    from app.search.split_encoder import SplitEncoder

    def session(precision: Precision) -> OnnxEncoder:
        return OnnxEncoder(
            model_dir,
            name=model_dir.name,
            show_progress=show_progress,
            precision=precision,
            batch_size=settings.encode_batch_size,
            threads=settings.encode_threads,
        )

    passages, queries = settings.encoder_precision, settings.encoder_query_precision
    if passages == queries:
        return session(passages)
    tag = onnx_vectors_tag(model_dir.name, passages)
    return SplitEncoder(session(queries), lambda: session(passages), tag)
