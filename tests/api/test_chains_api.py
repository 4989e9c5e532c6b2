"""Industry chains over HTTP: two cities with different chains, tags, pools, matching, figures."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.chains.tagging import tag_until_done
from app.settings import Settings
from tests.api.conftest import Actor
from tests.api.helpers import assert_problem, patent_body

ZAOZHUANG = {
    "key": "zz-lithium",
    "name": "锂电新能源产业链",
    "owner_region": "370400",
    "nodes": [
        {"key": "materials", "name": "锂电材料", "position": "upstream", "ipc": ["H01M4"],
         "phrases": ["正极材料"]},
        {"key": "cells", "name": "电芯制造", "position": "midstream", "ipc": ["H01M10"],
         "industry": ["C3841"]},
        {"key": "storage", "name": "储能", "position": "downstream", "ipc": ["H02J7"]},
    ],
}  # fmt: skip
ANKANG = {
    "key": "ak-selenium",
    "name": "富硒产业链",
    "owner_region": "610900",
    "nodes": [
        {"key": "growing", "name": "富硒种植", "position": "upstream", "ipc": ["A01G"],
         "phrases": ["富硒"]},
        {"key": "tea", "name": "富硒茶加工", "position": "midstream", "ipc": ["A23F"],
         "industry": ["C1530"]},
    ],
}  # fmt: skip


def _json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _tag(client: TestClient, api_engine: Engine, api_settings: Settings) -> None:
    """What the server's tagger thread (or `patentmatch chains tag`) does in the background."""
    tag_until_done(api_engine, api_settings, client.app.state.matcher, None)  # type: ignore[attr-defined]


def _need(client: TestClient, actor: Actor, title: str, region: str, industry: str) -> int:
    body = {"title": title, "description": title, "region": region, "industry_code": industry}
    need = _json(client.post("/api/v1/needs", json=body, headers=actor.headers), 201)
    _json(client.post(f"/api/v1/needs/{need['id']}/publish", headers=actor.headers))
    return int(need["id"])


@pytest.fixture(scope="module")
def world(client, api_engine, api_settings, admin, tto, enterprise) -> dict[str, Any]:
    """Two cities' chains, three patents, a need in each city, all tagged."""
    chains = {
        c["key"]: _json(client.post("/api/v1/chains", json=c, headers=admin.headers))
        for c in (ZAOZHUANG, ANKANG)
    }
    titles = {
        "cathode": ("一种锂离子电池正极材料及其制备方法", ["H01M 4/36"]),
        "cell": ("一种锂电池电芯叠片装置", ["H01M 10/04", "H01M 4/13"]),
        "tea": ("一种富硒绿茶的加工方法", ["A23F 3/06"]),
    }
    patents = {}
    for name, (title, codes) in titles.items():
        body = patent_body(title=title, ipc_codes=codes)
        patents[name] = _json(client.post("/api/v1/patents", json=body, headers=tto.headers), 201)
    needs = {
        "zz": _need(client, enterprise, "锂离子电池电芯一致性提升", "370402", "C3841"),
        "ak": _need(client, enterprise, "富硒茶保鲜与硒含量保持", "610902", "C1530"),
    }
    _tag(client, api_engine, api_settings)
    return {"chains": chains, "patents": patents, "needs": needs}


def _node(chain: dict[str, Any], key: str) -> int:
    return int(next(n["id"] for n in chain["nodes"] if n["key"] == key))


def _tags(client: TestClient, actor: Actor, chain_id: int, **params: Any) -> list[dict[str, Any]]:
    url = f"/api/v1/chains/{chain_id}/tags"
    return list(_json(client.get(url, params=params, headers=actor.headers))["items"])


