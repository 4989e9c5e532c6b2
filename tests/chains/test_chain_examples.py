"""The shipped example chain files: they load, and every code is in the shared schemes."""

import csv
from pathlib import Path

import pytest

from app.catalog.ipc import IpcScheme
from app.chains.files import read_chain_file

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "chains").glob("*.yaml"))


def test_there_are_the_three_seed_cities():
    assert [p.stem for p in EXAMPLES] == ["ankang", "jincheng", "zaozhuang"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_codes_exist_in_the_shared_schemes(path: Path, shared_dir: Path):
    scheme = IpcScheme.load(shared_dir / "data" / "ipc" / "ipc_zh_2026_01.csv")
    ipc_codes = {code.replace(" ", "") for code in scheme._by_code}
    with (shared_dir / "data" / "industry" / "nic_gbt4754_2017.csv").open(encoding="utf-8") as f:
        industry = {row["code"] for row in csv.DictReader(f)}
    missing = []
    for chain in read_chain_file(path):
        assert chain.illustrative, f"{chain.key}: the example nodes are our guess"
        for node in chain.nodes:
            for prefix in node.ipc:
                # A main group may be written without its /00 (A01C21 = A01C21/00 and below).
                if prefix not in ipc_codes and f"{prefix}/00" not in ipc_codes:
                    missing.append(f"{chain.key}.{node.key}: IPC {prefix}")
            missing += [
                f"{chain.key}.{node.key}: GB/T 4754 {code}"
                for code in node.industry
                if code not in industry
            ]
    assert missing == []
