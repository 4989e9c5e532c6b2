"""Read models of the TTO workbench: the filtered portfolio and one patent's page."""

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.catalog.enums import ConversionStatus, LegalStatus, PatentType
from app.catalog.ipc import IpcScheme
from app.catalog.models import Organisation, Patent, TechNeed
from app.catalog.terms import effective_legal_status, remaining_years
from app.deals.models import Deal
from app.licensing.models import DeclarationStatus, OpenLicenceDeclaration
from app.search.engine import MatchEngine

PAGE_SIZE = 50
_DAYS_PER_YEAR = 365.25


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class PortfolioQuery:
    """The portfolio filters, as the form submits them (already parsed)."""

    org_id: int | None
    q: str = ""
    legal_status: list[LegalStatus] = field(default_factory=list)
    patent_type: list[PatentType] = field(default_factory=list)
    conversion_status: list[ConversionStatus] = field(default_factory=list)
    ipc_prefix: str = ""
    min_remaining_years: float | None = None
    page: int = 1


def list_portfolio(
    session: Session, query: PortfolioQuery, today: date
) -> tuple[list[Patent], int]:
    """One page of the organisation's patents matching the filters, and the total count."""
    stmt = select(Patent)
    if query.org_id is not None:
        stmt = stmt.where(Patent.owner_org_id == query.org_id)
    if query.q.strip():
        pattern = f"%{_like_escape(query.q.strip())}%"
        stmt = stmt.where(
            sa.or_(
                col(Patent.title).like(pattern, escape="\\"),
                col(Patent.application_number).like(pattern, escape="\\"),
            )
        )
    if query.legal_status:
        stmt = stmt.where(col(Patent.legal_status).in_(query.legal_status))
    if query.patent_type:
        stmt = stmt.where(col(Patent.patent_type).in_(query.patent_type))
    if query.conversion_status:
        stmt = stmt.where(col(Patent.conversion_status).in_(query.conversion_status))
    if query.ipc_prefix:
        prefix = _like_escape(query.ipc_prefix.replace(" ", "").upper())
        stmt = stmt.where(
            sa.func.replace(col(Patent.ipc_main), " ", "").like(f"{prefix}%", escape="\\")
        )
    if query.min_remaining_years is not None:
        cutoff = today + timedelta(days=round(query.min_remaining_years * _DAYS_PER_YEAR))
        stmt = stmt.where(col(Patent.expiry_date) >= cutoff)
    total = int(session.exec(select(sa.func.count()).select_from(stmt.subquery())).one())
    page = (
        stmt.order_by(col(Patent.id).desc()).offset((query.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    )
    return list(session.exec(page)), total


@dataclass(frozen=True)
class NeedMatch:
    """A published need matching the patent, with the engine's explanation."""

    need: TechNeed
    org_name: str
    confidence: float
    matched_terms: list[str]
    shared_ipc: list[str]


@dataclass(frozen=True)
class PatentView:
    """Everything the patent page shows."""

    patent: Patent
    owner: Organisation | None
    status: LegalStatus
    remaining: float | None
    ipc_labels: list[tuple[str, str | None]]
    needs: list[NeedMatch]
    no_good_match: bool
    deals: list[Deal]
    declarations: list[OpenLicenceDeclaration]

    @property
    def active_declaration(self) -> OpenLicenceDeclaration | None:
        """The declaration in force (at most one per patent), if any."""
        active = (d for d in self.declarations if d.status is DeclarationStatus.ACTIVE)
        return next(active, None)


def _need_matches(
    session: Session, matcher: MatchEngine, patent_id: int
) -> tuple[list[NeedMatch], bool]:
    result = matcher.match_patent(session, patent_id, 10)
    ids = [m.id for m in result.matches]
    # Two queries for the page instead of two per match.
    needs = {n.id: n for n in session.exec(select(TechNeed).where(col(TechNeed.id).in_(ids)))}
    org_ids = {n.org_id for n in needs.values()}
    orgs = session.exec(select(Organisation).where(col(Organisation.id).in_(org_ids)))
    names = {o.id: o.name for o in orgs}
    found: list[NeedMatch] = []
    for match in result.matches:
        need = needs.get(match.id)
        if need is None:
            continue
        found.append(
            NeedMatch(
                need,
                names.get(need.org_id, ""),
                match.confidence,
                list(match.explanation.matched_terms),
                list(match.explanation.shared_ipc),
            )
        )
    return found, result.no_good_match


def patent_view(
    session: Session, matcher: MatchEngine, scheme: IpcScheme | None, patent: Patent, today: date
) -> PatentView:
    """Assemble the patent page: terms, IPC labels, matching needs, deals, declarations."""
    assert patent.id is not None
    needs, no_good = _need_matches(session, matcher, patent.id)
    deals = session.exec(
        select(Deal).where(Deal.patent_id == patent.id).order_by(col(Deal.id).desc())
    )
    declarations = session.exec(
        select(OpenLicenceDeclaration)
        .where(OpenLicenceDeclaration.patent_id == patent.id)
        .order_by(col(OpenLicenceDeclaration.id).desc())
    )
    return PatentView(
        patent=patent,
        owner=session.get(Organisation, patent.owner_org_id) if patent.owner_org_id else None,
        status=effective_legal_status(patent.legal_status, patent.expiry_date, today),
        remaining=remaining_years(patent.expiry_date, today),
        ipc_labels=[(c, scheme.label(c) if scheme else None) for c in patent.ipc_codes],
        needs=needs,
        no_good_match=no_good,
        deals=list(deals),
        declarations=list(declarations),
    )
