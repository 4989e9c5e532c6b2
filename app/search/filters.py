"""Match filters: which patents may appear in a result, checked against their database rows.

The engine over-fetches ranked candidates, loads the rows of one page of them in one query and
keeps those that pass ``MatchFilters.accepts``; it widens the candidate pool when too few survive.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from app.catalog.enums import ConversionStatus, LegalStatus, OrgKind, PatentType
from app.catalog.ipc import IpcPrefix
from app.catalog.models import Organisation, Patent
from app.catalog.region import RegionPrefix
from app.errors import ValidationFailed

# Patents no longer (or never) in force are hidden unless the caller asks for them by status.
INACTIVE_STATUSES = frozenset(
    {LegalStatus.LAPSED, LegalStatus.EXPIRED, LegalStatus.WITHDRAWN, LegalStatus.INVALIDATED}
)
DAYS_PER_YEAR = 365.25
# Patent columns that neither filtering nor explaining reads.
DEFERRED = ("applicants", "patentees", "inventors")

E = TypeVar("E", bound=StrEnum)


def _members(enum: type[E], values: Any) -> list[E] | None:
    return None if values is None else [enum(value) for value in values]


@dataclass(frozen=True)
class Owner:
    """The owner fields the filters look at (an ``Organisation`` has them too)."""

    kind: OrgKind
    region: str | None


@dataclass
class MatchFilters:
    """Optional restrictions on matched patents; the default hides inactive patents.

    ``ipc_prefix`` and ``region_prefix`` are kept in the canonical form of ``IpcPrefix`` and
    ``RegionPrefix`` (``H01M4/36``, ``3301``); an invalid one raises their ``InvalidValue``.
    """

    legal_status: list[LegalStatus] | None = None
    patent_type: list[PatentType] | None = None
    ipc_prefix: str | None = None
    region_prefix: str | None = None
    owner_kind: list[OrgKind] | None = None
    min_remaining_years: float | None = None
    open_licence_only: bool = False

    def __post_init__(self) -> None:
        if self.region_prefix is not None:
            self.region_prefix = RegionPrefix.parse(self.region_prefix).digits
        prefix = IpcPrefix.parse_optional(self.ipc_prefix)
        self.ipc_prefix = None if prefix is None else prefix.compact
        if self.min_remaining_years is not None and self.min_remaining_years < 0:
            raise ValidationFailed(
                "min_remaining_years must not be negative",
                errors=[{"field": "min_remaining_years", "message": "must be ≥ 0"}],
            )

    def to_json(self) -> dict[str, Any]:
        """The filters that differ from the defaults, as JSON values (e.g. stored by alerts)."""
        data: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value != spec.default:
                data[spec.name] = [v.value for v in value] if isinstance(value, list) else value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "MatchFilters":
        """Filters from ``to_json`` output; absent keys keep their defaults."""
        years = data.get("min_remaining_years")
        return cls(
            legal_status=_members(LegalStatus, data.get("legal_status")),
            patent_type=_members(PatentType, data.get("patent_type")),
            ipc_prefix=data.get("ipc_prefix"),
            region_prefix=data.get("region_prefix"),
            owner_kind=_members(OrgKind, data.get("owner_kind")),
            min_remaining_years=None if years is None else float(years),
            open_licence_only=bool(data.get("open_licence_only", False)),
        )

    @property
    def needs_owner(self) -> bool:
        """Whether the owner organisation's row is needed to decide."""
        return self.region_prefix is not None or self.owner_kind is not None

    def accepts(self, patent: Patent, owner: Owner | Organisation | None, today: date) -> bool:
        """Whether ``patent`` (owned by ``owner``) passes every filter on ``today``."""
        return self._accepts_patent(patent, today) and self._accepts_owner(owner)

    def _accepts_patent(self, patent: Patent, today: date) -> bool:
        """The filters on the patent row itself."""
        if self.legal_status is None:
            if patent.legal_status in INACTIVE_STATUSES:
                return False
        elif patent.legal_status not in self.legal_status:
            return False
        if self.patent_type is not None and patent.patent_type not in self.patent_type:
            return False
        if self.ipc_prefix is not None:
            prefix = IpcPrefix(self.ipc_prefix)
            if not any(prefix.matches(code) for code in patent.ipc_codes):
                return False
        if self.open_licence_only and patent.conversion_status != ConversionStatus.OPEN_LICENCE:
            return False
        if self.min_remaining_years is not None:
            # An unknown expiry cannot guarantee any remaining term.
            if patent.expiry_date is None:
                return False
            remaining = (patent.expiry_date - today).days / DAYS_PER_YEAR
            if remaining < self.min_remaining_years:
                return False
        return True

    def _accepts_owner(self, owner: Owner | Organisation | None) -> bool:
        """The filters on the owner organisation (none owned: fails any owner filter)."""
        if not self.needs_owner:
            return True
        if owner is None:
            return False
        if self.owner_kind is not None and owner.kind not in self.owner_kind:
            return False
        return self.region_prefix is None or RegionPrefix(self.region_prefix).covers(owner.region)


PatentRows = dict[int, tuple[Patent, Owner | None]]


def fetch_patents(session: Session, ids: Sequence[int]) -> PatentRows:
    """The rows of ``ids`` with their owners' kind and region, in one query."""
    if not ids:
        return {}
    # A plain join, not an alias: a fresh alias per call defeats SQLAlchemy's statement cache
    # (5x slower). Name lists are deferred: each JSON column costs a decode per row.
    stmt = (
        select(Patent, Organisation.kind, Organisation.region)
        .outerjoin(Organisation, col(Patent.owner_org_id) == Organisation.id)
        .where(col(Patent.id).in_(list(ids)))
        .options(*(defer(getattr(Patent, name)) for name in DEFERRED))
    )
    rows: PatentRows = {}
    for patent, kind, region in session.exec(stmt):
        if patent.id is not None:
            rows[patent.id] = (patent, None if kind is None else Owner(OrgKind(kind), region))
    return rows


def allowed_ids(session: Session, filters: MatchFilters, limit: int) -> list[int] | None:
    """The ids of every patent a selective filter may accept, read by indexed columns (a superset:
    ``accepts`` still decides), or None when the filter is not selective or allows over ``limit``.

    Only "open licence only" counts as selective: few patents are declared, whereas the other
    filters let through a large share of the catalog (widening the pool then finds enough).
    """
    if not filters.open_licence_only:
        return None
    stmt = select(Patent.id).where(Patent.conversion_status == ConversionStatus.OPEN_LICENCE)
    if filters.legal_status is None:
        stmt = stmt.where(col(Patent.legal_status).not_in(list(INACTIVE_STATUSES)))
    else:
        stmt = stmt.where(col(Patent.legal_status).in_(filters.legal_status))
    if filters.patent_type is not None:
        stmt = stmt.where(col(Patent.patent_type).in_(filters.patent_type))
    ids = [int(i) for i in session.exec(stmt.limit(limit + 1)) if i is not None]
    return None if len(ids) > limit else sorted(ids)


def select_accepted(
    rows: PatentRows,
    ranked: Sequence[int],
    filters: MatchFilters,
    today: date,
) -> list[int]:
    """The ids of ``ranked`` (in order) whose rows exist and pass ``filters``."""
    accepted: list[int] = []
    for pid in ranked:
        row = rows.get(pid)
        if row is not None and filters.accepts(row[0], row[1], today):
            accepted.append(pid)
    return accepted
