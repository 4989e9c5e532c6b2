"""The deal-side key figures counted in SQL equal a plain count over the deals, per grouping
(chains too), filter and region scope, on deals mixing blank and unknown regions, industry
codes with and without a section letter, patents without an IPC code, deals without a patent,
patents in two chains, and contracts without an amount."""

from collections import defaultdict
from datetime import UTC, date, datetime
from itertools import cycle

import pytest
from sqlmodel import Session, select

from app.auth.access import in_region_scope
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation, Patent
from app.chains.models import ChainNode, ChainTag, IndustryChain, NodePosition, TagEntity, TagStatus
from app.deals.figure_deals import contract_values, deal_groups
from app.deals.figure_filter import FigureFilter
from app.deals.figure_groups import UNKNOWN, GroupBy, division, month_key, region_key
from app.deals.models import ContractType, Deal, DealContract
from app.deals.states import DealState

FILTERS = [
    None,
    FigureFilter(region="33"),
    FigureFilter(industry="38"),
    FigureFilter(ipc_section="H", month_from="2025-06"),
    FigureFilter(month_from="2025-03", month_to="2026-02"),
    FigureFilter(region="3205", month_to="2025-12"),
]
_Facts = tuple[Deal, str | None, dict[int, str | None], dict[int, list[str]]]


def _orgs(session: Session) -> list[Organisation]:
    orgs = [
        Organisation(kind=kind, name=f"org {i}", region=region)
        for i, (kind, region) in enumerate([
            (OrgKind.UNIVERSITY, "330106"), (OrgKind.UNIVERSITY, "320500"),
            (OrgKind.UNIVERSITY, None), (OrgKind.ENTERPRISE, "330200"),
            (OrgKind.ENTERPRISE, "110105"), (OrgKind.ENTERPRISE, ""),
        ])
    ]  # fmt: skip
    session.add_all(orgs)
    session.flush()
    return orgs


def _chains(session: Session, patents: list[Patent]) -> None:
    """Two chains of two nodes; patent 0 in both chains, one tag removed."""
    chains = [IndustryChain(key=f"c{i}", name=f"链 {i}", owner_region="33") for i in range(2)]
    session.add_all(chains)
    session.flush()
    nodes = [
        ChainNode(chain_id=c.id or 0, key=f"n{i}", name=f"节点 {i}", position=NodePosition.UPSTREAM)
        for c in chains
        for i in range(2)
    ]
    session.add_all(nodes)
    session.flush()
    plan = [(0, 0, TagStatus.AUTO), (0, 1, TagStatus.CONFIRMED), (0, 2, TagStatus.AUTO),
            (1, 0, TagStatus.AUTO), (2, 3, TagStatus.REMOVED), (3, 3, TagStatus.AUTO)]  # fmt: skip
    session.add_all(
        ChainTag(node_id=nodes[n].id or 0, chain_id=nodes[n].chain_id, entity=TagEntity.PATENT,
                 entity_id=patents[p].id or 0, status=status)
        for p, n, status in plan
    )  # fmt: skip
    session.flush()


def _world(session: Session) -> list[DealContract]:
    """Deals over five patents (and none) with their contracts."""
    orgs = _orgs(session)
    ipcs = ["H01M 4/36", "G06F 16/00", None, "", "H02S 40/10"]
    patents = [
        Patent(natural_key=f"deal-mix-{i}", title=f"专利 {i}", ipc_main=ipc,
               owner_org_id=orgs[i % 3].id)
        for i, ipc in enumerate(ipcs)
    ]  # fmt: skip
    session.add_all(patents)
    session.flush()
    _chains(session, patents)
    picks = cycle([*patents, None])
    regions = cycle(["330110", "320500", None, "", "330200", "3205", "110105"])
    industries = cycle(["C3841", "3841", "C", None, "I6511", "38", "C2710", ""])
    states, contracts = cycle(DealState), []
    for i in range(41):
        patent = next(picks)
        deal = Deal(
            patent_id=patent.id if patent else None,
            owner_org_id=(patent.owner_org_id if patent else orgs[i % 3].id) or 0,
            requester_org_id=orgs[3 + i % 3].id or 0, region=next(regions),
            industry_code=next(industries), state=next(states),
            created_at=datetime(2025 + i % 2, 1 + (5 * i) % 12, 7, tzinfo=UTC),
        )  # fmt: skip
        session.add(deal)
        session.flush()
        if i % 3 == 0:
            contract = DealContract(
                deal_id=deal.id or 0, contract_type=ContractType.ASSIGNMENT,
                amount_yuan=None if i % 9 == 0 else 10_000 * i, signed_on=date(2026, 1 + i % 12, 3),
            )  # fmt: skip
            contracts.append(contract)
    session.add_all(contracts)
    session.flush()
    return contracts


