"""The sentence-transformers folder layout that provisioned models are completed with."""

import json
import shutil
from pathlib import Path
from typing import Any


def write_json(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented UTF-8 JSON, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_sentence_transformers_config(target_dir: Path, dim: int, max_seq_length: int) -> None:
    """Add the sentence-transformers module files (mean pooling, then L2 normalisation)."""
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    write_json(
        target_dir / "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(modules)
        ],
    )
    write_json(
        target_dir / "1_Pooling" / "config.json",
        {"word_embedding_dimension": dim, "pooling_mode_mean_tokens": True},
    )
    (target_dir / "2_Normalize").mkdir(exist_ok=True)
    write_json(
        target_dir / "sentence_bert_config.json",
        {"max_seq_length": max_seq_length, "do_lower_case": False},
    )


def install_folder(staging: Path, target: Path) -> None:
    """Swap ``staging`` into ``target``; an existing target is replaced only after success."""
    if target.exists():
        retired = target.with_name(f".{target.name}.old")
        shutil.rmtree(retired, ignore_errors=True)
        target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(target)
