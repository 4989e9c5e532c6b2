"""Validate a header-mapped import row into a technology-need record (技术需求)."""

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date

from app.catalog.codes import industry_code
from app.catalog.enums import NeedStatus
from app.catalog.headers import NeedField as N
from app.catalog.records import Issues
from app.catalog.region import validate_region
from app.catalog.uscc import validate_uscc
from app.catalog.values import (
    content_hash,
    parse_amount,
    parse_budget,
    parse_cooperation_modes,
    parse_date,
    parse_need_status,
    plain,
    text_value,
)

NEED_TITLE_MAX = 300
# GB/T 4754-2017: a section letter, optionally with 2–4 digits (C, C38, C384, C3841).
_SIX_DIGITS = re.compile(r"(?<!\d)\d{6}(?!\d)")


@dataclass
class NeedRecord:
    """A validated need row: ``TechNeed`` columns plus who posted it."""

    title: str
    description: str = ""
    external_ref: str | None = None
    industry_code: str | None = None
    region: str | None = None
    cooperation_modes: list[str] = field(default_factory=list)
    budget_min: int | None = None
    budget_max: int | None = None
    deadline: date | None = None
    status: NeedStatus = NeedStatus.PUBLISHED
    illustrative: bool = False
    # The posting enterprise, used to find or create its organisation.
    enterprise: str | None = None
    uscc: str | None = None
    contact_person: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None

    def need_columns(self) -> dict[str, object]:
        """Column values for ``TechNeed`` (without the organisation)."""
        columns = asdict(self)
        for name in ("enterprise", "uscc", "contact_person", "contact_phone", "contact_email"):
            columns.pop(name)
        return columns

    def content_hash(self) -> str:
        """SHA-256 of the need's content, to tell an unchanged re-import from an update."""
        return content_hash(self.need_columns())


def build_need_record(
    row: Mapping[str, str | None],
    *,
    has_org: bool,
    default_status: NeedStatus = NeedStatus.PUBLISHED,
) -> tuple[NeedRecord | None, Issues]:
    """Validate a canonical-keyed need row; ``has_org`` when the caller names the organisation."""
    issues = Issues()
    title = text_value(row.get(N.TITLE))
    if not title:
        issues.error(N.TITLE, "title is empty", row.get(N.TITLE))
    elif len(title) > NEED_TITLE_MAX:
        issues.error(N.TITLE, f"title is longer than {NEED_TITLE_MAX} characters", title[:60])
    enterprise, uscc = text_value(row.get(N.ENTERPRISE)), issues.parsed(row, N.USCC, validate_uscc)
    if not (has_org or enterprise or uscc or row.get(N.USCC)):
        issues.error(N.ENTERPRISE, "no enterprise name or unified social credit code given")
    budget_min, budget_max = _budget(row, issues)
    record = NeedRecord(
        title=title or "",
        description=(row.get(N.DESCRIPTION) or "").strip(),
        external_ref=(text_value(row.get(N.EXTERNAL_REF)) or "")[:100] or None,
        industry_code=issues.parsed(row, N.INDUSTRY, _industry_code),
        region=issues.parsed(row, N.REGION, _region_code),
        cooperation_modes=issues.parsed(row, N.COOPERATION_MODES, _modes) or [],
        budget_min=budget_min,
        budget_max=budget_max,
        deadline=issues.parsed(row, N.DEADLINE, parse_date),
        status=issues.parsed(row, N.STATUS, lambda raw: parse_need_status(raw, default_status))
        or default_status,
        enterprise=enterprise[:200] if enterprise else None,
        uscc=uscc,
        contact_person=text_value(row.get(N.CONTACT_PERSON)),
        contact_phone=text_value(row.get(N.CONTACT_PHONE)),
        contact_email=text_value(row.get(N.CONTACT_EMAIL)),
    )
    return (None if issues.errors else record), issues


def _modes(raw: str) -> list[str]:
    return [mode.value for mode in parse_cooperation_modes(raw)]


def _region_code(raw: str) -> str:
    # Cells often carry the name beside the code: "330100 杭州市".
    found = _SIX_DIGITS.search(plain(raw))
    return validate_region(found.group() if found else raw)


def _industry_code(raw: str) -> str:
    # Cells often carry the name beside the code: "C3841 锂离子电池制造".
    return industry_code(plain(raw).split(" ")[0])


def _budget(row: Mapping[str, str | None], issues: Issues) -> tuple[int | None, int | None]:
    low, high = issues.parsed(row, N.BUDGET, parse_budget) or (None, None)
    low = issues.parsed(row, N.BUDGET_MIN, parse_amount) or low
    high = issues.parsed(row, N.BUDGET_MAX, parse_amount) or high
    if low is not None and high is not None and low > high:
        issues.error(N.BUDGET, "budget minimum is above the maximum", row.get(N.BUDGET))
    return low, high
