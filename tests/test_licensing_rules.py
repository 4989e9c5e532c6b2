"""Statutory open-licence rules: pure functions, real boundary values."""

from datetime import date
from decimal import Decimal

import pytest

from app.catalog.enums import LegalStatus
from app.licensing import rules
from app.licensing.estimate import FeeAssumptions, estimate_fee, need_budget
from app.licensing.models import LicenceKind, PaymentMode

TODAY = date(2026, 11, 25)


def fields(violations: list[rules.RuleViolation]) -> list[str]:
    return [v.field for v in violations]


@pytest.mark.parametrize(
    ("status", "expiry", "ok"),
    [
        (LegalStatus.GRANTED, date(2030, 1, 1), True),
        (LegalStatus.GRANTED, TODAY, True),  # last day of the term is still in force
        (LegalStatus.GRANTED, date(2026, 11, 24), False),
        (LegalStatus.GRANTED, None, False),
        (LegalStatus.PENDING, date(2030, 1, 1), False),
        (LegalStatus.LAPSED, date(2030, 1, 1), False),
        (LegalStatus.INVALIDATED, date(2030, 1, 1), False),
    ],
)
def test_only_granted_patents_in_force(status, expiry, ok):
    found = rules.check_patent_in_force(status, expiry, TODAY)
    assert (found == []) is ok
    assert all(v.field == "patent" for v in found)


@pytest.mark.parametrize(
    ("fee", "ok"), [(0, True), (20_000_000, True), (20_000_001, False), (-1, False)]
)
def test_lump_sum_limit(fee, ok):
    assert (rules.check_payment_terms(PaymentMode.LUMP_SUM, fee, None) == []) is ok


@pytest.mark.parametrize(
    ("rate", "ok"),
    [("0.01", True), ("20", True), ("20.00", True), ("20.01", False), ("0", False)],
)
def test_sales_royalty_limit(rate, ok):
    found = rules.check_payment_terms(PaymentMode.SALES_ROYALTY, None, Decimal(rate))
    assert (found == []) is ok
    assert all(f == "royalty_rate_percent" for f in fields(found))


@pytest.mark.parametrize(("rate", "ok"), [("40", True), ("40.01", False), ("20.5", True)])
def test_profit_royalty_limit(rate, ok):
    found = rules.check_payment_terms(PaymentMode.PROFIT_ROYALTY, None, Decimal(rate))
    assert (found == []) is ok


@pytest.mark.parametrize(
    ("fee", "rate", "bad"),
    [
        (20_000_000, "20", []),
        (20_000_001, "20", ["fee_yuan"]),
        (100_000, "20.01", ["royalty_rate_percent"]),
        (20_000_001, "21", ["fee_yuan", "royalty_rate_percent"]),
        (0, "5", ["fee_yuan"]),  # an entry fee of 0 is just a sales royalty
        (None, "5", ["fee_yuan"]),
        (100_000, None, ["royalty_rate_percent"]),
    ],
)
def test_entry_fee_and_royalty_both_limits(fee, rate, bad):
    found = rules.check_payment_terms(
        PaymentMode.ENTRY_FEE_ROYALTY, fee, None if rate is None else Decimal(rate)
    )
    assert fields(found) == bad


def test_terms_that_do_not_belong_to_the_mode_are_refused():
    assert fields(rules.check_payment_terms(PaymentMode.LUMP_SUM, 10, Decimal(5))) == [
        "royalty_rate_percent"
    ]
    assert fields(rules.check_payment_terms(PaymentMode.SALES_ROYALTY, 10, Decimal(5))) == [
        "fee_yuan"
    ]
    assert fields(rules.check_payment_terms(PaymentMode.LUMP_SUM, None, None)) == ["fee_yuan"]


def test_rate_with_more_than_two_decimals_is_refused():
    found = rules.check_payment_terms(PaymentMode.SALES_ROYALTY, None, Decimal("5.125"))
    assert fields(found) == ["royalty_rate_percent"]
    assert "two decimals" in found[0].message


