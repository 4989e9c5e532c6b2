"""IPC codes (国际专利分类号): parsing, normalisation and the CNIPA Chinese scheme's labels.

The normal form is ``H01M 4/36``: subclass, one space, main group without leading zeros,
``/``, subgroup with at least two digits. Subclass-, class- and section-only codes stay bare.
An ``IpcPrefix`` (any leading part of a code, ``H01M4/3``) is the one parsed form of an IPC
filter; ``subclass_of`` is the one lenient cut of a code to its subclass.
"""

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from app.catalog.text import to_simplified
from app.errors import InvalidValue

SCHEME_RELATIVE_PATH = Path("data") / "ipc" / "ipc_zh_2026_01.csv"

_EDITION = re.compile(r"[(\[]\s*\d{4}\s*\.\s*\d{2}\s*[)\]]")
_GROUPED = re.compile(r"([A-H]\d{2}[A-Z])\s*0*(\d{1,4})\s*/\s*(\d{1,6})")
# The 14-character database form: subclass, 4-digit main group, 6-digit subgroup.
_LONG = re.compile(r"([A-H]\d{2}[A-Z])(\d{4})(\d{6})")
_BARE = re.compile(r"[A-H](?:\d{2}[A-Z]?)?")
_FIND = re.compile(r"[A-H]\d{2}[A-Z]\d{10}(?!\d)|[A-H]\d{2}[A-Z](?:\s*\d{1,4}\s*/\s*\d{1,6})?")
_HARD_SEPARATORS = re.compile(r"[;,|\n\r、]+")
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
# Any leading part of a compact code: H, H0, H01, H01M, H01M4, H01M4/, H01M4/36.
_PREFIX = re.compile(r"[A-H](?:\d(?:\d(?:[A-Z](?:\d{1,4}(?:/\d{0,6})?)?)?)?)?")
_LEVEL_ORDER = {"section": 0, "class": 1, "subclass": 2, "main_group": 3, "subgroup": 4}


class InvalidIpcCode(InvalidValue):
    """Text that is not an IPC code (or prefix)."""

    default_field = "ipc"


@dataclass(frozen=True)
class IpcEntry:
    """One entry of the IPC scheme."""

    code: str
    level: str
    title_zh: str


def _prepare(raw: str) -> str:
    """Full-width to ASCII, upper-case, edition suffixes such as ``(2006.01)`` removed."""
    return _EDITION.sub(" ", unicodedata.normalize("NFKC", raw).upper()).strip()


def _format_group(raw: str, subclass: str, group: str, subgroup: str) -> str:
    """``H01M 4/36`` from its parts; trailing subgroup zeros beyond two digits are dropped."""
    if int(group) == 0:
        raise InvalidIpcCode(f"IPC code {raw!r}: main group 0 does not exist")
    if len(subgroup) < 2:
        raise InvalidIpcCode(f"IPC code {raw!r}: subgroup {subgroup!r} needs at least two digits")
    # Subgroups are decimal fractions: 4/360 is 4/36.
    trimmed = subgroup.rstrip("0").ljust(2, "0")
    return f"{subclass} {int(group)}/{trimmed}"


def normalise_ipc(raw: str) -> str:
    """Normalise one IPC code to ``H01M 4/36`` (or ``H01M`` for a subclass); raise if invalid."""
    text = _prepare(raw)
    grouped = _GROUPED.fullmatch(text)
    if grouped:
        return _format_group(raw, *grouped.groups())
    long_form = _LONG.fullmatch(text)
    if long_form:
        return _format_group(raw, *long_form.groups())
    if _BARE.fullmatch(text):
        return text
    raise InvalidIpcCode(f"{raw!r} is not an IPC code: expected e.g. H01M 4/36, H01M4/36 or H01M")


def split_ipc_list(raw: str) -> list[str]:
    """Split a cell listing IPC codes into normalised, de-duplicated codes, main code first."""
    codes: list[str] = []
    for piece in _HARD_SEPARATORS.split(_prepare(raw)):
        position = 0
        for found in _FIND.finditer(piece):
            _refuse_leftover(raw, piece[position : found.start()])
            code = normalise_ipc(found.group())
            if code not in codes:
                codes.append(code)
            position = found.end()
        _refuse_leftover(raw, piece[position:])
    return codes


def _refuse_leftover(raw: str, between: str) -> None:
    """Text between codes must be blank; anything else means the cell is not an IPC list."""
    if between.strip():
        raise InvalidIpcCode(
            f"IPC list {raw!r}: {between.strip()!r} is not an IPC code (expected e.g. H01M 4/36)"
        )


def ipc_subclass(code: str) -> str:
    """The subclass of a code: ``H01M 4/36`` → ``H01M``."""
    normal = normalise_ipc(code)
    if len(normal) < 4:
        raise InvalidIpcCode(f"IPC code {code!r} is broader than a subclass")
    return normal[:4]


def subclass_of(code: str) -> str:
    """The subclass part of a code, unchecked (``h01m 4/36`` → ``H01M``): for codes that were
    validated elsewhere or come from evaluation files, where a stray code must not stop a run."""
    return "".join(code.split()).upper()[:4]


