"""Product filing over HTTP: cited rights checked, review by the jurisdiction, figures, export."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.catalog.enums import LegalStatus
from app.catalog.industry import IndustryClasses
from app.catalog.models import Patent
from app.chains.models import ChainNode, ChainTag, IndustryChain, NodePosition, TagEntity
from app.deals.models import ContractType, Deal, DealContract
from app.deals.states import DealState
from app.licensing.models import LicenceKind, PatentLicence
from tests.api.conftest import Actor
from tests.api.helpers import assert_problem
from tests.api.regions import TwoCities, two_cities
from tests.filing_support import add_patent

FILINGS = "/api/v1/filings"
INDUSTRY_CSV = """code,level,section,division,group,class,name_zh,remark_zh
C,1,C,,,,制造业,
C38,2,C,38,,,电气机械和器材制造业,
C384,3,C,38,384,,电池制造,
C3841,4,C,38,384,3841,锂离子电池制造,
"""


@dataclass(frozen=True)
class Rights:
    """Patents with every kind of right (and wrong) held by city A's enterprise."""

    owned: int
    assigned: int
    licensed: int
    open_licensed: int
    expired_licence: int
    lapsed: int
    foreign: int


@pytest.fixture(scope="module")
def cities(api_engine: Engine) -> TwoCities:
    """The province, the two cities and their organisations."""
    return two_cities(api_engine)


