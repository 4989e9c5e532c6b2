"""Key figures (统计指标) of the platform, grouped by region, industry, IPC section, org or month.

Product filings (专利密集型产品备案) count once approved, grouped by the enterprise: its region,
the product's industry class, the month of approval.

Patent-side figures (idle patents, declarations, licences) are grouped by the patent: its owner's
region and organisation, its main IPC section, the month of the event. Deal-side figures are
grouped by the deal: the demand's region and industry, the patent's IPC section, the supply-side
organisation, the month the deal was requested (contracts: the month they were signed).

A region scope (a government official's jurisdiction) keeps the patent-side events of owners in
the region and the deals whose demand, requester or supply side lies in it.
"""

import io
from collections import defaultdict

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlmodel import Session, col, select

from app.catalog.models import Organisation
from app.chains.figures import CHAIN_GROUPS, chain_labels
from app.csv_safe import SafeCsvWriter
from app.deals.figure_deals import contract_values, deal_groups
from app.deals.figure_filter import FigureFilter
from app.deals.figure_groups import UNKNOWN as UNKNOWN  # re-exported: figures speak of it
from app.deals.figure_groups import GroupBy as GroupBy
from app.deals.figure_groups import GroupKeys
from app.deals.figure_patents import patent_side_sets
from app.deals.states import SIGNED_STATES, DealState
from app.filings.reports import FiledFact, approved_filings

_FIGURE_EXAMPLE: JsonDict = {
    "key": "33", "label": None, "idle_patents": 48, "patents_matched": 1,
    "contacts_requested": 1, "deals_by_state": {"closed": 1}, "signed_contracts": 1,
    "conversion_rate": 1.0, "contract_value_yuan": 300000, "open_licence_declarations": 2,
    "licences_taken": 1, "filed_products": 1, "filed_patents": 2, "filed_output_yuan": 120000000,
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
    filed_products: int = Field(default=0, description="approved product filings (已备案产品)")
    filed_patents: int = Field(default=0, description="distinct patents the filed products cite")
    filed_output_yuan: int = Field(default=0, description="annual output value of filed products")


class _Rows(dict[str, FigureRow]):
    """Figure rows by group key, created on first use."""

    def __missing__(self, key: str) -> FigureRow:
        row = self[key] = FigureRow(key=key)
        return row


def _patent_side(counts: list[tuple[str, str, int]], rows: _Rows) -> None:
    for figure, key, count in counts:
        row = rows[key]
        setattr(row, figure, getattr(row, figure) + count)


def _deal_side(session: Session, dims: GroupKeys, rows: _Rows) -> None:
    where = (dims.group_by, dims.level, dims.only, dims.scope)
    for group in deal_groups(session, *where):
        row = rows[group.key]
        for state, count in group.by_state.items():
            row.contacts_requested += count
            row.deals_by_state[state.value] = row.deals_by_state.get(state.value, 0) + count
            if state in SIGNED_STATES:
                row.signed_contracts += count
        row.patents_matched = group.patents_matched
    for key, value in contract_values(session, *where):
        rows[key].contract_value_yuan += value


def _filing_side(filings: list[FiledFact], dims: GroupKeys, rows: _Rows) -> None:
    cited: dict[str, set[int]] = defaultdict(set)
    for fact in filings:
        if not dims.keeps_filing(fact):
            continue
        for key, citing in dims.filing_groups(fact).items():
            rows[key].filed_products += 1
            rows[key].filed_output_yuan += fact.output_yuan
            cited[key] |= citing
    for key, patents in cited.items():
        rows[key].filed_patents = len(patents)


def compute_figures(
    session: Session,
    group_by: GroupBy,
    region_level: int = 2,
    only: FigureFilter | None = None,
    scope: str | None = None,
) -> list[FigureRow]:
    """The figures of every group (of the events ``only`` keeps, within the region ``scope``),
    sorted by key, unknown last."""
    return compute_figure_sets(session, (group_by,), region_level, only, scope)[group_by]


def compute_figure_sets(
    session: Session,
    groupings: tuple[GroupBy, ...],
    region_level: int = 2,
    only: FigureFilter | None = None,
    scope: str | None = None,
) -> dict[GroupBy, list[FigureRow]]:
    """``compute_figures`` for several groupings, by grouping: the patent side in one query
    per figure for all of them, the deal side in two queries per grouping."""
    if only is not None and only.is_empty():
        only = None  # nothing to test per event
    groupings = tuple(dict.fromkeys(groupings))
    patent_side = patent_side_sets(session, groupings, region_level, only, scope)
    filings = approved_filings(session)
    sets = {}
    for by in groupings:
        dims = GroupKeys(session, by, region_level, only, scope)
        rows = _Rows()
        _patent_side(patent_side[by], rows)
        _deal_side(session, dims, rows)
        _filing_side(filings, dims, rows)
        sets[by] = _finished(session, by, rows)
    return sets


def _finished(session: Session, group_by: GroupBy, rows: _Rows) -> list[FigureRow]:
    """The rows with their conversion rates and labels, by key, unknown last."""
    for row in rows.values():
        if row.contacts_requested:
            row.conversion_rate = round(row.signed_contracts / row.contacts_requested, 4)
    if group_by is GroupBy.ORG:
        _label_orgs(session, rows)
    if group_by in CHAIN_GROUPS:
        chain_labels(session, rows, by_node=group_by is GroupBy.CHAIN_NODE)
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
