"""A cheap lexical similarity for alerts and decline feedback: character bigrams of search text.

Character bigrams need no dictionary or model, work for Chinese without segmentation, and are
fast enough to check every new patent against every subscription.
"""

import re
from itertools import pairwise

from app.catalog.text import normalise_for_search

_WORD = re.compile(r"[^\W_]+")


def bigrams(text: str) -> set[str]:
    """Character bigrams of the normalised text (single characters for one-character words)."""
    grams: set[str] = set()
    for word in _WORD.findall(normalise_for_search(text)):
        chars = list(word)
        if len(chars) == 1:
            grams.add(chars[0])
        grams.update(a + b for a, b in pairwise(chars))
    return grams


def coverage(query: str, text: str) -> float:
    """Share of the query's bigrams found in ``text`` (0 when the query has none)."""
    wanted = bigrams(query)
    if not wanted:
        return 0.0
    return len(wanted & bigrams(text)) / len(wanted)


def similarity(a: str, b: str) -> float:
    """Overlap coefficient of two texts' bigrams: 1 when one's bigrams all occur in the other."""
    left, right = bigrams(a), bigrams(b)
    if not left or not right:
        return 0.0
    return len(left & right) / min(len(left), len(right))
