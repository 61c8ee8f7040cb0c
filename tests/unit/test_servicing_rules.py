"""Penalty, compound interest and allocation to the fen (DOMAIN.md §3)."""
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, strategies as st

from app.domain.errors import DomainError
from app.domain.servicing import (
    Owed, allocate, compound_interest, overdue_days, penalty_interest, penalty_rate,
)


def test_domain_worked_example_penalty_and_compound():
    # 12 % contract, +50 % → 18 %; principal 7,963.73 and interest 921.15 paid 10 days late.
    assert penalty_rate(D("12"), D("50")) == D("18")
    assert penalty_interest(D("7963.73"), D("12"), D("50"), 10) == D("39.82")
    assert compound_interest(D("921.15"), D("12"), D("50"), 10) == D("4.61")


def test_day_basis_365():
    assert penalty_interest(D("7963.73"), D("12"), D("50"), 10, basis=365) == D("39.27")


def test_overdue_days_count_from_the_day_after_the_due_date():
    assert overdue_days(date(2026, 1, 15), date(2026, 1, 15)) == 0
    assert overdue_days(date(2026, 1, 15), date(2026, 1, 16)) == 1
    assert overdue_days(date(2026, 1, 15), date(2026, 1, 10)) == 0


def test_grace_days_are_a_tolerance_not_a_discount():
    assert penalty_interest(D("10000"), D("12"), D("50"), 3, grace_days=3) == D("0.00")
    assert penalty_interest(D("10000"), D("12"), D("50"), 4, grace_days=3) == D("20.00")  # 10000×18%×4/360


def test_nothing_owed_or_not_overdue_costs_nothing():
    assert penalty_interest(D("0"), D("12"), D("50"), 30) == D("0.00")
    assert compound_interest(D("100"), D("12"), D("50"), 0) == D("0.00")


def owed():
    return [Owed(2, date(2026, 2, 15), principal=D("7963.73"), interest=D("921.15"), penalty=D("39.82"),
                 compound=D("4.61")),
            Owed(1, date(2026, 1, 15), principal=D("100.00"), interest=D("10.00"))]


def test_allocation_oldest_first_in_the_product_order():
    result = allocate(D("120.00"), owed())
    assert result.lines[:2] == [(1, "interest", D("10.00")), (1, "principal", D("100.00"))]
    assert result.lines[2:] == [(2, "penalty", D("10.00"))]
    assert result.remainder == D("0.00")


def test_partial_payment_leaves_the_rest_owed():
    result = allocate(D("50.00"), owed())
    assert result.lines == [(1, "interest", D("10.00")), (1, "principal", D("40.00"))]


def test_principal_first_order():
    result = allocate(D("8929.30"), [owed()[0]], order="principal,interest,penalty,compound")
    assert result.total_of("principal") == D("7963.73") and result.total_of("interest") == D("921.15")
    assert result.total_of("penalty") == D("39.82") and result.total_of("compound") == D("4.60")


def test_overpayment_is_refused_unless_prepayment():
    total = sum(o.total for o in owed())
    with pytest.raises(DomainError, match="超过应还合计"):
        allocate(total + D("0.01"), owed())
    assert allocate(total + D("5.00"), owed(), allow_excess=True).remainder == D("5.00")


@pytest.mark.parametrize("amount", [D("0"), D("-1"), D("1.001")])
def test_bad_amounts_are_refused(amount):
    with pytest.raises(DomainError):
        allocate(amount, owed())


def test_bad_order_is_refused():
    with pytest.raises(DomainError, match="冲销顺序"):
        allocate(D("1"), owed(), order="interest,principal")


@given(st.decimals(min_value=D("0.01"), max_value=D("9039.31"), places=2))
def test_allocation_never_creates_or_loses_a_fen(amount):
    result = allocate(amount, owed())
    assert sum(a for _s, _c, a in result.lines) + result.remainder == amount
    assert all(a > 0 for _s, _c, a in result.lines)
