"""Tuned numbers as artefacts: ranking parameters and confidence calibrations in JSON files.

``patentmatch eval tune --write`` writes ``artefacts/ranking.json`` (the chosen
``RankingParams`` with the cross-validation figures that chose them) and ``patentmatch eval
calibrate --write`` writes ``artefacts/calibration.json`` (per-encoder logistic fits for both
directions and the no-good-match thresholds). The engine and ``eval`` load them; nothing fitted
is copied into code. ``PATENTMATCH_RANKING_FILE`` / ``PATENTMATCH_CALIBRATION_FILE`` point at
other files (a re-tuned deployment).
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from app.errors import ServiceUnavailable
from app.search.calibration import Calibration, CalibrationSet
from app.search.index_manifest import write_atomic
from app.search.ranking import RankingParams

ARTEFACT_DIR = Path(__file__).parent / "artefacts"
RANKING_FILE = ARTEFACT_DIR / "ranking.json"
CALIBRATION_FILE = ARTEFACT_DIR / "calibration.json"


def _read(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; a clear error when it is missing or malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ServiceUnavailable(f"cannot read the artefact {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ServiceUnavailable(f"the artefact {path} is not a JSON object")
    return data


def load_ranking_params(path: Path | None = None) -> RankingParams:
    """The tuned ``RankingParams`` (defaults for any field the file does not name)."""
    target = path or RANKING_FILE
    if not target.is_file():
        return RankingParams()
    known = {f.name for f in fields(RankingParams)}
    values = {k: v for k, v in _read(target).get("params", {}).items() if k in known}
    return RankingParams(**values)


def write_ranking_params(path: Path, params: RankingParams, report: dict[str, Any]) -> None:
    """Write the chosen parameters with the figures that chose them (atomically)."""
    body = {"params": asdict(params), **report}
    write_atomic(path, json.dumps(body, indent=2, ensure_ascii=False) + "\n")


def load_calibrations(path: Path | None = None) -> CalibrationSet:
    """Every fitted calibration (an empty set, i.e. neutral confidences, without a file)."""
    target = path or CALIBRATION_FILE
    if not target.is_file():
        return CalibrationSet({})
    models = _read(target).get("models", {})
    return CalibrationSet(
        {
            model: {d: Calibration.from_json(fit) for d, fit in directions.items()}
            for model, directions in models.items()
        }
    )


def write_calibrations(
    path: Path, model: str, fits: dict[str, dict[str, Calibration]], report: dict[str, Any]
) -> None:
    """Replace ``model``'s and the model-free ("*") fits in the file, keeping other models."""
    existing = _read(path) if path.is_file() else {}
    models = dict(existing.get("models", {}))
    for name, directions in fits.items():
        models[name] = {d: c.to_json() for d, c in directions.items()}
    reports = dict(existing.get("reports", {}))
    reports[model] = report
    body = {"models": models, "reports": reports}
    write_atomic(path, json.dumps(body, indent=2, ensure_ascii=False) + "\n")