@pytest.fixture(scope="module", autouse=True)
def industry(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A small GB/T 4754 list, as the lifespan loads it from the shared folder."""
    path = tmp_path_factory.mktemp("industry") / "nic.csv"
    path.write_text(INDUSTRY_CSV, encoding="utf-8")
    client.app.state.industry_classes = IndustryClasses.load(path)  # type: ignore[attr-defined]


def _licence(session: Session, patent: int, org: int, kind: LicenceKind, end: date) -> None:
    session.add(PatentLicence(patent_id=patent, kind=kind, licensee_org_id=org,
                              start_date=date(2020, 1, 1), end_date=end))  # fmt: skip


@pytest.fixture(scope="module")
def rights(api_engine: Engine, cities: TwoCities) -> Rights:
    """The deals and licences behind each right, written as the deal workflow leaves them."""
    ent, tto = cities.ent_a.org_id, cities.tto_a.org_id
    assert ent is not None
    assert tto is not None
    with Session(api_engine) as session:
        assigned = add_patent(session, ent)
        deal = Deal(patent_id=assigned, requester_org_id=ent, owner_org_id=tto,
                    state=DealState.CONTRACT_SIGNED)  # fmt: skip
        session.add(deal)
        session.flush()
        session.add(DealContract(deal_id=deal.id or 0, contract_type=ContractType.ASSIGNMENT,
                                 signed_on=date(2025, 6, 1)))  # fmt: skip
        licensed, expired = add_patent(session, tto), add_patent(session, tto)
        _licence(session, licensed, ent, LicenceKind.EXCLUSIVE, date(2039, 12, 31))
        open_licensed = add_patent(session, tto)
        _licence(session, open_licensed, ent, LicenceKind.OPEN, date(2030, 12, 31))
        _licence(session, expired, ent, LicenceKind.ORDINARY, date(2021, 1, 1))
        found = Rights(
            owned=add_patent(session, ent),
            assigned=assigned,
            licensed=licensed,
            open_licensed=open_licensed,
            expired_licence=expired,
            lapsed=add_patent(session, ent, LegalStatus.LAPSED),
            foreign=add_patent(session, cities.ent_b.org_id),
        )
        session.commit()
    return found


def _product(client: TestClient, actor: Actor, **overrides: Any) -> dict[str, Any]:
    body = {"name": "NCM811 正极材料", "category": "锂电池材料", "industry_code": "3841",
            "annual_output_yuan": 120_000_000, **overrides}  # fmt: skip
    response = client.post(FILINGS, json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _link(client: TestClient, actor: Actor, product: int, patent: int, basis: str) -> Any:
    body = {"patent_id": patent, "basis": basis}
    return client.post(f"{FILINGS}/{product}/patents", json=body, headers=actor.headers)


def _reason(response: Any) -> str:
    problem = assert_problem(response, 422)
    message: str = problem["errors"][0]["message"]
    return message


def test_a_lapsed_patent_or_an_expired_licence_is_refused_with_the_reason(
    client: TestClient, cities: TwoCities, rights: Rights
) -> None:
    product = _product(client, cities.ent_a)["id"]
    assert "status is lapsed" in _reason(
        _link(client, cities.ent_a, product, rights.lapsed, "owned")
    )
    reason = _reason(
        _link(client, cities.ent_a, product, rights.expired_licence, "ordinary_licence")
    )
    assert "ended on 2021-01-01" in reason
    reason = _reason(_link(client, cities.ent_a, product, rights.licensed, "owned"))
    assert "another organisation" in reason
    reason = _reason(_link(client, cities.ent_a, product, rights.licensed, "sole_licence"))
    assert "no sole licence" in reason
    reason = _reason(_link(client, cities.ent_a, product, rights.owned, "assignment"))
    assert "no signed assignment" in reason
    assert_problem(_link(client, cities.ent_b, product, rights.foreign, "owned"), 404)
    detail = client.get(f"{FILINGS}/{product}", headers=cities.ent_a.headers).json()
    assert detail["patents"] == []


def test_unknown_industry_class_is_422(client: TestClient, cities: TwoCities) -> None:
    body = {"name": "x", "category": "y", "industry_code": "C3849", "annual_output_yuan": 1}
    problem = assert_problem(client.post(FILINGS, json=body, headers=cities.ent_a.headers), 422)
    assert problem["errors"][0]["field"] == "industry_code"
    assert _product(client, cities.ent_a, industry_code="c3841")["industry_code"] == "C3841"


def test_submit_checks_every_right_again(
    client: TestClient, api_engine: Engine, cities: TwoCities
) -> None:
    with Session(api_engine) as session:
        patent = add_patent(session, cities.ent_a.org_id)
        session.commit()
    product = _product(client, cities.ent_a)["id"]
    empty = assert_problem(
        client.post(f"{FILINGS}/{product}/submit", headers=cities.ent_a.headers), 422
    )
    assert empty["errors"][0]["field"] == "patents"
    assert _link(client, cities.ent_a, product, patent, "owned").status_code == 200
    with Session(api_engine) as session:
        row = session.get(Patent, patent)
        assert row is not None
        row.legal_status = LegalStatus.LAPSED
        session.add(row)
        session.commit()
    problem = assert_problem(
        client.post(f"{FILINGS}/{product}/submit", headers=cities.ent_a.headers), 422
    )
    assert problem["errors"] == [
        {
            "field": f"patents.{patent}",
            "message": f"patent {patent}: only granted patents in force qualify; status is lapsed",
        }
    ]


def _figures(client: TestClient, actor: Actor, **params: Any) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/figures", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return {row["key"]: row for row in response.json()}


def _review(client: TestClient, actor: Actor, product: int, **body: Any) -> Any:
    return client.post(f"{FILINGS}/{product}/review", json=body, headers=actor.headers)


def test_filing_reviewed_by_its_jurisdiction_and_counted_once_approved(
    client: TestClient, cities: TwoCities, rights: Rights
) -> None:
    ent, gov_a, gov_b = cities.ent_a, cities.gov_a, cities.gov_b
    product = _product(client, ent, name="高镍正极")["id"]
    url = f"{FILINGS}/{product}"
    assert_problem(client.get(url, headers=gov_a.headers), 404)  # a draft is the enterprise's
    for patent, basis in ((rights.owned, "owned"), (rights.assigned, "assignment"),
                          (rights.licensed, "exclusive_licence"),
                          (rights.open_licensed, "open_licence")):  # fmt: skip
        assert _link(client, ent, product, patent, basis).status_code == 200
    submitted = client.post(f"{url}/submit", headers=ent.headers).json()
    assert submitted["status"] == "submitted"
    assert {p["basis"]: (p["licence_id"] is not None, p["contract_id"] is not None)
            for p in submitted["patents"]} == {"owned": (False, False), "assignment": (False, True),
                                               "exclusive_licence": (True, False),
                                               "open_licence": (True, False)}  # fmt: skip
    assert_problem(client.get(url, headers=gov_b.headers), 404)
    assert_problem(_review(client, gov_b, product, decision="approve"), 404)
    listed = client.get(FILINGS, headers=gov_b.headers).json()["items"]
    assert product not in [p["id"] for p in listed]
    assert product in [p["id"] for p in client.get(FILINGS, headers=gov_a.headers).json()["items"]]
    assert_problem(
        client.get(FILINGS, params={"region_prefix": "3302"}, headers=gov_a.headers), 403
    )
    assert_problem(_review(client, ent, product, decision="approve"), 403)
    assert_problem(_review(client, gov_a, product, decision="return"), 422)
    returned = _review(client, gov_a, product, decision="return", reason="请补充许可合同").json()
    assert (returned["status"], returned["review_note"]) == ("returned", "请补充许可合同")
    before = _figures(client, gov_a, region_level=4).get("3301", {}).get("filed_products", 0)
    changed = client.patch(url, json={"annual_output_yuan": 150_000_000}, headers=ent.headers)
    assert changed.status_code == 200, changed.text
    client.post(f"{url}/submit", headers=ent.headers)
    approved = _review(client, cities.province, product, decision="approve").json()
    assert approved["status"] == "approved"
    assert [e["action"] for e in approved["history"]] == [
        "created", *["patent_linked"] * 4, "submitted", "returned",
        "updated", "submitted", "approved",
    ]  # fmt: skip
    assert_problem(client.patch(url, json={"name": "x"}, headers=ent.headers), 409)
    row = _figures(client, gov_a, region_level=4)["3301"]
    assert row["filed_products"] == before + 1
    assert row["filed_patents"] >= 4
    assert row["filed_output_yuan"] >= 150_000_000
    assert "3301" not in _figures(client, gov_b, region_level=4)
    by_industry = _figures(client, cities.province, group_by="industry")
    assert by_industry["38"]["filed_products"] >= 1


def test_roles_outside_filing_are_refused(client: TestClient, cities: TwoCities) -> None:
    assert_problem(client.get(FILINGS, headers=cities.tto_a.headers), 403)
    body = {"name": "x", "category": "y", "industry_code": "3841", "annual_output_yuan": 1}
    assert_problem(client.post(FILINGS, json=body, headers=cities.gov_a.headers), 403)
    product = _product(client, cities.ent_a)["id"]
    assert_problem(client.get(f"{FILINGS}/{product}", headers=cities.ent_b.headers), 404)


def test_filing_list_exports_formula_safe_csv(
    client: TestClient, cities: TwoCities, rights: Rights
) -> None:
    product = _product(client, cities.ent_a, name='=HYPERLINK("http://x")')["id"]
    assert _link(client, cities.ent_a, product, rights.owned, "owned").status_code == 200
    response = client.get(FILINGS, params={"format": "csv"}, headers=cities.ent_a.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert rows[str(product)]["name"].startswith("'=")
    assert rows[str(product)]["patents"] == str(rights.owned)
    assert rows[str(product)]["region"] == "330106"


def _chain_with_tags(engine: Engine, patents: list[int]) -> tuple[int, list[int]]:
    """A chain of two nodes, patent i tagged to node i."""
    with Session(engine) as session:
        chain = IndustryChain(
            key=f"filing-chain-{patents[0]}", name="富硒产业链", owner_region="6109"
        )
        session.add(chain)
        session.flush()
        assert chain.id is not None
        nodes = [
            ChainNode(
                chain_id=chain.id, key=f"n{i}", name=f"节点{i}", position=NodePosition.UPSTREAM
            )
            for i in range(len(patents))
        ]
        session.add_all(nodes)
        session.flush()
        for node, patent in zip(nodes, patents, strict=True):
            assert node.id is not None
            session.add(ChainTag(node_id=node.id, chain_id=chain.id, entity=TagEntity.PATENT,
                                 entity_id=patent))  # fmt: skip
        session.commit()
        return chain.id, [n.id or 0 for n in nodes]


def test_an_approved_filing_counts_in_the_chains_of_its_patents(
    client: TestClient, api_engine: Engine, cities: TwoCities, admin: Actor
) -> None:
    with Session(api_engine) as session:
        patents = [add_patent(session, cities.ent_a.org_id) for _ in range(2)]
        session.commit()
    chain, nodes = _chain_with_tags(api_engine, patents)
    product = _product(client, cities.ent_a, annual_output_yuan=5_000_000)["id"]
    for patent in patents:
        assert _link(client, cities.ent_a, product, patent, "owned").status_code == 200
    client.post(f"{FILINGS}/{product}/submit", headers=cities.ent_a.headers)
    assert _review(client, cities.gov_a, product, decision="approve").status_code == 200
    by_chain = _figures(client, admin, group_by="chain")[str(chain)]
    assert (by_chain["filed_products"], by_chain["filed_patents"]) == (1, 2)
    assert by_chain["filed_output_yuan"] == 5_000_000
    by_node = _figures(client, admin, group_by="chain_node")
    assert [
        (by_node[str(n)]["filed_products"], by_node[str(n)]["filed_patents"]) for n in nodes
    ] == [
        (1, 1),
        (1, 1),
    ]
