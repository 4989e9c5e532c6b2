"""Traditional→Simplified, search normalisation and script detection on real titles."""

import json
from pathlib import Path

import pytest

from app.catalog.text import count_traditional, detect_script, normalise_for_search, to_simplified


def read_corpus(shared_dir: Path) -> list[dict[str, object]]:
    path = shared_dir / "eval" / "dev" / "corpus.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def corpus(shared_dir: Path) -> list[dict[str, object]]:
    return read_corpus(shared_dir)


def test_real_taiwanese_titles_become_simplified() -> None:
    # Titles of zh-Hant rows of corpus.jsonl.
    assert to_simplified("新型ＣＲＩＳＰＲ酶以及系統") == "新型ＣＲＩＳＰＲ酶以及系统"
    assert to_simplified("細胞壞死抑制劑與相關方法") == "细胞坏死抑制剂与相关方法"
    assert to_simplified("抑制血管新生之化合物及其製備方法") == "抑制血管新生之化合物及其制备方法"


def test_simplified_and_latin_pass_through() -> None:
    assert to_simplified("一种风能LED路灯") == "一种风能LED路灯"
    assert to_simplified("") == ""
    assert to_simplified("Battery management 2024") == "Battery management 2024"


def test_normalise_for_search() -> None:
    assert normalise_for_search("新型ＣＲＩＳＰＲ酶以及系統") == "新型crispr酶以及系统"
    assert normalise_for_search("  一種 \t LED\n路燈  ") == "一种 led 路灯"
    assert normalise_for_search("Lithium-Ion　Battery") == "lithium-ion battery"
    traditional = normalise_for_search("可增加牛樟芝子實體及提升三萜類之牛樟芝培養基")
    assert normalise_for_search(to_simplified(traditional)) == traditional


def test_detect_script_on_the_dev_corpus(corpus: list[dict[str, object]]) -> None:
    hans = [str(row["title"]) for row in corpus if row["lang"] == "zh-Hans"]
    hant = [str(row["title"]) for row in corpus if row["lang"] == "zh-Hant"]
    assert len(hant) > 7000
    hans_right = sum(detect_script(title) == "zh-Hans" for title in hans) / len(hans)
    hant_right = sum(detect_script(title) == "zh-Hant" for title in hant) / len(hant)
    # Some short Traditional titles (骨植入物, 尿袋) are written identically in Simplified.
    assert hans_right > 0.99
    assert hant_right > 0.97


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("細胞壞死抑制劑與相關方法", "zh-Hant"),
        ("细胞坏死抑制剂与相关方法", "zh-Hans"),
        ("一种高效电控中药煎药器", "zh-Hans"),
        ("A lithium battery with a ceramic separator", "en"),
        ("Method for producing LED lamps (一种)", "en"),
        ("一种LED灯", "zh-Hans"),
        ("", "en"),
        ("12345", "en"),
    ],
)
def test_detect_script(text: str, expected: str) -> None:
    assert detect_script(text) == expected


def test_a_stray_variant_in_long_simplified_text_is_not_traditional() -> None:
    # A real zh-Hans title of the corpus with one Traditional character (盜).
    title = "一种计算机大数据用防盜警报装置"
    assert count_traditional(title) == 1
    long_text = title + "，" + "本发明涉及计算机技术领域，具体为一种防盗警报装置。" * 5
    assert detect_script(long_text) == "zh-Hans"
