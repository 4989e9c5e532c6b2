"""CSV formula injection regressions: the figures export (HTTP) and the import error file (CLI)."""

import csv
import io
import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.catalog.cli import import_app
from tests.api.conftest import Actor
from tests.api.helpers import new_appno, patent_body

FORMULA = "=cmd|' /C calc'!A0"


def test_figures_csv_neutralises_organisation_names(client: TestClient, admin: Actor) -> None:
    org = {"kind": "university", "name": FORMULA, "region": "330106"}
    created = client.post("/api/v1/organisations", json=org, headers=admin.headers)
    assert created.status_code == 201, created.text
    patent = patent_body(owner_org_id=created.json()["id"])
    assert client.post("/api/v1/patents", json=patent, headers=admin.headers).status_code == 201
    response = client.get(
        "/api/v1/figures", params={"group_by": "org", "format": "csv"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    cells = [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]
    assert "'" + FORMULA in cells
    assert FORMULA not in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)


def test_import_error_file_neutralises_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATENTMATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PATENTMATCH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PATENTMATCH_SHARED_DIR", str(tmp_path / "no-shared"))
    source = tmp_path / "patents.csv"
    source.write_text(f'申请号,专利名称\n"{FORMULA}",一种电池\n', encoding="utf-8")
    result = CliRunner().invoke(import_app, ["patents", str(source), "--json"])
    assert result.exit_code == 2, result.output
    error_file = Path(json.loads(result.stdout)["error_file"])
    with error_file.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the rejected row is reported"
    values = [cell for row in rows for cell in row.values()]
    assert "'" + FORMULA in values
    assert not any(cell.startswith(("=", "+", "@")) for cell in values)


def test_control_characters_in_an_import_file_are_dropped(
    client: TestClient, tto: Actor, tmp_path: Path
) -> None:
    # A NUL in an export made the whole batch fail on PostgreSQL.
    appno = new_appno()
    data = f"申请号,专利名称,分类号\n{appno},一种\x00钛合金\x01焊接方法,B23K 9/00\n".encode()
    response = client.post(
        "/api/v1/imports/patents",
        files={"file": ("p.csv", data, "text/csv")},
        headers=tto.headers,
    )
    assert response.status_code == 202, response.text
    job = response.json()
    for _ in range(200):
        job = client.get(f"/api/v1/imports/{job['id']}", headers=tto.headers).json()
        if job["status"] in {"succeeded", "failed"}:
            break
        time.sleep(0.05)
    assert (job["status"], job["inserted"]) == ("succeeded", 1), job
    found = client.get("/api/v1/patents", params={"q": "钛合金焊接"}, headers=tto.headers)
    assert [p["title"] for p in found.json()["items"]] == ["一种钛合金焊接方法"]


def test_every_csv_writer_is_the_formula_safe_one() -> None:
    # Eval run files are tab-separated ids read back by score_run.py, not spreadsheets: an
    # apostrophe there would change the ids being scored.
    machine_formats = {"app/search/evaldata.py"}
    root = Path(__file__).resolve().parents[2]
    raw = {
        str(path.relative_to(root))
        for path in (root / "app").rglob("*.py")
        if "csv.writer(" in path.read_text(encoding="utf-8")
        or "csv.DictWriter(" in path.read_text(encoding="utf-8")
    }
    assert raw - machine_formats == {"app/csv_safe.py"}
