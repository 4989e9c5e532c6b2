"""The government dashboard's numbers: the figures service's rows for one filter, per grouping.

Every number on the page, in the charts and in the exports comes from ``compute_figure_sets``
(``compute_figures`` for several groupings in one pass) with the filter and jurisdiction the
visitor has, as ``GET /api/v1/figures`` computes them, so the two agree.
"""

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup
from sqlmodel import Session, col, select

from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.console.charts import Series, bar_chart, funnel, line_chart
from app.deals.figure_filter import FigureFilter
from app.deals.figures import UNKNOWN, FigureRow, GroupBy, compute_figure_sets
from app.deals.states import DealState

# The figures that add up across groups (the conversion rate is recomputed from two of them).
SUMMED = (
    "idle_patents",
    "patents_matched",
    "contacts_requested",
    "signed_contracts",
    "contract_value_yuan",
    "open_licence_declarations",
    "licences_taken",
)
# Figures a bar chart may show.
BAR_METRICS = SUMMED
# The groupings the dashboard shows (the table shows the chosen one).
GROUPINGS = (GroupBy.REGION, GroupBy.INDUSTRY, GroupBy.IPC_SECTION, GroupBy.ORG, GroupBy.MONTH)
# Funnel steps after "contacts requested": deals whose current state is at or past the step.
# A declined or withdrawn deal counts in the first step only (its furthest stage is not kept).
_PATH = (
    DealState.OWNER_CONTACTED,
    DealState.NEGOTIATING,
    DealState.AGREED,
    DealState.CONTRACT_SIGNED,
    DealState.CLOSED,
)
_BARS = 15


def total_of(rows: list[FigureRow]) -> FigureRow:
    """The sum of IPC-section rows: each event and each matched patent is in exactly one."""
    total = FigureRow(key="total")
    for row in rows:
        for name in SUMMED:
            setattr(total, name, getattr(total, name) + getattr(row, name))
        for state, count in row.deals_by_state.items():
            total.deals_by_state[state] = total.deals_by_state.get(state, 0) + count
    if total.contacts_requested:
        total.conversion_rate = round(total.signed_contracts / total.contacts_requested, 4)
    return total


def funnel_steps(total: FigureRow) -> list[tuple[str, int]]:
    """(state or figure name, count) from contacts requested to signed contracts."""
    steps = [("contacts_requested", total.contacts_requested)]
    for index, state in enumerate(_PATH[:-1]):
        reached = sum(total.deals_by_state.get(s.value, 0) for s in _PATH[index:])
        steps.append((state.value, reached))
    return steps


@dataclass(frozen=True)
class Figures:
    """The figures of one filter for every grouping the dashboard shows."""

    only: FigureFilter
    scope: str | None  # the visitor's jurisdiction (None: every region)
    region_level: int
    rows: dict[GroupBy, list[FigureRow]]

    @property
    def total(self) -> FigureRow:
        """All groups together."""
        return total_of(self.rows[GroupBy.IPC_SECTION])


def figures_for(
    session: Session,
    only: FigureFilter,
    scope: str | None,
    region_level: int,
    groupings: tuple[GroupBy, ...],
    *,
    with_total: bool = True,
) -> Figures:
    """Compute the figures for each grouping (IPC sections too, for the total, unless
    ``with_total`` is false), as ``GET /api/v1/figures`` does for the filter and jurisdiction."""
    wanted = tuple(dict.fromkeys((GroupBy.IPC_SECTION, *groupings) if with_total else groupings))
    rows = compute_figure_sets(session, wanted, region_level, only, scope)
    return Figures(only, scope, region_level, rows)


def supply_orgs(session: Session) -> list[tuple[int, str]]:
    """Universities and institutes for the organisation filter, by name (one query)."""
    kinds = (OrgKind.UNIVERSITY, OrgKind.RESEARCH_INSTITUTE)
    stmt = (
        select(Organisation.id, Organisation.name)
        .where(col(Organisation.kind).in_(kinds))
        .order_by(col(Organisation.name))
        .limit(500)
    )
    return [(org_id, name) for org_id, name in session.exec(stmt) if org_id is not None]


def month_series(rows: list[FigureRow]) -> list[FigureRow]:
    """The month rows from the first to the last, months without events as zero rows."""
    found = {r.key: r for r in rows if r.key != UNKNOWN}
    if not found:
        return []
    first, last = min(found), max(found)
    year, month = int(first[:4]), int(first[5:])
    series = []
    while (key := f"{year:04d}-{month:02d}") <= last:
        series.append(found.get(key) or FigureRow(key=key))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return series


def trend_charts(figures: Figures, t: Callable[..., str]) -> dict[str, Markup]:
    """Trend lines by month: the main counts, and the contract value."""
    empty = t("dash.chart.empty")
    months = month_series(figures.rows[GroupBy.MONTH])
    labels = [r.key for r in months]
    counts = [Series(t(f"dash.col.{n}"), [getattr(r, n) for r in months]) for n in _TREND]
    value = [Series(t("dash.col.contract_value_yuan"), [r.contract_value_yuan for r in months])]
    return {
        "trend": line_chart("trend", t("dash.chart.trend"), labels, counts, empty=empty),
        "value": line_chart("value", t("dash.chart.value"), labels, value, empty=empty),
    }


def bar_charts(figures: Figures, t: Callable[..., str], metric: str) -> dict[str, Markup]:
    """Bars of one figure by region and by industry, largest first."""
    charts = {}
    for colour, by in enumerate((GroupBy.REGION, GroupBy.INDUSTRY)):
        ranked = sorted(figures.rows[by], key=lambda r: -float(getattr(r, metric)))
        items = [
            (group_label(t, by, r), float(getattr(r, metric)))
            for r in ranked[:_BARS]
            if getattr(r, metric)
        ]
        title = t(f"dash.chart.by_{by.value}", metric=t(f"dash.col.{metric}"))
        charts[by.value] = bar_chart(
            by.value, title, items, empty=t("dash.chart.empty"), colour=colour
        )
    return charts


def funnel_chart(figures: Figures, t: Callable[..., str]) -> Markup:
    """The funnel from contact request to signed contract."""
    steps = [(t(f"dash.funnel.{name}"), count) for name, count in funnel_steps(figures.total)]
    return funnel("funnel", t("dash.chart.funnel"), steps, empty=t("dash.chart.empty"))


_TREND = ("contacts_requested", "patents_matched", "signed_contracts", "licences_taken")


def group_label(t: Callable[..., str], by: GroupBy, row: FigureRow) -> str:
    """How a group is named on the page: its key, with a name where one is known."""
    if row.key == UNKNOWN:
        return t("dash.unknown")
    if by is GroupBy.IPC_SECTION:
        return f"{row.key} · {t('dash.ipc.' + row.key)}"
    if by is GroupBy.ORG and row.label:
        return row.label
    return row.key
