"""The ``manifest.json`` of a saved vector index, and the atomic write that commits a save.

A save writes its data files under fresh names, then replaces ``manifest.json`` (the commit
point) with ``os.replace``; only then are the previous data files removed. A crash at any step
leaves either the old manifest with its old files or the new one with its new files.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.errors import ServiceUnavailable

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """What a saved index holds; ``files`` maps a role (``index``, ``labels``) to a file name."""

    model: str
    dim: int
    count: int
    kind: str
    params: dict[str, Any]
    last_change_id: int
    created_at: str
    files: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


def read_manifest(directory: Path) -> Manifest:
    """Read and check ``directory/manifest.json``; a missing or malformed one is a clear error."""
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ServiceUnavailable(f"no vector index at {directory} ({MANIFEST} missing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServiceUnavailable(f"vector index manifest {path} is unreadable: {exc}") from exc
    try:
        manifest = Manifest(**data)
    except TypeError as exc:
        raise ServiceUnavailable(f"vector index manifest {path} is malformed: {exc}") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise ServiceUnavailable(
            f"vector index manifest {path} has format {manifest.format_version}, "
            f"expected {FORMAT_VERSION}"
        )
    return manifest


def check_files(directory: Path, manifest: Manifest) -> None:
    """Refuse a saved index whose data files are missing or of another size than recorded."""
    for role, name in manifest.files.items():
        path = directory / name
        if not path.is_file():
            raise ServiceUnavailable(f"vector index file {path} ({role}) is missing")
        expected = manifest.sizes.get(role)
        actual = path.stat().st_size
        if expected is not None and actual != expected:
            raise ServiceUnavailable(
                f"vector index file {path} ({role}) is {actual} bytes, manifest says {expected}"
            )


def fsync_file(path: Path) -> None:
    """Flush a file (or a folder's renames) to disk so a manifest never names unwritten data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` beside ``path``, flush it, then rename it over ``path`` in one step."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    fsync_file(tmp)
    os.replace(tmp, path)


def commit_manifest(directory: Path, manifest: Manifest) -> None:
    """Atomically replace ``manifest.json``, then remove data files the new one doesn't name."""
    write_atomic(directory / MANIFEST, json.dumps(asdict(manifest), indent=2, sort_keys=True))
    # Make the rename itself durable.
    fsync_file(directory)
    keep = set(manifest.files.values()) | {MANIFEST}
    for path in directory.iterdir():
        if path.name not in keep and path.name.startswith(("vectors-", "labels-")):
            path.unlink(missing_ok=True)
