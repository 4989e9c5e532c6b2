"""Relative settings paths resolve against the home folder, never the working directory."""

from pathlib import Path

import pytest

from app.settings import Settings, default_home, get_settings

REPO = Path(__file__).resolve().parents[1]


def test_defaults_resolve_under_the_checkout_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HOME", "DATABASE_URL", "VAR_DIR", "INDEX_DIR", "MODELS_DIR", "SHARED_DIR"):
        monkeypatch.delenv(f"PATENTMATCH_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = get_settings()
    assert default_home() == REPO
    assert settings.home == REPO
    assert settings.var_dir == REPO / "var"
    assert settings.index_dir == REPO / "index"
    assert settings.shared_dir == REPO.parent / "shared"
    assert settings.database_url == f"sqlite:///{REPO / 'var' / 'patentmatch.db'}"


def test_home_setting_moves_every_relative_path(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, var_dir=Path("state"), models_dir=Path("/opt/models"))
    assert settings.var_dir == tmp_path / "state"
    assert settings.models_dir == Path("/opt/models")
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'patentmatch.db'}"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///:memory:",
        "sqlite:////abs/x.db",
        "postgresql+psycopg://postgres@127.0.0.1/db",
    ],
)
def test_other_database_urls_are_kept(tmp_path: Path, url: str) -> None:
    assert Settings(home=tmp_path, database_url=url).database_url == url


def test_relative_sqlite_url_keeps_its_query(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="sqlite:///db/x.db?timeout=5")
    assert settings.database_url == f"sqlite:///{tmp_path / 'db' / 'x.db'}?timeout=5"


def test_env_file_in_the_home_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATENTMATCH_MODEL_NAME", raising=False)
    (tmp_path / ".env").write_text("PATENTMATCH_MODEL_NAME=hashing\n", encoding="utf-8")
    monkeypatch.setenv("PATENTMATCH_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path.parent)
    assert get_settings().model_name == "hashing"
