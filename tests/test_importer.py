"""Importer: idempotent upserts, warnings and refusals, per-batch transactions, needs."""

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from app.catalog import patent_upsert
from app.catalog.appno import parse_application_number
from app.catalog.enums import EntityKind, LegalStatus, NeedStatus, OrgKind, PatentType
from app.catalog.importer import ImportReport, import_needs, import_patents
from app.catalog.ipc import load_ipc_scheme
from app.catalog.models import IndexChange, Organisation, Patent, TechNeed
from app.catalog.report import ReportPaths, write_reports
from app.errors import NotFound

FIXTURES = Path(__file__).parent / "fixtures" / "import"
TODAY = date(2026, 1, 1)
APPLICATION_LIST = Path("data/patents/cn_application_list.csv")
SAMPLES = Path("data/patents/cn_full_record_samples")


def _count(session: Session, model: type[Patent] | type[IndexChange] | type[TechNeed]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _patent(session: Session, key: str) -> Patent:
    return session.exec(select(Patent).where(Patent.natural_key == key)).one()


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_application_list_acceptance(session: Session, shared_dir: Path) -> None:
    path = shared_dir / APPLICATION_LIST
    numbers = [row[1] for row in _read_csv(path)[1:]]
    assert sum(n.endswith(".0") for n in numbers) == 3964
    report = import_patents(session, path, today=TODAY)
    assert (report.read, report.rejected, report.inserted) == (6699, 0, 6691)
    assert report.updated + report.unchanged == 8
    assert _count(session, Patent) == 6691
    type_warnings = [w for w in report.warnings if w.field == "patent_type"]
    year_warnings = [w for w in report.warnings if w.field == "filing_date"]
    assert len(type_warnings) == 33
    assert len(year_warnings) == 11
    # The number wins: row 1053 says design (3) but 201310164122X is an invention.
    conflict = next(w for w in type_warnings if "201310164122.X" in w.reason)
    assert _patent(session, "201310164122.X").patent_type is PatentType.INVENTION
    assert conflict.value == "3"
    assert _count(session, IndexChange) >= 6691
    again = import_patents(session, path, today=TODAY)
    assert (again.unchanged, again.inserted, again.updated, again.rejected) == (6699, 0, 0, 0)


def test_float_artefact_rows_share_the_key_of_their_twin(session: Session, tmp_path: Path) -> None:
    rows = [
        ["app_no", "patent_name", "patent_type", "app_date", "app_person"],
        ["2014203609407", "新型黑板", "2", "2014-07-02", ""],
        ["2014203609407.0", "新型黑板", "2", "2014-07-02", "许沛瑶"],
        ["2014206412655", "一种糖尿病保健鞋", "2", "2014-10-31", "皖西学院"],
        ["2014206412655.0", "一种糖尿病保健鞋", "2", "2014-10-31", "章毅"],
    ]
    path = _write_csv(tmp_path / "twins.csv", rows)
    report = import_patents(session, path, today=TODAY)
    assert (report.inserted, report.updated, report.unchanged) == (2, 1, 1)
    # A repeat fills blanks; a contradiction keeps the first row and is reported.
    assert _patent(session, "201420360940.7").applicants == ["许沛瑶"]
    assert _patent(session, "201420641265.5").applicants == ["皖西学院"]
    assert [(w.row, w.field) for w in report.warnings] == [(5, "applicants")]
    again = import_patents(session, path, today=TODAY)
    assert again.unchanged == 4


def _corrupt(rows: list[list[str]]) -> dict[int, str]:
    """Corrupt five data rows in place; return {row number: field expected at fault}."""

    def bad_check(number: str) -> str:
        body = number.removesuffix(".0")
        last = body[-1]
        return body[:-1] + ("0" if last == "X" else str((int(last) + 1) % 10))

    rows[9][1] = bad_check(rows[9][1])  # row 10
    rows[19][1] = bad_check(rows[19][1])  # row 20
    rows[29][2] = "  "  # row 30
    rows[39][4] = "2014-13-45"  # row 40
    rows[49][4] = "2015-02-30"  # row 50
    return {
        10: "application_number",
        20: "application_number",
        30: "title",
        40: "filing_date",
        50: "filing_date",
    }


def test_corrupted_rows_are_refused_and_reported(
    session: Session, shared_dir: Path, tmp_path: Path
) -> None:
    rows = _read_csv(shared_dir / APPLICATION_LIST)
    faults = _corrupt(rows)
    path = _write_csv(tmp_path / "corrupted.csv", rows)
    report = import_patents(session, path, today=TODAY)
    assert report.rejected == 5
    assert {(e.row, e.field) for e in report.errors} == set(faults.items())
    assert report.inserted == 6691 - 5
    assert next(e for e in report.errors if e.row == 40).value == "2014-13-45"
    assert "impossible date" in next(e for e in report.errors if e.row == 50).reason
    paths = ReportPaths(tmp_path / "errors.csv", tmp_path / "warnings.csv")
    written = write_reports(report, paths)
    assert written["errors"].read_bytes().startswith(b"\xef\xbb\xbf")
    with written["errors"].open(encoding="utf-8-sig", newline="") as handle:
        errors = list(csv.DictReader(handle))
    assert list(errors[0]) == ["sheet", "row", "field", "reason", "value"]
    assert {(int(r["row"]), r["field"]) for r in errors} == set(faults.items())
    # Warnings go to their own file, never mixed with the errors.
    with paths.warnings.open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(report.warnings) > 0


def test_full_record_export_is_mapped(session: Session, shared_dir: Path) -> None:
    scheme = load_ipc_scheme(shared_dir)
    path = shared_dir / SAMPLES / "PatentSemantix_10_records.csv"
    report = import_patents(session, path, ipc_scheme=scheme, today=TODAY)
    assert (report.read, report.inserted, report.rejected) == (10, 10, 0)
    drone = _patent(session, "202223220665.2")
    assert drone.title == "一种无人机机载多功能盒"
    assert drone.abstract is not None
    assert drone.abstract.startswith("为解决目前无人机")
    assert drone.first_claim is not None
    assert drone.first_claim.startswith("1.一种无人机机载多功能盒")
    assert drone.applicants == ["中科大数据研究院"]
    assert drone.patentees == ["中科大数据研究院"]
    assert drone.inventors == ["刘迪", "刘敏", "王煜伟", "付艳波", "王元卓"]
    assert drone.ipc_main == "B64U 20/80"
    assert drone.ipc_codes == ["B64U 20/80", "B64U 101/30"]
    assert drone.publication_number == "CN218751475U"
    assert drone.patent_type is PatentType.UTILITY_MODEL
    assert (drone.filing_date, drone.grant_date) == (date(2022, 12, 2), date(2023, 3, 28))
    assert drone.expiry_date == date(2032, 12, 2)
    assert drone.legal_status is LegalStatus.GRANTED
    pending = _patent(session, "202211740332.4")  # 审中-实质审查, grant date "0"
    assert pending.legal_status is LegalStatus.PENDING
    assert pending.grant_date is None
    assert pending.patent_type is PatentType.INVENTION


def test_cnki_xlsx_is_mapped(session: Session, shared_dir: Path) -> None:
    path = shared_dir / SAMPLES / "zhiwang_MaterialChemistry_18_19.xlsx"
    report = import_patents(session, path, today=TODAY)
    assert (report.read, report.inserted, report.rejected) == (33, 33, 0)
    assert report.ignored_headers == ["public", "download"]
    first = _patent(session, "pub:CN108982325A")
    assert first.title == "地下防污屏障材料化学相容性测试装置及方法"
    assert first.abstract is not None
    assert first.abstract.startswith("本发明公开了一种地下防污屏障")
    assert first.applicants == ["浙江大学"]
    assert first.inventors == ["李育超", "于泽溪", "魏璐璐", "黄根清"]
    assert (first.filing_date, first.publication_date) == (date(2018, 7, 30), date(2018, 12, 11))
    # CNKI carries no status column: the kind code says A = published application.
    assert first.legal_status is LegalStatus.PENDING
    assert first.patent_type is PatentType.INVENTION
    utility = session.exec(select(Patent).where(col(Patent.natural_key).endswith("U"))).first()
    assert utility is not None
    assert utility.legal_status is LegalStatus.GRANTED
    same_as_csv = import_patents(session, path.with_suffix(".csv"), today=TODAY)
    assert same_as_csv.unchanged == 33


def test_cpc_labels_and_combined_text(session: Session, shared_dir: Path) -> None:
    scheme = load_ipc_scheme(shared_dir)
    path = shared_dir / SAMPLES / "liaoleyuan_cpc_sample_val.csv"
    report = import_patents(session, path, ipc_scheme=scheme, today=TODAY)
    assert (report.read, report.inserted) == (19, 19)
    patent = _patent(session, "pub:CN116226907A")
    assert patent.title == "一种隐私计算协议分布式执行系统及方法"
    assert patent.abstract is not None
    assert patent.abstract.startswith("本发明涉及隐私计算")
    assert patent.ipc_codes
    assert all(scheme is None or scheme.contains(c) for c in patent.ipc_codes)
    assert all(code.startswith("G06F") for code in patent.ipc_codes)


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failure_mid_batch_keeps_only_completed_batches(
    session: Session,
    shared_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: BaseException,
) -> None:
    rows = _read_csv(shared_dir / APPLICATION_LIST)[:1201]
    path = _write_csv(tmp_path / "first1200.csv", rows)
    keys_first_1000 = {parse_application_number(r[1]).normalised for r in rows[1:1001]}
    real = patent_upsert.record_change
    calls = {"n": 0}

    def flaky(*args: object) -> None:
        calls["n"] += 1
        if calls["n"] > len(keys_first_1000):
            raise failure
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(patent_upsert, "record_change", flaky)
    with pytest.raises(type(failure)):
        import_patents(session, path, batch_size=500, today=TODAY)
    # Batches 1 and 2 (rows 1–1000) committed; batch 3 left nothing, not even its inserts.
    assert _count(session, Patent) == len(keys_first_1000)
    assert _count(session, IndexChange) == len(keys_first_1000)
    monkeypatch.setattr(patent_upsert, "record_change", real)
    rerun = import_patents(session, path, batch_size=500, today=TODAY)
    all_keys = {parse_application_number(r[1]).normalised for r in rows[1:]}
    assert rerun.inserted == len(all_keys) - len(keys_first_1000)
    assert _count(session, Patent) == len(all_keys)


def test_changed_rows_update_in_place_and_log_a_change(session: Session, tmp_path: Path) -> None:
    source = FIXTURES / "patents_small.csv"
    first = import_patents(session, source, today=TODAY)
    assert (first.inserted, first.ignored_headers) == (3, ["备注"])
    battery = _patent(session, "201410270596.7")
    patent_id, stamp = battery.id, battery.updated_at
    assert battery.applicants == ["苏州大学", "江苏某某新能源有限公司"]
    assert battery.inventors == ["张三", "李四"]
    assert battery.ipc_codes == ["H01M 4/36", "H01M 10/0525"]
    assert _patent(session, "201820123456.0").legal_status is LegalStatus.LAPSED
    rows = _read_csv(source)
    rows[1][1] = "一种锂电池正极材料的改进制备方法"
    rows[1][9] = ""  # a blank cell keeps what is stored
    changes_before = _count(session, IndexChange)
    second = import_patents(session, _write_csv(tmp_path / "v2.csv", rows), today=TODAY)
    assert (second.inserted, second.updated, second.unchanged) == (0, 1, 2)
    session.refresh(battery)
    assert battery.id == patent_id
    assert battery.title == "一种锂电池正极材料的改进制备方法"
    assert battery.abstract == "本发明公开了一种锂电池正极材料的制备方法。"
    assert battery.updated_at >= stamp
    logged = session.exec(select(IndexChange).order_by(col(IndexChange.id).desc())).first()
    assert _count(session, IndexChange) == changes_before + 1
    assert logged is not None
    assert (logged.entity, logged.entity_id) == (EntityKind.PATENT, patent_id)


def test_owner_organisation(session: Session) -> None:
    with pytest.raises(NotFound):
        import_patents(session, FIXTURES / "patents_small.csv", owner_org_id=999_999)
    org = Organisation(kind=OrgKind.UNIVERSITY, name="苏州大学")
    session.add(org)
    session.commit()
    import_patents(session, FIXTURES / "patents_small.csv", owner_org_id=org.id, today=TODAY)
    assert _patent(session, "201930012345.2").owner_org_id == org.id


def test_an_import_never_takes_patents_from_their_owner(session: Session) -> None:
    owner = Organisation(kind=OrgKind.UNIVERSITY, name="苏州大学")
    other = Organisation(kind=OrgKind.UNIVERSITY, name="南京大学")
    session.add_all([owner, other])
    session.commit()
    first = import_patents(session, FIXTURES / "patents_small.csv", owner_org_id=owner.id)
    second = import_patents(session, FIXTURES / "patents_small.csv", owner_org_id=other.id)
    assert second.rejected == first.inserted > 0
    assert second.inserted == second.updated == 0
    assert {issue.field for issue in second.errors} >= {"application_number"}
    assert any("belongs to another organisation" in i.reason for i in second.errors)
    assert _patent(session, "201930012345.2").owner_org_id == owner.id
    # Without a named owner (an operator's plain import), rows still merge as before.
    third = import_patents(session, FIXTURES / "patents_small.csv")
    assert third.rejected == first.rejected
    assert _patent(session, "201930012345.2").owner_org_id == owner.id


def test_jsonl_patents_and_bad_lines(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"application_number": "201410270596.7", "title": "一种电池", '
        '"applicants": ["甲", "乙"]}\n'
        "{broken\n"
        '{"publication_number": "CN108982325A", "title": "無線充電裝置"}\n'
        '{"title": "no key"}\n',
        encoding="utf-8",
    )
    report = import_patents(session, path, today=TODAY)
    assert (report.read, report.inserted, report.rejected) == (3, 2, 2)
    assert sorted((e.row, e.field) for e in report.errors) == [
        (2, "row"),
        (4, "application_number"),
    ]
    assert _patent(session, "201410270596.7").applicants == ["甲", "乙"]
    assert _patent(session, "pub:CN108982325A").language == "zh-Hant"


def test_needs_import(session: Session) -> None:
    report = import_needs(session, FIXTURES / "needs.csv")
    assert (report.read, report.inserted, report.rejected) == (6, 3, 3)
    assert {(e.row, e.field) for e in report.errors} == {
        (5, "uscc"),
        (6, "region"),
        (6, "cooperation_modes"),
        (6, "budget"),
        (6, "deadline"),
        (7, "title"),
    }
    lithium = session.exec(
        select(Organisation).where(Organisation.name == "苏州锂源科技有限公司")
    ).one()
    assert (lithium.kind, lithium.uscc, lithium.region) == (
        OrgKind.ENTERPRISE,
        "91320594MA1M7771AY",
        "320500",
    )
    needs = {n.external_ref: n for n in session.exec(select(TechNeed))}
    assert needs["N-001"].org_id == needs["N-002"].org_id == lithium.id
    assert needs["N-001"].cooperation_modes == ["transfer", "joint_development"]
    assert (needs["N-001"].budget_min, needs["N-001"].budget_max) == (500_000, 1_000_000)
    assert (needs["N-002"].budget_min, needs["N-002"].budget_max) == (None, 1_000_000)
    assert needs["N-002"].industry_code == "C3841"
    assert needs["N-002"].deadline == date(2027, 3, 31)
    assert needs["N-001"].status is NeedStatus.PUBLISHED
    assert needs["N-001"].published_at
    assert needs["N-003"].status is NeedStatus.DRAFT
    assert needs["N-003"].published_at is None
    assert _count(session, IndexChange) == 3
    again = import_needs(session, FIXTURES / "needs.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_needs_for_a_given_organisation(session: Session, tmp_path: Path) -> None:
    org = Organisation(kind=OrgKind.ENTERPRISE, name="某企业")
    session.add(org)
    session.commit()
    path = tmp_path / "needs.csv"
    path.write_text("需求名称,预算\n需求甲,10万\n需求乙,\n", encoding="utf-8")
    report = import_needs(session, path, org_id=org.id)
    assert report.inserted == 2
    path.write_text("需求名称,预算\n需求甲,20万\n需求乙,\n", encoding="utf-8")
    report = import_needs(session, path, org_id=org.id)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    need = session.exec(select(TechNeed).where(TechNeed.title == "需求甲")).one()
    assert (need.org_id, need.budget_min) == (org.id, 200_000)


def test_summary_is_json_able() -> None:
    report = ImportReport(read=3, inserted=2, rejected=1)
    summary = report.summary()
    assert summary["read"] == 3
    assert summary["errors"] == 0
    assert set(summary) >= {"read", "inserted", "updated", "unchanged", "rejected", "warnings"}


def test_progress_is_reported_per_batch(session: Session) -> None:
    seen: list[int] = []
    report = import_patents(
        session, FIXTURES / "patents_small.csv", batch_size=2, on_progress=seen.append, today=TODAY
    )
    assert seen == [2, 3]
    assert report.inserted == 3