@pytest.mark.parametrize(
    ("years", "expiry", "ok"),
    [
        (1, date(2027, 11, 25), True),  # ends exactly on the expiry date
        (1, date(2027, 11, 24), False),  # one day past expiry
        (0, date(2040, 1, 1), False),
        (5, date(2040, 1, 1), True),
        (15, date(2040, 1, 1), False),
    ],
)
def test_term_within_patent_term(years, expiry, ok):
    assert (rules.check_term(years, TODAY, expiry) == []) is ok


def test_add_years_handles_leap_day():
    assert rules.add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert rules.add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_licence_end_is_capped_at_expiry():
    assert rules.licence_end_date(TODAY, 3, date(2040, 1, 1)) == date(2029, 11, 25)
    assert rules.licence_end_date(TODAY, 3, date(2028, 6, 30)) == date(2028, 6, 30)


def test_blocking_licence_only_active_exclusive_or_sole():
    span = rules.LicenceSpan
    assert rules.blocking_licence([span(LicenceKind.ORDINARY, date(2030, 1, 1))], TODAY) is None
    assert rules.blocking_licence([span(LicenceKind.OPEN, date(2030, 1, 1))], TODAY) is None
    ended = span(LicenceKind.EXCLUSIVE, date(2026, 11, 24))
    assert rules.blocking_licence([ended], TODAY) is None
    last_day = span(LicenceKind.SOLE, TODAY)
    assert rules.blocking_licence([ended, last_day], TODAY) == last_day
    exclusive = span(LicenceKind.EXCLUSIVE, date(2030, 1, 1))
    assert rules.blocking_licence([exclusive], TODAY) == exclusive


@pytest.mark.parametrize(
    ("name", "phone", "email", "bad"),
    [
        ("王老师", "0571-88888888", None, []),
        ("王老师", None, "tto@example.edu.cn", []),
        ("", "0571-88888888", None, ["contact_name"]),
        ("王老师", None, None, ["contact_phone"]),
        ("王老师", "  ", "", ["contact_phone"]),
        ("王老师", None, "not-an-address", ["contact_email"]),
    ],
)
def test_notice_contact(name, phone, email, bad):
    assert fields(rules.check_notice_contact(name, phone, email)) == bad


def test_licence_start():
    expiry = date(2030, 1, 1)
    assert rules.check_licence_start(TODAY, TODAY, expiry) == []
    assert fields(rules.check_licence_start(date(2026, 11, 24), TODAY, expiry)) == ["start_date"]
    assert fields(rules.check_licence_start(expiry, TODAY, expiry)) == ["start_date"]


def test_rate_basis_points_round_trip():
    assert rules.percent_to_bp(Decimal("20")) == 2000
    assert rules.percent_to_bp(Decimal("0.01")) == 1
    assert rules.bp_to_percent(2050) == Decimal("20.50")


def test_fee_estimates_state_their_assumptions():
    fixed = estimate_fee(PaymentMode.LUMP_SUM, 300_000, None, 200_000)
    assert (fixed.amount_yuan, fixed.is_estimate, fixed.fits_budget) == (300_000, False, False)
    assert estimate_fee(PaymentMode.LUMP_SUM, 300_000, None, None).fits_budget is None
    # 40% of profit, profit = 10% margin on 10 × ¥1,000,000 of sales.
    profit = estimate_fee(PaymentMode.PROFIT_ROYALTY, None, 4000, 1_000_000)
    assert (profit.amount_yuan, profit.is_estimate, profit.fits_budget) == (400_000, True, True)
    assert "10% profit margin" in (profit.assumption or "")
    # Entry fee + 3% of net sales; a different sales multiple changes the estimate.
    entry = estimate_fee(
        PaymentMode.ENTRY_FEE_ROYALTY, 50_000, 300, 100_000, FeeAssumptions(sales_to_budget=20)
    )
    assert entry.amount_yuan == 50_000 + 60_000
    assert entry.fits_budget is False
    unknown = estimate_fee(PaymentMode.SALES_ROYALTY, None, 500, None)
    assert (unknown.amount_yuan, unknown.fits_budget) == (None, None)
    assert need_budget(100, 500) == 500
    assert need_budget(100, None) == 100