def test_chains_list_with_node_and_tag_counts(client, world, enterprise):
    rows = {r["key"]: r for r in _json(client.get("/api/v1/chains", headers=enterprise.headers))}
    assert (rows["zz-lithium"]["nodes"], rows["ak-selenium"]["nodes"]) == (3, 2)
    assert rows["zz-lithium"]["owner_region"] == "3704"
    assert (rows["zz-lithium"]["patents"], rows["zz-lithium"]["needs"]) == (2, 1)
    assert (rows["ak-selenium"]["patents"], rows["ak-selenium"]["needs"]) == (1, 1)


def test_patents_and_needs_are_tagged_to_the_right_nodes(client, world, enterprise):
    zz, ak = world["chains"]["zz-lithium"], world["chains"]["ak-selenium"]
    p, needs = world["patents"], world["needs"]
    on = {
        (t["node_id"], t["entity"], t["entity_id"])
        for chain in (zz, ak)
        for t in _tags(client, enterprise, chain["id"])
    }
    assert on == {
        (_node(zz, "materials"), "patent", p["cathode"]["id"]),
        (_node(zz, "materials"), "patent", p["cell"]["id"]),  # its second code, H01M 4/13
        (_node(zz, "cells"), "patent", p["cell"]["id"]),
        (_node(zz, "cells"), "need", needs["zz"]),  # C3841, and the need is in 枣庄
        (_node(ak, "growing"), "patent", p["tea"]["id"]),  # the phrase 富硒
        (_node(ak, "growing"), "need", needs["ak"]),  # 富硒 again; never 枣庄's need
        (_node(ak, "tea"), "patent", p["tea"]["id"]),
        (_node(ak, "tea"), "need", needs["ak"]),
    }
    (cathode,) = _tags(client, enterprise, zz["id"], node_id=_node(zz, "materials"))[-1:]
    kinds = {r["kind"] for r in cathode["reasons"]}
    assert kinds == {"ipc", "phrase"}
    assert 0 < cathode["score"] <= 1


def test_pool_of_a_chain_and_of_a_node(client, world, enterprise):
    zz, ak = world["chains"]["zz-lithium"], world["chains"]["ak-selenium"]
    p = world["patents"]
    url = f"/api/v1/chains/{zz['id']}/patents"
    ids = lambda r: {x["id"] for x in _json(r)["items"]}  # noqa: E731
    assert ids(client.get(url, headers=enterprise.headers)) == {
        p["cathode"]["id"], p["cell"]["id"]
    }  # fmt: skip
    cells = {"node_id": _node(zz, "cells")}
    assert ids(client.get(url, params=cells, headers=enterprise.headers)) == {p["cell"]["id"]}
    page = _json(client.get(url, params={"limit": 1}, headers=enterprise.headers))
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    assert ids(client.get(url, params={"q": "叠片"}, headers=enterprise.headers)) == {
        p["cell"]["id"]
    }  # fmt: skip
    other = {"node_id": _node(ak, "tea")}
    assert_problem(client.get(url, params=other, headers=enterprise.headers), 404)
    assert_problem(client.get("/api/v1/chains/999999/patents", headers=enterprise.headers), 404)


def test_a_removed_tag_stays_removed_when_the_chain_changes(
    client, world, api_engine, api_settings, admin, tto, other_tto, enterprise
):
    zz = world["chains"]["zz-lithium"]
    cell = world["patents"]["cell"]["id"]
    materials = _node(zz, "materials")
    (tag,) = [t for t in _tags(client, tto, zz["id"], node_id=materials) if t["entity_id"] == cell]
    url = f"/api/v1/chains/tags/{tag['id']}"
    for outsider in (other_tto, enterprise):
        assert_problem(client.patch(url, json={"status": "removed"}, headers=outsider.headers), 403)
    assert _json(client.patch(url, json={"status": "removed"}, headers=tto.headers))["status"] == (
        "removed"
    )
    edited = {**ZAOZHUANG, "nodes": [{**ZAOZHUANG["nodes"][0], "description": "正负极材料"},
                                     *ZAOZHUANG["nodes"][1:]]}  # fmt: skip
    _json(client.post("/api/v1/chains", json=edited, headers=admin.headers))
    _tag(client, api_engine, api_settings)
    again = [t for t in _tags(client, tto, zz["id"], node_id=materials) if t["entity_id"] == cell]
    assert [t["status"] for t in again] == ["removed"]
    pool = client.get(
        f"/api/v1/chains/{zz['id']}/patents", params={"node_id": materials}, headers=tto.headers
    )
    assert cell not in {x["id"] for x in _json(pool)["items"]}


