"""Reading and writing chain files: YAML (``.yaml``/``.yml``) or JSON (``.json``)."""

import json
from pathlib import Path
from typing import Any

import yaml

from app.chains.spec import ChainSpec, parse_chains
from app.errors import BadRequest

# A chain file is configuration: a few hundred nodes at most.
MAX_FILE_BYTES = 2_000_000


class UnreadableChainFile(BadRequest):
    """The chain file is missing, too large, or not valid YAML/JSON."""

    type_slug = "unreadable-chain-file"
    title = "Unreadable chain file"


def decode(text: str, *, name: str, json_only: bool = False) -> Any:
    """The decoded document (JSON, or YAML: a superset of JSON); errors name the line."""
    try:
        return json.loads(text) if json_only else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise UnreadableChainFile(f"{name}: not JSON: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not YAML"
        raise UnreadableChainFile(f"{name}: {problem}{where}") from None


def read_chain_file(path: Path) -> list[ChainSpec]:
    """The validated chains of a file; ``ValidationFailed`` names the field at fault."""
    if not path.is_file():
        raise UnreadableChainFile(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UnreadableChainFile(f"{path}: larger than {MAX_FILE_BYTES:,} bytes")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableChainFile(f"{path}: not UTF-8 text") from None
    data = decode(text, name=str(path), json_only=path.suffix.lower() == ".json")
    return parse_chains(data, str(path))


def dump(chains: list[dict[str, object]], fmt: str) -> str:
    """Chains in the file format, as YAML or JSON text."""
    document = {"chains": chains}
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    text: str = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    return text
