"""IPC codes: normalisation, lists as databases export them, and the CNIPA scheme."""

import csv
from pathlib import Path

import pytest

from app.catalog.ipc import (
    InvalidIpcCode,
    IpcScheme,
    clean_label,
    ipc_main_group,
    ipc_section,
    ipc_subclass,
    load_ipc_scheme,
    normalise_ipc,
    split_ipc_list,
)


@pytest.mark.parametrize(
    "raw",
    [
        "H01M 4/36",
        "H01M4/36",
        "H01M  4/36",
        "h01m 4/36",
        "Ｈ０１Ｍ　４／３６",
        "H01M0004360000",
        "H01M 4/36 (2006.01)",
        "H01M4/36（2006.01）",
        "H01M 4/360",
        " H01M 04 / 36 ",
    ],
)
def test_forms_of_one_subgroup(raw: str) -> None:
    assert normalise_ipc(raw) == "H01M 4/36"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("H01M", "H01M"),
        ("h01m", "H01M"),
        ("H01M 4/00", "H01M 4/00"),
        ("H01M0004000000", "H01M 4/00"),
        ("G06F18/2321", "G06F 18/2321"),  # real, from the PatentSemantix sample
        ("G06F0018232100", "G06F 18/2321"),
        ("H01M 10/0525", "H01M 10/0525"),
        ("B64U101/30", "B64U 101/30"),
        ("A01", "A01"),
        ("A", "A"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise_ipc(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "H01M4", "H01M 4/3", "H01M 0/36", "I01M 4/36", "H1M 4/36", "电池", "H01M 4/36/1"],
)
def test_invalid_codes(raw: str) -> None:
    with pytest.raises(InvalidIpcCode):
        normalise_ipc(raw)


def test_split_real_cells_from_the_samples(shared_dir: Path) -> None:
    path = shared_dir / "data/patents/cn_full_record_samples/PatentSemantix_10_records.csv"
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))[1:]
    # The export's header is shifted by one column: the 分类号 list sits under 主分类号.
    cells = [row[17] for row in rows]
    assert cells[0] == "B64U20/80;B64U101/30"
    for cell in cells:
        codes = split_ipc_list(cell)
        assert len(codes) == len(cell.split(";"))
        assert codes == [normalise_ipc(part) for part in cell.split(";")]


def test_split_separators_and_whitespace_between_codes() -> None:
    cell = "H01M 4/36；H01M 10/052，H01M4/36 | G06F 17/30\nA61K 31/00 B64C39/02  B64D47/08、H01M"
    assert split_ipc_list(cell) == [
        "H01M 4/36",
        "H01M 10/052",
        "G06F 17/30",
        "A61K 31/00",
        "B64C 39/02",
        "B64D 47/08",
        "H01M",
    ]


def test_split_keeps_main_first_and_handles_editions_and_blanks() -> None:
    assert split_ipc_list("H01M 4/36(2006.01); H01M 4/36 (2006.01) ;H01M 10/0525(2010.01)") == [
        "H01M 4/36",
        "H01M 10/0525",
    ]
    assert split_ipc_list("H01M0004360000 H01M0010052500") == ["H01M 4/36", "H01M 10/0525"]
    assert split_ipc_list("") == []
    assert split_ipc_list(" ; ") == []


@pytest.mark.parametrize("cell", ["H01M 4/36; 电池", "H01M 4/36 foo", "H01M 4", "x H01M"])
def test_split_refuses_garbage_naming_it(cell: str) -> None:
    with pytest.raises(InvalidIpcCode, match="is not an IPC code"):
        split_ipc_list(cell)


def test_parts_of_a_code() -> None:
    assert ipc_subclass("h01m4/36") == "H01M"
    assert ipc_subclass("H01M") == "H01M"
    assert ipc_section("H01M 4/36") == "H"
    assert ipc_main_group("H01M 10/0525") == "H01M 10/00"
    with pytest.raises(InvalidIpcCode):
        ipc_main_group("H01M")
    with pytest.raises(InvalidIpcCode, match="broader than a subclass"):
        ipc_subclass("H01")


def test_clean_label_removes_spaces_between_cjk_only() -> None:
    assert clean_label("处理草地或草坪用的 犁") == "处理草地或草坪用的犁"
    assert clean_label("割草机入 A01D43/12；工程") == "割草机入 A01D43/12；工程"
    assert clean_label("（A01D37/00， A01D39/00优先）") == "（A01D37/00， A01D39/00优先）"


@pytest.fixture(scope="module")
def scheme(shared_dir: Path) -> IpcScheme:
    loaded = load_ipc_scheme(shared_dir)
    assert loaded is not None
    return loaded


def test_scheme_loads_fully(shared_dir: Path) -> None:
    # No time limit here: speed targets belong in scripts/ benchmarks, not in timed tests.
    loaded = load_ipc_scheme(shared_dir)
    assert loaded is not None
    # 77,249 rows, 5 of them truncated upstream (E01D101/0 …).
    assert 77_000 < len(loaded) <= 77_249


def test_scheme_contains_and_labels(scheme: IpcScheme) -> None:
    assert scheme.contains("H01M 4/36")
    assert scheme.contains("h01m4/36")
    assert scheme.contains("H01M0004360000")
    assert scheme.contains("H01M")
    assert scheme.contains("H01M 4/00")
    assert scheme.label("H01M 4/36") == "作为活性物质、活性体、活性液体的材料的选择"
    # A subgroup whose main group exists, but which itself does not, is unknown.
    assert not scheme.contains("H01M 4/3699")
    assert scheme.label("H01M 4/3699") is None
    assert not scheme.contains("not a code")
    assert scheme.label("not a code") is None


def test_scheme_labels_lose_stray_cjk_spaces(scheme: IpcScheme) -> None:
    # The CSV title is "处理草地或草坪用的 犁".
    assert scheme.label("A01B 1/24") == "处理草地或草坪用的犁"


def test_search_by_code_prefix(scheme: IpcScheme) -> None:
    found = scheme.search("H01M 4/3", 5)
    assert [entry.code for entry in found] == [
        "H01M 4/30",
        "H01M 4/32",
        "H01M 4/34",
        "H01M 4/36",
        "H01M 4/38",
    ]
    first = scheme.search("h01m", 3)
    assert first[0].code == "H01M"
    assert first[0].level == "subclass"
    assert all(entry.code.startswith("H01M") for entry in first)
    assert len(scheme.search("H", 7)) == 7


def test_search_by_chinese_text_broadest_first(scheme: IpcScheme) -> None:
    found = scheme.search("锂离子", 10)
    assert found
    assert all("锂离子" in entry.title_zh for entry in found)
    exact = scheme.search("电池", 3)
    assert all(entry.title_zh == "电池" for entry in exact)
    # A Traditional query finds the Simplified titles.
    assert scheme.search("電池", 3) == exact
    assert scheme.search("电池", 0) == []
    assert scheme.search("   ", 5) == []
    assert scheme.search("量子纠缠猫粮", 5) == []


def test_missing_scheme_gives_none(tmp_path: Path) -> None:
    assert load_ipc_scheme(tmp_path) is None
