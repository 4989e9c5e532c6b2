"""Calibrated match confidence: P(useful) from features comparable across queries.

A logistic model over per-hit features, fitted on the need-style judgements (useful = grade
≥ 2, unjudged = 0) by ``patentmatch eval calibrate --write``; the coefficients live in an
artefact file (``app/search/artefacts/calibration.json``), never in code. Features: the hit's
absolute dense cosine, the query's best cosine and its best BM25 score, log(1 + score) (how
well the catalog covers the query at all, in meaning and in wording: together they separate a
need nothing answers), the best problem statement's cosine, log(1 + position),
whether BM25 found it, its IPC agreement and the query's belief in its first subclass. The
cosine scale depends on the encoder, so each encoder has its own fit; an encoder without one
uses the model-free fit (no cosine features) of the same run. Confidences are made monotone in
rank within a result (a running minimum), so a lower hit never reads as more likely useful.

"No good match" is a question about the whole result: a result says it when its best hit's
confidence is under the fit's ``no_match_below``, or, for a fit with a ``Gate``, when the gate
is: a second logistic model over the best hit's confidence (as a logit) and the query's best
cosine, fitted to whether the query has a useful answer in the catalog at all. On the swapped
patent → needs set a patent's best need is rarely P(useful)-high even when some need wants it
(useful needs are one or two in 64), so the best confidence alone did not set apart the patents
no need asks for; with the query's best cosine beside it the gate does. ``eval calibrate`` keeps
a gate only where it flags more of the held-out unanswerable queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURES = (
    "cosine", "top_cosine", "top_lexical", "statement", "log_rank", "lexical", "agreement",
    "primary",
)  # fmt: skip
MODEL_FREE = ("top_lexical", "log_rank", "lexical", "agreement", "primary")
NEEDS_FEATURES = ("cosine", "top_cosine", "log_rank", "agreement", "primary")
NEEDS_FREE = ("log_rank", "agreement", "primary")
# The gate's features: the best hit's confidence as a logit and the query's best cosine.
GATE_FEATURES = ("best_logit", "top_cosine")


@dataclass(frozen=True)
class Features:
    """Per-hit calibration features: one equal-length array per name in ``FEATURES``."""

    columns: dict[str, np.ndarray]

    def matrix(self, names: tuple[str, ...] = FEATURES) -> np.ndarray:
        """(n, len(names)) float64 design matrix."""
        n = len(next(iter(self.columns.values()))) if self.columns else 0
        return np.column_stack(
            [np.asarray(self.columns.get(c, np.zeros(n)), dtype=np.float64) for c in names]
        ).reshape(n, len(names))

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def subset(self, mask: np.ndarray) -> Features:
        """The hits where ``mask`` holds."""
        return Features({n: v[mask] for n, v in self.columns.items()})

    @staticmethod
    def concat(parts: list[Features]) -> Features:
        """All parts, in order."""
        names = parts[0].columns if parts else {}
        return Features({n: np.concatenate([p.columns[n] for p in parts]) for n in names})


@dataclass(frozen=True)
class Gate:
    """P(the query has a useful answer) = sigmoid(bias + Σ weight·feature) over
    ``GATE_FEATURES`` of a result's best hit."""

    bias: float
    weights: tuple[tuple[str, float], ...] = ()

    def probability(self, best: float, top_cosine: float) -> float:
        """The gate's probability for a result whose best hit has confidence ``best``."""
        values = {"best_logit": logit(best), "top_cosine": top_cosine}
        z = self.bias + sum(w * values[name] for name, w in self.weights if name in values)
        return float(_sigmoid(np.array([z]))[0])

    def to_json(self) -> dict[str, object]:
        """The artefact form."""
        return {"bias": self.bias, "weights": dict(self.weights)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Gate:
        """Read the artefact form (``to_json``)."""
        weights = data.get("weights") or {}
        if not isinstance(weights, dict):
            raise ValueError("gate weights must be an object")
        return cls(
            bias=float(str(data["bias"])),
            weights=tuple((str(k), float(v)) for k, v in weights.items() if k in GATE_FEATURES),
        )


@dataclass(frozen=True)
class Calibration:
    """P = sigmoid(bias + Σ weight·feature) per hit; ``no_match_below``: the no-good-match
    threshold, on the best hit's confidence or, with a ``gate``, on the gate's probability."""

    bias: float
    weights: tuple[tuple[str, float], ...] = ()
    no_match_below: float = 0.5
    gate: Gate | None = None

    def coefficients(self) -> np.ndarray:
        """Weights in ``FEATURES`` order (absent features weigh 0)."""
        table = dict(self.weights)
        return np.array([table.get(name, 0.0) for name in FEATURES], dtype=np.float64)

    def to_json(self) -> dict[str, object]:
        """The artefact form."""
        out: dict[str, object] = {
            "bias": self.bias,
            "weights": dict(self.weights),
            "no_match_below": self.no_match_below,
        }
        return out | ({"gate": self.gate.to_json()} if self.gate else {})

    def answerable(self, best: float, top_cosine: float) -> float:
        """What ``no_match_below`` is compared with: the gate's probability for a result whose
        best hit has confidence ``best`` and whose query's best cosine is ``top_cosine`` (the
        confidence itself without a gate)."""
        if self.gate is None:
            return best
        return self.gate.probability(best, top_cosine)

    def no_good_match(self, best: float | None, top_cosine: float) -> bool:
        """Whether a result (best hit's confidence, None when empty) says no good match."""
        return best is None or self.answerable(best, top_cosine) < self.no_match_below

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Calibration:
        """Read the artefact form (``to_json``)."""
        weights = data.get("weights") or {}
        gate = data.get("gate")
        if not isinstance(weights, dict) or not isinstance(gate, dict | None):
            raise ValueError("calibration weights and gate must be objects")
        return cls(
            bias=float(str(data["bias"])),
            weights=tuple((str(k), float(v)) for k, v in weights.items() if k in FEATURES),
            no_match_below=float(str(data.get("no_match_below", 0.5))),
            gate=None if gate is None else Gate.from_json(gate),
        )


@dataclass(frozen=True)
class CalibrationSet:
    """Per-encoder calibrations for both directions, with the model-free fall-back."""

    models: dict[str, dict[str, Calibration]]

    def for_model(self, model: str, *, needs: bool = False) -> Calibration:
        """The fit for ``model`` and direction, else the model-free one ("*")."""
        direction = "needs" if needs else "patents"
        fits = self.models.get(model) or self.models.get("*") or {}
        fallback = self.models.get("*", {}).get(direction)
        chosen = fits.get(direction) or fallback
        return chosen if chosen is not None else Calibration(bias=0.0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function; clipped so that separable fitting data cannot overflow ``exp``."""
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
    return out


def logit(p: float) -> float:
    """log(p / (1 − p)), with p kept off 0 and 1 (confidences are float32)."""
    q = min(max(float(p), 1e-6), 1 - 1e-6)
    return float(np.log(q / (1 - q)))


def confidence(calibration: Calibration, features: Features) -> np.ndarray:
    """Calibrated P(useful) in [0, 1] for each hit (not yet made monotone)."""
    z = calibration.bias + features.matrix() @ calibration.coefficients()
    p: np.ndarray = _sigmoid(z).astype(np.float32)
    return p


def monotone(confidences: np.ndarray) -> np.ndarray:
    """A running minimum down the ranking: never more confident below than above."""
    if not len(confidences):
        return confidences
    out: np.ndarray = np.minimum.accumulate(confidences).astype(np.float32)
    return out


def fit_calibration(
    features: Features,
    relevant: np.ndarray,
    *,
    columns: tuple[str, ...] = FEATURES,
    iterations: int = 50,
    ridge: float = 1e-3,
) -> Calibration:
    """Maximum-likelihood logistic fit (lightly ridged) on the named feature ``columns``."""
    x = np.column_stack([np.ones(len(features)), features.matrix(columns)])
    y = np.asarray(relevant, dtype=np.float64)
    beta = np.zeros(x.shape[1])
    penalty = ridge * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = _sigmoid(x @ beta)
        gradient = x.T @ (y - p) - penalty @ beta
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    weights = tuple((c, round(float(b), 6)) for c, b in zip(columns, beta[1:], strict=True))
    return Calibration(bias=round(float(beta[0]), 6), weights=weights)


def brier(calibration: Calibration, features: Features, y: np.ndarray) -> float:
    """Mean squared error of the confidences against 0/1 usefulness (lower is better)."""
    p = confidence(calibration, features)
    return float(np.mean((p - np.asarray(y, dtype=np.float32)) ** 2))


def reliability(
    calibration: Calibration, features: Features, y: np.ndarray, bins: int = 5
) -> list[tuple[float, float, float, int]]:
    """Per confidence bin: (low edge, mean predicted, observed precision, hits)."""
    p = confidence(calibration, features)
    y = np.asarray(y, dtype=np.float64)
    which = np.minimum((p * bins).astype(int), bins - 1)
    rows: list[tuple[float, float, float, int]] = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append((b / bins, float(p[mask].mean()), float(y[mask].mean()), int(mask.sum())))
    return rows
