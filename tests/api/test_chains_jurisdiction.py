"""Chains and jurisdictions: an official reads, edits and decides on their region's chains."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.chains.tagging import tag_until_done
from tests.api.helpers import assert_problem, patent_body
from tests.api.regions import CITY_A, CITY_B, TwoCities, two_cities

CHAINS = "/api/v1/chains"


def _chain(key: str, region: str) -> dict[str, Any]:
    node = {"key": "cells", "name": "电芯", "position": "midstream", "ipc": ["H01M"]}
    return {"key": key, "name": f"{key} 锂电", "owner_region": region, "nodes": [node]}


@pytest.fixture(scope="module")
def world(client: TestClient, api_engine, api_settings, admin) -> dict[str, Any]:
    """A chain in each city, a patent owned in each city, tagged."""
    cities = two_cities(api_engine)
    chains = {}
    for key, region in (("hz", CITY_A), ("nb", CITY_B)):
        response = client.post(CHAINS, json=_chain(key, region), headers=admin.headers)
        assert response.status_code == 200, response.text
        chains[key] = response.json()["id"]
    for owner in (cities.tto_a, cities.tto_b):
        body = patent_body(ipc_codes=["H01M 4/36"])
        assert client.post("/api/v1/patents", json=body, headers=owner.headers).status_code == 201
    tag_until_done(api_engine, api_settings, client.app.state.matcher, None)  # type: ignore[attr-defined]
    return {"cities": cities, "chains": chains}


def test_an_official_lists_and_reads_their_own_region_only(client, world):
    cities: TwoCities = world["cities"]
    hz, nb = world["chains"]["hz"], world["chains"]["nb"]
    listed = {r["id"] for r in client.get(CHAINS, headers=cities.gov_a.headers).json()}
    assert listed == {hz}
    province = {r["id"] for r in client.get(CHAINS, headers=cities.province.headers).json()}
    assert province >= {hz, nb}
    assert client.get(f"{CHAINS}/{hz}", headers=cities.gov_a.headers).status_code == 200
    for path in ("", "/patents", "/tags", "/needs", "/export"):
        assert_problem(client.get(f"{CHAINS}/{nb}{path}", headers=cities.gov_a.headers), 403)


def test_an_officials_pool_holds_the_jurisdictions_patents(client, world):
    cities: TwoCities = world["cities"]
    hz = world["chains"]["hz"]
    admin_view = client.get(f"{CHAINS}/{hz}/patents", headers=cities.province.headers).json()
    official = client.get(f"{CHAINS}/{hz}/patents", headers=cities.gov_a.headers).json()
    assert len(admin_view["items"]) == 2  # both cities' patents are on the chain
    assert len(official["items"]) == 1  # the official's pool: owners in the jurisdiction


def test_an_official_edits_and_decides_in_their_region_only(client, world):
    cities: TwoCities = world["cities"]
    hz, nb = world["chains"]["hz"], world["chains"]["nb"]
    edited = {**_chain("hz", CITY_A), "description": "杭州锂电"}
    assert client.post(CHAINS, json=edited, headers=cities.gov_a.headers).status_code == 200
    assert_problem(
        client.post(CHAINS, json=_chain("nb", CITY_B), headers=cities.gov_a.headers), 403
    )
    moved = _chain("hz", CITY_B)  # moving a chain out of the jurisdiction is refused
    assert_problem(client.post(CHAINS, json=moved, headers=cities.gov_a.headers), 403)
    mine = client.get(f"{CHAINS}/{hz}/tags", headers=cities.gov_a.headers).json()["items"][0]
    theirs = client.get(f"{CHAINS}/{nb}/tags", headers=cities.gov_b.headers).json()["items"][0]
    decide = {"status": "confirmed"}
    ok = client.patch(f"{CHAINS}/tags/{mine['id']}", json=decide, headers=cities.gov_a.headers)
    assert ok.json()["status"] == "confirmed"
    refused = client.patch(
        f"{CHAINS}/tags/{theirs['id']}", json=decide, headers=cities.gov_a.headers
    )
    assert_problem(refused, 403)
