"""Calibrated match confidence: P(relevant) from features comparable across queries.

A logistic model over: the IPC agreement (the ranking's expected graded gain) and its square
(it saturates), the candidate's absolute dense cosine (best chunk), and the query's IPC
certainty (its largest subclass belief). Unlike the max-normalised text score (the top hit
always has 1), these are comparable across queries. Retriever ranks were tried and dropped: on
the dev set they came out negative given the rest (relevance there is IPC-defined). The cosine's
scale depends on the encoder, so each known model has its own coefficients; unknown models (e.g.
the hashing encoder) keep the agreement-only fit. Patent → needs has its own variant, fitted on
a simulation of that direction (``app.search.calibration_eval``). The numbers live here, in code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Feature columns, in the order of ``Calibration.weights``.
FEATURES = ("agreement", "agreement_sq", "cosine", "certainty", "primary")
MODEL_FREE = ("agreement", "agreement_sq", "certainty", "primary")
NEEDS_FEATURES = ("agreement", "agreement_sq", "cosine", "primary")
NEEDS_FREE = ("agreement", "agreement_sq", "primary")


@dataclass(frozen=True)
class Features:
    """Per-hit calibration features (equal-length arrays)."""

    agreement: np.ndarray
    cosine: np.ndarray
    certainty: np.ndarray
    # The query's belief in the candidate's first subclass (its main one; a need's top inferred).
    primary: np.ndarray

    def matrix(self) -> np.ndarray:
        """(n, len(FEATURES)) float64 design matrix."""
        agreement = np.asarray(self.agreement, dtype=np.float64)
        return np.column_stack(
            [
                agreement,
                agreement**2,
                np.asarray(self.cosine, dtype=np.float64),
                np.asarray(self.certainty, dtype=np.float64),
                np.asarray(self.primary, dtype=np.float64),
            ]
        )

    def subset(self, mask: np.ndarray) -> Features:
        """The hits where ``mask`` holds."""
        return Features(*(getattr(self, n)[mask] for n in Features.names()))

    @staticmethod
    def concat(parts: list[Features]) -> Features:
        """All parts, in order."""
        return Features(*(np.concatenate([getattr(p, n) for p in parts]) for n in Features.names()))

    @staticmethod
    def names() -> tuple[str, ...]:
        """The raw arrays' names."""
        return ("agreement", "cosine", "certainty", "primary")


@dataclass(frozen=True)
class Calibration:
    """Logistic coefficients: P = sigmoid(bias + Σ weight·feature) over ``FEATURES``.

    ``models`` holds per-encoder coefficients (keys ``<model>`` and ``<model>/needs``);
    ``for_model`` picks one, else this calibration itself.
    """

    bias: float
    w_agreement: float
    w_agreement_sq: float = 0.0
    w_cosine: float = 0.0
    w_certainty: float = 0.0
    w_primary: float = 0.0
    # Floor for a hit that both retrievers rank first: such hits are relevant at least this
    # often even when the IPC vote goes elsewhere (then agreement alone would call them poor).
    both_first: float = 0.0
    models: tuple[tuple[str, Calibration], ...] = ()

    @property
    def weights(self) -> np.ndarray:
        """The feature weights in ``FEATURES`` order."""
        return np.array(
            [
                self.w_agreement,
                self.w_agreement_sq,
                self.w_cosine,
                self.w_certainty,
                self.w_primary,
            ],
            dtype=np.float64,
        )

    def for_model(self, model: str, *, needs: bool = False) -> Calibration:
        """The coefficients fitted for ``model`` (patent → needs variant with ``needs``)."""
        key = f"{model}/needs" if needs else model
        table = dict(self.models)
        # A model without its own fit keeps this calibration's (model-free) coefficients; the
        # needs variant is model-free, so "*/needs" serves every encoder.
        return table.get(key) or (table.get("*/needs", self) if needs else self)


# The previous, agreement-only fit (m3e-small, all dev queries): the "before" of ``eval
# calibrate`` and the fit for encoders without their own.
AGREEMENT_ONLY = Calibration(bias=-2.7991, w_agreement=14.0393)

