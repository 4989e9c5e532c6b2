"""Fee estimates for a budget: posted fixed fees as they are, royalties on stated assumptions."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.licensing.models import PaymentMode
from app.licensing.rules import BP_PER_PERCENT, bp_to_percent
from app.licensing.schemas import FeeEstimate

_BP_PER_UNIT = BP_PER_PERCENT * 100


@dataclass(frozen=True)
class FeeAssumptions:
    """What a royalty estimate assumes about the licensee's business."""

    # A need's budget is what the enterprise will spend on the technology; annual net sales
    # from products using it are assumed to be this many times the budget.
    sales_to_budget: int = 10
    profit_margin: Decimal = Decimal("0.10")


def _royalty(base_yuan: int, rate_bp: int) -> int:
    amount = Decimal(base_yuan) * rate_bp / _BP_PER_UNIT
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _fits(amount: int | None, budget: int | None) -> bool | None:
    if amount is None or budget is None:
        return None
    return amount <= budget


def _royalty_estimate(
    mode: PaymentMode, fee_yuan: int, rate_bp: int, budget: int, assumptions: FeeAssumptions
) -> FeeEstimate:
    sales = budget * assumptions.sales_to_budget
    rate = bp_to_percent(rate_bp)
    basis = (
        f"estimate, not a quote: assumes annual net sales of ¥{sales:,} "
        f"({assumptions.sales_to_budget}× the need's budget of ¥{budget:,})"
    )
    if mode is PaymentMode.PROFIT_ROYALTY:
        margin = assumptions.profit_margin
        profit = int((sales * margin).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        amount = _royalty(profit, rate_bp)
        basis += f" and a {margin * 100:.0f}% profit margin (¥{profit:,}); first year at {rate}%"
    else:
        amount = fee_yuan + _royalty(sales, rate_bp)
        entry = f"¥{fee_yuan:,} entry fee plus " if fee_yuan else ""
        basis += f"; first year: {entry}{rate}% of net sales"
    return FeeEstimate(
        amount_yuan=amount, is_estimate=True, assumption=basis, fits_budget=amount <= budget
    )


def estimate_fee(
    mode: PaymentMode,
    fee_yuan: int | None,
    rate_bp: int | None,
    budget_yuan: int | None,
    assumptions: FeeAssumptions | None = None,
) -> FeeEstimate:
    """The first-year cost of a declaration's terms against a budget (yuan)."""
    if mode is PaymentMode.LUMP_SUM or rate_bp is None:
        return FeeEstimate(
            amount_yuan=fee_yuan,
            is_estimate=False,
            assumption=None,
            fits_budget=_fits(fee_yuan, budget_yuan),
        )
    if budget_yuan is None or budget_yuan <= 0:
        return FeeEstimate(
            amount_yuan=None,
            is_estimate=True,
            assumption="the need gives no budget, so the royalty cannot be estimated",
            fits_budget=None,
        )
    return _royalty_estimate(
        mode, fee_yuan or 0, rate_bp, budget_yuan, assumptions or FeeAssumptions()
    )


def need_budget(budget_min: int | None, budget_max: int | None) -> int | None:
    """The budget a fee is compared with: the ceiling when given, else the floor."""
    return budget_max if budget_max is not None else budget_min
