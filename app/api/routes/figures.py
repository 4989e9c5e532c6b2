"""/api/v1/figures: key figures (统计指标) of supply, demand, deals and licensing; JSON or CSV."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import PrincipalDep, SessionDep
from app.api.schemas.common import problem_responses
from app.auth.access import government_scope, narrow_scope
from app.deals.figure_filter import FigureFilter
from app.deals.figures import FigureRow, GroupBy, compute_figures, figures_csv

router = APIRouter(prefix="/figures", tags=["figures"])


@router.get(
    "",
    response_model=list[FigureRow],
    summary="Key figures by region, industry, IPC section, organisation or month",
    description="Idle patents (闲置专利), patents matched (in a deal), contacts requested, deals "
    "by state, conversion rate (signed / requested), signed contracts, contract value (yuan), "
    "open-licence declarations and licences taken. `format=csv` returns text/csv with one "
    "`deals_<state>` column per state. Region keys are GB/T 2260 prefixes of `region_level` "
    "digits; industry keys are GB/T 4754 divisions (大类). The filters (`region`, `industry`, "
    "`ipc_section`, `org_id`, `month_from`, `month_to`) keep the events that group under "
    "them, so a filtered figure equals the matching row of the grouping. Government "
    "officials always get their jurisdiction (patent owners, a deal's demand or parties in it), "
    "and 403 for a `region` outside it.",
    responses={
        **problem_responses(401, 403, 422),
        200: {"content": {"application/json": {}, "text/csv": {}}},
    },
)
def read_figures(
    session: SessionDep,
    principal: PrincipalDep,
    group_by: GroupBy = GroupBy.REGION,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    region_level: Annotated[
        int, Query(ge=2, le=6, multiple_of=2, description="digits of the region key")
    ] = 2,
    only: Annotated[FigureFilter, Query()] = FigureFilter(),
) -> list[FigureRow] | Response:
    """Compute the figures (of the caller's jurisdiction for government officials)."""
    scope = government_scope(principal)
    narrow_scope(scope, only.region)  # 403 for a region outside the jurisdiction
    rows = compute_figures(session, group_by, region_level, only, scope)
    if output == "csv":
        return Response(
            figures_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="figures-{group_by.value}.csv"'},
        )
    return rows
