"""Key figures (统计指标) of the platform, grouped by region, industry, IPC section, org or month.

Patent-side figures (idle patents, declarations, licences) are grouped by the patent: its owner's
region and organisation, its main IPC section, the month of the event. Deal-side figures are
grouped by the deal: the demand's region and industry, the patent's IPC section, the supply-side
organisation, the month the deal was requested (contracts: the month they were signed).

A region scope (a government official's jurisdiction) keeps the patent-side events of owners in
the region and the deals whose demand, requester or supply side lies in it.
"""

import copy
import io
from collections import defaultdict
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlmodel import Session, col, select

from app.auth.access import in_region_scope
from app.catalog.enums import ConversionStatus, LegalStatus
from app.catalog.models import Organisation, Patent
from app.csv_safe import SafeCsvWriter
from app.deals.figure_filter import FigureFilter
from app.deals.models import Deal, DealContract
from app.deals.states import SIGNED_STATES, DealState
from app.licensing.models import LicenceKind, OpenLicenceDeclaration, PatentLicence

UNKNOWN = "unknown"
_IN_FORCE = (LegalStatus.GRANTED, LegalStatus.PENDING)


class GroupBy(StrEnum):
    """The dimension figures are grouped by."""

    REGION = "region"  # GB/T 2260 prefix
    INDUSTRY = "industry"  # GB/T 4754 division (大类)
    IPC_SECTION = "ipc_section"
    ORG = "org"
    MONTH = "month"


_FIGURE_EXAMPLE: JsonDict = {
    "key": "33", "label": None, "idle_patents": 48, "patents_matched": 1,
    "contacts_requested": 1, "deals_by_state": {"closed": 1}, "signed_contracts": 1,
    "conversion_rate": 1.0, "contract_value_yuan": 300000, "open_licence_declarations": 2,
    "licences_taken": 1,
}  # fmt: skip


class FigureRow(BaseModel):
    """The figures of one group."""

    model_config = ConfigDict(json_schema_extra={"examples": [_FIGURE_EXAMPLE]})

    key: str
    label: str | None = None
    idle_patents: int = 0
    patents_matched: int = 0
    contacts_requested: int = 0
    deals_by_state: dict[str, int] = Field(default_factory=dict)
    signed_contracts: int = 0
    conversion_rate: float = Field(default=0.0, description="signed contracts / contacts requested")
    contract_value_yuan: int = 0
    open_licence_declarations: int = 0
    licences_taken: int = Field(default=0, description="licences taken under open licences")


def _month(moment: date | datetime | None) -> str:
    return f"{moment.year:04d}-{moment.month:02d}" if moment else UNKNOWN  # strftime is slow


def _region(code: str | None, level: int) -> str:
    return code[:level] if code else UNKNOWN


def _division(industry_code: str | None) -> str | None:
    """The GB/T 4754 division (大类, two digits) of an industry code such as C3841."""
    return (industry_code or "").lstrip("ABCDEFGHIJKLMNOPQRST")[:2] or None


class _Rows(dict[str, FigureRow]):
    """Figure rows by group key, created on first use."""

    def __missing__(self, key: str) -> FigureRow:
        row = self[key] = FigureRow(key=key)
        return row


