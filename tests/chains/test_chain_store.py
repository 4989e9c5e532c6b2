"""Chain files: validation names the field at fault; loading upserts by key, idempotently."""

import json

import pytest
from sqlmodel import select

from app.chains.files import UnreadableChainFile, dump, read_chain_file
from app.chains.models import ChainNode, ChainTag, TagEntity
from app.chains.rules import industry_covers, ipc_range
from app.chains.spec import parse_chains
from app.chains.store import export_chain, upsert_chain
from app.errors import ValidationFailed

CHAIN = {
    "key": "demo-lithium",
    "name": "锂电产业链",
    "owner_region": "370400",
    "nodes": [
        {"key": "materials", "name": "锂电材料", "position": "upstream", "ipc": ["h01m 4/36"]},
        {"key": "cells", "name": "电芯", "position": "midstream", "industry": ["c3841"]},
    ],
}


def test_a_file_may_hold_one_chain_a_list_or_a_chains_key():
    for data in (CHAIN, [CHAIN], {"chains": [CHAIN]}):
        (spec,) = parse_chains(data)
        assert spec.owner_region == "3704"
        assert spec.nodes[0].ipc == ["H01M4/36"]
        assert spec.nodes[1].industry == ["C3841"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"owner_region": "990000"}, "chains.0.owner_region"),
        ({"nodes": []}, "chains.0.nodes"),
        ({"colour": "red"}, "chains.0.colour"),
        ({"nodes": [{**CHAIN["nodes"][0], "ipc": ["H01M", "Z9"]}]}, "chains.0.nodes.0.ipc.1"),
        ({"nodes": [{**CHAIN["nodes"][0], "position": "top"}]}, "chains.0.nodes.0.position"),
        ({"nodes": [{**CHAIN["nodes"][1], "industry": ["38X"]}]}, "chains.0.nodes.0.industry.0"),
        ({"nodes": [CHAIN["nodes"][0], CHAIN["nodes"][0]]}, "chains.0.nodes"),
    ],
)
def test_errors_name_the_field_at_fault(change, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_chains({**CHAIN, **change})
    assert field in [e["field"] for e in caught.value.extra["errors"]]


def test_unreadable_files_say_where(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("chains:\n  - key: [unclosed\n", encoding="utf-8")
    with pytest.raises(UnreadableChainFile, match="line"):
        read_chain_file(bad)
    with pytest.raises(UnreadableChainFile, match="no such file"):
        read_chain_file(tmp_path / "missing.json")


def test_json_and_yaml_round_trip(tmp_path, session):
    (spec,) = parse_chains(CHAIN)
    chain = upsert_chain(session, spec).chain
    for fmt in ("yaml", "json"):
        path = tmp_path / f"out.{fmt}"
        path.write_text(dump([export_chain(session, chain)], fmt), encoding="utf-8")
        assert read_chain_file(path) == [spec]
    assert json.loads(dump([export_chain(session, chain)], "json"))["chains"][0]["key"] == spec.key


def test_loading_twice_changes_nothing_and_edits_touch_only_their_nodes(session):
    (spec,) = parse_chains(CHAIN)
    first = upsert_chain(session, spec)
    assert first.outcome == "created"
    assert upsert_chain(session, spec).outcome == "unchanged"
    nodes = {n.key: n for n in session.exec(select(ChainNode))}
    cells_hash = nodes["cells"].content_hash
    edited = {**CHAIN, "nodes": [{**CHAIN["nodes"][0], "phrases": ["正极"]}, CHAIN["nodes"][1]]}
    (spec,) = parse_chains(edited)
    result = upsert_chain(session, spec)
    assert (result.outcome, result.changed_nodes) == ("updated", ["materials"])
    assert session.get(ChainNode, nodes["cells"].id).content_hash == cells_hash


def test_a_node_left_out_of_the_file_goes_with_its_tags(session):
    (spec,) = parse_chains(CHAIN)
    chain = upsert_chain(session, spec).chain
    cells = session.exec(select(ChainNode).where(ChainNode.key == "cells")).one()
    session.add(ChainTag(node_id=cells.id, chain_id=chain.id, entity=TagEntity.PATENT, entity_id=1))
    session.flush()
    (spec,) = parse_chains({**CHAIN, "nodes": CHAIN["nodes"][:1]})
    assert upsert_chain(session, spec).removed_nodes == ["cells"]
    assert session.exec(select(ChainTag).where(ChainTag.node_id == cells.id)).all() == []


def test_ranges_and_classes():
    assert ipc_range("A01C21") == "A01C21/"  # main group 21, not 210
    assert ipc_range("h01m 4/3") == "H01M4/3"
    assert industry_covers("C384", "C3841")
    assert industry_covers("C384", "3841")
    assert industry_covers("C", "C3841")
    assert not industry_covers("C38", "C3911")
