"""Government dashboard (市场监管局 / 知识产权局): the key figures as charts and tables, exports
(XLSX, formula-safe CSV) and a printable monthly report. Platform admins see every region."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.accounts.sessions import SignedIn
from app.auth.access import narrow_scope, region_scope
from app.console.dashboard import (
    BAR_METRICS,
    GROUPINGS,
    SUMMED,
    bar_charts,
    figures_for,
    funnel_chart,
    group_label,
    supply_orgs,
    trend_charts,
)
from app.console.dashboard_export import figures_workbook
from app.console.web import ConsoleRoute, DbSession, User, lang_of, principal_of, render
from app.deals.figure_filter import MONTH_PATTERN, FigureFilter
from app.deals.figures import GroupBy, figures_csv
from app.deals.states import DealState

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Metric = Annotated[str, Query(pattern="^(" + "|".join(BAR_METRICS) + ")$")]
RegionLevel = Annotated[int, Query(ge=2, le=6, multiple_of=2)]


def jurisdiction(signed: SignedIn) -> str | None:
    """The regions the visitor may see: every one (None) for platform admins, a government
    official's jurisdiction, 403 for other roles (``app.auth.access.region_scope``)."""
    return region_scope(principal_of(signed))


@dataclass(frozen=True)
class View:
    """What the visitor asked for (the filter, the display) and their jurisdiction."""

    only: FigureFilter
    group_by: GroupBy
    region_level: int
    metric: str
    scope: str | None


def view(
    signed: User,
    only: Annotated[FigureFilter, Query()],
    group_by: GroupBy = GroupBy.REGION,
    region_level: RegionLevel = 2,
    metric: Metric = "contacts_requested",
) -> View:
    """The dashboard's query parameters, checked against the visitor's jurisdiction."""
    scope = jurisdiction(signed)
    narrow_scope(scope, only.region)  # 403 for a region outside it, as in the figures API
    return View(only, group_by, region_level, metric, scope)


Viewed = Annotated[View, Depends(view)]


def _translator(request: Request) -> Callable[..., str]:
    translate: Callable[..., str] = request.app.state.console.catalogue.translator(lang_of(request))
    return translate


@router.get("/dashboard")
def dashboard(request: Request, session: DbSession, seen: Viewed) -> Response:
    """Key figures with filters: totals, trend lines, bars by region and industry, a funnel."""
    # The charts need regions, industries and months; the table the chosen grouping.
    shown = (GroupBy.REGION, GroupBy.INDUSTRY, GroupBy.MONTH, seen.group_by)
    figures = figures_for(session, seen.only, seen.scope, seen.region_level, shown)
    t = _translator(request)
    return render(
        request,
        "dashboard.html",
        seen=seen,
        figures=figures,
        total=figures.total,
        table=figures.rows[seen.group_by],
        charts={
            **trend_charts(figures, t),
            **bar_charts(figures, t, seen.metric),
            "funnel": funnel_chart(figures, t),
        },
        groupings=GROUPINGS,
        metrics=BAR_METRICS,
        summed=SUMMED,
        states=list(DealState),
        orgs=supply_orgs(session),
        label=lambda row: group_label(t, seen.group_by, row),
        query=request.url.query,
    )


@router.get("/dashboard/export.csv")
def export_csv(session: DbSession, seen: Viewed) -> Response:
    """The table's grouping as formula-safe CSV, the columns of ``GET /api/v1/figures``."""
    rows = figures_for(session, seen.only, seen.scope, seen.region_level, (seen.group_by,)).rows
    body = "\ufeff" + figures_csv(rows[seen.group_by])  # the BOM lets Excel read the Chinese
    name = f"figures-{seen.group_by.value}.csv"
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/dashboard/export.xlsx")
def export_xlsx(request: Request, session: DbSession, seen: Viewed) -> Response:
    """Every grouping on its own sheet, plus a summary sheet with the filter and the totals."""
    figures = figures_for(session, seen.only, seen.scope, seen.region_level, GROUPINGS)
    t = _translator(request)
    return Response(
        figures_workbook(figures, t),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="figures.xlsx"'},
    )


def _twelve_months_to(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    start = date(year - (1 if number < 12 else 0), number % 12 + 1, 1)
    return start.strftime("%Y-%m")


@router.get("/dashboard/report")
def monthly_report(
    request: Request,
    session: DbSession,
    seen: Viewed,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
) -> Response:
    """A printable monthly report: the month's figures and the twelve months to it."""
    chosen = month or date.today().strftime("%Y-%m")
    in_month = seen.only.model_copy(update={"month_from": chosen, "month_to": chosen})
    figures = figures_for(session, in_month, seen.scope, seen.region_level, GROUPINGS)
    start = _twelve_months_to(chosen)
    year = seen.only.model_copy(update={"month_from": start, "month_to": chosen})
    # Only the trend line is drawn of these: no total, no IPC sections.
    trend = figures_for(
        session, year, seen.scope, seen.region_level, (GroupBy.MONTH,), with_total=False
    )
    t = _translator(request)
    return render(
        request,
        "dashboard_report.html",
        seen=seen,
        month=chosen,
        figures=figures,
        total=figures.total,
        trend_chart=trend_charts(trend, t)["trend"],
        funnel_chart=funnel_chart(figures, t),
        summed=SUMMED,
        label=lambda by, row: group_label(t, GroupBy(by), row),
        today=date.today().isoformat(),
    )
