"""``patentmatch keys …``: create (secret shown once), list, revoke, clear errors."""

from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from app.auth.keys import authenticate
from app.cli import app
from app.db import create_schema, make_engine
from app.errors import Unauthorized


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    monkeypatch.setenv("PATENTMATCH_DATABASE_URL", url)
    return url


def test_bootstrap_admin_key_then_list_and_revoke(database: str) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--role", "admin", "--expires-days", "30"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("pm_")
    engine = make_engine(database)
    with Session(engine) as session:
        principal = authenticate(session, secret)
    assert principal.is_admin()
    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0
    assert secret[:11] in listed.output  # the visible prefix
    assert secret not in listed.output
    revoked = runner.invoke(app, ["keys", "revoke", str(principal.key_id)])
    assert revoked.exit_code == 0
    with Session(engine) as session, pytest.raises(Unauthorized):
        authenticate(session, secret)
    engine.dispose()


def test_errors_are_messages_not_tracebacks(database: str) -> None:
    runner = CliRunner()
    no_org = runner.invoke(app, ["keys", "create", "--role", "tto"])
    assert no_org.exit_code == 1
    assert "keys need an organisation" in no_org.output
    missing_org = runner.invoke(app, ["keys", "create", "--role", "tto", "--org", "42"])
    assert missing_org.exit_code == 1
    assert "organisation 42 does not exist" in missing_org.output
    unknown = runner.invoke(app, ["keys", "revoke", "999"])
    assert unknown.exit_code == 1
    assert "API key 999 does not exist" in unknown.output
    bad_role = runner.invoke(app, ["keys", "create", "--role", "king"])
    assert bad_role.exit_code == 2
    assert "Traceback" not in no_org.output + missing_org.output + unknown.output


def test_ensure_admin_creates_one_key_once(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATENTMATCH_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    first = runner.invoke(app, ["keys", "ensure-admin"])
    assert first.exit_code == 0, first.output
    secret = first.output.strip().splitlines()[-1]
    secret_file = tmp_path / "var" / "admin-key"
    assert secret_file.read_text().strip() == secret
    assert secret_file.stat().st_mode & 0o777 == 0o600
    second = runner.invoke(app, ["keys", "ensure-admin"])
    assert second.exit_code == 0
    assert "exists already" in second.output
    assert secret not in second.output
    engine = make_engine(database)
    with Session(engine) as session:
        assert authenticate(session, secret).is_admin()
    engine.dispose()


def test_key_for_an_organisation_named_on_the_command_line(database: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        app,
        ["orgs", "create", "--kind", "university", "--name", "命令行大学", "--region", "330106"],
    )
    assert created.exit_code == 0, created.output
    org_id = int(created.output.strip().splitlines()[-1])
    key = runner.invoke(app, ["keys", "create", "--role", "tto", "--org", "命令行大学"])
    assert key.exit_code == 0, key.output
    assert f"(tto, organisation {org_id})" in key.output
    engine = make_engine(database)
    with Session(engine) as session:
        assert authenticate(session, key.output.strip().splitlines()[-1]).org_id == org_id
    engine.dispose()
    unknown = runner.invoke(app, ["keys", "create", "--role", "tto", "--org", "无此机构"])
    assert unknown.exit_code == 1
    assert "organisation named '无此机构' does not exist" in unknown.output
