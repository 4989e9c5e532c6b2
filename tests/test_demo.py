"""Demo data: excerpts of the shared folder, organisations, illustrative needs, idempotency."""

import json
import shutil
from pathlib import Path

import pytest
import typer
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app.catalog.cli import demo_app
from app.catalog.demo import DEMO_NEEDS, UNIVERSITY_COUNT, load_demo
from app.catalog.enums import CooperationMode, NeedStatus, OrgKind
from app.catalog.models import Organisation, Patent, TechNeed
from app.errors import BadRequest


@pytest.fixture
def mini_shared(shared_dir: Path, tmp_path: Path) -> Path:
    """A shared folder holding small excerpts of the real files (fast to load)."""
    root = tmp_path / "shared"
    patents = root / "data" / "patents"
    (patents / "cn_full_record_samples").mkdir(parents=True)
    lines = (shared_dir / "data/patents/cn_application_list.csv").read_text("utf-8").splitlines()
    (patents / "cn_application_list.csv").write_text("\n".join(lines[:41]) + "\n", "utf-8")
    sample = "cn_full_record_samples/zhiwang_MaterialChemistry_18_19.xlsx"
    shutil.copy(shared_dir / "data/patents" / sample, patents / sample)
    corpus = (shared_dir / "eval/dev/corpus.jsonl").read_text("utf-8").splitlines()
    cn = [line for line in corpus if '"id": "CN' in line][:50]
    tw = [line for line in corpus if '"id": "TW-' in line][:300]
    (root / "eval" / "dev").mkdir(parents=True)
    (root / "eval/dev/corpus.jsonl").write_text("\n".join(cn + tw) + "\n", "utf-8")
    return root


def _demo_cli(*args: str) -> tuple[int, str]:
    # A one-command Typer app collapses into that command, so mount it as the root CLI does.
    root = typer.Typer()
    root.add_typer(demo_app, name="demo")
    result = CliRunner().invoke(root, ["demo", *args])
    return result.exit_code, result.stdout


def _count(session: Session, model: type[Patent] | type[TechNeed]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_demo_load_is_complete_and_idempotent(session: Session, mini_shared: Path) -> None:
    summary = load_demo(session, mini_shared)
    assert summary.reports["cn_application_list.csv"].inserted == 40
    assert summary.reports["zhiwang_MaterialChemistry_18_19.xlsx"].inserted == 33
    assert summary.reports["corpus.jsonl"].inserted == 350
    assert _count(session, Patent) == 40 + 33 + 350
    cn = session.exec(select(Patent).where(col(Patent.natural_key).startswith("src:CN"))).first()
    assert cn is not None
    assert cn.publication_number == cn.natural_key.removeprefix("src:")
    assert cn.ipc_codes
    assert cn.source == "cn-titles"
    universities = session.exec(
        select(Organisation).where(Organisation.kind == OrgKind.UNIVERSITY)
    ).all()
    assert len(universities) == UNIVERSITY_COUNT
    for university in universities:
        owned = session.exec(select(Patent).where(Patent.owner_org_id == university.id)).all()
        assert owned
        assert all(p.applicants[0] == university.name for p in owned)
        assert all(p.language == "zh-Hant" for p in owned)
    stations = session.exec(
        select(Organisation).where(Organisation.kind == OrgKind.SERVICE_STATION)
    ).all()
    assert len(stations) == 1
    assert stations[0].coverage_regions
    again = load_demo(session, mini_shared)
    for name, report in again.reports.items():
        assert (report.inserted, report.updated) == (0, 0), name
        assert report.unchanged == report.read, name


def test_illustrative_needs(session: Session, mini_shared: Path) -> None:
    load_demo(session, mini_shared)
    needs = session.exec(select(TechNeed)).all()
    expected = json.loads(DEMO_NEEDS.read_text("utf-8"))["needs"]
    assert 15 <= len(needs) == len(expected) <= 20
    assert all(n.illustrative and n.status is NeedStatus.PUBLISHED for n in needs)
    assert all(n.published_at is not None and n.description for n in needs)
    assert all(n.cooperation_modes for n in needs)
    assert all(CooperationMode(mode) for n in needs for mode in n.cooperation_modes)
    assert sum(1 for n in needs if n.budget_min or n.budget_max) >= len(needs) - 1
    assert len({n.industry_code for n in needs}) >= 8
    assert len({n.region for n in needs}) >= 5
    owners = {n.org_id for n in needs}
    kinds = session.exec(select(Organisation.kind).where(col(Organisation.id).in_(owners))).all()
    assert set(kinds) == {OrgKind.ENTERPRISE}


def test_missing_shared_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTMATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    code, out = _demo_cli("load", "--shared", str(tmp_path / "absent"))
    assert code == 0
    assert "not found" in out
    assert not (tmp_path / "demo.db").exists()


def test_load_demo_refuses_a_missing_folder(session: Session, tmp_path: Path) -> None:
    with pytest.raises(BadRequest):
        load_demo(session, tmp_path / "absent")


def test_demo_cli_prints_a_summary(
    mini_shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATENTMATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    code, out = _demo_cli("load", "--shared", str(mini_shared))
    assert code == 0, out
    assert "corpus.jsonl: read 350, inserted 350" in out
    assert "illustrative needs: read 18, inserted 18" in out


@pytest.mark.slow
def test_full_demo_load(session: Session, shared_dir: Path) -> None:
    summary = load_demo(session, shared_dir)
    assert summary.reports["corpus.jsonl"].inserted == 17_360
    assert summary.reports["cn_application_list.csv"].inserted == 6_691
    assert all(report.rejected == 0 for report in summary.reports.values())
