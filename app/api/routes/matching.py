"""Matching endpoints: text → patents, need → patents, patent → needs, portfolio → needs."""

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlmodel import col, select

from app.api.deps import MatcherDep, PrincipalDep, SessionDep, read_only
from app.api.schemas.common import problem_responses
from app.api.schemas.matching import (
    MAX_TERM_YEARS,
    ExplanationOut,
    MatchFiltersIn,
    NeedBrief,
    NeedMatches,
    NeedMatchOut,
    PatentBrief,
    PatentMatches,
    PatentMatchOut,
    TextMatchRequest,
)
from app.auth.access import (
    get_readable_patent,
    get_visible_need,
    government_scope,
    narrow_scope,
    need_visible,
)
from app.auth.principal import Principal
from app.catalog.enums import LegalStatus, OrgKind, PatentType
from app.catalog.models import Organisation, Patent, TechNeed
from app.db import get_or_404
from app.errors import InvalidValue
from app.search.engine import Match, MatchFilters, MatchResult
from app.types import DbId, Line

router = APIRouter(tags=["matching"])

KQuery = Annotated[int, Query(ge=1, le=50, description="How many matches")]


def filters_query(
    legal_status: Annotated[list[LegalStatus] | None, Query()] = None,
    patent_type: Annotated[list[PatentType] | None, Query()] = None,
    ipc_prefix: Annotated[Line | None, Query(max_length=20, examples=["H01M"])] = None,
    region_prefix: Annotated[Line | None, Query(max_length=12, examples=["33"])] = None,
    owner_kind: Annotated[list[OrgKind] | None, Query()] = None,
    min_remaining_years: Annotated[float | None, Query(ge=0, le=MAX_TERM_YEARS)] = None,
    open_licence_only: bool = False,
) -> MatchFilters:
    """MatchFilters from query parameters (validated by the filters themselves)."""
    return MatchFilters(
        legal_status=legal_status,
        patent_type=patent_type,
        ipc_prefix=ipc_prefix,
        region_prefix=region_prefix,
        owner_kind=owner_kind,
        min_remaining_years=min_remaining_years,
        open_licence_only=open_licence_only,
    )


def _filters(body: MatchFiltersIn) -> MatchFilters:
    try:
        return MatchFilters(**body.model_dump())
    except InvalidValue as error:  # named as sent: inside the body's "filters"
        raise error.for_field(f"filters.{error.field}") from None


FiltersDep = Annotated[MatchFilters, Depends(filters_query)]


def scoped_filters(principal: Principal, filters: MatchFilters) -> MatchFilters:
    """A government official matches within the jurisdiction's pool (403 for a region outside)."""
    scope = government_scope(principal)
    if scope is None:
        return filters
    return replace(filters, region_prefix=narrow_scope(scope, filters.region_prefix))


def _explanation(match: Match) -> ExplanationOut:
    # The dataclass's own fields, not ``asdict``: its deep copy cost more than the validation.
    return ExplanationOut.model_validate(vars(match.explanation))


def patent_matches(session: SessionDep, result: MatchResult) -> PatentMatches:
    """A ranked result as the API's matches (also the chain-scoped routes')."""
    matches = result.matches  # best first, ties by id (MatchEngine._result)
    ids = [m.id for m in matches]
    # The engine hands back the rows it read; a result built elsewhere may not carry them.
    rows: dict[int, Any] = dict(result.rows) or {
        int(p.id): p
        for p in session.exec(select(Patent).where(col(Patent.id).in_(ids)))
        if p.id is not None
    }
    out = [
        PatentMatchOut(
            id=m.id,
            score=m.score,
            confidence=m.confidence,
            explanation=_explanation(m),
            patent=PatentBrief.model_validate(rows[m.id]),
        )
        for m in matches
        if m.id in rows  # deleted since the index last synced
    ]
    return PatentMatches(matches=out, no_good_match=result.no_good_match)


def _need_matches(session: SessionDep, principal: Principal, result: MatchResult) -> NeedMatches:
    matches = result.matches  # best first, ties by id (MatchEngine._result)
    ids = [m.id for m in matches]
    rows: dict[int, Any] = dict(result.rows) or {
        int(n.id): n
        for n in session.exec(select(TechNeed).where(col(TechNeed.id).in_(ids)))
        if n.id is not None
    }
    out = [
        NeedMatchOut(
            id=m.id,
            score=m.score,
            confidence=m.confidence,
            explanation=_explanation(m),
            need=NeedBrief.model_validate(rows[m.id]),
        )
        for m in matches
        if m.id in rows and need_visible(principal, rows[m.id])
    ]
    return NeedMatches(matches=out, no_good_match=result.no_good_match)


@router.post(
    "/match/text",
    response_model=PatentMatches,
    summary="Match free text to patents",
    description="Describe a technology need (技术需求) in a sentence or paragraph; get patents "
    "ranked by hybrid dense + BM25 relevance, with explanations (matched terms, shared IPC) "
    "and `no_good_match` when nothing fits well.",
    responses=problem_responses(401, 422, 429),
)
@read_only
def match_text(
    body: TextMatchRequest, session: SessionDep, principal: PrincipalDep, matcher: MatcherDep
) -> PatentMatches:
    """Free text → patents."""
    filters = scoped_filters(principal, _filters(body.filters))
    result = matcher.match_text(session, body.text, filters, body.k)
    return patent_matches(session, result)


@router.get(
    "/needs/{need_id}/matches",
    response_model=PatentMatches,
    summary="Patents for a need",
    description="Patents that could meet a technology need (需求→专利). Drafts only for their "
    "enterprise and admins.",
    responses=problem_responses(401, 404, 422),
)
def match_need(
    need_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    matcher: MatcherDep,
    filters: FiltersDep,
    k: KQuery = 10,
) -> PatentMatches:
    """Need → patents."""
    get_visible_need(session, principal, need_id)
    scoped = scoped_filters(principal, filters)
    return patent_matches(session, matcher.match_need(session, need_id, scoped, k))


@router.get(
    "/patents/{patent_id}/matches",
    response_model=NeedMatches,
    summary="Needs for a patent",
    description="Published technology needs that a patent could serve (专利→需求).",
    responses=problem_responses(401, 404),
)
def match_patent(
    patent_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    matcher: MatcherDep,
    k: KQuery = 10,
) -> NeedMatches:
    """Patent → needs."""
    get_readable_patent(session, principal, patent_id)
    return _need_matches(session, principal, matcher.match_patent(session, patent_id, k))


@router.get(
    "/organisations/{org_id}/matches",
    response_model=NeedMatches,
    summary="Needs for a portfolio",
    description="Published needs that fit an organisation's patent portfolio (专利组合→需求), "
    "e.g. for a university tech-transfer office looking for licensees.",
    responses=problem_responses(401, 404),
)
def match_portfolio(
    org_id: DbId,
    session: SessionDep,
    principal: PrincipalDep,
    matcher: MatcherDep,
    k: KQuery = 10,
) -> NeedMatches:
    """Portfolio → needs."""
    get_or_404(session, Organisation, org_id, "organisation")
    return _need_matches(session, principal, matcher.match_portfolio(session, org_id, k))
