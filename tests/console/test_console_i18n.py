"""One catalogue: every key has both languages, and every key the templates use exists."""

import re
from importlib.resources import files

from app.console.i18n import Catalogue

_KEY = re.compile(r"""\bt\('([a-z_0-9.]+)'""")
_PREFIX = re.compile(r"""\bt\('([a-z_]+\.)' ~""")


def test_every_key_has_chinese_and_english() -> None:
    assert Catalogue.load().missing() == []


def test_templates_use_only_catalogued_keys() -> None:
    catalogue = Catalogue.load().messages
    used: set[str] = set()
    prefixes: set[str] = set()
    for template in (files("app.console") / "templates").iterdir():
        text = template.read_text(encoding="utf-8")
        used |= {k for k in _KEY.findall(text) if not k.endswith(".")}
        prefixes |= set(_PREFIX.findall(text))
    assert sorted(used - set(catalogue)) == []
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in catalogue), prefix


def test_chinese_is_the_default_and_values_fill_in() -> None:
    catalogue = Catalogue.load()
    assert catalogue.translator("xx")("portfolio.count", n=3) == "共 3 件"
    assert catalogue.translator("en")("portfolio.count", n=3) == "3 patents"
