"""The operator's CLI: organisations, --org by name, report files, home folder, clean errors."""

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.catalog import cli as catalog_cli
from app.cli import app, package_version
from app.db import NOT_INITIALISED
from app.dbcli import upgrade_database
from tests.export_builders import Row, incopat_workbook, patents, patsnap_workbook, titled_csv

VALID_USCC = "91330106MA27XL1B2R"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATENTMATCH_HOME with a migrated default database; the command runs elsewhere."""
    folder = tmp_path / "home"
    for name in ("PATENTMATCH_DATABASE_URL", "PATENTMATCH_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATENTMATCH_HOME", str(folder))
    monkeypatch.setenv("PATENTMATCH_SHARED_DIR", str(tmp_path / "no-shared"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    upgrade_database(f"sqlite:///{folder / 'var' / 'patentmatch.db'}")
    return folder


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_version() -> None:
    code, out, _ = _run("--version")
    assert (code, out.strip()) == (0, f"patentmatch {package_version()}")
    assert package_version() != "0+unknown"


def test_orgs_create_list_show(home: Path) -> None:
    code, out, _ = _run(
        "orgs", "create", "--kind", "university", "--name", "示例大学技术转移中心",
        "--region", "330106", "--uscc", VALID_USCC,
    )  # fmt: skip
    assert code == 0, out
    org_id = out.strip().splitlines()[-1]
    assert org_id.isdigit()
    code, out, _ = _run("orgs", "list")
    assert code == 0
    assert "示例大学技术转移中心" in out
    assert "330106" in out
    for ref in (org_id, "示例大学技术转移中心"):
        code, out, _ = _run("orgs", "show", ref)
        assert code == 0
        assert f"uscc                 {VALID_USCC}" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--region", "999999"], "region"),
        (["--uscc", VALID_USCC[:-1] + "0"], "uscc"),
        (["--name", "  "], "name"),
    ],
)
def test_orgs_create_validates(home: Path, extra: list[str], message: str) -> None:
    args = ["orgs", "create", "--kind", "enterprise", "--name", "杭州示例科技有限公司", *extra]
    code, _, err = _run(*args)
    assert code == 1
    assert f"  {message}:" in err
    assert "Traceback" not in err


def test_duplicate_names_and_unknown_refs(home: Path) -> None:
    args = ["orgs", "create", "--kind", "enterprise", "--name", "同名公司"]
    assert _run(*args)[0] == 0
    code, _, err = _run(*args)
    assert code == 1
    assert "already named '同名公司'" in err
    code, _, err = _run("orgs", "show", "没有这个机构")
    assert code == 1
    assert "organisation named '没有这个机构' does not exist" in err


def test_import_with_org_by_name_and_separate_reports(home: Path, tmp_path: Path) -> None:
    _run("orgs", "create", "--kind", "university", "--name", "某某大学")
    rows = [*patents(3, "报告"), Row("2019100000000", "校验位错误")]
    path = titled_csv(tmp_path / "p.csv", rows, "gbk")
    errors, warnings = tmp_path / "e.csv", tmp_path / "w.csv"
    code, out, _ = _run(
        "import", "patents", str(path), "--org", "某某大学", "--json",
        "--errors", str(errors), "--warnings", str(warnings),
    )  # fmt: skip
    assert code == 2
    payload = json.loads(out)
    assert (payload["inserted"], payload["rejected"]) == (3, 1)
    assert payload["error_file"] == str(errors)
    assert payload["warning_file"] is None  # no warnings, so no file
    assert not any("no owner" in note for note in payload["notes"])
    assert [r["row"] for r in _csv_rows(errors)] == ["8"]
    assert list(_csv_rows(errors)[0]) == ["sheet", "row", "field", "reason", "value"]


def test_default_reports_live_under_home_not_the_working_dir(home: Path, tmp_path: Path) -> None:
    rows = [*patents(2, "默认路径"), Row("2019100000000", "坏号")]
    code, out, err = _run("import", "patents", str(titled_csv(tmp_path / "d.csv", rows, "utf-8")))
    assert code == 2
    lines = out.splitlines()
    # Errors come before warnings, then the notes (no owner given).
    assert lines[1].startswith("errors: 1, report: ")
    assert lines[2] == "warnings: none"
    assert lines[3].startswith("note: no owner: the 2 new patents")
    report = Path(lines[1].split("report: ")[1])
    assert report.parent == home / "var" / "import-reports"
    assert "row 7, application_number" in err
    assert not (Path.cwd() / "var").exists()


def test_workbook_import_lists_sheets(home: Path, tmp_path: Path) -> None:
    path = incopat_workbook(tmp_path / "i.xlsx", patents(2, "工作簿"))
    code, out, _ = _run("import", "patents", str(path))
    assert code == 0, out
    assert "sheets read: 检索结果 (header row 5)" in out
    assert "sheets skipped (no header): sheet 说明" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("申请号,专利名称\n", "only a header (row 1), no data rows")],
)
def test_empty_and_header_only_files_exit_1(
    home: Path, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8")
    code, out, err = _run("import", "patents", str(path))
    assert code == 1
    assert message in err
    assert out == ""


@contextmanager
def ctrl_c_at_row_3(_file: Path, _enabled: bool) -> Iterator[Callable[[int], None]]:
    """A progress callback that acts like Ctrl-C once three rows were read."""

    def update(rows: int) -> None:
        if rows >= 3:
            raise KeyboardInterrupt

    yield update


def test_interrupted_import_reports_the_committed_batches(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_cli, "_progress", ctrl_c_at_row_3)
    rows = [Row("2019100000000", "坏号"), *patents(4, "中断")]
    errors = tmp_path / "errors.csv"
    path = titled_csv(tmp_path / "c.csv", rows, "utf-8")
    code, out, err = _run(
        "import", "patents", str(path), "--batch-size", "1", "--json", "--errors", str(errors)
    )
    assert code == 130
    payload = json.loads(out)
    # Batches of rows 5-6 committed (row 5 rejected, row 6 inserted); row 7's was rolled back.
    assert payload["interrupted"] is True
    assert (payload["read"], payload["inserted"], payload["rejected"]) == (2, 1, 1)
    assert [r["row"] for r in _csv_rows(errors)] == ["5"]
    assert "interrupted" in err


def test_unmigrated_database_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTMATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("PATENTMATCH_MODEL_NAME", "hashing")
    monkeypatch.setenv("PATENTMATCH_INDEX_DIR", str(tmp_path / "index"))
    commands = (
        ["keys", "list"],
        ["orgs", "list"],
        ["keys", "create", "--role", "admin"],
        ["index", "update"],
        ["alerts", "dispatch"],
    )
    for args in commands:
        code, out, err = _run(*args)
        assert code == 1
        assert err.strip() == f"error: {NOT_INITIALISED}"
        assert "Traceback" not in out + err


def test_interrupted_workbook_import_still_names_its_sheets(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_cli, "_progress", ctrl_c_at_row_3)
    path = patsnap_workbook(tmp_path / "p.xlsx", [patents(2, "页一"), patents(2, "页二")])
    code, out, _ = _run("import", "patents", str(path), "--batch-size", "1", "--json")
    assert code == 130
    payload = json.loads(out)
    assert (payload["read"], payload["inserted"]) == (2, 2)
    assert [s["sheet"] for s in payload["sheets"]][:1] == ["第1页"]
