"""Filtered figures: a filter keeps exactly the events of one group, so a filtered total equals
that group's row of the unfiltered figures, for every grouping and every key."""

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from app.console.dashboard import funnel_steps, month_series, total_of
from app.deals.figure_filter import FigureFilter
from app.deals.figures import UNKNOWN, FigureRow, GroupBy, compute_figure_sets, compute_figures
from tests.dash_support import FigureWorld, seed_figures


@pytest.fixture
def world(session: Session) -> FigureWorld:
    return seed_figures(session)


def _filter_for(by: GroupBy, key: str) -> FigureFilter:
    if by is GroupBy.REGION:
        return FigureFilter(region=key)
    if by is GroupBy.INDUSTRY:
        return FigureFilter(industry=key)
    if by is GroupBy.IPC_SECTION:
        return FigureFilter(ipc_section=key)
    if by is GroupBy.ORG:
        return FigureFilter(org_id=int(key))
    return FigureFilter(month_from=key, month_to=key)


@pytest.mark.parametrize("by", list(GroupBy))
def test_a_filtered_total_equals_the_group_row(session: Session, world: FigureWorld, by) -> None:
    rows = compute_figures(session, by)
    assert rows, by
    for row in rows:
        if row.key == UNKNOWN:
            continue
        only = _filter_for(by, row.key)
        total = total_of(compute_figures(session, GroupBy.IPC_SECTION, only=only))
        expected = row.model_copy(update={"key": "total", "label": None})
        assert total == expected, (by, row.key)


def test_the_total_counts_each_event_once(session: Session, world: FigureWorld) -> None:
    total = total_of(compute_figures(session, GroupBy.IPC_SECTION))
    assert total.contacts_requested == 6
    assert total.patents_matched == 5  # patent 0 is in two deals
    assert total.signed_contracts == 2
    assert total.conversion_rate == round(2 / 6, 4)
    assert total.contract_value_yuan == 1_050_000
    assert total.idle_patents == 5  # one of six is declared for open licensing
    assert (total.open_licence_declarations, total.licences_taken) == (1, 1)
    assert funnel_steps(total) == [
        ("contacts_requested", 6),
        ("owner_contacted", 4),
        ("negotiating", 4),
        ("agreed", 3),
        ("contract_signed", 2),
    ]


def test_filters_combine(session: Session, world: FigureWorld) -> None:
    only = FigureFilter(region="32", month_from="2026-03", month_to="2026-03")
    total = total_of(compute_figures(session, GroupBy.IPC_SECTION, only=only))
    # Jiangsu's deals requested in March: the agreed one; Jiangsu's idle patents registered
    # in March: patent 5. The contract signed in March belongs to a February Jiangsu deal:
    # contract value counts by the month of signing.
    assert total.contacts_requested == 1
    assert total.deals_by_state == {"agreed": 1}
    assert total.idle_patents == 1
    assert total.contract_value_yuan == 250_000
    by_org = compute_figures(session, GroupBy.ORG, only=FigureFilter(org_id=world.zj_university))
    assert [r.key for r in by_org] == [str(world.zj_university)]


def test_filter_values_are_checked() -> None:
    assert FigureFilter(region="330000").region == "33"
    assert FigureFilter(region="", industry=" ").is_empty()
    bad_values = [{"region": "99"}, {"industry": "C38"}, {"ipc_section": "Z"}, {"month_to": "13"}]
    # Month 0000-01 has no first day before it, 9999-12 none after it: both are refused.
    bad_values += [{"month_from": "0000-01"}, {"month_to": "9999-12"}, {"month_from": "2026-13"}]
    for bad in bad_values:
        with pytest.raises(ValidationError):
            FigureFilter.model_validate(bad)
    assert FigureFilter(month_from="1985-04", month_to="2999-12").month_to == "2999-12"


def test_the_trend_has_every_month_between_the_first_and_the_last() -> None:
    rows = [FigureRow(key="2025-11", contacts_requested=2), FigureRow(key="2026-02"),
            FigureRow(key=UNKNOWN, contacts_requested=9)]  # fmt: skip
    series = month_series(rows)
    assert [r.key for r in series] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert [r.contacts_requested for r in series] == [2, 0, 0, 0]
    assert month_series([]) == []


def test_one_pass_equals_one_grouping_at_a_time(session: Session, world: FigureWorld) -> None:
    only = FigureFilter(month_from="2026-02")
    sets = compute_figure_sets(session, tuple(GroupBy), 4, only, "33")
    for by in GroupBy:
        assert sets[by] == compute_figures(session, by, 4, only, "33"), by


def test_the_month_pattern_accepts_exactly_the_filter_years():
    import re

    from app.deals.figure_filter import MONTH_PATTERN
    from app.types import YEARS

    first, last = YEARS.start, YEARS.stop - 1
    assert re.match(MONTH_PATTERN, f"{first}-01")
    assert re.match(MONTH_PATTERN, f"{last}-12")
    assert not re.match(MONTH_PATTERN, f"{first - 1}-12")
    assert not re.match(MONTH_PATTERN, f"{last + 1}-01")
