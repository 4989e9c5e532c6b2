"""Broker assignment: which service station (知识产权服务站) covers a deal, and stalled cases."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.catalog.region import RegionPrefix
from app.deals.models import Deal
from app.deals.states import ACTIVE_STATES

# GB/T 4754-2017 sections (门类) and the two-digit divisions (大类) they span, so that a
# station covering section "C" covers an industry code such as "3841".
_SECTIONS: dict[str, tuple[int, int]] = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52),
    "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72),
    "M": (73, 75), "N": (76, 79), "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90),
    "S": (91, 97), "T": (98, 98),
}  # fmt: skip
_LETTERS = "".join(_SECTIONS)


def covers_region(coverage: list[str], region: str | None) -> bool:
    """True when a station's GB/T 2260 prefixes cover ``region``; no coverage means nationwide."""
    if not coverage:
        return True
    if not region:
        return False
    # Stored coverage was parsed at write; parsing again reads legacy "320100" as 3201.
    return any(RegionPrefix.parse(prefix).covers(region) for prefix in coverage)


def _digits(code: str) -> str:
    # "C3841" and "3841" name the same class; compare the digits only.
    return code.strip().upper().lstrip(_LETTERS)


def _section_covers(section: str, digits: str) -> bool:
    if not digits[:2].isdigit():
        return False
    low, high = _SECTIONS[section]
    return low <= int(digits[:2]) <= high


def covers_industry(coverage: list[str], industry: str | None) -> bool:
    """True when a station's GB/T 4754 codes (sections or digit prefixes) cover ``industry``."""
    if not coverage:
        return True
    if not industry:
        return False
    digits = _digits(industry)
    for code in coverage:
        code = code.strip().upper()
        if code in _SECTIONS:
            if _section_covers(code, digits):
                return True
        elif _digits(code) and digits.startswith(_digits(code)):
            return True
    return False


def open_case_counts(session: Session, station_ids: list[int]) -> dict[int, int]:
    """Number of active (not closed, declined or withdrawn) deals per station."""
    stmt = (
        select(Deal.station_org_id, sa.func.count())
        .where(col(Deal.station_org_id).in_(station_ids), col(Deal.state).in_(ACTIVE_STATES))
        .group_by(col(Deal.station_org_id))
    )
    counts = dict.fromkeys(station_ids, 0)
    for station_id, count in session.exec(stmt):
        if station_id is not None:
            counts[station_id] = int(count)
    return counts


def covering_stations(session: Session, region: str | None, industry: str | None) -> list[int]:
    """Ids of the service stations covering a region and industry, lowest id first."""
    stmt = select(Organisation).where(Organisation.kind == OrgKind.SERVICE_STATION)
    stations = session.exec(stmt.order_by(col(Organisation.id))).all()
    return [
        s.id
        for s in stations
        if s.id is not None
        and covers_region(s.coverage_regions or [], region)
        and covers_industry(s.coverage_industries or [], industry)
    ]


def pick_station(session: Session, region: str | None, industry: str | None) -> int | None:
    """The covering station with the fewest open cases (ties: lowest id), or None."""
    candidates = covering_stations(session, region, industry)
    if not candidates:
        return None
    counts = open_case_counts(session, candidates)
    return min(candidates, key=lambda sid: (counts[sid], sid))


def overdue_deals(
    session: Session, now: datetime, days: int, station_id: int | None = None
) -> list[Deal]:
    """Active deals with no transition for ``days`` days, oldest first; optionally one station's."""
    cutoff = now - timedelta(days=days)
    stmt = select(Deal).where(col(Deal.state).in_(ACTIVE_STATES), col(Deal.updated_at) < cutoff)
    if station_id is not None:
        stmt = stmt.where(Deal.station_org_id == station_id)
    return list(session.exec(stmt.order_by(col(Deal.updated_at), col(Deal.id))))