def test_new_and_changed_patents_are_tagged_incrementally(
    client, world, api_engine, api_settings, tto, enterprise
):
    zz = world["chains"]["zz-lithium"]
    body = patent_body(title="一种储能电池充电控制方法", ipc_codes=["H02J 7/00"])
    new = _json(client.post("/api/v1/patents", json=body, headers=tto.headers), 201)
    _tag(client, api_engine, api_settings)
    storage = _node(zz, "storage")
    assert [t["entity_id"] for t in _tags(client, enterprise, zz["id"], node_id=storage)] == [
        new["id"]
    ]  # fmt: skip
    patch = {"ipc_codes": ["G06F 16/00"]}
    _json(client.patch(f"/api/v1/patents/{new['id']}", json=patch, headers=tto.headers))
    _tag(client, api_engine, api_settings)
    assert _tags(client, enterprise, zz["id"], node_id=storage) == []


def test_chain_scoped_matching_and_push(client, world, enterprise):
    zz = world["chains"]["zz-lithium"]
    chain_patents = {world["patents"]["cathode"]["id"], world["patents"]["cell"]["id"]}
    need = world["needs"]["zz"]
    url = f"/api/v1/chains/{zz['id']}/needs/{need}/matches"
    found = _json(client.get(url, params={"k": 10}, headers=enterprise.headers))["matches"]
    assert found
    assert {m["id"] for m in found} <= chain_patents
    needs = _json(client.get(f"/api/v1/chains/{zz['id']}/needs", headers=enterprise.headers))
    assert [n["id"] for n in needs["items"]] == [need]
    push = _json(client.get(f"/api/v1/chains/{zz['id']}/push", headers=enterprise.headers))
    (item,) = push["items"]
    assert item["need"]["id"] == need
    assert {m["id"] for m in item["matches"]["matches"]} <= chain_patents


def test_figures_by_chain_and_node(client, world, admin):
    zz, ak = world["chains"]["zz-lithium"], world["chains"]["ak-selenium"]
    rows = _json(client.get("/api/v1/figures", params={"group_by": "chain"}, headers=admin.headers))
    by_key = {r["key"]: r for r in rows}
    assert by_key[str(ak["id"])]["idle_patents"] == 1
    assert by_key[str(ak["id"])]["label"] == "富硒产业链"
    assert by_key[str(zz["id"])]["idle_patents"] >= 2
    nodes = _json(
        client.get("/api/v1/figures", params={"group_by": "chain_node"}, headers=admin.headers)
    )
    tea = next(r for r in nodes if r["key"] == str(_node(ak, "tea")))
    assert (tea["label"], tea["idle_patents"]) == ("富硒产业链 · 富硒茶加工", 1)


def test_editing_is_for_admins_and_validated(client, world, tto, admin):
    assert_problem(client.post("/api/v1/chains", json=ANKANG, headers=tto.headers), 403)
    bad = {**ANKANG, "nodes": [{**ANKANG["nodes"][0], "ipc": ["Z99"]}]}
    body = assert_problem(client.post("/api/v1/chains", json=bad, headers=admin.headers), 422)
    assert any("ipc" in e["field"] for e in body["errors"])
    chain_id = world["chains"]["ak-selenium"]["id"]
    exported = client.get(f"/api/v1/chains/{chain_id}/export", headers=tto.headers)
    assert exported.status_code == 200
    assert "富硒茶加工" in exported.text
