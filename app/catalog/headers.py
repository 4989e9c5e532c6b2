"""Map the column headers of common patent and need exports to canonical field names."""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class PatentField(StrEnum):
    """Canonical fields of a patent row."""

    APPLICATION_NUMBER = "application_number"
    PUBLICATION_NUMBER = "publication_number"
    GRANT_NUMBER = "grant_number"
    TITLE = "title"
    ABSTRACT = "abstract"
    FIRST_CLAIM = "first_claim"
    IPC_MAIN = "ipc_main"
    IPC = "ipc"
    CPC = "cpc"
    APPLICANTS = "applicants"
    PATENTEES = "patentees"
    INVENTORS = "inventors"
    FILING_DATE = "filing_date"
    PUBLICATION_DATE = "publication_date"
    GRANT_DATE = "grant_date"
    LEGAL_STATUS = "legal_status"
    PATENT_TYPE = "patent_type"
    # A link whose address names the publication (CNKI ``href``: ``filename=CN108982325A``).
    LINK = "link"
    # One cell holding title, keywords and abstract ("Title: … Abstract: …" or "… [SEP] …").
    COMBINED_TEXT = "combined_text"


class NeedField(StrEnum):
    """Canonical fields of a technology-need row."""

    TITLE = "title"
    DESCRIPTION = "description"
    ENTERPRISE = "enterprise"
    USCC = "uscc"
    INDUSTRY = "industry"
    REGION = "region"
    COOPERATION_MODES = "cooperation_modes"
    BUDGET = "budget"
    BUDGET_MIN = "budget_min"
    BUDGET_MAX = "budget_max"
    DEADLINE = "deadline"
    STATUS = "status"
    EXTERNAL_REF = "external_ref"
    CONTACT_PERSON = "contact_person"
    CONTACT_PHONE = "contact_phone"
    CONTACT_EMAIL = "contact_email"


# Aliases in priority order: when several headers of a file map to one field, a row takes
# the first non-empty cell in this order (e.g. 当前权利人 before 第一权利人). "|" separates them.
PATENT_ALIASES: dict[str, str] = {
    PatentField.APPLICATION_NUMBER: (
        "申请号|专利申请号|申请号/专利号|专利号|application number|application no|app no|appno"
    ),
    PatentField.PUBLICATION_NUMBER: (
        "公开(公告)号|公开公告号|公开号|公告号|publication number|publication no|pub no|pn"
    ),
    PatentField.GRANT_NUMBER: "授权公告号|授权号|grant number|grant no",
    PatentField.TITLE: "专利名称|发明名称|发明创造名称|名称|标题|title|patent name|授权名称",
    PatentField.ABSTRACT: "摘要|申请摘要|abstract|chdiv summary|summary",
    PatentField.FIRST_CLAIM: "主权项|首项权利要求|第一权利要求|first claim|claim text|claim",
    PatentField.IPC_MAIN: "主分类号|ipc主分类号|ipc主分类|主分类|main ipc|ipc main",
    PatentField.IPC: "分类号|ipc分类号|ipc分类|ipc|ipc codes|国际专利分类号",
    PatentField.CPC: "cpc分类号|cpc主分类号|cpc|labels",
    PatentField.APPLICANTS: "申请人|申请(专利权)人|申请人名称|applicants|applicant|app person",
    PatentField.PATENTEES: "当前权利人|专利权人|第一权利人|权利人|patentees|patentee|assignee",
    PatentField.INVENTORS: "发明人|设计人|发明(设计)人|当前发明人|inventors|inventor|invent person",
    PatentField.FILING_DATE: "申请日|申请日期|filing date|application date|app date",
    PatentField.PUBLICATION_DATE: "公开(公告)日|公开公告日|公开日|公告日|publication date|pub date",
    PatentField.GRANT_DATE: "授权公告日|授权日|授权日期|grant date",
    PatentField.LEGAL_STATUS: "当前法律状态|法律状态|legal status|status",
    PatentField.PATENT_TYPE: "专利类型|类型|申请类型|patent type|type",
    PatentField.LINK: "href|链接|url|link",
    PatentField.COMBINED_TEXT: "text",
}

