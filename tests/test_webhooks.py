"""Alerts and webhooks against a real HTTP receiver on 127.0.0.1: signing, retries, dedup."""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from app.catalog.changes import record_change
from app.catalog.enums import ChangeOp, EntityKind, LegalStatus
from app.catalog.models import Patent
from app.db import create_schema, make_engine
from app.deals.alert_schemas import AlertFilters, SubscriptionCreate
from app.deals.alerts import subscribe, unsubscribe
from app.deals.cli import run_rounds
from app.deals.models import (
    AlertDelivery,
    AlertSubscription,
    DeliveryAttempt,
    DeliveryStatus,
    SubscriptionKind,
)
from app.deals.scanner import collect, scan
from app.deals.webhooks import SIGNATURE_HEADER, deliver_pending, dispatch, drain, verify
from app.licensing.models import PaymentMode
from app.licensing.schemas import DeclarationCreate
from app.licensing.service import declare
from app.settings import Settings
from tests.deals_support import Receiver, World, build_world, run_receiver

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as state:
        yield state


class FakeClock:
    """An injectable clock whose sleep advances time instantly and records the waits."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def _subscribe(session: Session, world: World, url: str, **fields: Any) -> tuple[int, str]:
    body = SubscriptionCreate(kind=SubscriptionKind.SEARCH, webhook_url=url, **fields)  # type: ignore[arg-type]
    subscription, secret = subscribe(session, world.requester, body)
    scan(session)  # starts the cursors: only later events count
    assert subscription.id is not None
    return subscription.id, secret


def _new_patent(session: Session, world: World, title: str, ipc: str = "H01M 4/36") -> Patent:
    patent = Patent(
        natural_key=f"k-{title}", title=title, ipc_codes=[ipc], owner_org_id=world.university.id,
        legal_status=LegalStatus.GRANTED, expiry_date=date(2040, 1, 1),
    )  # fmt: skip
    session.add(patent)
    session.flush()
    assert patent.id is not None
    record_change(session, EntityKind.PATENT, patent.id, ChangeOp.UPSERT)
    session.flush()
    return patent


def _deliveries(session: Session, subscription_id: int) -> list[AlertDelivery]:
    stmt = select(AlertDelivery).where(AlertDelivery.subscription_id == subscription_id)
    return list(session.exec(stmt))


def _check_signature(secret: str, header: str, body: bytes, now: datetime) -> None:
    assert verify(secret, header, body, now)
    assert not verify("whsec_wrong", header, body, now)
    assert not verify(secret, header, body + b" ", now)  # tampered body
    assert not verify(secret, header, body, now + timedelta(hours=1))  # replayed later


def test_failing_receiver_gets_retries_with_backoff_until_it_recovers(
    session: Session, world: World, receiver: Receiver
) -> None:
    settings = Settings(
        webhook_max_attempts=5, webhook_backoff_seconds=2.0, webhook_allow_private_hosts=True
    )
    sub_id, secret = _subscribe(
        session,
        world,
        receiver.url,
        query_text="高镍正极材料",
        filters=AlertFilters(ipc_prefix="H01M"),
    )
    patent = _new_patent(session, world, "一种高镍正极材料的包覆改性方法")
    _new_patent(session, world, "一种高镍正极材料的烧结炉", ipc="F27B 9/00")  # filtered by IPC
    _new_patent(session, world, "一种农业灌溉用滴灌带", ipc="H01M 9/99")  # text does not match
    assert collect(session, START) == (3, 1)
    receiver.script = [500, 503]
    clock = FakeClock()
    with httpx.Client() as client:
        report = drain(session, client, settings, clock, clock.sleep)
    assert (report.attempted, report.delivered) == (3, 1)
    assert clock.sleeps == [2.0, 4.0]  # exponential backoff between the attempts
    (delivery,) = _deliveries(session, sub_id)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    assert delivery.last_status_code == 200
    log = session.exec(
        select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id)
    ).all()
    assert [(a.attempt_no, a.status_code) for a in log] == [(1, 500), (2, 503), (3, 200)]
    bodies = {body for _headers, body in receiver.received}
    assert len(receiver.received) == 3
    assert len(bodies) == 1  # every retry sends the same bytes
    headers, body = receiver.received[-1]
    event = json.loads(body)
    assert event["type"] == "patent.created"
    assert event["patent"]["id"] == patent.id
    assert headers["X-Patentmatch-Event-Id"] == event["id"]
    _check_signature(secret, headers[SIGNATURE_HEADER], body, clock.now)


def test_receiver_that_never_recovers_fails_after_max_attempts(
    session: Session, world: World, receiver: Receiver
) -> None:
    settings = Settings(
        webhook_max_attempts=3, webhook_backoff_seconds=1.0, webhook_allow_private_hosts=True
    )
    sub_id, _secret = _subscribe(session, world, receiver.url, query_text="固态电解质")
    _new_patent(session, world, "硫化物固态电解质及其制备方法")
    collect(session, START)
    receiver.script = [500] * 10
    clock = FakeClock()
    with httpx.Client() as client:
        report = drain(session, client, settings, clock, clock.sleep)
    assert (report.attempted, report.failed, report.delivered) == (3, 1, 0)
    assert clock.sleeps == [1.0, 2.0]
    (delivery,) = _deliveries(session, sub_id)
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None


def test_unreachable_receiver_is_logged_and_retried(session: Session, world: World) -> None:
    settings = Settings(
        webhook_max_attempts=5, webhook_backoff_seconds=2.0, webhook_allow_private_hosts=True
    )
    # A port nothing listens on: bind one, then close it.
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{probe.server_address[1]}/hook"
    probe.server_close()
    sub_id, _secret = _subscribe(session, world, url, query_text="固态电解质")
    _new_patent(session, world, "硫化物固态电解质")
    collect(session, START)
    with httpx.Client() as client:
        report = deliver_pending(session, client, START, settings)
    (delivery,) = _deliveries(session, sub_id)
    assert report.retrying == 1
    assert delivery.last_status_code is None
    assert delivery.last_error is not None
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at.replace(tzinfo=UTC) == START + timedelta(seconds=2)


def test_events_are_deduplicated_and_unsubscribe_cancels(
    session: Session, world: World, receiver: Receiver
) -> None:
    sub_id, _secret = _subscribe(session, world, receiver.url, query_text="高镍正极")
    patent = _new_patent(session, world, "高镍正极前驱体")
    assert collect(session, START) == (1, 1)
    # A repeated write of the same patent is not a status change; a rescan finds nothing new.
    record_change(session, EntityKind.PATENT, patent.id or 0, ChangeOp.UPSERT)
    assert collect(session, START) == (0, 0)
    assert len(_deliveries(session, sub_id)) == 1
    unsubscribe(session, world.requester, sub_id)
    (delivery,) = _deliveries(session, sub_id)
    assert delivery.status is DeliveryStatus.CANCELLED
    stored = session.get(AlertSubscription, sub_id)
    assert stored is not None
    assert not stored.active
    _new_patent(session, world, "高镍正极烧结工艺")
    assert collect(session, START) == (1, 0)


def test_status_change_and_open_licence_declaration_are_events(
    session: Session, world: World, receiver: Receiver
) -> None:
    settings = Settings(webhook_allow_private_hosts=True)
    sub_id, _secret = _subscribe(session, world, receiver.url, query_text="高镍三元正极材料")
    patent = world.patent
    offer = DeclarationCreate(
        payment_mode=PaymentMode.LUMP_SUM, fee_yuan=10_000, term_years=3, contact_name="王老师",
        contact_phone="025-1",
    )  # fmt: skip
    declare(session, world.owner, patent.id or 0, offer, today=START.date())
    with httpx.Client() as client:
        report = dispatch(session, client, START, settings)
    assert (report.events_found, report.deliveries_queued, report.delivered) == (2, 2, 2)
    events = {json.loads(body)["type"]: json.loads(body) for _h, body in receiver.received}
    assert set(events) == {"patent.status_changed", "open_licence.declared"}
    change = events["patent.status_changed"]["detail"]["conversion_status"]
    assert change == {"from": "idle", "to": "open_licence"}
    assert len(_deliveries(session, sub_id)) == 2


def test_worker_loop_retries_on_schedule(tmp_path: Path, receiver: Receiver) -> None:
    # Its own database: the worker commits through its own sessions.
    engine = make_engine(f"sqlite:///{tmp_path / 'worker.db'}")
    create_schema(engine)
    with Session(engine) as session:
        world = build_world(session)
        _subscribe(session, world, receiver.url, query_text="固态电解质")
        _new_patent(session, world, "氧化物固态电解质薄膜")
        session.commit()
    receiver.script = [502]
    clock = FakeClock()
    settings = Settings(
        webhook_max_attempts=5, webhook_backoff_seconds=3.0, webhook_allow_private_hosts=True
    )
    delivered = run_rounds(engine, settings, 2, 10.0, clock=clock, sleep=clock.sleep)
    engine.dispose()
    assert delivered == 1
    assert clock.sleeps == [3.0]  # slept exactly until the retry was due
    assert [json.loads(body)["type"] for _h, body in receiver.received] == ["patent.created"] * 2
