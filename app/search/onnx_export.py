"""ONNX artefacts of a provisioned model: a float32 export and a dynamically quantised int8 copy.

``patentmatch model fetch`` calls ``ensure_onnx`` after the checkpoint is in place. The export
runs offline from the local checkpoint (``torch.onnx.export``, the TorchScript exporter, so no
onnxscript is needed): the transformer, mean pooling over the attention mask and L2
normalisation in one graph, with dynamic batch and sequence axes. The int8 copy has the
transformer operators fused (onnxruntime's BERT optimiser) and its weights quantised per channel
(``onnxruntime.quantization.quantize_dynamic``). Both files and their sha256 are recorded under
``onnx`` in the model's ``patentmatch.json``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.errors import ServiceUnavailable
from app.search.model_layout import write_json
from app.search.provision import MANIFEST_NAME, sha256_of

log = logging.getLogger(__name__)

ONNX_DIR = "onnx"
FP32_FILE = f"{ONNX_DIR}/model.onnx"
INT8_FILE = f"{ONNX_DIR}/model_int8.onnx"
OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "embedding"
QUANTISATION = "dynamic int8, per-channel weights, fused BERT operators (onnxruntime)"


def read_manifest(model_dir: Path) -> dict[str, Any]:
    """The model's ``patentmatch.json`` as a dict ({} when absent or unreadable)."""
    try:
        data = json.loads((model_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_manifest(model_dir: Path, key: str, value: object) -> None:
    """Set one key of ``patentmatch.json`` (written to a temporary file, then renamed)."""
    record = read_manifest(model_dir)
    record[key] = value
    tmp = model_dir / f".{MANIFEST_NAME}.tmp"
    write_json(tmp, record)
    os.replace(tmp, model_dir / MANIFEST_NAME)


def onnx_files_ok(model_dir: Path, *, verify: bool = False) -> bool:
    """Whether the manifest names the ONNX files and they exist (and match, with ``verify``)."""
    files = (read_manifest(model_dir).get("onnx") or {}).get("files") or {}
    if set(files) != {FP32_FILE, INT8_FILE}:
        return False
    for relative, digest in files.items():
        path = model_dir / relative
        if not path.is_file() or (verify and sha256_of(path) != digest):
            return False
    return True


def _pooled_module(model_dir: Path) -> Any:
    """The checkpoint wrapped as (input_ids, attention_mask) → mean-pooled unit vectors."""
    import torch
    from transformers import AutoModel

    # Eager attention traces into plain operators that onnxruntime's optimiser can fuse.
    model = AutoModel.from_pretrained(
        str(model_dir), attn_implementation="eager", local_files_only=True
    ).eval()

    class Pooled(torch.nn.Module):
        """Transformer → mean over real tokens → L2 normalisation (the ST module chain)."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    return Pooled()


def export_fp32(model_dir: Path, target: Path) -> None:
    """Export the checkpoint with pooling and normalisation to ``target`` (float32 ONNX)."""
    import warnings

    import torch

    module = _pooled_module(model_dir)
    # A tiny padded batch: shapes are dynamic, the values only drive the trace.
    ids = torch.tensor([[0, 5, 6, 2], [0, 5, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.long)
    axes = {"batch": 0, "sequence": 1}
    dynamic = {name: {i: n for n, i in axes.items()} for name in INPUT_NAMES}
    dynamic[OUTPUT_NAME] = {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about every Python-level shape check in transformers: noise here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (ids, mask),
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )


def quantise_int8(fp32: Path, target: Path, *, heads: int, hidden: int) -> None:
    """Fuse the BERT operators of ``fp32`` and quantise its weights to int8 into ``target``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fused = target.with_name("fused.onnx")
    optimiser = optimize_model(
        str(fp32), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0
    )
    optimiser.save_model_to_file(str(fused))
    quantize_dynamic(
        str(fused),
        str(target),
        weight_type=QuantType.QInt8,
        # Per-channel scales keep cosine ≥ 0.997 to float32; per-tensor ones fell to 0.985.
        per_channel=True,
        # The fused operators are outside shape inference: their outputs are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    fused.unlink(missing_ok=True)


def _config(model_dir: Path) -> tuple[int, int]:
    """(attention heads, hidden size) from the checkpoint's config.json."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    return int(config["num_attention_heads"]), int(config["hidden_size"])


def _mean_pooling(model_dir: Path) -> bool:
    """Whether the folder pools by mean (the only pooling the exported graph does)."""
    pooling = model_dir / "1_Pooling" / "config.json"
    if not pooling.is_file():
        return False
    return bool(json.loads(pooling.read_text(encoding="utf-8")).get("pooling_mode_mean_tokens"))


def ensure_onnx(model_dir: Path, say: Callable[[str], None] = log.info) -> bool:
    """Export and quantise ``model_dir`` unless its ONNX files are recorded and intact.

    Returns whether the ONNX files are there afterwards (False for a model that does not pool by
    mean: the torch backend serves it). Built in a temporary folder, then renamed into place.
    """
    if onnx_files_ok(model_dir, verify=True):
        return True
    if not _mean_pooling(model_dir):
        say(f"{model_dir.name}: no mean pooling; ONNX export skipped (torch serves it)")
        return False
    heads, hidden = _config(model_dir)
    with tempfile.TemporaryDirectory(dir=model_dir, prefix=".onnx-build-") as tmp:
        staging = Path(tmp) / ONNX_DIR
        staging.mkdir()
        fp32, int8 = staging / Path(FP32_FILE).name, staging / Path(INT8_FILE).name
        try:
            say(f"{model_dir.name}: exporting to ONNX (once per model; about a minute)")
            export_fp32(model_dir, fp32)
            say(f"{model_dir.name}: quantising to int8 (once per model)")
            quantise_int8(fp32, int8, heads=heads, hidden=hidden)
        except (RuntimeError, OSError, ValueError) as exc:
            raise ServiceUnavailable(
                f"ONNX export of {model_dir.name} failed ({exc}); "
                "PATENTMATCH_ENCODER_BACKEND=torch still serves the model"
            ) from exc
        for path in staging.iterdir():
            path.chmod(0o644)
        staging.chmod(0o755)
        target = model_dir / ONNX_DIR
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    files = {name: sha256_of(model_dir / name) for name in (FP32_FILE, INT8_FILE)}
    update_manifest(
        model_dir, "onnx", {"files": files, "opset": OPSET, "quantisation": QUANTISATION}
    )
    return True
