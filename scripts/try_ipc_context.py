"""Experiment (not in the engine): IPC context in the document vectors, judged by re-tuning.

Each dev document's vector becomes ``title + alpha * c`` (renormalised), ``c`` the normalised
mean of the CNIPA scheme-title vectors of its examiner-assigned subclasses: the document "knows"
its field. For each ``--alpha`` the ranking is re-tuned exactly as ``patentmatch eval tune``
does (k-fold CV over the need set and the title/field tasks), so a gain that the tuned
parameters already capture does not count. Prints one JSON line per alpha; writes nothing.

    PYTHONPATH=. python scripts/try_ipc_context.py --alpha 0 0.5    # from the repo root
"""

import argparse
import json
import time
from collections import defaultdict

import numpy as np

from app.search.encoder import normalise_rows
from app.search.evalcli import DEFAULT_BUDGET, eval_settings, load_eval_index
from app.search.evaluate import EvalIndex
from app.search.tuning import tune


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


def main() -> None:
    """Re-tune the ranking on document vectors with each alpha of IPC context."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpha", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET)
    args = parser.parse_args()
    settings = eval_settings(None)
    folder = settings.shared_dir / "eval" / "dev"
    index = load_eval_index(settings, folder / "corpus.jsonl", with_encoder=True, with_scheme=True)
    assert index.vectors is not None
    titles = index.vectors.copy()
    context = subclass_context(index)
    for alpha in args.alpha:
        start = time.perf_counter()
        mixed = titles + alpha * context
        index.vectors = normalise_rows(mixed)
        index.moments = None  # the dense z-scores use the collection's own moments
        params, report = tune(index, folder, args.folds, args.budget)
        seconds = round(time.perf_counter() - start)
        line = {"alpha": alpha, "seconds": seconds, **report, "params": repr(params)}
        print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
