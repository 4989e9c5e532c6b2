"""``OnnxEncoder``: a model's int8 or fp32 ONNX export on onnxruntime, no torch at run time.

Texts are tokenised with the model's own fast tokenizer (``tokenizer.json``, the same one
sentence-transformers uses; its chain of character replacements folded into one ``str.translate``,
see ``fast_normaliser``), get the same prompts, and are batched by token length: sorted, then
cut into batches of at most ``batch_size`` texts and ``token_budget`` padded tokens, so a short
title is never padded to the longest abstract of a random batch. The graph pools and normalises.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from app.errors import ServiceUnavailable
from app.progress import RateReporter
from app.search.encoder import normalise_rows, read_prompts
from app.search.fast_normaliser import load_tokenizer
from app.search.onnx_export import FP32_FILE, INT8_FILE, OUTPUT_NAME, onnx_files_ok

# Padded tokens per batch for an average batch of 32 (keeps long texts in small batches).
TOKENS_PER_TEXT = 128
# Below this many texts an encode call reports no progress (queries, small updates).
PROGRESS_MIN_TEXTS = 1_000
# The file each precision runs; the tag keeps their cached vectors apart.
PRECISION_FILES = {"int8": INT8_FILE, "fp32": FP32_FILE}

Progress = Callable[[str, int, int], None]
Precision = Literal["int8", "fp32"]


def onnx_vectors_tag(name: str, precision: str) -> str:
    """The tag vectors of model ``name`` on the ONNX ``precision`` file are cached under."""
    return f"{name}+onnx-{precision}"


def length_batches(lengths: Sequence[int], batch_size: int, token_budget: int) -> list[np.ndarray]:
    """Positions grouped shortest first: ≤ ``batch_size`` each, ≤ ``token_budget`` padded tokens."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    for end in range(1, len(order) + 1):
        # Sorted ascending, so the newest member sets the batch's padded length.
        longest = lengths[order[end - 1]]
        too_big = end - start > batch_size or (end - start) * longest > token_budget
        if too_big and end - 1 > start:
            batches.append(order[start : end - 1])
            start = end - 1
    if start < len(order):
        batches.append(order[start:])
    return batches


def _max_seq_length(model_dir: Path) -> int:
    """sentence-transformers' ``max_seq_length`` of the folder (512 when not stated)."""
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        value = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
        if isinstance(value, int) and value > 0:
            return value
    return 512


def _pad_id(model_dir: Path) -> int:
    """The checkpoint's padding token id (masked out, so only its validity matters)."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    return int(config.get("pad_token_id") or 0)


class OnnxEncoder:
    """A model's int8 (or fp32) ONNX export on CPU, same prompts and space as the torch one."""

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str | None = None,
        batch_size: int = 32,
        threads: int = 0,
        show_progress: bool = False,
        precision: Precision = "int8",
    ) -> None:
        if not onnx_files_ok(model_dir):
            model = name or model_dir.name
            raise ServiceUnavailable(
                f"{model_dir} has no ONNX export; run `patentmatch model fetch {model}`"
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(0, threads)
        options.inter_op_num_threads = 1
        # Idle pool threads would otherwise spin after every run: a one-query encode on 2
        # threads cost 30 ms of CPU spinning, 18 ms without (the same wall time), and a loaded
        # server pays that spin on every free-text request.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(model_dir / PRECISION_FILES[precision]), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer, self._normalise = load_tokenizer(model_dir / "tokenizer.json")
        max_length = _max_seq_length(model_dir)
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.no_padding()
        self._pad = _pad_id(model_dir)
        self.name = name or model_dir.name
        self.vectors_tag = onnx_vectors_tag(self.name, precision)
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.query_prompt, self.document_prompt = read_prompts(model_dir)
        self.batch_size = max(1, batch_size)
        self.show_progress = show_progress
        # Characters per chunk: CJK is about one token per character; keep room for specials.
        self.max_chars = max(16, max_length - 8)

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        """One padded batch through the graph."""
        width = max(len(row) for row in ids)
        input_ids = np.full((len(ids), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, tokens in enumerate(ids):
            input_ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        out = self._session.run(
            [OUTPUT_NAME], {k: v for k, v in feeds.items() if k in self._inputs}
        )
        return np.asarray(out[0], dtype=np.float32)

    def encode(
        self, texts: Sequence[str], prompt: str, progress: Progress | None = None
    ) -> np.ndarray:
        """Encode ``prompt + text`` for each text; float32 unit rows in input order."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prompted = [prompt + t for t in texts]
        if self._normalise is not None:
            prompted = [self._normalise(t) for t in prompted]
        encodings = self._tokenizer.encode_batch(prompted)
        ids = [e.ids for e in encodings]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if progress is None and self.show_progress and len(texts) >= PROGRESS_MIN_TEXTS:
            progress = RateReporter()
        if progress is not None:
            progress("encoding", 0, len(texts))
        done = 0
        for batch in length_batches(
            [len(i) for i in ids], self.batch_size, self.batch_size * TOKENS_PER_TEXT
        ):
            out[batch] = self._run([ids[i] for i in batch])
            done += len(batch)
            if progress is not None:
                progress("encoding", done, len(texts))
        return normalise_rows(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode queries with the model's query prompt (if any)."""
        return self.encode(texts, self.query_prompt)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Encode documents with the model's document prompt (if any)."""
        return self.encode(texts, self.document_prompt)
