"""Builders shared by the deal workflow tests: a small catalog with keys for every role."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlmodel import Session

from app.auth.keys import create_key
from app.auth.principal import Principal, Role
from app.catalog.enums import LegalStatus, NeedStatus, OrgKind
from app.catalog.models import Organisation, Patent, TechNeed


@dataclass
class World:
    """Organisations, a patent, a need and a principal for each role."""

    university: Organisation
    enterprise: Organisation
    other_enterprise: Organisation
    station_a: Organisation
    station_b: Organisation
    far_station: Organisation
    patent: Patent
    need: TechNeed
    requester: Principal
    other_requester: Principal
    owner: Principal
    station_a_key: Principal
    station_b_key: Principal
    far_station_key: Principal
    admin: Principal


def _org(session: Session, kind: OrgKind, name: str, **fields: object) -> Organisation:
    org = Organisation(kind=kind, name=name, **fields)
    session.add(org)
    session.flush()
    return org


def _principal(session: Session, role: Role, org: Organisation | None) -> Principal:
    key, _secret = create_key(session, role=role, org_id=org.id if org else None)
    assert key.id is not None
    return Principal(key_id=key.id, org_id=org.id if org else None, role=role)


def _orgs(session: Session) -> list[Organisation]:
    private = {"contact_person": "王", "contact_phone": "025-1234", "contact_email": "x@example.cn"}
    station = OrgKind.SERVICE_STATION
    return [
        _org(session, OrgKind.UNIVERSITY, "东南大学", region="320102", **private),
        _org(session, OrgKind.ENTERPRISE, "苏州电池", region="320500", **private),
        _org(session, OrgKind.ENTERPRISE, "无关企业", region="320500"),
        _org(session, station, "江苏站A", coverage_regions=["32"], coverage_industries=["C"]),
        _org(session, station, "苏州站B", coverage_regions=["320500"], coverage_industries=[]),
        _org(session, station, "广东站", coverage_regions=["44"], coverage_industries=[]),
    ]  # fmt: skip


def build_world(session: Session) -> World:
    """Create the catalog: a university's patent, an enterprise's need, three stations."""
    uni, ent, other, st_a, st_b, far = _orgs(session)
    patent = Patent(
        natural_key="2020100000001",
        title="高镍三元正极材料及其制备方法",
        abstract="提高锂离子电池高镍正极材料在高温下的循环稳定性",
        ipc_codes=["H01M 4/36"],
        ipc_main="H01M 4/36",
        legal_status=LegalStatus.GRANTED,
        expiry_date=date(2040, 1, 1),
        owner_org_id=uni.id,
        patentees=[uni.name],
    )
    assert ent.id is not None
    need = TechNeed(
        org_id=ent.id,
        title="动力电池高镍正极循环寿命提升",
        description="需提升高镍正极材料在高温下的循环稳定性",
        industry_code="3841",
        region="320500",
        status=NeedStatus.PUBLISHED,
    )
    session.add_all([patent, need])
    session.flush()
    return World(
        uni, ent, other, st_a, st_b, far, patent, need,
        requester=_principal(session, Role.ENTERPRISE, ent),
        other_requester=_principal(session, Role.ENTERPRISE, other),
        owner=_principal(session, Role.TTO, uni),
        station_a_key=_principal(session, Role.STATION, st_a),
        station_b_key=_principal(session, Role.STATION, st_b),
        far_station_key=_principal(session, Role.STATION, far),
        admin=_principal(session, Role.ADMIN, None),
    )  # fmt: skip


@dataclass
class Receiver:
    """A local webhook receiver answering with scripted status codes (then 200)."""

    url: str
    script: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def run_receiver() -> Iterator[Receiver]:
    """Serve a receiver on 127.0.0.1 in a thread for the duration of the block."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers), body))
            code = state.script.pop(0) if state.script else 200
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()