# Fitted with `patentmatch eval calibrate --model <model>` on the dev set: top 10 of the hybrid
# (default RankingParams, CNIPA scheme prior), relevant = grade ≥ 1, fitted on the even-numbered
# title + field queries (3,000 hits), checked on the odd ones. multilingual-e5-small, held-out
# Brier before (AGREEMENT_ONLY) → after: title 0.2066 → 0.2047, field 0.0883 → 0.0833; the field
# task's 0.2–0.4 bin went from 0.29 predicted / 0.54 observed to 0.30 / 0.30. no_good_match at
# 0.3 (settings.match_min_confidence) flags 31% of held-out title queries, P@10 0.18 against
# 0.53 for the rest (field: 2%, 0.07 against 0.78). For m3e-small the same features did worse on
# the title task (0.2272 → 0.2426), so m3e keeps the agreement-only fit.
# ``both_first``: share of dev hits ranked first by both retrievers, with agreement < 0.3, that
# were relevant (e5 0.41 of 22, m3e 0.35 of 17 on the fitting half).
E5_SMALL = Calibration(
    bias=-5.5643,
    w_agreement=14.5561,
    w_agreement_sq=-6.7053,
    w_cosine=2.7276,
    w_certainty=2.3895,
    w_primary=0.1072,
    both_first=0.41,
)
M3E_SMALL = Calibration(bias=-2.7991, w_agreement=14.0393, both_first=0.35)
# Patent → needs, simulated on the dev set (``calibration_eval.needs_sample``), the model-free
# fit of the e5 run: held-out Brier 0.0711 (AGREEMENT_ONLY) → 0.0043 (m3e run: 0.0739 → 0.0094
# with its own fit); the old 0.8–1 bin was relevant 53% of the time, the new one 96%. What
# counts is whether the patent has the need's first inferred subclass ("primary"): one shared
# secondary subclass no longer reads as a match. The cosine added nothing held out, so this
# variant is model-free and serves every encoder.
NEEDS = Calibration(bias=-7.3636, w_agreement=13.5828, w_agreement_sq=-10.3609, w_primary=14.4368)
DEFAULT_CALIBRATION = Calibration(
    bias=AGREEMENT_ONLY.bias,
    w_agreement=AGREEMENT_ONLY.w_agreement,
    models=(
        ("multilingual-e5-small", E5_SMALL),
        ("m3e-small", M3E_SMALL),
        ("*/needs", NEEDS),
    ),
)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function; clipped so that separable fitting data cannot overflow ``exp``."""
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
    return out


def confidence(calibration: Calibration, features: Features) -> np.ndarray:
    """Calibrated P(relevant) in [0, 1] for each hit."""
    z = calibration.bias + features.matrix() @ calibration.weights
    p: np.ndarray = _sigmoid(z).astype(np.float32)
    return p


def fit_calibration(
    features: Features,
    relevant: np.ndarray,
    *,
    columns: tuple[str, ...] = FEATURES,
    iterations: int = 50,
) -> Calibration:
    """Maximum-likelihood logistic fit on the named feature ``columns`` (others weigh 0)."""
    picked = [FEATURES.index(c) for c in columns]
    x = np.column_stack([np.ones(len(features.agreement)), features.matrix()[:, picked]])
    y = np.asarray(relevant, dtype=np.float64)
    beta = np.zeros(x.shape[1])
    ridge = 1e-6 * np.eye(x.shape[1])
    for _ in range(iterations):
        p = _sigmoid(x @ beta)
        gradient = x.T @ (y - p)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    weights = dict.fromkeys(FEATURES, 0.0) | {
        c: float(b) for c, b in zip(columns, beta[1:], strict=True)
    }
    return Calibration(
        bias=float(beta[0]),
        w_agreement=weights["agreement"],
        w_agreement_sq=weights["agreement_sq"],
        w_cosine=weights["cosine"],
        w_certainty=weights["certainty"],
        w_primary=weights["primary"],
    )


def brier(calibration: Calibration, features: Features, y: np.ndarray) -> float:
    """Mean squared error of the confidences against 0/1 relevance (lower is better)."""
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