class _Dims:
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
        stmt = select(Patent.id, Patent.ipc_main, Patent.owner_org_id, Organisation.region).join(
            Organisation, col(Organisation.id) == col(Patent.owner_org_id), isouter=True
        )
        self.patents = {pid: (ipc, org, region) for pid, ipc, org, region in session.exec(stmt)}
        regions = select(Organisation.id, Organisation.region)
        self.org_regions: dict[int | None, str | None] = (
            dict(session.exec(regions).all()) if scope is not None else {}
        )

    def regrouped(self, group_by: GroupBy) -> "_Dims":
        """The same catalog and filter, keyed by another grouping (nothing is reloaded)."""
        other = copy.copy(self)
        other.group_by = group_by
        return other

    def patent_in(self, patent_id: int | None) -> bool:
        """True when the patent's owner lies in the region scope (no scope: always)."""
        return in_region_scope(self.scope, self.patents.get(patent_id or -1, (None,) * 3)[2])

    def deal_in(self, deal: Deal) -> bool:
        """True when the demand's region, the requester's or the supply side's lies in scope."""
        if self.scope is None:
            return True
        parties = (deal.requester_org_id, deal.owner_org_id)
        regions = (deal.region, *map(self.org_regions.get, parties))
        return any(in_region_scope(self.scope, region) for region in regions)

    def patent_key(self, patent_id: int | None, when: date | datetime | None) -> str:
        """The group of a patent-side event."""
        if self.group_by is GroupBy.MONTH:
            return _month(when)
        ipc, org, region = self.patents.get(patent_id or -1, (None, None, None))
        if self.group_by is GroupBy.REGION:
            return _region(region, self.level)
        if self.group_by is GroupBy.IPC_SECTION:
            return ipc[0] if ipc else UNKNOWN
        if self.group_by is GroupBy.ORG:
            return str(org) if org is not None else UNKNOWN
        return UNKNOWN  # patents carry no industry code

    def keeps_patent(self, patent_id: int | None, when: date | datetime | None) -> bool:
        """True when the filter counts this patent-side event."""
        if self.only is None:
            return True
        ipc, org, region = self.patents.get(patent_id or -1, (None, None, None))
        return self.only.passes(region=region, industry=None, ipc=ipc, org=org, month=_month(when))

    def keeps_deal(self, deal: Deal, when: date | datetime | None) -> bool:
        """True when the filter counts this deal-side event."""
        if self.only is None:
            return True
        ipc = self.patents.get(deal.patent_id or -1, (None, None, None))[0]
        industry, org = _division(deal.industry_code), deal.owner_org_id
        return self.only.passes(
            region=deal.region, industry=industry, ipc=ipc, org=org, month=_month(when)
        )

    def deal_key(self, deal: Deal, when: date | datetime | None) -> str:
        """The group of a deal-side event."""
        if self.group_by is GroupBy.MONTH:
            return _month(when)
        if self.group_by is GroupBy.REGION:
            return _region(deal.region, self.level)
        if self.group_by is GroupBy.INDUSTRY:
            return _division(deal.industry_code) or UNKNOWN
        if self.group_by is GroupBy.ORG:
            return str(deal.owner_org_id)
        return self.patent_key(deal.patent_id, None)


_View = tuple["_Dims", _Rows]  # one grouping's keys and rows, sharing the loaded catalog


def _patent_side(session: Session, views: list[_View]) -> None:
    first = views[0][0]  # every view has the same filter and scope

    def count(patent_id: int | None, when: date | datetime | None, figure: str) -> None:
        if first.patent_in(patent_id) and first.keeps_patent(patent_id, when):
            for dims, rows in views:
                row = rows[dims.patent_key(patent_id, when)]
                setattr(row, figure, getattr(row, figure) + 1)

    idle = select(Patent.id, Patent.created_at).where(
        Patent.conversion_status == ConversionStatus.IDLE, col(Patent.legal_status).in_(_IN_FORCE)
    )
    for pid, created in session.exec(idle):
        count(pid, created, "idle_patents")
    declared = select(OpenLicenceDeclaration.patent_id, OpenLicenceDeclaration.declared_at)
    for pid, when in session.exec(declared):
        count(pid, when, "open_licence_declarations")
    taken = select(PatentLicence.patent_id, PatentLicence.created_at).where(
        PatentLicence.kind == LicenceKind.OPEN
    )
    for pid, when in session.exec(taken):
        count(pid, when, "licences_taken")


def _count_deal(row: FigureRow, deal: Deal, matched: dict[str, set[int]]) -> None:
    row.contacts_requested += 1
    state = DealState(deal.state).value
    row.deals_by_state[state] = row.deals_by_state.get(state, 0) + 1
    if deal.patent_id is not None:
        matched[row.key].add(deal.patent_id)
    if deal.state in SIGNED_STATES:
        row.signed_contracts += 1


