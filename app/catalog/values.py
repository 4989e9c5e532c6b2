"""Parsers for single import cells: dates, multi-valued lists, budgets, cooperation modes."""

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from app.catalog.enums import CooperationMode, LegalStatus, NeedStatus, PatentType
from app.catalog.ipc import InvalidIpcCode, IpcScheme, normalise_ipc

# Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in).
_EXCEL_EPOCH = date(1899, 12, 30)
# Serial numbers 10000–99999 are 1927-05-18 … 2173-10-14: wide enough, and no 8-digit date.
_EXCEL_SERIAL = re.compile(r"\d{5}(?:\.0+)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SEPARATED = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
# A time part after the date, as openpyxl, databases and ISO 8601 write it.
_TIME_SUFFIX = re.compile(r"(?:[T\s]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)$")
_SECTIONED = re.compile(r"(?:^|\n)\s*(title|keywords|abstract)\s*:\s*", re.IGNORECASE)
# CN kind codes: A published application, B granted invention, U utility model, S design.
_KIND_TYPE = {
    "A": PatentType.INVENTION,
    "B": PatentType.INVENTION,
    "C": PatentType.INVENTION,
    "U": PatentType.UTILITY_MODEL,
    "Y": PatentType.UTILITY_MODEL,
    "S": PatentType.DESIGN,
}
_KIND_STATUS = {
    "A": LegalStatus.PENDING,
    "B": LegalStatus.GRANTED,
    "C": LegalStatus.GRANTED,
    "U": LegalStatus.GRANTED,
    "Y": LegalStatus.GRANTED,
    "S": LegalStatus.GRANTED,
}
_MULTI_SEPARATORS = re.compile(r"[;；,，、\n\r]+")

_COOPERATION_WORDS: tuple[tuple[str, CooperationMode], ...] = (
    # Checked in order: 开放许可 before 许可, 委托 before the generic 开发.
    ("开放许可", CooperationMode.OPEN_LICENCE),
    ("open licence", CooperationMode.OPEN_LICENCE),
    ("open license", CooperationMode.OPEN_LICENCE),
    ("open_licence", CooperationMode.OPEN_LICENCE),
    ("委托", CooperationMode.COMMISSIONED_RD),
    ("commission", CooperationMode.COMMISSIONED_RD),
    ("转让", CooperationMode.TRANSFER),
    ("transfer", CooperationMode.TRANSFER),
    ("许可", CooperationMode.LICENCE),
    ("licen", CooperationMode.LICENCE),
    ("合作", CooperationMode.JOINT_DEVELOPMENT),
    ("联合", CooperationMode.JOINT_DEVELOPMENT),
    ("joint", CooperationMode.JOINT_DEVELOPMENT),
)

_STATUS_WORDS: dict[str, NeedStatus] = {
    "草稿": NeedStatus.DRAFT,
    "未发布": NeedStatus.DRAFT,
    "draft": NeedStatus.DRAFT,
    "发布": NeedStatus.PUBLISHED,
    "已发布": NeedStatus.PUBLISHED,
    "征集中": NeedStatus.PUBLISHED,
    "有效": NeedStatus.PUBLISHED,
    "published": NeedStatus.PUBLISHED,
    "open": NeedStatus.PUBLISHED,
    "关闭": NeedStatus.CLOSED,
    "已关闭": NeedStatus.CLOSED,
    "已解决": NeedStatus.CLOSED,
    "已对接": NeedStatus.CLOSED,
    "closed": NeedStatus.CLOSED,
}

_UNIT = {"元": 1, "千": 1_000, "千元": 1_000, "万": 10_000, "万元": 10_000, "亿": 10**8}
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(亿元?|万元?|千元?|元)?")
_NEGOTIABLE = ("面议", "待定", "协商", "negotiable")


def plain(text: str) -> str:
    """NFKC (full-width → half-width), whitespace collapsed, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def parse_date(raw: str | date | datetime | float | None) -> date | None:
    """A date from 2014-05-06, 2014/5/6, 20140506, 2014年5月6日, datetimes or Excel serials.

    Raises ValueError with a human reason for text that is not a possible date.
    """
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = plain(str(raw))
    if not text:
        return None
    if _EXCEL_SERIAL.fullmatch(text):
        return _EXCEL_EPOCH + timedelta(days=int(float(text)))
    text = _TIME_SUFFIX.sub("", text)
    match = _COMPACT.fullmatch(text) or _SEPARATED.fullmatch(text)
    if match is None:
        raise ValueError("not a date; write it as 2014-05-06")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"impossible date (year {year}, month {month}, day {day})") from None


def split_multi(raw: str | None) -> list[str]:
    """Split a multi-valued cell on ; ； , ， 、 and newlines; blanks and repeats dropped."""
    if not raw:
        return []
    values: list[str] = []
    for part in _MULTI_SEPARATORS.split(raw):
        value = plain(part)
        if value and value not in values:
            values.append(value)
    return values


def parse_cooperation_modes(raw: str | None) -> list[CooperationMode]:
    """Modes from 转让、许可、开放许可、合作开发、委托研发 (or English); ValueError if unknown."""
    modes: list[CooperationMode] = []
    for part in split_multi(raw.replace("/", ";") if raw else raw):
        lowered = part.lower()
        mode = next((m for word, m in _COOPERATION_WORDS if word in lowered), None)
        if mode is None:
            raise ValueError(
                f"unknown cooperation mode {part!r}; use 转让, 许可, 开放许可, 合作开发 or 委托研发"
            )
        if mode not in modes:
            modes.append(mode)
    return modes


def parse_need_status(raw: str | None, default: NeedStatus) -> NeedStatus:
    """Need status from 草稿/已发布/已关闭 or draft/published/closed; ValueError if unknown."""
    if not raw:
        return default
    status = _STATUS_WORDS.get(plain(raw).lower())
    if status is None:
        raise ValueError("unknown status; use 草稿 (draft), 已发布 (published) or 已关闭 (closed)")
    return status


def parse_amount(raw: str, default_unit: int = 1) -> int:
    """A single amount in yuan: 200000, 20万, 1.5亿, 50万元; ValueError otherwise."""
    text = plain(raw).replace(",", "").replace("¥", "").replace("￥", "")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise ValueError("not an amount; write e.g. 50万, 200000 or 50-100万")
    number, unit = match.groups()
    return round(float(number) * (_UNIT[unit] if unit else default_unit))


def parse_budget(raw: str | None) -> tuple[int | None, int | None]:
    """(min, max) in yuan from "50-100万", "100万元以下", "50万以上", "面议" or a plain number."""
    if not raw or not plain(raw):
        return None, None
    text = plain(raw).replace(" ", "")
    if any(word in text for word in _NEGOTIABLE):
        return None, None
    for word in ("以下", "以内", "不超过", "<=", "≤", "<"):
        if word in text:
            return None, parse_amount(text.replace(word, ""))
    for word in ("以上", "不低于", ">=", "≥", ">"):
        if word in text:
            return parse_amount(text.replace(word, "")), None
    parts = re.split(r"[-~～至到—]+", text)
    if len(parts) == 2 and all(parts):
        # "50-100万": the unit written after the upper bound applies to both.
        unit_match = _AMOUNT.fullmatch(parts[1])
        unit = unit_match.group(2) if unit_match else None
        low = parse_amount(parts[0], _UNIT[unit] if unit and not _has_unit(parts[0]) else 1)
        high = parse_amount(parts[1])
        if low > high:
            raise ValueError("budget range is reversed (minimum above maximum)")
        return low, high
    amount = parse_amount(text)
    return amount, amount


def _has_unit(text: str) -> bool:
    match = _AMOUNT.fullmatch(text)
    return bool(match and match.group(2))


def content_hash(columns: Mapping[str, object]) -> str:
    """Stable SHA-256 of column values (dates as ISO strings, keys sorted)."""
    text = json.dumps(columns, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_value(raw: str | None) -> str | None:
    """Trimmed text with runs of whitespace collapsed; None when blank."""
    if raw is None:
        return None
    return plain(raw) or None


def split_combined_text(raw: str) -> tuple[str | None, str | None]:
    """(title, abstract) from "Title: … Abstract: …" or "title [SEP] keywords [SEP] abstract"."""
    if "[SEP]" in raw:
        parts = [p.strip() for p in raw.split("[SEP]")]
        return parts[0] or None, (parts[-1] if len(parts) > 1 else None) or None
    pieces = _SECTIONED.split(raw)
    sections = {pieces[i].lower(): pieces[i + 1].strip() for i in range(1, len(pieces) - 1, 2)}
    if not sections:
        return text_value(raw), None
    return sections.get("title") or None, sections.get("abstract") or None


def publication_kind(publication: str | None) -> tuple[PatentType | None, LegalStatus | None]:
    """Patent type and status implied by a CN publication's kind code (A, B, U, S …)."""
    kind = _kind_code(publication) or ""
    return _KIND_TYPE.get(kind), _KIND_STATUS.get(kind)


def _kind_code(publication: str | None) -> str | None:
    if publication and publication.startswith("CN"):
        return re.sub(r"\d$", "", publication)[-1:]
    return None


def cpc_as_ipc(raw: str, scheme: IpcScheme | None) -> list[str]:
    """CPC labels as IPC codes: CPC extends IPC, so keep the codes IPC also has."""
    codes: list[str] = []
    for token in re.findall(r"[A-H]\d{2}[A-Z]\s*\d{1,4}\s*/\s*\d{1,6}", raw.upper()):
        try:
            code = normalise_ipc(token)
        except InvalidIpcCode:
            continue
        if scheme is not None:
            found = next((c for c in _ipc_ancestors(code) if scheme.contains(c)), None)
            if found is None:
                continue
            code = normalise_ipc(found)
        if code not in codes:
            codes.append(code)
    return codes


def _ipc_ancestors(code: str) -> list[str]:
    """A group code and the shorter subgroups above it: G06F 21/6245 → 21/624, 21/62, 21/00."""
    group, subgroup = code.split("/")
    shorter = [f"{group}/{subgroup[:n]}" for n in range(len(subgroup), 1, -1)]
    return [*shorter, f"{group}/00"]
