"""CLI: ``patentmatch import patents|needs`` — JSON output, exit codes, clean errors."""

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.catalog.cli import EXIT_REJECTED, import_app

FIXTURES = Path(__file__).parent / "fixtures" / "import"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private SQLite database and var folder for the command under test."""
    monkeypatch.setenv("PATENTMATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PATENTMATCH_VAR_DIR", str(tmp_path / "var"))
    # No IPC scheme here: keeps the command fast; scheme checks are tested elsewhere.
    monkeypatch.setenv("PATENTMATCH_SHARED_DIR", str(tmp_path / "no-shared"))
    return tmp_path


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(import_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_patents_json_output_and_idempotency(env: Path) -> None:
    code, out, _ = _run("patents", str(FIXTURES / "patents_small.csv"), "--json")
    assert code == 0
    payload = json.loads(out)
    assert {k: payload[k] for k in ("read", "inserted", "updated", "unchanged", "rejected")} == {
        "read": 3,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    assert payload["errors"] == 0
    assert payload["error_file"] is None
    code, out, _ = _run("patents", str(FIXTURES / "patents_small.csv"), "--json")
    assert (code, json.loads(out)["unchanged"]) == (0, 3)


def test_rejected_rows_exit_2_with_an_error_report(env: Path) -> None:
    code, out, _ = _run("needs", str(FIXTURES / "needs.csv"), "--json")
    assert code == EXIT_REJECTED
    payload = json.loads(out)
    assert (payload["inserted"], payload["rejected"], payload["errors"]) == (3, 3, 6)
    error_file = Path(payload["error_file"])
    assert error_file.parent == env / "var" / "import-reports"
    assert error_file.name.startswith("needs-")
    assert error_file.name.endswith("-errors.csv")
    with error_file.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["sheet", "row", "field", "reason", "value"]
    assert {(r["row"], r["field"]) for r in rows} >= {("5", "uscc"), ("7", "title")}


def test_errors_path_and_text_output(env: Path) -> None:
    target = env / "report.csv"
    code, out, err = _run("needs", str(FIXTURES / "needs.csv"), "--errors", str(target))
    assert code == EXIT_REJECTED
    assert target.is_file()
    assert "inserted 3" in out
    assert "rejected 3" in out
    assert f"errors: 6, report: {target}" in out
    assert "row 5, uscc" in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("patents.pdf", b"%PDF", "unsupported file type .pdf"),
        ("broken.xlsx", b"not a workbook", "not a readable xlsx workbook"),
        ("binary.csv", b"a,b\n\x80\x80,\xff\n", "not UTF-8 or GB18030"),
    ],
)
def test_bad_file_gives_a_clean_message(env: Path, name: str, content: bytes, message: str) -> None:
    path = env / name
    path.write_bytes(content)
    code, out, err = _run("patents", str(path), "--json")
    assert code == 1
    assert message in err
    assert "Traceback" not in out + err
    assert out == ""


def test_missing_file_and_unknown_org(env: Path) -> None:
    code, _, err = _run("patents", str(env / "missing.csv"))
    assert code == 1
    assert "no such file" in err
    code, _, err = _run("patents", str(FIXTURES / "patents_small.csv"), "--org", "424242")
    assert code == 1
    assert "organisation 424242 does not exist" in err


def test_help_documents_exit_codes() -> None:
    result = CliRunner().invoke(import_app, ["patents", "--help"])
    assert result.exit_code == 0
    assert "2 some rows were rejected" in result.stdout
