"""Composition: the features above search and the catalog plugged into their seams.

The lower layers define the seams (``CatalogHooks``, ``PenaltyProvider``) and never import the
features; the API and the CLI build their engines and services with what is wired here.
"""

from app.catalog.hooks import CatalogHooks
from app.deals import reactions as deal_reactions
from app.deals.declines import decline_penalties
from app.deals.scanner import forget_patent
from app.licensing import reactions as licensing_reactions
from app.search.penalties import PenaltyProvider


def catalog_hooks() -> CatalogHooks:
    """Deals and licensing guard patent deletion; alerts forget deleted patents."""
    return CatalogHooks(
        delete_guards=(deal_reactions.patent_referrers, licensing_reactions.patent_referrers),
        before_patent_delete=(forget_patent,),
        open_licence_declared=licensing_reactions.is_declared,
    )


def match_penalties() -> PenaltyProvider:
    """Deals' decline reasons sink patents declined for similar needs."""
    return decline_penalties