def _deal_side(session: Session, views: list[_View]) -> None:
    first = views[0][0]
    matched: list[dict[str, set[int]]] = [defaultdict(set) for _ in views]
    for deal in session.exec(select(Deal)):
        if first.deal_in(deal) and first.keeps_deal(deal, deal.created_at):
            for (dims, rows), seen in zip(views, matched, strict=True):
                _count_deal(rows[dims.deal_key(deal, deal.created_at)], deal, seen)
    for (_dims, rows), seen in zip(views, matched, strict=True):
        for key, patents in seen.items():
            rows[key].patents_matched = len(patents)
    signed = select(DealContract, Deal).join(Deal, col(Deal.id) == col(DealContract.deal_id))
    for contract, deal in session.exec(signed):
        if first.deal_in(deal) and first.keeps_deal(deal, contract.signed_on):
            for dims, rows in views:
                rows[dims.deal_key(deal, contract.signed_on)].contract_value_yuan += (
                    contract.amount_yuan or 0
                )


def compute_figures(
    session: Session,
    group_by: GroupBy,
    region_level: int = 2,
    only: FigureFilter | None = None,
    scope: str | None = None,
) -> list[FigureRow]:
    """The figures of every group (events ``only`` keeps, in ``scope``), by key, unknown last."""
    return compute_figure_sets(session, (group_by,), region_level, only, scope)[group_by]


def compute_figure_sets(
    session: Session,
    groupings: tuple[GroupBy, ...],
    region_level: int = 2,
    only: FigureFilter | None = None,
    scope: str | None = None,
) -> dict[GroupBy, list[FigureRow]]:
    """``compute_figures`` for several groupings in one pass over the catalog and the deals."""
    if only is not None and only.is_empty():
        only = None  # nothing to test per event
    base = _Dims(session, groupings[0], region_level, only, scope)
    views: list[_View] = [(base.regrouped(by), _Rows()) for by in dict.fromkeys(groupings)]
    _patent_side(session, views)
    _deal_side(session, views)
    return {dims.group_by: _finish(session, dims.group_by, rows) for dims, rows in views}


def _finish(session: Session, group_by: GroupBy, rows: _Rows) -> list[FigureRow]:
    for row in rows.values():
        if row.contacts_requested:
            row.conversion_rate = round(row.signed_contracts / row.contacts_requested, 4)
    if group_by is GroupBy.ORG:
        _label_orgs(session, rows)
    return sorted(rows.values(), key=lambda r: (r.key == UNKNOWN, r.key))


def _label_orgs(session: Session, rows: dict[str, FigureRow]) -> None:
    ids = [int(k) for k in rows if k != UNKNOWN]
    stmt = select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(ids))
    names: dict[int | None, str] = dict(session.exec(stmt).all())
    for key, row in rows.items():
        row.label = names.get(int(key)) if key != UNKNOWN else None


# The CSV's one-value columns: every figure but the key, label and per-state counts, in order.
_SCALARS = [n for n in FigureRow.model_fields if n not in ("key", "label", "deals_by_state")]


def figure_table(rows: list[FigureRow]) -> tuple[list[str], list[list[str | int | float]]]:
    """The figures as a header and one row of cells per group: the CSV's (and XLSX's) layout."""
    states = [s.value for s in DealState]
    header = ["key", "label", *_SCALARS, *(f"deals_{s}" for s in states)]
    body: list[list[str | int | float]] = [
        [
            row.key,
            row.label or "",
            *(getattr(row, name) for name in _SCALARS),
            *(row.deals_by_state.get(s, 0) for s in states),
        ]
        for row in rows
    ]
    return header, body


def figures_csv(rows: list[FigureRow]) -> str:
    """The figures as CSV: one row per group, one deals_<state> column per deal state."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer, lineterminator="\n")
    header, body = figure_table(rows)
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()
