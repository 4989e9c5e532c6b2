"""Patent terms (保护期限), expiry, and the patent types and legal statuses databases write.

Terms per the Patent Law: invention 20 years, utility model 10, design 10 — or 15 for design
applications filed on or after 2021-06-01 (fourth amendment) — counted from the filing date.
"""

import re
import unicodedata
from datetime import date

from app.catalog.enums import LegalStatus, PatentType
from app.catalog.text import to_simplified

DESIGN_15_YEARS_FROM = date(2021, 6, 1)
_DAYS_PER_YEAR = 365.25

_TYPE_EXACT = {
    "1": PatentType.INVENTION,
    "8": PatentType.INVENTION,
    "2": PatentType.UTILITY_MODEL,
    "9": PatentType.UTILITY_MODEL,
    "3": PatentType.DESIGN,
    "invention": PatentType.INVENTION,
    "utility model": PatentType.UTILITY_MODEL,
    "utility_model": PatentType.UTILITY_MODEL,
    "utility": PatentType.UTILITY_MODEL,
    "design": PatentType.DESIGN,
    "industrial design": PatentType.DESIGN,
}
# Checked in order on Simplified text; 新型 / 设计 are the Taiwanese 新型專利 / 設計專利.
_TYPE_KEYWORDS = (
    ("实用新型", PatentType.UTILITY_MODEL),
    ("新型", PatentType.UTILITY_MODEL),
    ("外观", PatentType.DESIGN),
    ("设计", PatentType.DESIGN),
    ("发明", PatentType.INVENTION),
)

# Checked in order: the specific reasons before the generic in-force / dead words, so that
# 无权-视为撤回 is withdrawn, 有权-部分无效 still granted, and "invalid" is not read as "valid".
_STATUS_KEYWORDS: tuple[tuple[LegalStatus, tuple[str, ...]], ...] = (
    (LegalStatus.GRANTED, ("部分无效", "partially invalid")),
    (LegalStatus.EXPIRED, ("期限届满", "届满", "期满", "expired", "expiry", "term ended")),
    (
        LegalStatus.LAPSED,
        (
            "未缴年费",
            "终止",
            "lapse",
            "ceased",
            "inactive",
            "not in force",
            "dead",
        ),
    ),
    (LegalStatus.INVALIDATED, ("全部无效", "无效", "invalidated", "invalid", "revoked")),
    (
        LegalStatus.WITHDRAWN,
        ("撤回", "驳回", "放弃", "withdrawn", "withdrawal", "rejected", "refused", "abandon"),
    ),
    (
        LegalStatus.PENDING,
        (
            "审中",
            "实质审查",
            "实审",
            "在审",
            "公开",
            "公布",
            "受理",
            "申请中",
            "pending",
            "published",
            "examination",
            "filed",
        ),
    ),
    (
        LegalStatus.GRANTED,
        (
            "有效",
            "授权",
            "有权",
            "专利权维持",
            "维持",
            "granted",
            "in force",
            "active",
            "valid",
            "alive",
        ),
    ),
    # 无权 / 失效 alone do not say why; non-payment of annuities is by far the commonest cause.
    (LegalStatus.LAPSED, ("无权", "失效")),
)
_TYPE_SEPARATORS = re.compile(r"[;,/|、\s]+")


def _plain(text: str) -> str:
    """NFKC, Simplified, lower-case, trimmed: the form keyword tables are written in."""
    return to_simplified(unicodedata.normalize("NFKC", text)).strip().lower()


def term_years(patent_type: PatentType, filing_date: date) -> int:
    """Statutory term in years for a patent type filed on ``filing_date``."""
    if patent_type is PatentType.INVENTION:
        return 20
    if patent_type is PatentType.UTILITY_MODEL:
        return 10
    return 15 if filing_date >= DESIGN_15_YEARS_FROM else 10


def compute_expiry(patent_type: PatentType | None, filing_date: date | None) -> date | None:
    """Filing date plus the term (29 Feb → 28 Feb); None when type or filing date is unknown."""
    if patent_type is None or filing_date is None:
        return None
    year = filing_date.year + term_years(patent_type, filing_date)
    try:
        return filing_date.replace(year=year)
    except ValueError:
        # Only 29 February fails: the anniversary year is not a leap year.
        return date(year, 2, 28)


def parse_patent_type(text: str) -> PatentType | None:
    """Patent type from a database cell (发明专利, 实用新型, 外观设计, 1/2/3, invention …)."""
    plain = _plain(text)
    if plain in _TYPE_EXACT:
        return _TYPE_EXACT[plain]
    # A cell may list several publications of one application: "发明公开;发明授权".
    for part in _TYPE_SEPARATORS.split(plain):
        if part in _TYPE_EXACT:
            return _TYPE_EXACT[part]
    for keyword, patent_type in _TYPE_KEYWORDS:
        if keyword in plain:
            return patent_type
    return None


def parse_legal_status(text: str) -> LegalStatus | None:
    """Legal status from a database cell (有权-审定授权, 审中-实质审查, 未缴年费, lapsed …)."""
    plain = _plain(text)
    if not plain:
        return None
    try:
        return LegalStatus(plain)
    except ValueError:
        pass
    for status, keywords in _STATUS_KEYWORDS:
        if any(keyword in plain for keyword in keywords):
            return status
    return None


def effective_legal_status(stated: LegalStatus, expiry: date | None, today: date) -> LegalStatus:
    """The stated status, except that a granted or pending patent on/after its expiry is EXPIRED."""
    live = stated in (LegalStatus.GRANTED, LegalStatus.PENDING)
    if live and expiry is not None and today >= expiry:
        return LegalStatus.EXPIRED
    return stated


def remaining_years(expiry: date | None, today: date) -> float | None:
    """Years of term left (0 once expired); None when the expiry is unknown."""
    if expiry is None:
        return None
    return max(0.0, (expiry - today).days / _DAYS_PER_YEAR)