def _keys(session: Session, deal: Deal, by: GroupBy, when: date | datetime) -> list[str]:
    """The reference keys of a deal-side event: each computed in Python."""
    patent = session.get(Patent, deal.patent_id) if deal.patent_id else None
    ipc = patent.ipc_main if patent else None
    if by in (GroupBy.CHAIN, GroupBy.CHAIN_NODE):
        tagged = select(ChainTag).where(ChainTag.entity_id == (deal.patent_id or -1))
        tags = [t for t in session.exec(tagged) if t.status is not TagStatus.REMOVED]
        owners = {str(t.node_id if by is GroupBy.CHAIN_NODE else t.chain_id) for t in tags}
        return sorted(owners) or [UNKNOWN]
    return [{
        GroupBy.MONTH: month_key(when), GroupBy.REGION: region_key(deal.region, 2),
        GroupBy.INDUSTRY: division(deal.industry_code) or UNKNOWN,
        GroupBy.ORG: str(deal.owner_org_id), GroupBy.IPC_SECTION: ipc[0] if ipc else UNKNOWN,
    }[by]]  # fmt: skip


def _kept(
    session: Session,
    deal: Deal,
    when: date | datetime,
    only: FigureFilter | None,
    scope: str | None,
) -> bool:
    parties = [session.get(Organisation, i) for i in (deal.requester_org_id, deal.owner_org_id)]
    regions = [deal.region, *(o.region if o else None for o in parties)]
    if not any(in_region_scope(scope, region) for region in regions):
        return False
    patent = session.get(Patent, deal.patent_id) if deal.patent_id else None
    return only is None or only.passes(
        region=deal.region, industry=division(deal.industry_code),
        ipc=patent.ipc_main if patent else None, org=deal.owner_org_id, month=month_key(when),
    )  # fmt: skip


def _plain(session: Session, contracts: list[DealContract], by: GroupBy,
           only: FigureFilter | None, scope: str | None) -> dict[str, object]:  # fmt: skip
    """Per key: (per-state counts, distinct patents) and the contract value, one by one."""
    states: dict[str, dict[DealState, int]] = defaultdict(lambda: defaultdict(int))
    patents: dict[str, set[int]] = defaultdict(set)
    for deal in session.exec(select(Deal)):
        if _kept(session, deal, deal.created_at, only, scope):
            for key in _keys(session, deal, by, deal.created_at):
                states[key][deal.state] += 1
                patents[key] |= {deal.patent_id} if deal.patent_id else set()
    value: dict[str, int] = defaultdict(int)
    for contract in contracts:
        deal = session.get(Deal, contract.deal_id)
        assert deal is not None
        if _kept(session, deal, contract.signed_on, only, scope):
            for key in _keys(session, deal, by, contract.signed_on):
                value[key] += contract.amount_yuan or 0
    groups = {k: (dict(s), len(patents[k])) for k, s in states.items()}
    return {"groups": groups, "value": dict(value)}


@pytest.mark.parametrize("scope", [None, "33", "3205"])
def test_sql_deal_counts_equal_a_plain_count(session: Session, scope: str | None) -> None:
    """Every grouping, every filter: the SQL counts are the plain counts."""
    contracts = _world(session)
    for by in GroupBy:
        for only in FILTERS:
            got = {
                "groups": {
                    g.key: (g.by_state, g.patents_matched)
                    for g in deal_groups(session, by, 2, only, scope)
                },
                "value": dict(contract_values(session, by, 2, only, scope)),
            }
            assert got == _plain(session, contracts, by, only, scope), (by, only)
    everything = _plain(session, contracts, GroupBy.INDUSTRY, None, scope)["groups"]
    assert isinstance(everything, dict)
    assert len(everything) >= 3  # the world is not one group


def test_the_month_range_includes_its_first_and_last_moments(session: Session) -> None:
    """A range keeps events from 00:00 of its first day to the end of its last, no others."""
    orgs = _orgs(session)
    moments = [
        datetime(2025, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),  # before
        datetime(2025, 3, 1, 0, 0, tzinfo=UTC),  # first moment
        datetime(2025, 5, 31, 23, 59, 59, 999999, tzinfo=UTC),  # last moment
        datetime(2025, 6, 1, 0, 0, tzinfo=UTC),  # after
    ]
    deals = [
        Deal(owner_org_id=orgs[0].id or 0, requester_org_id=orgs[3].id or 0, region="330106",
             state=DealState.REQUESTED, created_at=moment)
        for moment in moments
    ]  # fmt: skip
    session.add_all(deals)
    session.flush()
    signed = [date(2025, 2, 28), date(2025, 3, 1), date(2025, 5, 31), date(2025, 6, 1)]
    session.add_all(
        DealContract(deal_id=deal.id or 0, contract_type=ContractType.ASSIGNMENT,
                     amount_yuan=10**n, signed_on=day)
        for n, (deal, day) in enumerate(zip(deals, signed, strict=True))
    )  # fmt: skip
    session.flush()
    only = FigureFilter(month_from="2025-03", month_to="2025-05")
    months = {
        g.key: sum(g.by_state.values()) for g in deal_groups(session, GroupBy.MONTH, 2, only, None)
    }
    assert months == {"2025-03": 1, "2025-05": 1}
    assert dict(contract_values(session, GroupBy.MONTH, 2, only, None)) == {
        "2025-03": 10, "2025-05": 100,
    }  # fmt: skip
    assert _plain(session, [], GroupBy.MONTH, only, None)["groups"] == {
        "2025-03": ({DealState.REQUESTED: 1}, 0), "2025-05": ({DealState.REQUESTED: 1}, 0),
    }  # fmt: skip
