"""展期 limits (DOMAIN.md §4 worked examples) and the regenerated schedules of servicing."""
from datetime import date
from decimal import Decimal as D

import pytest

from app.domain.errors import DomainError
from app.domain.extension import (
    check_extension, extension_limit, fewest_periods, rebuild, regular_amount, rhythm_dates, shift,
)
from app.domain.schedule import LoanTerms, generate_schedule


@pytest.mark.parametrize("original, unit, limit", [
    (6, "month", 6), (12, "month", 12), (13, "month", 6), (36, "month", 18), (60, "month", 30),
    (61, "month", 36), (120, "month", 36), (90, "day", 90), (365, "day", 365), (730, "day", 365),
    (2000, "day", 1095),
])
def test_cumulative_limit(original, unit, limit):
    assert extension_limit(original, unit) == limit


def test_worked_examples_count_earlier_extensions_and_the_number():
    assert check_extension(6, "month", 0, 6, 0, 2) == 6            # 6-month loan: 6 months in all
    with pytest.raises(DomainError, match="累计不得超过 6 个月.*本次最多 2 个月"):
        check_extension(6, "month", 4, 3, 1, 2)
    assert check_extension(36, "month", 10, 8, 1, 2) == 18          # 3-year loan: 18 months
    with pytest.raises(DomainError, match="18 个月"):
        check_extension(36, "month", 10, 9, 1, 2)
    assert check_extension(120, "month", 0, 36, 0, 2) == 36         # 10-year loan: 36 months
    with pytest.raises(DomainError, match="最多展期次数 2 次"):
        check_extension(120, "month", 12, 1, 2, 2)
    with pytest.raises(DomainError, match="大于 0"):
        check_extension(12, "month", 0, 0, 0, 2)


def test_rhythm_keeps_the_day_of_month():
    assert rhythm_dates(date(2026, 2, 28), 3, day=31) == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert shift(date(2026, 9, 16), 2) == date(2026, 11, 16)
    assert shift(date(2026, 9, 16), 10, "day") == date(2026, 9, 26)


BASE = LoanTerms(principal=D("100000"), annual_rate=D("12"), term=12, method="equal_installment",
                 start_date=date(2026, 1, 31))
OLD = generate_schedule(BASE)          # 8,884.88 a month, due on the 31st (clamped)
CUT = date(2026, 5, 10)                # prepay 20,000 in period 4 (2026-04-30 → 05-31)
REMAINING = OLD[3].balance + OLD[3].principal - D("20000")


def test_keep_term_regeneration():
    rows = rebuild(BASE, REMAINING, CUT, OLD[3].due_date, 9, day=31)
    assert sum(r.principal for r in rows) == REMAINING and rows[-1].balance == D("0.00")
    assert [r.due_date for r in rows] == [r.due_date for r in OLD[3:]]        # 31 May, 30 Jun, 31 Jul …
    assert rows[0].start_date == CUT
    # The first period is 21 days long: interest by days on the remaining balance.
    assert rows[0].interest == (REMAINING * D("0.12") * 21 / 360).quantize(D("0.01"))
    assert all(r.total < D("8884.88") for r in rows)                          # lower installments


def test_keep_installment_regeneration():
    def build(periods):
        return rebuild(BASE, REMAINING, CUT, OLD[3].due_date, periods, day=31)

    periods, rows = fewest_periods("equal_installment", build, 9, regular_amount("equal_installment", OLD[3:]))
    assert periods == len(rows) == 7 < 9
    assert regular_amount("equal_installment", rows) <= D("8884.88") < regular_amount("equal_installment", build(6))
    assert sum(r.principal for r in rows) == REMAINING
    assert [r.due_date for r in rows] == [r.due_date for r in OLD[3:10]]


def test_keep_installment_for_equal_principal_keeps_the_principal_per_period():
    base = LoanTerms(principal=D("120000"), annual_rate=D("12"), term=12, method="equal_principal",
                     start_date=date(2026, 3, 10), fixed_day=20)
    old = generate_schedule(base)
    remaining = old[2].balance - D("25000")   # after period 3, prepay on its due date
    start = old[2].due_date

    def build(periods):
        return rebuild(base, remaining, start, old[3].due_date, periods, day=20)

    periods, rows = fewest_periods("equal_principal", build, 9, regular_amount("equal_principal", old[3:]))
    assert periods == 7 and rows[0].principal <= D("10000.00") < build(6)[0].principal
    assert sum(r.principal for r in rows) == remaining
    assert all(r.due_date.day == 20 for r in rows)


def test_keep_installment_is_refused_for_principal_at_maturity():
    with pytest.raises(DomainError, match="期限不变"):
        fewest_periods("bullet", lambda p: [], 1, D("1"))


def test_bullet_and_quarterly_regeneration():
    bullet = LoanTerms(principal=D("100000"), annual_rate=D("12"), term=6, method="bullet",
                       start_date=date(2025, 1, 15))
    rows = rebuild(bullet, D("100000"), date(2025, 7, 15), date(2025, 10, 15), 3)
    assert len(rows) == 1 and rows[0].interest == D("3000.00")            # three whole months
    quarterly = LoanTerms(principal=D("300000"), annual_rate=D("10"), term=4, method="quarterly_interest",
                          start_date=date(2026, 1, 31))
    rows = rebuild(quarterly, D("300000"), date(2026, 4, 30), date(2026, 7, 31), 3, day=31)
    assert [r.due_date for r in rows] == [date(2026, 7, 31), date(2026, 10, 31), date(2027, 1, 31)]
    assert rows[-1].principal == D("300000") and rows[0].interest == D("7500.00")