@dataclass(frozen=True)
class IpcPrefix:
    """Any leading part of an IPC code, compact and upper case: ``h01m 4/36`` → ``H01M4/36``."""

    compact: str

    @classmethod
    def parse(cls, raw: str, field: str = "ipc_prefix") -> "IpcPrefix":
        """The prefix in ``raw`` (spaces, case and full width ignored); ``InvalidIpcCode``."""
        text = "".join(_prepare(raw).split())
        if not _PREFIX.fullmatch(text):
            raise InvalidIpcCode(f"{raw!r} is not an IPC code prefix (e.g. H01M)", field=field)
        return cls(text)

    @classmethod
    def parse_optional(cls, raw: str | None, field: str = "ipc_prefix") -> "IpcPrefix | None":
        """``parse``, or None for a missing or blank value."""
        return None if raw is None or not raw.strip() else cls.parse(raw, field)

    def matches(self, code: str) -> bool:
        """True when ``code`` (stored ``H01M 4/36`` or typed ``h01m4/36``) starts with it."""
        return "".join(code.split()).upper().startswith(self.compact)

    @property
    def stored(self) -> str:
        """The prefix as stored codes spell it (``H01M4/3`` → ``H01M 4/3``), for SQL."""
        head, rest = self.compact[:4], self.compact[4:]
        return f"{head} {rest}" if rest else head

    def __str__(self) -> str:
        return self.compact


def ipc_section(code: str) -> str:
    """The section letter of a code: ``H01M 4/36`` → ``H``."""
    return normalise_ipc(code)[0]


def ipc_main_group(code: str) -> str:
    """The main group of a group code: ``H01M 4/36`` → ``H01M 4/00``."""
    normal = normalise_ipc(code)
    if "/" not in normal:
        raise InvalidIpcCode(f"IPC code {code!r} has no group")
    return normal.split("/")[0] + "/00"


def clean_label(title: str) -> str:
    """Remove the stray spaces a PDF extraction left between two CJK characters."""
    return _SPACE_BETWEEN_CJK.sub("", title).strip()


class IpcScheme:
    """The CNIPA Chinese IPC scheme: which codes exist and their Chinese titles."""

    def __init__(self, entries: list[IpcEntry]) -> None:
        self._entries = entries
        self._by_code = {entry.code: entry for entry in entries}
        # Prefix search compares codes without their space, as users type them.
        self._compact = [entry.code.replace(" ", "") for entry in entries]
        self._titles = [entry.title_zh.lower() for entry in entries]

    @classmethod
    def load(cls, path: Path) -> "IpcScheme":
        """Read the scheme CSV (``code, level, title_zh, notes_zh``), skipping malformed codes."""
        entries: list[IpcEntry] = []
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                try:
                    code = normalise_ipc(row["code"])
                except InvalidIpcCode:
                    # A few rows (E01D101/0 …) are truncated by the PDF extraction upstream.
                    continue
                entries.append(IpcEntry(code, row["level"], clean_label(row["title_zh"])))
        return cls(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def contains(self, code: str) -> bool:
        """True when the code itself is in the scheme (a parent being there is not enough)."""
        return self.entry(code) is not None

    def entry(self, code: str) -> IpcEntry | None:
        """The scheme entry for a code, or None."""
        try:
            return self._by_code.get(normalise_ipc(code))
        except InvalidIpcCode:
            return None

    def label(self, code: str) -> str | None:
        """The Chinese title of a code, or None when unknown or untitled."""
        found = self.entry(code)
        return found.title_zh if found and found.title_zh else None

    def search(self, prefix_or_text: str, limit: int) -> list[IpcEntry]:
        """Entries whose code starts with the query, or whose title contains it (broadest first)."""
        query = "".join(_prepare(prefix_or_text).split())
        if not query or limit <= 0:
            return []
        if _PREFIX.fullmatch(query):
            return self._search_code(query, limit)
        return self._search_title(prefix_or_text, limit)

    def _search_code(self, prefix: str, limit: int) -> list[IpcEntry]:
        """Entries whose compact code starts with ``prefix``, in scheme order."""
        found: list[IpcEntry] = []
        for entry, compact in zip(self._entries, self._compact, strict=True):
            if compact.startswith(prefix):
                found.append(entry)
                if len(found) == limit:
                    break
        return found

    def _search_title(self, text: str, limit: int) -> list[IpcEntry]:
        """Entries whose title contains the text: exact titles first, then broader levels."""
        plain = clean_label(unicodedata.normalize("NFKC", text)).lower()
        # The scheme is in Simplified; a Traditional query must match too.
        needles = {plain, to_simplified(plain)}
        ranked: list[tuple[bool, int, int]] = []
        for position, title in enumerate(self._titles):
            if any(needle in title for needle in needles):
                level = _LEVEL_ORDER.get(self._entries[position].level, len(_LEVEL_ORDER))
                ranked.append((title not in needles, level, position))
        return [self._entries[position] for *_, position in sorted(ranked)[:limit]]


def load_ipc_scheme(shared_dir: Path) -> IpcScheme | None:
    """The CNIPA scheme under ``shared_dir``, or None when absent (then only syntax is checked)."""
    path = shared_dir / SCHEME_RELATIVE_PATH
    if not path.is_file():
        return None
    return IpcScheme.load(path)
