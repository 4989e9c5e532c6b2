"""Experiment (not in the engine): other document vectors for the dev corpus, judged by re-tuning.

Variants (each a document vector ``title + alpha * extra``, renormalised, or a replacement):

- ``ipc-context``: ``extra`` is the normalised mean of the CNIPA scheme-title vectors of the
  document's examiner-assigned subclasses (the document "knows" its field).
- ``neighbours``: ``extra`` is the mean vector of the document's ``--neighbours`` nearest other
  documents (a short title borrows the words of its near duplicates).
- ``query-prompt``: every title encoded with e5's query prompt instead of the passage prompt
  (a need and a title are both short statements); ``alpha`` 0 uses those vectors alone, else
  the passage vector plus ``alpha`` times the query-prompt one. Encodes the 17,360 titles once
  (a few minutes, not cached).

For each ``--alpha`` the ranking is re-tuned exactly as ``patentmatch eval tune`` does (k-fold
CV over the need set and the title/field tasks), so a gain that the tuned parameters already
capture does not count. Prints one JSON line per alpha; writes nothing.

    PYTHONPATH=. python scripts/try_document_vectors.py --variant neighbours --alpha 0 0.3 0.6
"""

import argparse
import json
import time
from collections import defaultdict

import numpy as np

from app.catalog.text import to_simplified
from app.search.encoder import normalise_rows
from app.search.evalcli import DEFAULT_BUDGET, eval_settings, load_eval_index
from app.search.evaluate import EvalIndex, nearest_documents
from app.search.split_encoder import SplitEncoder, passage_encoder
from app.search.tuning import tune

VARIANTS = ("ipc-context", "neighbours", "query-prompt")


def subclass_context(index: EvalIndex) -> np.ndarray:
    """Per document, the normalised mean scheme-title vector of its subclasses (0 if none)."""
    assert index.scheme is not None
    assert index.vectors is not None
    entries: dict[str, list[np.ndarray]] = defaultdict(list)
    for code, vector in zip(index.scheme.subclasses, index.scheme.vectors, strict=True):
        entries[code].append(vector)
    centroid = {code: np.mean(vectors, axis=0) for code, vectors in entries.items()}
    context = np.zeros_like(index.vectors)
    for row, codes in enumerate(index.corpus.ipc):
        known = [centroid[c] for c in codes if c in centroid]
        if known:
            context[row] = np.mean(known, axis=0)
    return normalise_rows(context)


def neighbour_context(index: EvalIndex, k: int) -> np.ndarray:
    """Per document, the mean vector of its ``k`` nearest other documents."""
    assert index.vectors is not None
    top = nearest_documents(index, index.vectors, k + 1)
    return np.stack([index.vectors[ids[1:]].mean(axis=0) for ids, _ in top])


def query_prompt_vectors(index: EvalIndex) -> np.ndarray:
    """The titles as e5 queries, with the engine's Simplified view of Traditional titles."""
    assert index.encoder is not None
    titles = index.corpus.titles
    vectors = np.array(passage_encoder(index.encoder).encode_queries(titles), dtype=np.float32)
    rows = [row for row, title in enumerate(titles) if to_simplified(title) != title]
    if rows and isinstance(index.encoder, SplitEncoder):
        plain = [to_simplified(titles[row]) for row in rows]
        vectors[rows] = normalise_rows(vectors[rows] + index.encoder.queries.encode_queries(plain))
    return vectors


def variant_vectors(
    titles: np.ndarray, variant: str, alpha: float, extra: np.ndarray
) -> np.ndarray:
    """The document vectors of one variant and alpha."""
    if variant == "query-prompt" and alpha == 0:
        return extra
    return normalise_rows(titles + alpha * extra)


def main() -> None:
    """Re-tune the ranking on each variant's document vectors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=VARIANTS, default="ipc-context")
    parser.add_argument("--alpha", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument("--neighbours", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET)
    args = parser.parse_args()
    settings = eval_settings(None)
    folder = settings.shared_dir / "eval" / "dev"
    index = load_eval_index(settings, folder / "corpus.jsonl", with_encoder=True, with_scheme=True)
    assert index.vectors is not None
    titles = index.vectors.copy()
    extra = {
        "ipc-context": lambda: subclass_context(index),
        "neighbours": lambda: neighbour_context(index, args.neighbours),
        "query-prompt": lambda: query_prompt_vectors(index),
    }[args.variant]()
    for alpha in args.alpha:
        start = time.perf_counter()
        index.vectors = variant_vectors(titles, args.variant, alpha, extra)
        index.moments = None  # the dense z-scores use the collection's own moments
        params, report = tune(index, folder, args.folds, args.budget)
        seconds = round(time.perf_counter() - start)
        line = {"variant": args.variant, "alpha": alpha, "seconds": seconds, **report,
                "params": repr(params)}  # fmt: skip
        print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
