"""Chain-scoped matching: a need matched within a chain's patents; a chain's idle patents
pushed to the chain's needs. The engine does the ranking; the chain narrows the candidates."""

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from app.catalog.enums import ConversionStatus, NeedStatus
from app.catalog.models import Organisation, Patent, TechNeed
from app.chains.models import TagEntity
from app.chains.queries import tagged_ids
from app.search.filters import INACTIVE_STATUSES, MatchFilters, Owner

# Needs pushed to per call at most: each is one ranking over the chain's patents.
MAX_PUSH_NEEDS = 20


@dataclass
class ChainFilters(MatchFilters):
    """The caller's filters, and only the patents tagged to the chain (or node)."""

    patent_ids: frozenset[int] = field(default_factory=frozenset)

    def accepts(self, patent: Patent, owner: Owner | Organisation | None, today: date) -> bool:
        """The patent is the chain's and passes every other filter."""
        return patent.id in self.patent_ids and super().accepts(patent, owner, today)


def chain_patent_ids(
    session: Session, chain_id: int, node_id: int | None, *, idle_only: bool = False
) -> frozenset[int]:
    """Patents tagged to the chain (or node); ``idle_only``: idle ones in force (the pool)."""
    stmt = select(Patent.id).where(
        col(Patent.id).in_(tagged_ids(chain_id, TagEntity.PATENT, node_id))
    )
    if idle_only:
        stmt = stmt.where(
            col(Patent.conversion_status) == ConversionStatus.IDLE,
            col(Patent.legal_status).not_in(list(INACTIVE_STATUSES)),
        )
    return frozenset(int(i) for i in session.exec(stmt) if i is not None)


def chain_filters(base: MatchFilters, patent_ids: frozenset[int]) -> ChainFilters:
    """``base`` narrowed to ``patent_ids``."""
    values = {name: getattr(base, name) for name in base.__dataclass_fields__}
    return ChainFilters(**values, patent_ids=patent_ids)


def chain_needs(
    session: Session, chain_id: int, node_id: int | None, after: int | None, limit: int
) -> list[TechNeed]:
    """Published needs tagged to the chain (or node), by id, after the cursor ``after``."""
    stmt = select(TechNeed).where(
        col(TechNeed.id).in_(tagged_ids(chain_id, TagEntity.NEED, node_id)),
        col(TechNeed.status) == NeedStatus.PUBLISHED,
    )
    if after is not None:
        stmt = stmt.where(col(TechNeed.id) > after)
    return list(session.exec(stmt.order_by(col(TechNeed.id)).limit(limit)))
