"""Two cities of one province, each with a government office, a tto and an enterprise."""

from dataclasses import dataclass

from sqlalchemy import Engine

from app.auth.principal import Role
from app.catalog.enums import OrgKind
from tests.api.conftest import Actor, make_actor

PROVINCE, CITY_A, CITY_B = "330000", "330100", "330200"  # Zhejiang, Hangzhou, Ningbo
# Where the offices' organisations (patent owners, enterprises) of each city sit.
DISTRICT_A, DISTRICT_B = "330106", "330203"


@dataclass(frozen=True)
class TwoCities:
    """The actors of the jurisdiction tests."""

    province: Actor
    gov_a: Actor
    gov_b: Actor
    tto_a: Actor
    tto_b: Actor
    ent_a: Actor
    ent_b: Actor


def two_cities(engine: Engine) -> TwoCities:
    """Offices of Zhejiang, Hangzhou and Ningbo; a tto and an enterprise in each city."""
    gov, tto, ent = OrgKind.GOVERNMENT, OrgKind.UNIVERSITY, OrgKind.ENTERPRISE
    return TwoCities(
        province=make_actor(engine, Role.GOVERNMENT, gov, PROVINCE),
        gov_a=make_actor(engine, Role.GOVERNMENT, gov, CITY_A),
        gov_b=make_actor(engine, Role.GOVERNMENT, gov, CITY_B),
        tto_a=make_actor(engine, Role.TTO, tto, DISTRICT_A),
        tto_b=make_actor(engine, Role.TTO, tto, DISTRICT_B),
        ent_a=make_actor(engine, Role.ENTERPRISE, ent, DISTRICT_A),
        ent_b=make_actor(engine, Role.ENTERPRISE, ent, DISTRICT_B),
    )
