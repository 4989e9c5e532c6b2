"""GB/T 4754 industry classes: lookup by digits, section letters checked, syntax-only fallback."""

from pathlib import Path

import pytest

from app.catalog.industry import INDUSTRY_RELATIVE_PATH, check_industry, load_industry_classes
from app.errors import InvalidValue

SAMPLE = """code,level,section,division,group,class,name_zh,remark_zh
C,1,C,,,,制造业,
C38,2,C,38,,,电气机械和器材制造业,
C3841,4,C,38,384,3841,锂离子电池制造,
"""


def _classes(tmp_path: Path) -> Path:
    path = tmp_path / INDUSTRY_RELATIVE_PATH
    path.parent.mkdir(parents=True)
    path.write_text(SAMPLE, encoding="utf-8")
    return tmp_path


def test_known_classes_come_back_with_their_section(tmp_path: Path) -> None:
    classes = load_industry_classes(_classes(tmp_path))
    assert classes is not None
    assert classes.check("3841") == "C3841"
    assert classes.check(" c38 ") == "C38"
    assert classes.name("C3841") == "锂离子电池制造"
    for bad in ("3849", "D3841", "38x"):
        with pytest.raises(InvalidValue) as raised:
            classes.check(bad, "products.0.industry_code")
        assert raised.value.field == "products.0.industry_code"


def test_without_the_file_only_the_syntax_is_checked(tmp_path: Path) -> None:
    assert load_industry_classes(tmp_path) is None
    assert check_industry(None, "c3849") == "C3849"
    with pytest.raises(InvalidValue):
        check_industry(None, "38x")


def test_the_shared_list(shared_dir: Path) -> None:
    shared = shared_dir
    if not (shared / INDUSTRY_RELATIVE_PATH).is_file():
        pytest.skip("shared GB/T 4754 list not present")
    classes = load_industry_classes(shared)
    assert classes is not None
    assert classes.check("3841") == "C3841"
    assert classes.check("0111") == "A0111"
