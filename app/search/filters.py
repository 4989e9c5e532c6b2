"""Match filters: which patents may appear in a result, checked against their database rows.

The engine over-fetches ranked candidates, loads the rows of one page of them in one query and
keeps those that pass ``MatchFilters.accepts``; it widens the candidate pool when too few survive.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from app.catalog.enums import ConversionStatus, LegalStatus, OrgKind, PatentType
from app.catalog.models import Organisation, Patent
from app.errors import ValidationFailed

# Patents no longer (or never) in force are hidden unless the caller asks for them by status.
INACTIVE_STATUSES = frozenset(
    {LegalStatus.LAPSED, LegalStatus.EXPIRED, LegalStatus.WITHDRAWN, LegalStatus.INVALIDATED}
)
DAYS_PER_YEAR = 365.25
# Patent columns that neither filtering nor explaining reads.
DEFERRED = ("applicants", "patentees", "inventors")


def normalise_ipc(code: str) -> str:
    """Upper case without spaces, so "h01m 4/36" and "H01M4/36" compare equal."""
    return "".join(code.split()).upper()


def normalise_region_prefix(prefix: str) -> str:
    """A GB/T 2260 prefix without trailing ``00`` levels ("320100" → "3201", "320000" → "32")."""
    value = prefix.strip()
    if not value.isdigit() or len(value) > 6 or len(value) % 2:
        raise ValidationFailed(
            f"region prefix {prefix!r} is not a GB/T 2260 code prefix (2, 4 or 6 digits)",
            errors=[{"field": "region_prefix", "message": "expected 2, 4 or 6 digits"}],
        )
    while len(value) > 2 and value.endswith("00"):
        value = value[:-2]
    return value


@dataclass(frozen=True)
class Owner:
    """The owner fields the filters look at (an ``Organisation`` has them too)."""

    kind: OrgKind
    region: str | None


@dataclass
class MatchFilters:
    """Optional restrictions on matched patents; the default hides inactive patents."""

    legal_status: list[LegalStatus] | None = None
    patent_type: list[PatentType] | None = None
    ipc_prefix: str | None = None
    region_prefix: str | None = None
    owner_kind: list[OrgKind] | None = None
    min_remaining_years: float | None = None
    open_licence_only: bool = False

    def __post_init__(self) -> None:
        if self.region_prefix is not None:
            self.region_prefix = normalise_region_prefix(self.region_prefix)
        if self.ipc_prefix is not None:
            self.ipc_prefix = normalise_ipc(self.ipc_prefix) or None
        if self.min_remaining_years is not None and self.min_remaining_years < 0:
            raise ValidationFailed(
                "min_remaining_years must not be negative",
                errors=[{"field": "min_remaining_years", "message": "must be ≥ 0"}],
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
            prefix = self.ipc_prefix
            if not any(normalise_ipc(code).startswith(prefix) for code in patent.ipc_codes):
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
        region = owner.region or ""
        return self.region_prefix is None or region.startswith(self.region_prefix)


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
