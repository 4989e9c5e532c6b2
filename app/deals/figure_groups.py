"""How events are grouped and scoped for the key figures: the groupings, the group keys of
product filings, the region scope (jurisdiction) and the dashboard's filter. Patent-side and
deal-side events are grouped in SQL (``figure_patents``, ``figure_deals``)."""

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Session

from app.auth.access import in_region_scope
from app.chains.figures import CHAIN_GROUPS, patent_chain_keys
from app.deals.figure_filter import FigureFilter
from app.filings.reports import FiledFact

UNKNOWN = "unknown"


class GroupBy(StrEnum):
    """The dimension figures are grouped by."""

    REGION = "region"  # GB/T 2260 prefix
    INDUSTRY = "industry"  # GB/T 4754 division (大类)
    IPC_SECTION = "ipc_section"
    ORG = "org"
    MONTH = "month"
    CHAIN = "chain"  # industry chain id: a patent counts in every chain it is tagged to
    CHAIN_NODE = "chain_node"  # chain node id, likewise


def month_key(moment: date | datetime | None) -> str:
    """``YYYY-MM`` of an event, or unknown."""
    return f"{moment.year:04d}-{moment.month:02d}" if moment else UNKNOWN  # strftime is slow


def region_key(code: str | None, level: int) -> str:
    """The first ``level`` digits of a GB/T 2260 code, or unknown."""
    return code[:level] if code else UNKNOWN


def division(industry_code: str | None) -> str | None:
    """The GB/T 4754 division (大类, two digits) of an industry code such as C3841."""
    return (industry_code or "").lstrip("ABCDEFGHIJKLMNOPQRST")[:2] or None


class GroupKeys:
    """Group keys of product filings for one grouping (with its filter and scope)."""

    def __init__(
        self,
        session: Session,
        group_by: GroupBy,
        region_level: int,
        only: FigureFilter | None = None,
        scope: str | None = None,
    ) -> None:
        self.group_by, self.level, self.only, self.scope = group_by, region_level, only, scope
        self.chains = (
            patent_chain_keys(session, by_node=group_by is GroupBy.CHAIN_NODE)
            if group_by in CHAIN_GROUPS
            else {}
        )

    def keeps_filing(self, fact: FiledFact) -> bool:
        """True when the region scope and the filter count this approved filing."""
        if not in_region_scope(self.scope, fact.region):
            return False
        if self.only is None:
            return True
        industry, month = division(fact.industry_code), month_key(fact.approved_at)
        return self.only.passes(
            region=fact.region, industry=industry, ipc=None, org=fact.org_id, month=month
        )

    def filing_key(self, fact: FiledFact) -> str:
        """The group of an approved product filing: its enterprise, region, class, month."""
        if self.group_by is GroupBy.MONTH:
            return month_key(fact.approved_at)
        if self.group_by is GroupBy.REGION:
            return region_key(fact.region, self.level)
        if self.group_by is GroupBy.INDUSTRY:
            return division(fact.industry_code) or UNKNOWN
        if self.group_by is GroupBy.ORG:
            return str(fact.org_id)
        return UNKNOWN  # a product spans the IPC sections of its patents

    def filing_groups(self, fact: FiledFact) -> dict[str, frozenset[int]]:
        """The groups of an approved filing, each with the cited patents that put it there.

        By chain (node), a product counts in every chain its cited patents are tagged to.
        """
        if self.group_by not in CHAIN_GROUPS:
            return {self.filing_key(fact): fact.patent_ids}
        groups: dict[str, set[int]] = {}
        for patent_id in sorted(fact.patent_ids):
            for key in self.chains.get(patent_id) or [UNKNOWN]:
                groups.setdefault(key, set()).add(patent_id)
        return {key: frozenset(ids) for key, ids in groups.items()} or {UNKNOWN: frozenset()}
