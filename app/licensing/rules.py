"""Rules for open-licence declarations and licences: pure functions, no database.

Each check returns the violations it finds (empty when the input is acceptable) so that the
service can report every problem at once, each naming its field.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.catalog.enums import LegalStatus
from app.licensing.models import LicenceKind, PaymentMode

MAX_FIXED_FEE_YUAN = 20_000_000
MAX_SALES_ROYALTY_PERCENT = Decimal(20)
MAX_PROFIT_ROYALTY_PERCENT = Decimal(40)
MIN_TERM_YEARS = 1
# Basis points per percent: rates are stored exactly as integer hundredths of a percent.
BP_PER_PERCENT = 100

_ROYALTY_LIMITS: dict[PaymentMode, Decimal] = {
    PaymentMode.SALES_ROYALTY: MAX_SALES_ROYALTY_PERCENT,
    PaymentMode.PROFIT_ROYALTY: MAX_PROFIT_ROYALTY_PERCENT,
    PaymentMode.ENTRY_FEE_ROYALTY: MAX_SALES_ROYALTY_PERCENT,
}
_FEE_MODES = frozenset({PaymentMode.LUMP_SUM, PaymentMode.ENTRY_FEE_ROYALTY})


@dataclass(frozen=True)
class RuleViolation:
    """One broken rule, naming the request field at fault."""

    field: str
    message: str

    def as_error(self) -> dict[str, str]:
        """The ``{field, message}`` form used by ``ValidationFailed``."""
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True)
class LicenceSpan:
    """The kind and end date of a recorded licence, as the rules need them."""

    kind: LicenceKind
    end_date: date


def add_years(start: date, years: int) -> date:
    """``start`` plus whole years; 29 February falls back to 28 February."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def percent_to_bp(rate_percent: Decimal) -> int:
    """A percentage as integer basis points (20.5 % → 2050)."""
    return int(rate_percent * BP_PER_PERCENT)


def bp_to_percent(rate_bp: int) -> Decimal:
    """Integer basis points as a percentage with two decimals."""
    return (Decimal(rate_bp) / BP_PER_PERCENT).quantize(Decimal("0.01"))


def check_patent_in_force(
    status: LegalStatus, expiry_date: date | None, today: date
) -> list[RuleViolation]:
    """Only granted patents that have not expired may be declared."""
    if status is not LegalStatus.GRANTED:
        return [
            RuleViolation(
                "patent", f"only granted patents in force qualify; status is {status.value}"
            )
        ]
    if expiry_date is None:
        return [
            RuleViolation(
                "patent", "the patent's expiry date is unknown, so its term cannot be checked"
            )
        ]
    if expiry_date < today:
        return [RuleViolation("patent", f"the patent expired on {expiry_date.isoformat()}")]
    return []


def blocking_licence(licences: Iterable[LicenceSpan], today: date) -> LicenceSpan | None:
    """An active exclusive (独占) or sole (排他) licence, which rules out an open licence."""
    for licence in licences:
        if licence.kind in (LicenceKind.EXCLUSIVE, LicenceKind.SOLE) and licence.end_date >= today:
            return licence
    return None


def _check_rate(mode: PaymentMode, rate: Decimal | None) -> list[RuleViolation]:
    limit = _ROYALTY_LIMITS.get(mode)
    if limit is None:
        if rate is not None:
            return [RuleViolation("royalty_rate_percent", f"{mode.value} takes no royalty rate")]
        return []
    if rate is None:
        return [RuleViolation("royalty_rate_percent", f"{mode.value} needs a royalty rate")]
    if rate <= 0:
        return [RuleViolation("royalty_rate_percent", "the royalty rate must be above 0%")]
    if rate > limit:
        base = "profit" if mode is PaymentMode.PROFIT_ROYALTY else "net sales"
        return [
            RuleViolation("royalty_rate_percent", f"the royalty may not exceed {limit}% of {base}")
        ]
    if rate * BP_PER_PERCENT != int(rate * BP_PER_PERCENT):
        return [RuleViolation("royalty_rate_percent", "give the rate with at most two decimals")]
    return []


def _check_fee(mode: PaymentMode, fee_yuan: int | None) -> list[RuleViolation]:
    if mode not in _FEE_MODES:
        if fee_yuan is not None:
            return [RuleViolation("fee_yuan", f"{mode.value} takes no fixed fee")]
        return []
    if fee_yuan is None:
        return [RuleViolation("fee_yuan", f"{mode.value} needs a fee in yuan")]
    # A lump sum of 0 is a free licence (免费许可); an entry fee of 0 would just be a royalty.
    minimum = 1 if mode is PaymentMode.ENTRY_FEE_ROYALTY else 0
    if fee_yuan < minimum:
        return [RuleViolation("fee_yuan", f"the fee must be at least {minimum} yuan")]
    if fee_yuan > MAX_FIXED_FEE_YUAN:
        return [RuleViolation("fee_yuan", f"the fixed fee may not exceed ¥{MAX_FIXED_FEE_YUAN:,}")]
    return []


def check_payment_terms(
    mode: PaymentMode, fee_yuan: int | None, rate_percent: Decimal | None
) -> list[RuleViolation]:
    """Fee and royalty limits for the payment mode; entry fee + royalty must meet both."""
    return _check_fee(mode, fee_yuan) + _check_rate(mode, rate_percent)


def check_term(term_years: int, today: date, expiry_date: date | None) -> list[RuleViolation]:
    """At least one year, and a licence starting today must end by the patent's expiry."""
    if term_years < MIN_TERM_YEARS:
        return [RuleViolation("term_years", f"the term must be at least {MIN_TERM_YEARS} year")]
    if expiry_date is not None and add_years(today, term_years) > expiry_date:
        return [
            RuleViolation(
                "term_years",
                f"a {term_years}-year term from {today.isoformat()} runs past the patent's "
                f"expiry on {expiry_date.isoformat()}",
            )
        ]
    return []


def check_notice_contact(name: str, phone: str | None, email: str | None) -> list[RuleViolation]:
    """The public notice contact needs a name and a phone number or an e-mail address."""
    found: list[RuleViolation] = []
    if not name.strip():
        found.append(RuleViolation("contact_name", "give the name of the contact for notices"))
    if not (phone or "").strip() and not (email or "").strip():
        found.append(RuleViolation("contact_phone", "give a phone number or an e-mail address"))
    if email and ("@" not in email or email.startswith("@") or email.endswith("@")):
        found.append(RuleViolation("contact_email", f"{email!r} is not an e-mail address"))
    return found


def licence_end_date(start: date, term_years: int, expiry_date: date | None) -> date:
    """A licence runs for the declared term, never past the patent's expiry."""
    end = add_years(start, term_years)
    if expiry_date is not None and expiry_date < end:
        return expiry_date
    return end


def check_licence_start(start: date, today: date, expiry_date: date | None) -> list[RuleViolation]:
    """A licence starts today or later, and before the patent expires."""
    if start < today:
        return [RuleViolation("start_date", "the start date may not be in the past")]
    if expiry_date is not None and start >= expiry_date:
        return [RuleViolation("start_date", f"the patent expires on {expiry_date.isoformat()}")]
    return []
