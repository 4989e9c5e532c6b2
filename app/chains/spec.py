"""The chain file format (YAML or JSON): chains, their nodes and what defines each node.

A file holds ``{"chains": [...]}``, a list of chains, or one chain. Every code is checked by the
catalog's own parsers (``RegionPrefix``, ``IpcPrefix``, GB/T 4754 ``industry_code``); an error
names the field at fault as a dotted path (``chains.0.nodes.2.ipc.1``).
"""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from app.catalog.codes import industry_code
from app.catalog.ipc import IpcPrefix
from app.catalog.region import RegionPrefix
from app.chains.models import NodePosition
from app.errors import InvalidValue, ValidationFailed
from app.types import Line, Text, dedupe

MAX_CHAINS = 100
MAX_NODES = 100
MAX_CODES = 50
MAX_PHRASES = 50


def _ipc(raw: str) -> str:
    try:
        return IpcPrefix.parse(raw).compact
    except InvalidValue as error:  # pydantic reports a ValueError under the field's path
        raise ValueError(str(error)) from None


def _industry(raw: str) -> str:
    try:
        return industry_code(raw)
    except InvalidValue as error:
        raise ValueError(str(error)) from None


def _region(raw: str) -> str:
    try:
        return RegionPrefix.parse(raw).digits
    except InvalidValue as error:
        raise ValueError(str(error)) from None


Key = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Name = Annotated[Line, Field(min_length=1, max_length=200)]
Phrase = Annotated[Line, Field(min_length=1, max_length=50)]
IpcCode = Annotated[Line, Field(max_length=20), AfterValidator(_ipc)]
IndustryCode = Annotated[Line, Field(max_length=5), AfterValidator(_industry)]


class NodeSpec(BaseModel):
    """One node: its position and the IPC prefixes, GB/T 4754 classes and phrases defining it."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    name: Name
    position: NodePosition
    description: Annotated[Text, Field(max_length=2000)] = ""
    ipc: Annotated[list[IpcCode], Field(max_length=MAX_CODES), AfterValidator(dedupe)] = []
    industry: Annotated[
        list[IndustryCode], Field(max_length=MAX_CODES), AfterValidator(dedupe)
    ] = []
    phrases: Annotated[list[Phrase], Field(max_length=MAX_PHRASES), AfterValidator(dedupe)] = []


def _unique_keys(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            raise ValueError(f"key {item.key!r} appears twice")
        seen.add(item.key)
    return items


class ChainSpec(BaseModel):
    """One chain of a region (GB/T 2260 prefix), with its nodes in order."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    name: Name
    owner_region: Annotated[Line, Field(max_length=12), AfterValidator(_region)]
    description: Annotated[Text, Field(max_length=4000)] = ""
    illustrative: bool = False
    nodes: Annotated[
        list[NodeSpec], Field(min_length=1, max_length=MAX_NODES), AfterValidator(_unique_keys)
    ]


class ChainFile(BaseModel):
    """The chains of one file."""

    model_config = ConfigDict(extra="forbid")

    chains: Annotated[
        list[ChainSpec], Field(min_length=1, max_length=MAX_CHAINS), AfterValidator(_unique_keys)
    ]


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "file"


def parse_chains(data: object, name: str = "chains") -> list[ChainSpec]:
    """The chains of a decoded file; ``ValidationFailed`` names every field at fault."""
    if isinstance(data, list):
        data = {"chains": data}
    elif isinstance(data, dict) and "chains" not in data:
        data = {"chains": [data]}
    try:
        return ChainFile.model_validate(data).chains
    except ValidationError as error:
        errors = [
            {"field": _where(e["loc"]), "message": e["msg"].removeprefix("Value error, ")}
            for e in error.errors()
        ]
        count = f"{len(errors)} invalid field" + ("s" if len(errors) > 1 else "")
        raise ValidationFailed(f"{name}: {count}", errors=errors) from None
