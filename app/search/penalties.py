"""The seam through which features above search (deals) push patents down a ranking."""

from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlmodel import Session


class PenaltyProvider(Protocol):
    """Penalty in [0, 1) per patent for a need/free-text query; the score is scaled by 1 - it.

    The app wires ``app.deals.declines.decline_penalties`` in (``app.wiring``), so search
    never imports the features built on it.
    """

    def __call__(
        self, session: Session, patent_ids: Sequence[int], query_text: str
    ) -> Mapping[int, float]:
        """Penalties of the patents in ``patent_ids`` that have one; others are absent."""
        ...


def no_penalties(
    session: Session, patent_ids: Sequence[int], query_text: str
) -> Mapping[int, float]:
    """The provider of an engine without feedback: nothing is penalised."""
    return {}
