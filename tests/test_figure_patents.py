"""The patent-side key figures counted in SQL equal a plain count over the rows, per grouping,
filter and region scope, on a small catalog mixing owners, regions, IPC codes and months."""

from collections import Counter
from datetime import UTC, date, datetime
from itertools import cycle

import pytest
from sqlmodel import Session

from app.catalog.enums import ConversionStatus, LegalStatus, OrgKind
from app.catalog.models import Organisation, Patent
from app.deals.figure_filter import FigureFilter
from app.deals.figure_groups import UNKNOWN, GroupBy, month_key
from app.deals.figure_patents import patent_side_counts
from app.licensing.models import LicenceKind, OpenLicenceDeclaration, PatentLicence, PaymentMode

_Event = tuple[str, Patent, datetime | None]  # figure, patent, moment (None: unknown)

FILTERS = [
    None,
    FigureFilter(region="33"),
    FigureFilter(region="3301", ipc_section="H"),
    FigureFilter(ipc_section="A"),
    FigureFilter(month_from="2025-06", month_to="2026-01"),
    FigureFilter(month_to="2025-12", region="32"),
    FigureFilter(industry="38"),
]


def _catalog(session: Session) -> list[_Event]:
    """Patents of four owners (one without a region) and none, with declarations, licences."""
    orgs = [
        Organisation(kind=OrgKind.UNIVERSITY, name=f"org {region}", region=region)
        for region in ("330106", "330200", "320500", None)
    ]
    session.add_all(orgs)
    session.flush()
    owners, ipcs = cycle([*orgs, None]), cycle(["H01M 10/05", "A61K 9/00", None, "", "G06F 1/00"])
    statuses = cycle([LegalStatus.GRANTED, LegalStatus.PENDING, LegalStatus.LAPSED])
    uses = cycle([ConversionStatus.IDLE, ConversionStatus.IDLE, ConversionStatus.LICENSED])
    patents = []
    for i in range(23):
        owner = next(owners)
        patents.append(Patent(
            natural_key=f"mix-{i}", title=f"专利 {i}", ipc_main=next(ipcs),
            legal_status=next(statuses), conversion_status=next(uses),
            owner_org_id=owner.id if owner else None,
            created_at=datetime(2025 + i % 2, 1 + i % 12, 3, tzinfo=UTC),
        ))  # fmt: skip
    session.add_all(patents)
    session.flush()
    return [*_idle(patents), *_licensing(session, patents, orgs[0])]


def _idle(patents: list[Patent]) -> list[_Event]:
    in_force = (LegalStatus.GRANTED, LegalStatus.PENDING)
    return [
        ("idle_patents", p, p.created_at)
        for p in patents
        if p.conversion_status is ConversionStatus.IDLE and p.legal_status in in_force
    ]


def _licensing(session: Session, patents: list[Patent], licensee: Organisation) -> list[_Event]:
    events: list[_Event] = []
    for i, patent in enumerate(patents[::2]):
        when = datetime(2025 + i % 2, 1 + (3 * i) % 12, 15, tzinfo=UTC)
        session.add(OpenLicenceDeclaration(
            patent_id=patent.id or 0, payment_mode=PaymentMode.LUMP_SUM, term_years=2,
            contact_name="联系人", declared_at=when,
        ))  # fmt: skip
        events.append(("open_licence_declarations", patent, when))
        kind = LicenceKind.OPEN if i % 3 else LicenceKind.EXCLUSIVE
        session.add(PatentLicence(
            patent_id=patent.id or 0, kind=kind, licensee_org_id=licensee.id or 0,
            start_date=date(2025, 1, 1), end_date=date(2027, 1, 1), created_at=when,
        ))  # fmt: skip
        if kind is LicenceKind.OPEN:
            events.append(("licences_taken", patent, when))
    session.flush()
    return events


def _plain(
    session: Session,
    events: list[_Event],
    by: GroupBy,
    only: FigureFilter | None,
    scope: str | None,
) -> Counter[tuple[str, str]]:
    """The reference: each event tested and keyed one by one, in Python."""
    counts: Counter[tuple[str, str]] = Counter()
    for figure, patent, when in events:
        owner = session.get(Organisation, patent.owner_org_id) if patent.owner_org_id else None
        region, ipc = owner.region if owner else None, patent.ipc_main
        month = month_key(when)
        if scope is not None and not (region and region.startswith(scope)):
            continue
        if only is not None and not only.passes(
            region=region, industry=None, ipc=ipc, org=patent.owner_org_id, month=month
        ):
            continue
        keys = {
            GroupBy.REGION: (region or "")[:2] or UNKNOWN,
            GroupBy.IPC_SECTION: (ipc or "")[:1] or UNKNOWN,
            GroupBy.ORG: str(patent.owner_org_id) if patent.owner_org_id else UNKNOWN,
            GroupBy.MONTH: month,
        }
        counts[figure, keys.get(by, UNKNOWN)] += 1
    return counts


@pytest.mark.parametrize("scope", [None, "33", "3302"])
def test_sql_counts_equal_a_plain_count(session: Session, scope: str | None) -> None:
    """Every grouping but chains, every filter: the SQL counts are the plain counts."""
    events = _catalog(session)
    groupings = [g for g in GroupBy if g not in (GroupBy.CHAIN, GroupBy.CHAIN_NODE)]
    for by in groupings:
        for only in FILTERS:
            got = Counter(
                {(f, k): n for f, k, n in patent_side_counts(session, by, 2, only, scope)}
            )
            assert got == _plain(session, events, by, only, scope), (by, only)
    assert sum(_plain(session, events, GroupBy.ORG, None, scope).values()) > 3
