"""How the features built on the catalog react to its writes, without the catalog importing them.

The app registers the reactions once (``app.wiring.catalog_hooks``); the catalog service calls
them. Deals and licensing keep the history a patent cannot be deleted without, alerts forget a
deleted patent, and licensing knows whether a patent has an active open-licence declaration.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

# What keeps a patent from being deleted: names of the records that refer to it ([] = nothing).
DeleteGuard = Callable[[Session, int], list[str]]
# A reaction to a patent about to be deleted (runs in the same transaction).
PatentHook = Callable[[Session, int], None]
# Whether the patent has an active open-licence declaration (开放许可).
DeclaredCheck = Callable[[Session, int], bool]


def _never_declared(session: Session, patent_id: int) -> bool:
    return False


@dataclass(frozen=True)
class CatalogHooks:
    """The reactions registered at app wiring; the default reacts to nothing."""

    delete_guards: tuple[DeleteGuard, ...] = ()
    before_patent_delete: tuple[PatentHook, ...] = ()
    open_licence_declared: DeclaredCheck = _never_declared
