"""Calibrated match confidence: P(relevant) from a hit's IPC agreement (and text score).

Platt scaling of the ranking's expected-gain estimate (IPC agreement), a scale-free feature that
transfers between encoders. The max-normalised text score is supported but fitted to zero: among
the returned hits it carried no extra information (its free fit came out negative, −1.6).
The fitted numbers live here, in code, not in a side file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """Logistic coefficients: P = sigmoid(bias + text·w_text + agreement·w_agreement)."""

    bias: float
    w_agreement: float
    w_text: float = 0.0


# Fitted on the dev title + field tasks: top 10 of the hybrid (m3e-small, default RankingParams,
# CNIPA scheme prior), relevant = grade ≥ 1, 5,990 hits, with
# `patentmatch eval calibrate --model m3e-small`. Reliability on dev: hits at 0.8–1 were relevant
# 81% (title) / 99% (field), at 0–0.2 15% / 1%. For ``no_good_match`` (settings.
# match_min_confidence): a best hit under 0.3 flagged 27% of title queries, whose P@10 was 0.19
# against 0.56 for the rest; under 0.5 flagged 48% (0.28 against 0.64).
DEFAULT_CALIBRATION = Calibration(bias=-2.7991, w_agreement=14.0393)


def confidence(calibration: Calibration, text: np.ndarray, agreement: np.ndarray) -> np.ndarray:
    """Calibrated P(relevant) in [0, 1] for each hit."""
    z = calibration.bias + calibration.w_text * text + calibration.w_agreement * agreement
    return (1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))).astype(np.float32)


def fit_calibration(
    text: np.ndarray,
    agreement: np.ndarray,
    relevant: np.ndarray,
    *,
    use_text: bool = False,
    iterations: int = 50,
) -> Calibration:
    """Maximum-likelihood logistic fit (Newton's method, tiny ridge for stability)."""
    columns = [np.ones(len(agreement)), agreement, *([text] if use_text else [])]
    x = np.column_stack(columns).astype(np.float64)
    y = np.asarray(relevant, dtype=np.float64)
    beta = np.zeros(x.shape[1])
    ridge = 1e-6 * np.eye(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (y - p)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    w_text = float(beta[2]) if use_text else 0.0
    return Calibration(bias=float(beta[0]), w_agreement=float(beta[1]), w_text=w_text)


def brier(
    calibration: Calibration, text: np.ndarray, agreement: np.ndarray, y: np.ndarray
) -> float:
    """Mean squared error of the confidences against 0/1 relevance (lower is better)."""
    p = confidence(calibration, text, agreement)
    return float(np.mean((p - np.asarray(y, dtype=np.float32)) ** 2))
