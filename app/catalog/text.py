"""Chinese text helpers: Traditional→Simplified (OpenCC), search normalisation, script detection.

Taiwanese patents arrive in Traditional characters; search indexes and comparisons work on
Simplified text so that 電池 and 电池 meet.
"""

import re
import unicodedata
from functools import cache

import opencc

_CJK_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ffff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# Share of CJK characters that t2s must change before a text counts as Traditional. One changed
# character in a short title is enough (Traditional titles often differ by a single character),
# while a long Simplified abstract may carry a stray variant (噁, 盜) without being Traditional.
TRADITIONAL_SHARE = 0.02


@cache
def converter(config: str) -> opencc.OpenCC:
    """An OpenCC converter (e.g. "t2s", "s2tw"), built once per configuration: loading its
    dictionaries is slow."""
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Convert Traditional Chinese characters to Simplified; other text passes through."""
    if not text:
        return text
    converted: str = converter("t2s").convert(text)
    return converted


def normalise_for_search(text: str) -> str:
    """NFKC, Traditional→Simplified, whitespace collapsed to single spaces, Latin lower-cased."""
    simplified = to_simplified(unicodedata.normalize("NFKC", text))
    return " ".join(simplified.split()).lower()


def count_traditional(text: str) -> int:
    """How many characters Traditional→Simplified conversion changes."""
    converted = to_simplified(text)
    if len(converted) == len(text):
        return sum(1 for before, after in zip(text, converted, strict=True) if before != after)
    # Phrase conversions can change the length; fall back to counting distinct characters.
    return len(set(text) - set(converted))


def detect_script(text: str) -> str:
    """``zh-Hant``, ``zh-Hans`` or ``en``: English when Latin words outnumber CJK characters."""
    ideographs = len(_CJK_IDEOGRAPH.findall(text))
    if ideographs == 0 or len(_LATIN_WORD.findall(text)) > ideographs:
        return "en"
    changed = count_traditional(text)
    if changed >= 1 and changed >= TRADITIONAL_SHARE * ideographs:
        return "zh-Hant"
    return "zh-Hans"
