"""Open-licence candidates for a need, and declaration advice for a tech-transfer office.

Both read the match engine through the small protocols below, so the ranking logic here does
not depend on how the engine indexes or scores.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlmodel import Session, col, select

from app.auth.access import get_visible_need
from app.auth.principal import Principal
from app.catalog.enums import ConversionStatus, LegalStatus, NeedStatus
from app.catalog.models import Organisation, Patent, TechNeed
from app.db import get_or_404
from app.licensing.estimate import FeeAssumptions, estimate_fee, need_budget
from app.licensing.schemas import AdviceItem, AdviceList, Candidate, CandidateList, declaration_out
from app.licensing.service import active_declarations, require_tto_of, today_utc
from app.search.filters import MatchFilters

DAYS_PER_YEAR = 365.25
# Transparent score: weights of demand, idleness and remaining term (they sum to 1).
DEMAND_WEIGHT, IDLE_WEIGHT, TERM_WEIGHT = 0.5, 0.3, 0.2
# Saturation points: demand counts up to 3 confident needs, idleness up to 5 years, term up to 10.
DEMAND_SATURATION, IDLE_SATURATION, TERM_SATURATION = 3.0, 5.0, 10.0


class MatchLike(Protocol):
    """A match as the engine returns it."""

    @property
    def id(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def confidence(self) -> float: ...


class ResultLike(Protocol):
    """A match result as the engine returns it."""

    @property
    def matches(self) -> Sequence[MatchLike]: ...
    @property
    def no_good_match(self) -> bool: ...


class Matcher(Protocol):
    """The part of ``MatchEngine`` that open licensing uses."""

    def match_need(self, session: Session, need_id: int, filters: Any, k: int) -> ResultLike: ...
    def match_patent(self, session: Session, patent_id: int, k: int) -> ResultLike: ...


@dataclass(frozen=True)
class AdviceParams:
    """Thresholds of the declaration advice."""

    min_remaining_years: float = 3.0
    min_idle_years: float = 1.0
    min_confidence: float = 0.5
    limit: int = 20
    # Matching every patent is costly with a real model; the longest idle are scanned first.
    scan_limit: int = 100
    needs_per_patent: int = 10


def _years(start: date, end: date) -> float:
    return (end - start).days / DAYS_PER_YEAR


def open_licence_candidates(
    session: Session,
    matcher: Matcher,
    principal: Principal,
    need_id: int,
    k: int = 10,
    assumptions: FeeAssumptions | None = None,
) -> CandidateList:
    """Open-licensed patents that match a need, with terms and a fee estimate for its budget."""
    need = get_visible_need(session, principal, need_id)
    budget = need_budget(need.budget_min, need.budget_max)
    result = matcher.match_need(session, need_id, MatchFilters(open_licence_only=True), k)
    candidates: list[Candidate] = []
    declarations = active_declarations(session, [match.id for match in result.matches])
    for match in result.matches:
        declaration = declarations.get(match.id)
        patent = session.get(Patent, match.id)
        # The index may lag a withdrawal by a moment; the database has the last word.
        if declaration is None or patent is None:
            continue
        fee = estimate_fee(
            declaration.payment_mode,
            declaration.fee_yuan,
            declaration.royalty_rate_bp,
            budget,
            assumptions,
        )
        out = declaration_out(declaration, patent)
        candidates.append(
            Candidate(declaration=out, score=match.score, confidence=match.confidence, fee=fee)
        )
    return CandidateList(
        need_id=need_id, no_good_match=result.no_good_match or not candidates, candidates=candidates
    )


def _require_org_tto(session: Session, principal: Principal, org_id: int) -> None:
    get_or_404(session, Organisation, org_id, "organisation")
    denial = f"only organisation {org_id}'s tto or an admin may see this advice"
    require_tto_of(principal, org_id, denial)


@dataclass(frozen=True)
class IdlePatent:
    """An idle granted patent with the dates the advice reasons about."""

    id: int
    title: str
    application_number: str | None
    grant_date: date
    expiry_date: date


def _idle_patents(
    session: Session, org_id: int, params: AdviceParams, today: date
) -> list[IdlePatent]:
    stmt = (
        select(Patent)
        .where(
            Patent.owner_org_id == org_id,
            Patent.legal_status == LegalStatus.GRANTED,
            Patent.conversion_status == ConversionStatus.IDLE,
        )
        .order_by(col(Patent.grant_date), col(Patent.id))
    )
    eligible: list[IdlePatent] = []
    for p in session.exec(stmt):
        if p.id is None or p.grant_date is None or p.expiry_date is None:
            continue
        if _years(today, p.expiry_date) < params.min_remaining_years:
            continue
        if _years(p.grant_date, today) < params.min_idle_years:
            continue
        eligible.append(
            IdlePatent(p.id, p.title, p.application_number, p.grant_date, p.expiry_date)
        )
        if len(eligible) >= params.scan_limit:
            break
    return eligible


def _demand(
    session: Session, matcher: Matcher, patent_id: int, params: AdviceParams
) -> list[tuple[int, float]]:
    result = matcher.match_patent(session, patent_id, params.needs_per_patent)
    confident = {
        m.id: m.confidence for m in result.matches if m.confidence >= params.min_confidence
    }
    if not confident:
        return []
    stmt = select(TechNeed.id).where(
        col(TechNeed.id).in_(list(confident)), TechNeed.status == NeedStatus.PUBLISHED
    )
    published = {i for i in session.exec(stmt) if i is not None}
    return sorted(((i, confident[i]) for i in published), key=lambda pair: (-pair[1], pair[0]))


def score_patent(
    patent: IdlePatent, demand: list[tuple[int, float]], params: AdviceParams, today: date
) -> AdviceItem:
    """Score one idle patent and explain the score in short reasons."""
    idle, remaining = _years(patent.grant_date, today), _years(today, patent.expiry_date)
    demand_part = min(1.0, sum(c for _, c in demand) / DEMAND_SATURATION)
    idle_part = min(1.0, idle / IDLE_SATURATION)
    term_part = min(1.0, remaining / TERM_SATURATION)
    score = DEMAND_WEIGHT * demand_part + IDLE_WEIGHT * idle_part + TERM_WEIGHT * term_part
    best = demand[0][1] if demand else 0.0
    reasons = [
        f"granted {patent.grant_date.isoformat()}, idle for {idle:.1f} years",
        f"{remaining:.1f} years of term left (expires {patent.expiry_date.isoformat()})",
        f"{len(demand)} published needs match with confidence ≥ {params.min_confidence:.2f}"
        + (f" (best {best:.2f})" if demand else ""),
        f"score {score:.3f} = {DEMAND_WEIGHT}×demand {demand_part:.2f} + "
        f"{IDLE_WEIGHT}×idle {idle_part:.2f} + {TERM_WEIGHT}×term {term_part:.2f}",
    ]
    return AdviceItem(
        patent_id=patent.id,
        title=patent.title,
        application_number=patent.application_number,
        score=round(score, 3),
        idle_years=round(idle, 1),
        remaining_years=round(remaining, 1),
        matching_needs=len(demand),
        best_confidence=round(best, 3),
        need_ids=[need_id for need_id, _ in demand],
        reasons=reasons,
    )


def declaration_advice(
    session: Session,
    matcher: Matcher,
    principal: Principal,
    org_id: int,
    params: AdviceParams | None = None,
    today: date | None = None,
) -> AdviceList:
    """Which of an organisation's idle patents to declare for open licensing, best first."""
    params = params or AdviceParams()
    today = today or today_utc()
    _require_org_tto(session, principal, org_id)
    items = [
        score_patent(patent, _demand(session, matcher, patent.id, params), params, today)
        for patent in _idle_patents(session, org_id, params, today)
    ]
    items.sort(key=lambda item: (-item.score, item.patent_id))
    return AdviceList(
        org_id=org_id,
        min_remaining_years=params.min_remaining_years,
        min_confidence=params.min_confidence,
        items=items[: params.limit],
    )
