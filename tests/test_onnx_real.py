"""The real multilingual-e5-small: ONNX int8 against torch on 500 mixed texts (slow)."""

import json
from pathlib import Path

import pytest

from app.search.encoder import SentenceTransformerEncoder
from app.search.onnx_encoder import OnnxEncoder
from app.search.onnx_export import onnx_files_ok
from app.settings import Settings

ENGLISH = [
    "A method for detecting defects in welded seams using ultrasonic imaging",
    "Lithium-ion battery cathode material and preparation method thereof",
    "System and method for blockchain-based trusted data exchange",
    "Bird repelling device for high-voltage transmission lines",
    "Deep learning model for predicting protein-ligand binding affinity",
    "An unmanned aerial vehicle with foldable arms and a quick-release battery",
    "Process for recovering rare earth elements from industrial wastewater",
    "Anti-corrosion coating for offshore wind turbine towers",
    "CRISPR-Cas9 gene editing of rice for drought tolerance",
    "Water purification membrane with graphene oxide layers",
]


def mixed_texts(corpus: Path) -> list[str]:
    """200 Simplified and 200 Traditional titles, 40 English texts, 60 long (to truncation)."""
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    hans = [r["title"] for r in rows if r.get("lang") == "zh-Hans"][:200]
    hant = [r["title"] for r in rows if r.get("lang") == "zh-Hant"][:200]
    english = ENGLISH + [f"{a}; {b}." for a, b in zip(ENGLISH, ENGLISH[1:] * 4, strict=False)]
    english = (english + [" ".join(ENGLISH[: k + 2]) for k in range(30)])[:40]
    # 2 to 120 titles joined: from a sentence to well past 512 tokens (truncated alike).
    long = ["，".join(hans[k : k + 2 * (k + 1)] + hant[k : k + 2 * (k + 1)]) for k in range(60)]
    return hans + hant + english + long


@pytest.mark.slow
def test_onnx_int8_matches_torch_on_500_mixed_texts():
    settings = Settings()
    model_dir = settings.models_dir / "multilingual-e5-small"
    if not onnx_files_ok(model_dir):
        pytest.skip("run `patentmatch model fetch multilingual-e5-small` first")
    texts = mixed_texts(settings.shared_dir / "eval" / "dev" / "corpus.jsonl")
    assert len(texts) == 500
    onnx, torch = OnnxEncoder(model_dir), SentenceTransformerEncoder(model_dir)
    documents = (onnx.encode_documents(texts) * torch.encode_documents(texts)).sum(axis=1)
    queries = (onnx.encode_queries(texts[::5]) * torch.encode_queries(texts[::5])).sum(axis=1)
    assert documents.min() >= 0.99, f"worst document cosine {documents.min():.4f}"
    assert queries.min() >= 0.99, f"worst query cosine {queries.min():.4f}"
