"""How events are grouped and scoped for the key figures: the group keys of patents, deals and
product filings, the region scope (jurisdiction) and the dashboard's filter."""

from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from sqlmodel import Session, col, select

from app.auth.access import in_region_scope
from app.catalog.models import Organisation, Patent
from app.chains.figures import CHAIN_GROUPS, patent_chain_keys
from app.deals.figure_filter import FigureFilter
from app.deals.models import Deal
from app.filings.reports import FiledFact

UNKNOWN = "unknown"


class DealFacts(NamedTuple):
    """What the figures read of a deal: plain columns, not ORM objects (they cost 10x more)."""

    patent_id: int | None
    owner_org_id: int
    requester_org_id: int
    region: str | None
    industry_code: str | None
    state: str
    created_at: datetime


DEAL_COLUMNS = (
    col(Deal.patent_id), col(Deal.owner_org_id), col(Deal.requester_org_id), col(Deal.region),
    col(Deal.industry_code), col(Deal.state), col(Deal.created_at),
)  # fmt: skip


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
    """Group keys of patents and deals for one grouping."""

    def __init__(
        self,
        session: Session,
        group_by: GroupBy,
        region_level: int,
        only: FigureFilter | None = None,
        scope: str | None = None,
    ) -> None:
        self.group_by, self.level, self.only, self.scope = group_by, region_level, only, scope
        # Only the patents and organisations deals name: the patent side is counted in SQL.
        stmt = select(Patent.id, Patent.ipc_main).where(col(Patent.id).in_(select(Deal.patent_id)))
        self.ipc: dict[int | None, str | None] = dict(session.exec(stmt).all())
        parties = col(Organisation.id).in_(select(Deal.requester_org_id)) | col(
            Organisation.id
        ).in_(select(Deal.owner_org_id))
        regions = select(Organisation.id, Organisation.region).where(parties)
        self.org_regions: dict[int | None, str | None] = (
            dict(session.exec(regions).all()) if scope is not None else {}
        )
        self.chains = (
            patent_chain_keys(session, by_node=group_by is GroupBy.CHAIN_NODE)
            if group_by in CHAIN_GROUPS
            else {}
        )

    def deal_in(self, deal: DealFacts) -> bool:
        """True when the demand's region, the requester's or the supply side's lies in scope."""
        if self.scope is None:
            return True
        parties = (deal.requester_org_id, deal.owner_org_id)
        regions = (deal.region, *map(self.org_regions.get, parties))
        return any(in_region_scope(self.scope, region) for region in regions)

    def patent_keys(self, patent_id: int | None) -> list[str]:
        """The groups of a deal's patent: its IPC section, or each chain (node) it is in."""
        if self.group_by in CHAIN_GROUPS:
            return self.chains.get(patent_id or -1) or [UNKNOWN]
        ipc = self.ipc.get(patent_id)
        return [ipc[0] if ipc else UNKNOWN]

    def deal_keys(self, deal: DealFacts, when: date | datetime | None) -> list[str]:
        """The groups of a deal-side event: by IPC section or chain, those of its patent."""
        if self.group_by in (GroupBy.IPC_SECTION, *CHAIN_GROUPS):
            return self.patent_keys(deal.patent_id)
        return [self.deal_key(deal, when)]

    def keeps_deal(self, deal: DealFacts, when: date | datetime | None) -> bool:
        """True when the filter counts this deal-side event."""
        if self.only is None:
            return True
        ipc = self.ipc.get(deal.patent_id)
        industry, org = division(deal.industry_code), deal.owner_org_id
        return self.only.passes(
            region=deal.region, industry=industry, ipc=ipc, org=org, month=month_key(when)
        )

    def deal_key(self, deal: DealFacts, when: date | datetime | None) -> str:
        """The group of a deal-side event."""
        if self.group_by is GroupBy.MONTH:
            return month_key(when)
        if self.group_by is GroupBy.REGION:
            return region_key(deal.region, self.level)
        if self.group_by is GroupBy.INDUSTRY:
            return division(deal.industry_code) or UNKNOWN
        if self.group_by is GroupBy.ORG:
            return str(deal.owner_org_id)
        return self.patent_keys(deal.patent_id)[0]

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
