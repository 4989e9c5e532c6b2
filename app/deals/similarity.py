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


def coverage(wanted: set[str], grams: set[str]) -> float:
    """Share of the ``wanted`` bigrams (a query's) found in ``grams`` (0 when there are none)."""
    if not wanted:
        return 0.0
    return len(wanted & grams) / len(wanted)


def overlap(left: set[str], right: set[str]) -> float:
    """Overlap coefficient of two bigram sets: 1 when one's bigrams all occur in the other."""
    if not left or not right:
        return 0.0
    return len(left & right) / min(len(left), len(right))
