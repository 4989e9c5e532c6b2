"""Upload jobs: 202 + job resource, background import, per-row errors, access rules."""

import csv
import io
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.conftest import Actor
from tests.api.helpers import assert_problem, new_appno

UPLOAD = "/api/v1/imports/patents"


def _csv(*rows: tuple[str, str, str, str]) -> bytes:
    lines = ["申请号,专利名称,分类号,申请日", *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _wait(client: TestClient, actor: Actor, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/imports/{job_id}", headers=actor.headers).json()
        if job["status"] in {"succeeded", "failed"}:
            return job
        time.sleep(0.05)
    raise AssertionError("import job did not finish")


def test_upload_imports_rows_and_reports_bad_ones(
    client: TestClient, tto: Actor, other_tto: Actor
) -> None:
    good = new_appno()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    data = _csv(
        (good, "一种太阳能光伏板清洗机器人", "H02S 40/10", "2015-06-01"),
        (bad, "校验位错误的专利", "H01M 4/36", "2015-06-01"),
        (new_appno(), "一种风能LED路灯", "F21S 9/04", "2015-07-24"),
    )
    response = client.post(
        UPLOAD, files={"file": ("patents.csv", data, "text/csv")}, headers=tto.headers
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/imports/{response.json()['id']}"
    assert response.json()["status"] in {"queued", "running", "succeeded"}
    job = _wait(client, tto, response.json()["id"])
    assert job["status"] == "succeeded", job
    assert (job["read"], job["inserted"], job["rejected"]) == (3, 2, 1)
    assert job["rows_processed"] == 3
    assert job["summary"]["inserted"] == 2
    assert [e["row"] for e in job["errors"]] == [3]  # header is row 1
    assert job["errors"][0]["field"]
    assert job["errors"][0]["reason"]
    # Imported patents belong to the uploader and are listed at once.
    listed = client.get(
        "/api/v1/patents", params={"q": "太阳能光伏板清洗机器人"}, headers=tto.headers
    ).json()["items"]
    assert [p["owner_org_id"] for p in listed] == [tto.org_id]
    # Jobs are private to their organisation.
    assert_problem(client.get(f"/api/v1/imports/{job['id']}", headers=other_tto.headers), 404)


def test_upload_access_and_file_checks(
    client: TestClient, enterprise: Actor, tto: Actor, other_tto: Actor
) -> None:
    files = {"file": ("p.csv", _csv((new_appno(), "x", "H01M", "2015-01-01")), "text/csv")}
    assert_problem(client.post(UPLOAD, files=files, headers=enterprise.headers), 403)
    other_owner = {"owner_org_id": str(other_tto.org_id)}
    assert_problem(client.post(UPLOAD, files=files, data=other_owner, headers=tto.headers), 403)
    wrong = {"file": ("p.pdf", b"%PDF", "application/pdf")}
    body = assert_problem(client.post(UPLOAD, files=wrong, headers=tto.headers), 422)
    assert body["errors"][0]["field"] == "file"
    empty = {"file": ("p.csv", b"", "text/csv")}
    assert_problem(client.post(UPLOAD, files=empty, headers=tto.headers), 422)
    missing = assert_problem(client.post(UPLOAD, headers=tto.headers), 422)
    assert missing["errors"][0]["field"] == "file"


def test_unknown_job_is_404(client: TestClient, tto: Actor) -> None:
    assert_problem(client.get("/api/v1/imports/987654", headers=tto.headers), 404)


def test_header_only_and_headerless_uploads_are_422(client: TestClient, tto: Actor) -> None:
    header_only = {"file": ("h.csv", "申请号,专利名称\n".encode(), "text/csv")}
    body = assert_problem(client.post(UPLOAD, files=header_only, headers=tto.headers), 422)
    assert body["errors"][0] == {
        "field": "file",
        "message": "h.csv: only a header (row 1), no data rows",
    }
    headerless = {"file": ("x.csv", "这不是表头\n1,2\n".encode(), "text/csv")}
    body = assert_problem(client.post(UPLOAD, files=headerless, headers=tto.headers), 422)
    assert "no 申请号 / 专利名称 header in rows 1–30 of x.csv" in body["errors"][0]["message"]


def test_full_report_downloads_as_csv_and_xlsx(
    client: TestClient, tto: Actor, other_tto: Actor, tmp_path: Path
) -> None:
    good = [new_appno() for _ in range(3)]
    rows = [(n, f"报告下载测试{i}", "H01M 4/36", "2015-06-01") for i, n in enumerate(good)]
    # A bad number, and a title that a spreadsheet would run as a formula.
    rows.append(("=HYPERLINK(1)", "=1+1", "H01M 4/36", "2015-06-01"))
    upload = {"file": ("r.csv", _csv(*rows), "text/csv")}
    response = client.post(UPLOAD, files=upload, headers=tto.headers)
    assert response.status_code == 202, response.text
    job = _wait(client, tto, response.json()["id"])
    assert (job["inserted"], job["rejected"]) == (3, 1)
    url = f"/api/v1/imports/{job['id']}/report"
    assert job["report_url"] == url
    as_csv = client.get(url, headers=tto.headers)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert lines[0] == ["level", "sheet", "row", "field", "reason", "value"]
    assert [line[0] for line in lines[1:]] == ["error"] * len(job["errors"])
    assert all(line[2] == "5" for line in lines[1:])
    assert all(not line[5].startswith("=") for line in lines[1:])
    as_xlsx = client.get(url, params={"format": "xlsx", "level": "errors"}, headers=tto.headers)
    assert as_xlsx.status_code == 200
    (tmp_path / "r.xlsx").write_bytes(as_xlsx.content)
    sheet = load_workbook(tmp_path / "r.xlsx").active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["level", "sheet", "row", "field", "reason", "value"]
    assert len(cells) == 1 + len(job["errors"])
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert_problem(client.get(url, headers=other_tto.headers), 404)
    assert_problem(client.get(url, params={"format": "pdf"}, headers=tto.headers), 422)
