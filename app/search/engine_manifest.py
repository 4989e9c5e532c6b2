"""The engine index's ``manifest.json``: what a saved generation holds, and whether the
configured encoder may load it (same model, dimension and passage vectors tag)."""

import json
from dataclasses import dataclass, replace
from pathlib import Path

from app.errors import ServiceUnavailable
from app.search.encoder import HASHING_MODEL
from app.search.onnx_encoder import onnx_vectors_tag

ENGINE_MANIFEST = "manifest.json"
ENGINE_FORMAT = 1
REBUILD_HINT = "run `patentmatch index rebuild`"


@dataclass(frozen=True)
class EngineManifest:
    """What the saved engine holds."""

    model: str
    dim: int
    patents: int
    patent_chunks: int
    needs: int
    last_change_id: int
    generation: str
    created_at: str
    format_version: int = ENGINE_FORMAT
    # File name of the scheme prior under index_dir ("" = none; indexes saved before it existed).
    scheme: str = ""
    # The passage vectors' tag (model + backend + precision, ``encoder.vectors_tag``): int8 and
    # fp32 vectors of one model are close but not one space. "" = saved before it was recorded.
    vectors_tag: str = ""


def read_engine_manifest(index_dir: Path) -> EngineManifest | None:
    """The saved manifest, or None when nothing was ever saved there."""
    path = index_dir / ENGINE_MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = EngineManifest(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise ServiceUnavailable(
            f"index manifest {path} is unreadable ({exc}); {REBUILD_HINT}"
        ) from exc
    if manifest.format_version != ENGINE_FORMAT:
        raise ServiceUnavailable(
            f"index at {index_dir} has format {manifest.format_version}; {REBUILD_HINT}"
        )
    if not manifest.vectors_tag:
        manifest = replace(manifest, vectors_tag=legacy_vectors_tag(manifest.model))
    return manifest


def legacy_vectors_tag(model: str) -> str:
    """The tag of an index saved before manifests recorded one.

    Until then every ONNX install encoded passages with the int8 file (the old default), so
    that is what an untagged index holds; with passages now fp32 by default, such an index
    differs from the configured encoder and ``index update`` rebuilds it once. The hashing
    encoder's tag is its name.
    """
    return model if model == HASHING_MODEL else onnx_vectors_tag(model, "int8")


def check_compatible(
    manifest: EngineManifest, index_dir: Path, model: str, dim: int, tag: str | None = None
) -> None:
    """Refuse an index built with another model, dimension or vectors tag (``tag``: the
    configured encoder's ``vectors_tag``; None skips that check) than the encoder's."""
    if manifest.model != model or manifest.dim != dim:
        raise ServiceUnavailable(
            f"the index at {index_dir} was built with model {manifest.model!r} (dim {manifest.dim})"
            f" but the configured model is {model!r} (dim {dim}); {REBUILD_HINT}"
        )
    if tag is not None and manifest.vectors_tag != tag:
        raise ServiceUnavailable(
            f"the index at {index_dir} holds {manifest.vectors_tag} vectors but the configured "
            f"encoder makes {tag} ones (another backend or encoder_precision); they are not one "
            "vector space: run `patentmatch index update` (or `index rebuild`)"
        )
