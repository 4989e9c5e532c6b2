"""A server killed (SIGKILL) during an upload job: after a restart the job is failed, its upload
removed and every committed batch kept. Runs real server processes on a SQLite file."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from app.auth.principal import Role
from app.catalog.appno import compute_check_char
from app.catalog.enums import OrgKind
from app.db import create_schema, make_engine
from tests.api.conftest import make_actor

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _csv(path: Path, rows: int) -> Path:
    lines = ["申请号,专利名称,分类号,申请日"]
    for n in range(rows):
        body = f"2019100{n:05d}"
        lines.append(
            f"{body}.{compute_check_char(body)},一种测试用的传感器装置{n},G01D 5/00,2019-01-02"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Server:
    """``python -m app.cli serve`` on a free port with the given environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, "the server exited while starting"
            time.sleep(0.2)
        self.process.kill()
        pytest.fail("the server did not become ready")


@pytest.fixture
def crash_env(tmp_path: Path) -> tuple[dict[str, str], Engine]:
    """A SQLite file with the schema, and the environment of a hashing-model server."""
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    engine = make_engine(url)
    create_schema(engine)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATENTMATCH_DATABASE_URL": url,
        "PATENTMATCH_MODEL_NAME": "hashing",
        "PATENTMATCH_INDEX_DIR": str(tmp_path / "index"),
        "PATENTMATCH_VAR_DIR": str(tmp_path / "var"),
        "PATENTMATCH_SHARED_DIR": str(tmp_path / "shared"),
        # Small batches: the job is still running when the server is killed.
        "PATENTMATCH_IMPORT_BATCH_SIZE": "10",
    }
    return env, engine


def test_job_of_a_killed_server_is_failed_after_restart(
    tmp_path: Path, crash_env: tuple[dict[str, str], Engine]
) -> None:
    env, engine = crash_env
    tto = make_actor(engine, Role.TTO, OrgKind.UNIVERSITY)
    upload = _csv(tmp_path / "big.csv", 4000)
    first = Server(env, tmp_path / "first.log")
    try:
        with upload.open("rb") as handle:
            response = httpx.post(
                f"{first.base}/api/v1/imports/patents",
                headers=tto.headers,
                files={"file": ("big.csv", handle, "text/csv")},
                timeout=30,
            )
        assert response.status_code == 202
        job_url = f"{first.base}/api/v1/imports/{response.json()['id']}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = httpx.get(job_url, headers=tto.headers, timeout=10).json()
            if job["status"] == "running" and job["rows_processed"] > 0:
                break
            time.sleep(0.05)
        assert job["status"] == "running", job
        stored = list((tmp_path / "var" / "uploads").iterdir())
        assert len(stored) == 1
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)

    second = Server(env, tmp_path / "second.log")
    try:
        job = httpx.get(
            job_url.replace(first.base, second.base), headers=tto.headers, timeout=10
        ).json()
        assert job["status"] == "failed"
        assert "upload the file again" in job["failure"]
        assert job["finished_at"] is not None
        assert not stored[0].exists()
    finally:
        second.process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once its graceful shutdown is done.
        assert second.process.wait(timeout=60) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in second.log.read_text()
    engine.dispose()
