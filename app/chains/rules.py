"""The evidence that puts a patent or need on a chain node, and the score it adds up to.

Strengths are design choices (how much each kind of evidence says), not fitted numbers:
an IPC code inside the node's ranges is the examiner's own classification; the main code
says more than a secondary one; an enterprise's GB/T 4754 class is its own statement; a key
phrase in the text is weaker, and text similarity weakest unless far above the collection.
Evidence combines by noisy-or: ``1 - Π(1 - strength)``.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.catalog.ipc import IpcPrefix
from app.catalog.text import to_simplified
from app.chains.models import ChainNode

IPC_MAIN = 0.9
IPC_OTHER = 0.7
INDUSTRY = 0.9
PHRASE = 0.6
# Text similarity: this strength at the threshold, rising by SIMILAR_STEP per standard score.
SIMILAR_BASE = 0.5
SIMILAR_STEP = 0.1
SIMILAR_MAX = 0.8


@dataclass(frozen=True)
class Evidence:
    """One reason for a tag."""

    kind: str  # ipc | industry | phrase | similar
    detail: str
    strength: float


@dataclass(frozen=True)
class NodeRule:
    """A node's defining fields as plain values (no ORM row), for the tagger's threads."""

    node_id: int
    chain_id: int
    region: str  # the chain's GB/T 2260 prefix
    # (prefix as written, what a compact code must start with): see ``ipc_range``.
    ipc: tuple[tuple[str, str], ...]
    industry: tuple[str, ...]
    phrases: tuple[str, ...]
    text: str  # what is encoded for text similarity

    @classmethod
    def of(cls, node: ChainNode, region: str) -> "NodeRule":
        """The rule of ``node`` (a node of a chain owned by ``region``)."""
        assert node.id is not None
        text = "；".join(p for p in (node.name, node.description, "、".join(node.key_phrases)) if p)
        return cls(
            node.id,
            node.chain_id,
            region,
            tuple((prefix, ipc_range(prefix)) for prefix in node.ipc_prefixes),
            tuple(node.industry_codes),
            tuple(fold(p) for p in node.key_phrases),
            text,
        )


# A subclass followed by a main group's digits and no slash: the whole main group.
_MAIN_GROUP = re.compile(r"[A-H]\d{2}[A-Z]\d+")


def ipc_range(prefix: str) -> str:
    """What a compact code in the node's IPC range ``prefix`` starts with.

    ``A01C21`` means main group 21 (``A01C 21/00`` …), never ``A01C 210/00``; any other
    prefix is a plain leading part of the code (``H01M``, ``A23L33/1``).
    """
    compact = IpcPrefix.parse(prefix).compact
    return compact + "/" if _MAIN_GROUP.fullmatch(compact) else compact


def compact_code(code: str) -> str:
    """A stored code as ranges compare it: ``H01M 4/36`` → ``H01M4/36``."""
    return "".join(code.split()).upper()


def fold(text: str) -> str:
    """Simplified script, lower case: phrases match across scripts and case."""
    return to_simplified(text).lower()


def _phrases(rule: NodeRule, folded: str) -> list[Evidence]:
    return [Evidence("phrase", p, PHRASE) for p in rule.phrases if p in folded]


def patent_evidence(
    rule: NodeRule, ipc_codes: Sequence[str], compact: Sequence[str], folded: str
) -> list[Evidence]:
    """Why a patent belongs to the node: its IPC codes (main first; ``compact_code`` of each
    in ``compact``) and its title and abstract (``fold``-ed)."""
    found: list[Evidence] = []
    for index, code in enumerate(compact):
        written = next((w for w, start in rule.ipc if code.startswith(start)), None)
        if written is not None:
            strength = IPC_MAIN if index == 0 else IPC_OTHER
            found.append(Evidence("ipc", f"{ipc_codes[index]} ∈ {written}", strength))
    return found + _phrases(rule, folded)


def industry_covers(node_code: str, code: str) -> bool:
    """True when GB/T 4754 ``code`` lies in ``node_code`` (``C384`` covers ``C3841``, ``3841``)."""
    node_digits, digits = (
        node_code.lstrip("ABCDEFGHIJKLMNOPQRST"),
        code.lstrip("ABCDEFGHIJKLMNOPQRST"),
    )
    if not node_digits:  # a bare section letter: only codes that spell their section
        return code.startswith(node_code)
    return bool(digits) and digits.startswith(node_digits)


def need_evidence(
    rule: NodeRule, industry_code: str | None, region: str | None, folded: str
) -> list[Evidence] | None:
    """Why a need belongs to the node (``folded``: its ``fold``-ed title and description);
    None when the need's region is outside the chain's."""
    if region is not None and not region.startswith(rule.region):
        return None
    found: list[Evidence] = []
    if industry_code:
        node_code = next((c for c in rule.industry if industry_covers(c, industry_code)), None)
        if node_code is not None:
            found.append(Evidence("industry", f"{industry_code} ∈ {node_code}", INDUSTRY))
    return found + _phrases(rule, folded)


def similar_evidence(cosine: float, z: float, min_z: float) -> Evidence:
    """Text similarity to the node's description (``z``: standard score over the collection)."""
    strength = min(SIMILAR_MAX, SIMILAR_BASE + SIMILAR_STEP * (z - min_z))
    return Evidence("similar", f"cosine {cosine:.3f}, z {z:.1f}", strength)


def combine(evidence: Sequence[Evidence]) -> float:
    """The tag's score: noisy-or of the evidence strengths, in [0, 1]."""
    miss = 1.0
    for item in evidence:
        miss *= 1.0 - item.strength
    return round(1.0 - miss, 4)


def reasons(evidence: Sequence[Evidence]) -> list[dict[str, str]]:
    """Evidence as stored on the tag."""
    return [{"kind": e.kind, "detail": e.detail} for e in evidence]