NEED_ALIASES: dict[str, str] = {
    NeedField.TITLE: "需求名称|技术需求名称|需求标题|标题|名称|title|need",
    NeedField.DESCRIPTION: "需求描述|需求内容|技术需求描述|描述|详细描述|description|details",
    NeedField.ENTERPRISE: (
        "企业名称|需求方|需求单位|单位名称|企业|enterprise|company|organisation|organization"
    ),
    NeedField.USCC: "统一社会信用代码|信用代码|uscc|credit code",
    NeedField.INDUSTRY: "行业代码|行业|所属行业|industry|industry code",
    NeedField.REGION: "行政区划代码|地区代码|地区|所在地区|region|region code",
    NeedField.COOPERATION_MODES: "合作方式|合作模式|cooperation modes|cooperation",
    NeedField.BUDGET: "预算|预算金额|拟投入资金|budget",
    NeedField.BUDGET_MIN: "预算下限|最低预算|budget min",
    NeedField.BUDGET_MAX: "预算上限|最高预算|budget max",
    NeedField.DEADLINE: "截止日期|截止时间|有效期至|deadline",
    NeedField.STATUS: "状态|需求状态|status",
    NeedField.EXTERNAL_REF: "编号|需求编号|external ref|ref|id",
    NeedField.CONTACT_PERSON: "联系人|contact person|contact",
    NeedField.CONTACT_PHONE: "联系电话|电话|手机|phone",
    NeedField.CONTACT_EMAIL: "邮箱|电子邮箱|email|e-mail",
}

# Headers whose meaning depends on the export: the CNKI (知网) patent scraper names its
# columns after page elements, so they are only trusted when its signature columns appear.
_CNKI_SIGNATURE = frozenset({"chdiv summary", "href"})
_CNKI_ALIASES: dict[str, PatentField] = {
    "author": PatentField.INVENTORS,
    "com": PatentField.APPLICANTS,
    "sql": PatentField.FILING_DATE,
    "quote": PatentField.PUBLICATION_DATE,
}


# Placeholders exports write into empty cells (PatentSemantix writes 0 for a missing date).
_NULL_CELLS = frozenset({"-", "--", "—", "/", "无", "null", "none", "n/a", "na", "nan", "0"})


def is_null(cell: str | None) -> bool:
    """True for a blank cell or a placeholder for one (``-``, ``无``, ``null``, ``0`` …)."""
    return cell is None or not cell.strip() or cell.strip().lower() in _NULL_CELLS


def normalise_header(header: str) -> str:
    """Comparable form: full-width → half-width, lower case, no separators or required marks."""
    text = unicodedata.normalize("NFKC", header).strip().lower()
    text = text.strip("*:：#")
    return re.sub(r"[\s_\-.]+", " ", text).strip()


def _alias_index(aliases: Mapping[str, str]) -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for canonical, names in aliases.items():
        for rank, name in enumerate(names.split("|")):
            key = normalise_header(name)
            index.setdefault(key, (canonical, rank))
            # Headers are matched with and without spaces ("app no" == "appno").
            index.setdefault(key.replace(" ", ""), (canonical, rank))
    return index


@dataclass
class HeaderMap:
    """Which file headers feed which canonical field, best first; and the ignored ones."""

    sources: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def apply(self, row: Mapping[str, str | None]) -> dict[str, str | None]:
        """The row keyed by canonical field: the first non-empty cell among its headers."""
        out: dict[str, str | None] = {}
        for canonical, headers in self.sources.items():
            out[canonical] = next((row[h] for h in headers if not is_null(row.get(h))), None)
        return out


def map_headers(headers: Iterable[str], kind: str) -> HeaderMap:
    """Map ``headers`` of a ``"patent"`` or ``"need"`` file; unknown ones are ``ignored``."""
    aliases: Mapping[str, str] = PATENT_ALIASES if kind == "patent" else NEED_ALIASES
    index = _alias_index(aliases)
    headers = list(headers)
    normalised = {h: normalise_header(h) for h in headers}
    cnki = kind == "patent" and set(normalised.values()) >= _CNKI_SIGNATURE
    ranked: dict[str, list[tuple[int, int, str]]] = {}
    result = HeaderMap()
    for position, header in enumerate(headers):
        key = normalised[header]
        hit = index.get(key) or index.get(key.replace(" ", ""))
        if hit is None and cnki and key in _CNKI_ALIASES:
            hit = (_CNKI_ALIASES[key], 0)
        if hit is None:
            result.ignored.append(header)
            continue
        canonical, rank = hit
        ranked.setdefault(canonical, []).append((rank, position, header))
    for canonical, candidates in ranked.items():
        result.sources[canonical] = [h for _, _, h in sorted(candidates)]
    return result
