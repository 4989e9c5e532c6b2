"""Chains in the console: an admin edits a chain as YAML, reviews its tags, confirms one."""

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.catalog.enums import OrgKind
from app.catalog.models import Patent
from app.chains.models import ChainTag, TagStatus
from app.chains.tagging import tag_until_done
from app.settings import Settings
from tests.console.conftest import csrf_of, make_person, sign_in

YAML = """\
key: console-selenium
name: 富硒产业链
owner_region: "610900"
nodes:
  - key: tea
    name: 富硒茶加工
    position: midstream
    ipc: [A23F]
    phrases: [富硒]
"""


def _post(client: TestClient, url: str, csrf: str, **data: str) -> Any:
    return client.post(url, data={"csrf": csrf, **data}, follow_redirects=False)


def test_admin_edits_reviews_and_confirms(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    admin = make_person(api_engine, api_settings, None, "chains-admin@example.cn")
    csrf = sign_in(client, admin)
    bad = _post(client, "/chains-edit", csrf, text=YAML.replace("A23F", "Z9"))
    assert bad.status_code == 422
    assert "nodes.0.ipc.0" in bad.text
    saved = _post(client, "/chains-edit", csrf, text=YAML)
    assert saved.status_code == 303
    chain_url = saved.headers["location"]
    with Session(api_engine) as session:
        session.add(
            Patent(natural_key="console-chain-1", title="一种富硒绿茶", ipc_codes=["A23F 3/06"])
        )
        session.commit()
    tag_until_done(api_engine, api_settings, None, None)
    page = client.get(chain_url)
    assert "富硒茶加工" in page.text
    assert "一种富硒绿茶" in page.text
    tag_id = re.search(r'/tags/(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    done = _post(client, f"{chain_url}/tags/{tag_id}", csrf_of(page.text), status="confirmed")
    assert done.status_code == 303
    with Session(api_engine) as session:
        assert session.get(ChainTag, int(tag_id)).status is TagStatus.CONFIRMED  # type: ignore[union-attr]
    listing = client.get("/chains")
    assert "console-selenium" in listing.text


def test_others_read_but_neither_edit_nor_decide(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    tto = make_person(api_engine, api_settings, OrgKind.UNIVERSITY, "chains-tto@example.cn")
    sign_in(client, tto)
    listing = client.get("/chains")
    assert listing.status_code == 200
    assert "/chains-edit" not in listing.text
    assert client.get("/chains-edit").status_code == 403
