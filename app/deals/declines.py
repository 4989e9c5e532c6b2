"""Decline reasons (拒绝原因): reports per patent and per tto, and a ranking penalty.

``decline_penalties`` is the hook for the match engine: a patent declined for needs similar to
the current query sinks in the ranking (multiply its score by ``1 - penalty``).
"""

from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import Session, col, select

from app.catalog.models import TechNeed
from app.deals.models import Deal
from app.deals.schemas import DeclineCount
from app.deals.similarity import bigrams, overlap
from app.deals.states import DealState, DeclineReason

# How strongly a decline of each kind says "this patent does not fit needs like this one".
REASON_WEIGHTS: dict[DeclineReason, float] = {
    DeclineReason.ALREADY_SOLVED: 0.6,
    DeclineReason.TOO_EARLY_STAGE: 0.3,
    DeclineReason.BENEFIT_UNCLEAR: 0.2,
    DeclineReason.ROUTE_TO_MARKET_UNCLEAR: 0.2,
}
# A penalty never removes a patent from the ranking altogether.
MAX_PENALTY = 0.8
# Below this similarity between the query and the declined need, the decline is unrelated.
MIN_SIMILARITY = 0.2


def decline_report(session: Session, by: str) -> list[DeclineCount]:
    """Declined deals counted by reason, per patent (``by="patent"``) or per tto (``"org"``)."""
    column = Deal.patent_id if by == "patent" else Deal.owner_org_id
    stmt = select(column, Deal.decline_reason).where(Deal.state == DealState.DECLINED)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, reason in session.exec(stmt):
        if key is not None and reason is not None:
            counts[int(key)][DeclineReason(reason).value] += 1
    rows = [
        DeclineCount(key=k, total=sum(v.values()), by_reason=dict(v)) for k, v in counts.items()
    ]
    return sorted(rows, key=lambda row: (-row.total, row.key))


def decline_penalties(
    session: Session, patent_ids: Sequence[int], query_text: str
) -> dict[int, float]:
    """Penalty in [0, MAX_PENALTY] per patent declined for needs similar to ``query_text``."""
    if not patent_ids or not query_text.strip():
        return {}
    stmt = (
        select(Deal.patent_id, Deal.decline_reason, TechNeed.title, TechNeed.description)
        .join(TechNeed, col(TechNeed.id) == col(Deal.need_id))
        .where(Deal.state == DealState.DECLINED, col(Deal.patent_id).in_(list(patent_ids)))
    )
    penalties: dict[int, float] = defaultdict(float)
    query_grams = bigrams(query_text)  # once, not once per declined deal
    for patent_id, reason, title, description in session.exec(stmt):
        weight = REASON_WEIGHTS.get(DeclineReason(reason), 0.0) if reason else 0.0
        if patent_id is None or weight == 0.0:
            continue
        score = overlap(query_grams, bigrams(f"{title}\n{description or ''}"))
        if score >= MIN_SIMILARITY:
            penalties[int(patent_id)] += weight * score
    return {pid: min(MAX_PENALTY, value) for pid, value in penalties.items()}
