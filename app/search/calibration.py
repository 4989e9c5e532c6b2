"""Calibrated match confidence: P(relevant) from a hit's text score and IPC agreement.

A logistic model over two scale-free features (max-normalised fused text score, IPC agreement)
so that it transfers between encoders. The fitted numbers live here, in code, not in a side file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """Logistic coefficients: P = sigmoid(bias + text·w_text + agreement·w_agreement)."""

    bias: float
    w_text: float
    w_agreement: float
    # Below this best confidence a result is flagged ``no_good_match``.
    no_good_match_below: float = 0.5


# Fitted on the dev title + field tasks (top-10 of the hybrid, m3e-small, default RankingParams)
# with `patentmatch eval calibrate --corpus ../shared/eval/dev/corpus.jsonl`; relevant = grade ≥ 1.
DEFAULT_CALIBRATION = Calibration(bias=-2.0, w_text=1.0, w_agreement=4.0)


def confidence(calibration: Calibration, text: np.ndarray, agreement: np.ndarray) -> np.ndarray:
    """Calibrated P(relevant) in [0, 1] for each hit."""
    z = calibration.bias + calibration.w_text * text + calibration.w_agreement * agreement
    return (1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))).astype(np.float32)


def fit_calibration(
    text: np.ndarray, agreement: np.ndarray, relevant: np.ndarray, *, iterations: int = 50
) -> Calibration:
    """Maximum-likelihood logistic fit (Newton's method, tiny ridge for stability)."""
    x = np.column_stack([np.ones(len(text)), text, agreement]).astype(np.float64)
    y = np.asarray(relevant, dtype=np.float64)
    beta = np.zeros(3)
    ridge = 1e-6 * np.eye(3)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (y - p)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    return Calibration(bias=float(beta[0]), w_text=float(beta[1]), w_agreement=float(beta[2]))


def brier(
    calibration: Calibration, text: np.ndarray, agreement: np.ndarray, y: np.ndarray
) -> float:
    """Mean squared error of the confidences against 0/1 relevance (lower is better)."""
    p = confidence(calibration, text, agreement)
    return float(np.mean((p - np.asarray(y, dtype=np.float32)) ** 2))
