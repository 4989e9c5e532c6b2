"""Match filters: each rule on its own, and applied by the engine over database rows."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from app.catalog.enums import ConversionStatus, LegalStatus, OrgKind, PatentType
from app.catalog.models import Organisation, Patent
from app.errors import ValidationFailed
from app.search.encoder import HashingEncoder
from app.search.engine import MatchEngine, MatchFilters
from app.search.filters import fetch_patents
from app.search.lexical import Tokenizer
from app.search.ranking import RankingParams
from tests.engine_support import Catalog, add_org, add_patent, make_settings

pytest_plugins = ["tests.engine_fixtures"]

TODAY = date(2026, 6, 1)


def _patent(**fields: object) -> Patent:
    values: dict[str, object] = {
        "natural_key": "k",
        "title": "t",
        "legal_status": LegalStatus.GRANTED,
        "patent_type": PatentType.INVENTION,
        "ipc_codes": ["H01M 4/58", "C01B 25/45"],
    }
    values.update(fields)
    return Patent(**values)  # type: ignore[arg-type]


UNIVERSITY = Organisation(name="u", kind=OrgKind.UNIVERSITY, region="330106")


def test_default_hides_inactive_patents_only() -> None:
    default = MatchFilters()
    for status in LegalStatus:
        visible = default.accepts(_patent(legal_status=status), None, TODAY)
        assert visible == (status in {LegalStatus.PENDING, LegalStatus.GRANTED})


def test_explicit_legal_status_replaces_the_default() -> None:
    lapsed_only = MatchFilters(legal_status=[LegalStatus.LAPSED])
    assert lapsed_only.accepts(_patent(legal_status=LegalStatus.LAPSED), None, TODAY)
    assert not lapsed_only.accepts(_patent(legal_status=LegalStatus.GRANTED), None, TODAY)


def test_patent_type() -> None:
    utility = MatchFilters(patent_type=[PatentType.UTILITY_MODEL])
    assert utility.accepts(_patent(patent_type=PatentType.UTILITY_MODEL), None, TODAY)
    assert not utility.accepts(_patent(), None, TODAY)
    assert not utility.accepts(_patent(patent_type=None), None, TODAY)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("H01M", True), ("h01m 4", True), ("H01M4/5", True), ("C01B", True), ("H02", False)],
)
def test_ipc_prefix_matches_any_code_ignoring_case_and_spaces(prefix: str, expected: bool) -> None:
    assert MatchFilters(ipc_prefix=prefix).accepts(_patent(), None, TODAY) is expected


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("33", True), ("330000", True), ("3301", True), ("330100", True), ("3302", False)],
)
def test_region_prefix_of_the_owner(prefix: str, expected: bool) -> None:
    filters = MatchFilters(region_prefix=prefix)
    assert filters.accepts(_patent(), UNIVERSITY, TODAY) is expected
    assert not filters.accepts(_patent(), None, TODAY)  # no owner, no region


@pytest.mark.parametrize("bad", ["3a", "123", "12345678", ""])
def test_bad_region_prefix_names_the_field(bad: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        MatchFilters(region_prefix=bad)
    assert error.value.extra["errors"][0]["field"] == "region_prefix"


def test_region_prefix_normalisation() -> None:
    assert MatchFilters(region_prefix="320500").region_prefix == "3205"
    assert MatchFilters(region_prefix=" 110000 ").region_prefix == "11"
    assert MatchFilters(region_prefix="110108").region_prefix == "110108"
    assert MatchFilters(region_prefix="３３").region_prefix == "33"  # full-width digits


@pytest.mark.parametrize(("field", "bad"), [("region_prefix", "990000"), ("ipc_prefix", "ZZZ")])
def test_filters_use_the_catalog_rule_for_codes(field: str, bad: str) -> None:
    # The same rule as every other region/IPC input: no province 99, no IPC section Z.
    with pytest.raises(ValidationFailed) as error:
        MatchFilters(**{field: bad})  # type: ignore[arg-type]
    assert error.value.extra["errors"][0]["field"] == field


def test_filters_round_trip_through_json() -> None:
    filters = MatchFilters(
        legal_status=[LegalStatus.GRANTED],
        patent_type=[PatentType.INVENTION],
        ipc_prefix="h01m 4",
        region_prefix="330100",
        owner_kind=[OrgKind.UNIVERSITY],
        min_remaining_years=2.5,
        open_licence_only=True,
    )
    data = filters.to_json()
    assert data["ipc_prefix"] == "H01M4"
    assert data["region_prefix"] == "3301"
    assert data["legal_status"] == ["granted"]
    assert MatchFilters.from_json(data) == filters
    assert MatchFilters().to_json() == {}
    assert MatchFilters.from_json({}) == MatchFilters()


def test_owner_kind() -> None:
    filters = MatchFilters(owner_kind=[OrgKind.UNIVERSITY, OrgKind.RESEARCH_INSTITUTE])
    assert filters.accepts(_patent(), UNIVERSITY, TODAY)
    enterprise = Organisation(name="e", kind=OrgKind.ENTERPRISE, region="330106")
    assert not filters.accepts(_patent(), enterprise, TODAY)
    assert not filters.accepts(_patent(), None, TODAY)


def test_min_remaining_years() -> None:
    filters = MatchFilters(min_remaining_years=5)
    assert filters.accepts(_patent(expiry_date=TODAY + timedelta(days=6 * 365)), None, TODAY)
    assert not filters.accepts(_patent(expiry_date=TODAY + timedelta(days=4 * 365)), None, TODAY)
    assert not filters.accepts(_patent(expiry_date=None), None, TODAY)  # unknown term
    with pytest.raises(ValidationFailed, match="min_remaining_years"):
        MatchFilters(min_remaining_years=-1)


def test_open_licence_only() -> None:
    filters = MatchFilters(open_licence_only=True)
    assert filters.accepts(_patent(conversion_status=ConversionStatus.OPEN_LICENCE), None, TODAY)
    assert not filters.accepts(_patent(conversion_status=ConversionStatus.IDLE), None, TODAY)


# Engine-level: the same filters over the catalog's rows ---------------------------------------

QUERY = "锂电池 正极材料 电解液 灌溉 图像识别 污水处理 荷电状态"


def _found(session: Session, matcher: MatchEngine, filters: MatchFilters) -> set[int]:
    result = matcher.match_text(session, QUERY, filters, 10)
    rows = fetch_patents(session, [m.id for m in result.matches])
    for match in result.matches:
        patent, owner = rows[match.id]
        assert filters.accepts(patent, owner, date.today())
    return {m.id for m in result.matches}


def test_engine_applies_each_filter(
    session: Session, matcher: MatchEngine, catalog: Catalog
) -> None:
    c = catalog
    assert _found(session, matcher, MatchFilters()) == {
        c.cathode, c.electrolyte, c.irrigation, c.vision, c.soc
    }  # fmt: skip
    assert _found(session, matcher, MatchFilters(patent_type=[PatentType.UTILITY_MODEL])) == {
        c.electrolyte
    }
    assert _found(session, matcher, MatchFilters(ipc_prefix="H01M10")) == {c.electrolyte, c.soc}
    assert _found(session, matcher, MatchFilters(region_prefix="32")) == {c.electrolyte}
    universities = MatchFilters(owner_kind=[OrgKind.UNIVERSITY])
    assert _found(session, matcher, universities) == {c.cathode, c.irrigation, c.vision}
    assert _found(session, matcher, MatchFilters(min_remaining_years=10)) == {c.cathode}
    assert _found(session, matcher, MatchFilters(open_licence_only=True)) == {c.electrolyte}
    lapsed = MatchFilters(legal_status=[LegalStatus.LAPSED], region_prefix="320500")
    assert _found(session, matcher, lapsed) == {c.sewage}


def test_filter_nothing_passes_gives_no_match(session: Session, matcher: MatchEngine) -> None:
    result = matcher.match_text(session, QUERY, MatchFilters(ipc_prefix="B60"), 5)
    assert result.matches == []
    assert result.no_good_match


def test_pool_widens_until_enough_candidates_pass(
    session: Session, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    owner = add_org(session, "宁波某研究院", OrgKind.RESEARCH_INSTITUTE, "330200")
    for n in range(40):
        add_patent(session, f"锂电池正极材料改性方法{n}", ["H01M 4/36"],
                   legal_status=LegalStatus.GRANTED)  # fmt: skip
    target = add_patent(session, "一种电池外壳", ["H01M 50/10"], owner_org_id=owner,
                        legal_status=LegalStatus.GRANTED)  # fmt: skip
    # A pool of 4 per retriever: the only patent passing the filter is far below it at first.
    engine = MatchEngine(
        make_settings(tmp_path), HashingEncoder(), params=RankingParams(pool=4), tokenizer=tokenizer
    )
    engine.rebuild(session)
    filters = MatchFilters(owner_kind=[OrgKind.RESEARCH_INSTITUTE])
    result = engine.match_text(session, "锂电池正极材料改性", filters, 1)
    assert [m.id for m in result.matches] == [target]
