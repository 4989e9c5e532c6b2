"""GB/T 4754-2017 industry classes (国民经济行业分类) from the shared data folder.

The file lists every section (门类, ``C``), division (大类, ``C38``), group (中类, ``C384``) and
class (小类, ``C3841``). Codes are looked up by their digits, so ``3841`` and ``C3841`` are one
class. Without the file only the syntax of a code is checked (``app.catalog.codes``).
"""

import csv
from dataclasses import dataclass
from pathlib import Path

from app.catalog.codes import industry_code
from app.errors import InvalidValue

INDUSTRY_RELATIVE_PATH = Path("data/industry/nic_gbt4754_2017.csv")
_SECTIONS = "ABCDEFGHIJKLMNOPQRST"


@dataclass(frozen=True)
class IndustryClasses:
    """The known codes, by their digits (sections by their letter), with their Chinese names."""

    names: dict[str, tuple[str, str]]  # digits (or section letter) → (full code, name)

    @classmethod
    def load(cls, path: Path) -> "IndustryClasses":
        """Read the CSV (``code, level, …, name_zh, remark_zh``)."""
        names: dict[str, tuple[str, str]] = {}
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                code = (row.get("code") or "").strip().upper()
                if code:
                    names[code.lstrip(_SECTIONS) or code] = (
                        code,
                        (row.get("name_zh") or "").strip(),
                    )
        return cls(names)

    def check(self, raw: str, field: str = "industry_code") -> str:
        """The full code (``C3841``) of a known class; ``InvalidValue`` naming ``field`` if not."""
        code = industry_code(raw, field)
        found = self.names.get(code.lstrip(_SECTIONS) or code)
        if found is None or (code[0] in _SECTIONS and found[0][0] != code[0]):
            raise InvalidValue(f"{raw!r} is not a GB/T 4754-2017 industry class", field=field)
        return found[0]

    def name(self, code: str) -> str | None:
        """The Chinese name of a code, if known."""
        found = self.names.get(code.strip().upper().lstrip(_SECTIONS) or code)
        return found[1] if found else None


def load_industry_classes(shared_dir: Path) -> IndustryClasses | None:
    """The classes under ``shared_dir``, or None when the file is absent."""
    path = shared_dir / INDUSTRY_RELATIVE_PATH
    return IndustryClasses.load(path) if path.is_file() else None


def check_industry(classes: IndustryClasses | None, raw: str, field: str = "industry_code") -> str:
    """A validated code: against the classes when loaded, else by its syntax only."""
    return classes.check(raw, field) if classes is not None else industry_code(raw, field)
