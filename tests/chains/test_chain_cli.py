"""``patentmatch chains load`` of several files, and ``chains list --json``."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.dbcli import upgrade_database

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "chains").glob("*.yaml"))


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'chains.db'}"
    monkeypatch.setenv("PATENTMATCH_DATABASE_URL", url)
    upgrade_database(url)


def _chains() -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["chains", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def test_the_example_files_load_together_and_list_with_node_counts(database: None) -> None:
    result = CliRunner().invoke(app, ["chains", "load", *map(str, EXAMPLES)])
    assert result.exit_code == 0, result.output
    chains = _chains()
    assert len(chains) == result.stdout.count(" chain ") > 3
    assert all(isinstance(c["nodes"], int) and c["nodes"] > 0 for c in chains)
    again = CliRunner().invoke(app, ["chains", "load", *map(str, EXAMPLES)])
    assert again.exit_code == 0
    assert len(_chains()) == len(chains)


def test_one_bad_file_loads_nothing(database: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("chains: [{key: x}]\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["chains", "load", str(EXAMPLES[0]), str(bad)])
    assert result.exit_code == 1
    assert "chains.0.name" in result.output
    assert "Traceback" not in result.output
    assert _chains() == []
