"""Schedule engine: DOMAIN.md §2 worked examples to the fen, dates, options, validation."""

from dataclasses import FrozenInstanceError, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.domain.daycount import add_months, days_between, month_dates
from app.domain.errors import DomainError
from app.domain.schedule import (
    METHOD_LABELS,
    PERIOD_LABELS,
    Installment,
    LoanTerms,
    generate_schedule,
    schedule_totals,
)


def make(**overrides):
    """DOMAIN's standard loan: 100,000 at 12 % a year over 12 months, 等额本息."""
    fields = dict(
        principal=Decimal("100000"),
        annual_rate=Decimal("12"),
        term=12,
        method="equal_installment",
        start_date=date(2026, 1, 15),
    )
    fields.update(overrides)
    return LoanTerms(**fields)


def schedule(**overrides):
    return generate_schedule(make(**overrides))


def col(rows, name):
    return [getattr(row, name) for row in rows]


def money(*values):
    return [Decimal(v) for v in values]


# --------------------------------------------------------------------------- DOMAIN §2.1


class TestWorkedExamples:
    def test_equal_installment(self):
        rows = schedule()
        assert len(rows) == 12
        assert all(row.total == Decimal("8884.88") for row in rows[:11])
        assert [rows[0].interest, rows[0].principal] == money("1000.00", "7884.88")
        assert [rows[1].interest, rows[1].principal] == money("921.15", "7963.73")
        last = rows[-1]
        assert [last.principal, last.interest, last.total] == money("8796.88", "87.97", "8884.85")
        assert last.balance == Decimal("0.00")
        totals = schedule_totals(rows)
        assert totals.interest == Decimal("6618.53")
        assert totals.principal == Decimal("100000.00")
        assert totals.total == Decimal("106618.53")
        assert totals.installments == 12

    def test_equal_principal(self):
        rows = schedule(principal=Decimal("120000"), method="equal_principal")
        assert col(rows, "total") == [Decimal(11200 - 100 * k) for k in range(12)]
        assert all(row.principal == Decimal("10000.00") for row in rows)
        assert schedule_totals(rows).interest == Decimal("7800.00")

    def test_equal_principal_remainder_goes_to_the_last(self):
        rows = schedule(term=3, method="equal_principal")
        assert col(rows, "principal") == money("33333.33", "33333.33", "33333.34")

    def test_monthly_interest(self):
        rows = schedule(method="monthly_interest")
        assert col(rows, "total") == [Decimal("1000.00")] * 11 + [Decimal("101000.00")]
        assert col(rows, "balance")[:11] == [Decimal("100000.00")] * 11

    def test_flat(self):
        rows = schedule(method="flat")
        assert col(rows, "total")[:11] == [Decimal("9333.33")] * 11
        assert [rows[-1].principal, rows[-1].interest] == money("8333.37", "1000.00")
        assert rows[-1].total == Decimal("9333.37")
        totals = schedule_totals(rows)
        assert [totals.principal, totals.interest] == money("100000.00", "12000.00")

    def test_flat_interest_remainder_goes_to_the_last(self):
        # 10 % a year on 100,000: 833.333… a month; Σ must be round(100,000 × 10/1200 × 7).
        rows = schedule(method="flat", annual_rate=Decimal("10"), term=7)
        assert col(rows, "interest")[:6] == [Decimal("833.33")] * 6
        assert rows[-1].interest == Decimal("833.35")
        assert schedule_totals(rows).interest == Decimal("5833.33")


# --------------------------------------------------------------------------- DOMAIN §2.2


class TestFixedDayAndBrokenPeriod:
    def test_domain_fixed_day_example(self):
        rows = schedule(start_date=date(2025, 3, 10), fixed_day=20)
        first = rows[0]
        assert first.due_date == date(2025, 4, 20)
        assert days_between(first.start_date, first.due_date) == 41
        assert first.interest == Decimal("1366.67")
        assert first.principal == Decimal("7884.88")  # as in a regular first month
        assert first.total == Decimal("9251.55")  # 8,884.88 + 366.67
        assert col(rows, "due_date")[1:4] == [
            date(2025, 5, 20),
            date(2025, 6, 20),
            date(2025, 7, 20),
        ]
        assert rows[1].start_date == date(2025, 4, 20)
        assert all(row.total == Decimal("8884.88") for row in rows[1:11])
        assert len(rows) == 12 and rows[-1].due_date == date(2026, 3, 20)

    def test_fixed_day_before_the_disbursement_day_gives_a_short_first_period(self):
        rows = schedule(start_date=date(2025, 3, 25), fixed_day=20)
        assert rows[0].due_date == date(2025, 4, 20)  # 26 days
        assert rows[0].interest == Decimal("866.67")
        assert rows[0].total == Decimal("8751.55")  # 8,884.88 − 133.33

    def test_fixed_day_equal_to_the_disbursement_day_is_a_regular_period(self):
        assert schedule(start_date=date(2025, 3, 20), fixed_day=20) == schedule(
            start_date=date(2025, 3, 20)
        )

    def test_fixed_day_with_equal_principal_uses_days_for_the_first_period_only(self):
        rows = schedule(method="equal_principal", start_date=date(2025, 3, 10), fixed_day=20)
        assert rows[0].interest == Decimal("1366.67")
        assert rows[0].principal == Decimal("8333.33")
        assert rows[1].interest == Decimal("916.67")  # 91,666.67 × 1 %

    def test_fixed_day_on_a_clamped_month_end(self):
        # 29 Nov + 3 months = 28 Feb (clamped), which is also the fixed day: later dues
        # must stay on the 28th, not spring back to the 29th.
        rows = schedule(start_date=date(2024, 11, 29), every=3, term=3, fixed_day=28)
        assert col(rows, "due_date") == [date(2025, 2, 28), date(2025, 5, 28), date(2025, 8, 28)]
        assert rows[0].interest == Decimal("3000.00")  # a regular quarter, not by days

    def test_explicit_first_due_date(self):
        rows = schedule(first_due_date=date(2026, 2, 25))
        assert rows[0].due_date == date(2026, 2, 25)
        assert rows[0].interest == Decimal("1366.67")  # 41 days on 360
        assert col(rows, "due_date")[1:3] == [date(2026, 3, 25), date(2026, 4, 25)]

    def test_first_due_date_equal_to_the_natural_one_keeps_month_end(self):
        rows = schedule(start_date=date(2026, 1, 31), first_due_date=date(2026, 2, 28))
        assert rows == schedule(start_date=date(2026, 1, 31))
        assert rows[1].due_date == date(2026, 3, 31)

    def test_bullet_by_days_and_by_months(self):
        base = dict(method="bullet", term=6, start_date=date(2025, 1, 15))
        on_360 = schedule(interest_by_days=True, **base)
        on_365 = schedule(interest_by_days=True, day_basis=365, **base)
        by_months = schedule(**base)
        for rows in (on_360, on_365, by_months):
            assert len(rows) == 1
            assert rows[0].due_date == date(2025, 7, 15)
            assert rows[0].principal == Decimal("100000.00")
            assert rows[0].balance == Decimal("0.00")
        assert on_360[0].interest == Decimal("6033.33")
        assert on_365[0].interest == Decimal("5950.68")
        assert by_months[0].interest == Decimal("6000.00")
        assert on_360[0].total == Decimal("106033.33")

    def test_bullet_with_explicit_maturity_counts_days(self):
        rows = schedule(
            method="bullet", term=6, start_date=date(2025, 1, 15), first_due_date=date(2025, 7, 15)
        )
        assert rows[0].interest == Decimal("6000.00")  # natural maturity: six whole months
        rows = schedule(
            method="bullet", term=6, start_date=date(2025, 1, 15), first_due_date=date(2025, 7, 20)
        )
        assert rows[0].interest == Decimal("6200.00")  # 186 days


# --------------------------------------------------------------------------- dates


class TestDueDates:
    def test_month_end_clamps_and_springs_back(self):
        rows = schedule(start_date=date(2026, 1, 31))
        assert col(rows, "due_date")[:6] == [
            date(2026, 2, 28),
            date(2026, 3, 31),
            date(2026, 4, 30),
            date(2026, 5, 31),
            date(2026, 6, 30),
            date(2026, 7, 31),
        ]
        assert rows[-1].due_date == date(2027, 1, 31)
        assert rows[1].start_date == date(2026, 2, 28)

    def test_leap_day_start(self):
        rows = schedule(start_date=date(2028, 2, 29), term=48)
        assert rows[0].due_date == date(2028, 3, 29)
        assert rows[11].due_date == date(2029, 2, 28)
        assert rows[12].due_date == date(2029, 3, 29)
        assert rows[47].due_date == date(2032, 2, 29)

    def test_leap_february(self):
        assert schedule(start_date=date(2028, 1, 31))[0].due_date == date(2028, 2, 29)

    def test_every_two_months(self):
        rows = schedule(start_date=date(2026, 1, 31), every=2, term=6)
        assert col(rows, "due_date")[:3] == [
            date(2026, 3, 31),
            date(2026, 5, 31),
            date(2026, 7, 31),
        ]
        assert rows[0].interest == Decimal("2000.00")  # 12 % / 12 × 2

    def test_quarterly_interest(self):
        rows = schedule(method="quarterly_interest", term=4, start_date=date(2026, 1, 31))
        assert col(rows, "due_date") == [
            date(2026, 4, 30),
            date(2026, 7, 31),
            date(2026, 10, 31),
            date(2027, 1, 31),
        ]
        assert col(rows, "total") == money("3000.00", "3000.00", "3000.00", "103000.00")

    def test_quarterly_interest_by_days(self):
        rows = schedule(method="quarterly_interest", term=2, interest_by_days=True)
        # 2026-01-15 → 04-15 = 90 days, → 07-15 = 91 days, on 360.
        assert col(rows, "interest") == money("3000.00", "3033.33")

    def test_weekly_periods(self):
        rows = schedule(method="equal_principal", period="week", term=4)
        assert col(rows, "due_date") == [
            date(2026, 1, 15) + timedelta(days=7 * k) for k in range(1, 5)
        ]
        assert rows[0].interest == Decimal("233.33")  # 100,000 × 12 % × 7 / 360
        assert col(rows, "principal") == [Decimal("25000.00")] * 4

    def test_biweekly_on_365(self):
        rows = schedule(method="monthly_interest", period="week", every=2, term=3, day_basis=365)
        assert rows[1].due_date == date(2026, 2, 12)
        assert rows[0].interest == Decimal("460.27")  # 100,000 × 12 % × 14 / 365

    def test_daily_periods(self):
        rows = schedule(method="monthly_interest", period="day", term=30)
        assert col(rows, "due_date") == [
            date(2026, 1, 15) + timedelta(days=k) for k in range(1, 31)
        ]
        assert col(rows, "interest") == [Decimal("33.33")] * 30
        assert rows[-1].total == Decimal("100033.33")

    def test_bullet_in_days(self):
        rows = schedule(method="bullet", period="day", term=90)
        assert rows[0].due_date == date(2026, 4, 15)
        assert rows[0].interest == Decimal("3000.00")

    def test_daycount_helpers(self):
        assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
        assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
        assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
        assert add_months(date(2100, 1, 29), 1) == date(2100, 2, 28)  # not a leap year
        assert add_months(date(2000, 1, 29), 1) == date(2000, 2, 29)
        assert days_between(date(2025, 1, 15), date(2025, 7, 15)) == 181
        assert month_dates(date(2026, 1, 31), 1, 3) == [
            date(2026, 2, 28),
            date(2026, 3, 31),
            date(2026, 4, 30),
        ]
        for months in range(-30, 60):
            assert month_dates(date(2026, 1, 31), months, 1) == [
                add_months(date(2026, 1, 31), months)
            ]


# --------------------------------------------------------------------------- methods


class TestInterestFirst:
    def test_rows_and_dates(self):
        rows = schedule(method="interest_first")
        assert len(rows) == 13
        assert rows[0].due_date == rows[0].start_date == date(2026, 1, 15)
        assert col(rows, "due_date")[1:3] == [date(2026, 2, 15), date(2026, 3, 15)]
        assert all(row.start_date == row.due_date for row in rows)
        assert col(rows, "interest")[:12] == [Decimal("1000.00")] * 12
        last = rows[-1]
        assert [last.due_date, last.principal, last.interest] == [
            date(2027, 1, 15),
            *money("100000.00", "0.00"),
        ]
        assert col(rows, "balance")[:12] == [Decimal("100000.00")] * 12
        assert last.balance == Decimal("0.00")
        assert schedule_totals(rows).interest == Decimal("12000.00")

    def test_by_days(self):
        rows = schedule(method="interest_first", term=2, interest_by_days=True)
        # period 1: 2026-01-15 → 02-15 (31 days), period 2: → 03-15 (28 days).
        assert col(rows, "interest") == money("1033.33", "933.33", "0.00")


class TestInterestByDays:
    def test_equal_installment_level_payment_at_actual_day_rates(self):
        rows = schedule(interest_by_days=True)
        # A = P / Σ_k Π_{j≤k} 1/(1 + 12 % × days_j / 360) = 8,890.327… for Jan 15 → Jan 15.
        assert all(row.total == Decimal("8890.33") for row in rows[:11])
        assert rows[0].interest == Decimal("1033.33")  # 31 days
        assert rows[0].principal == Decimal("7857.00")
        assert rows[1].interest == Decimal("860.00")  # 92,143.00 × 12 % × 28 / 360
        assert [rows[-1].principal, rows[-1].interest] == money("8799.36", "90.93")
        assert rows[-1].balance == Decimal("0.00")

    def test_equal_installment_by_days_does_not_end_early(self):
        # Found by hypothesis with the plain monthly annuity: quarters of 89–92 days on a
        # 365 basis repaid the loan one row early and left an empty last row.
        rows = schedule(
            principal=Decimal("1000"),
            annual_rate=Decimal("23.99"),
            term=91,
            every=3,
            day_basis=365,
            interest_by_days=True,
            start_date=date(2026, 1, 31),
        )
        assert rows[-2].balance > 0 and rows[-1].principal > 0
        # Not exactly level: the fen rounding of 90 payments compounds at 6 % a quarter.
        assert abs(rows[-1].total - rows[-2].total) < rows[-2].total / 10
        # Quarters of 92 days at 23.99 % charge more than the level payment: those rows pay
        # interest only and the payment is re-levelled, so it never goes negative.
        assert rows[1].principal == Decimal("0.00") and rows[1].interest > rows[0].total
        assert all(row.principal >= 0 for row in rows)

    def test_equal_principal(self):
        rows = schedule(method="equal_principal", interest_by_days=True, day_basis=365, term=2)
        # 31 days on 100,000, then 28 days on 50,000, on 365.
        assert col(rows, "interest") == money("1019.18", "460.27")


class TestExtremeLevelPayments:
    def test_rounding_drift_never_leaves_an_empty_last_row(self):
        # 9 % a quarter for 101 quarters: the payment's fen rounding compounds ~6,000-fold
        # and would repay the loan a row early; the payment is re-levelled instead.
        rows = schedule(principal=Decimal("1580.91"), annual_rate=Decimal("36"), term=101, every=3)
        assert rows[-2].balance > 0 and rows[-1].principal > 0
        assert len({row.total for row in rows[:-3]}) == 1  # level until the very end
        assert sum(col(rows, "principal")) == Decimal("1580.91")


class TestGrace:
    def test_principal_grace_equal_installment(self):
        rows = schedule(grace_principal=3)
        assert col(rows, "principal")[:3] == [Decimal("0.00")] * 3
        assert col(rows, "interest")[:3] == [Decimal("1000.00")] * 3
        # Annuity on 100,000 over the 9 remaining months at 1 %: 11,674.04.
        assert all(row.total == Decimal("11674.04") for row in rows[3:11])
        assert rows[-1].balance == Decimal("0.00")
        assert sum(col(rows, "principal")) == Decimal("100000.00")

    def test_principal_grace_equal_principal_and_flat(self):
        rows = schedule(method="equal_principal", grace_principal=2)
        assert col(rows, "principal") == [Decimal("0.00")] * 2 + [Decimal("10000.00")] * 10
        rows = schedule(method="flat", grace_principal=2)
        assert col(rows, "principal") == [Decimal("0.00")] * 2 + [Decimal("10000.00")] * 10
        assert col(rows, "interest") == [Decimal("1000.00")] * 12

    def test_interest_grace_defers_without_changing_the_total(self):
        plain = schedule()
        rows = schedule(grace_interest=2)
        assert col(rows, "interest")[:2] == [Decimal("0.00")] * 2
        assert rows[2].interest == Decimal("1000.00") + Decimal("921.15") + Decimal("841.51")
        assert col(rows, "principal") == col(plain, "principal")
        assert col(rows, "interest")[3:] == col(plain, "interest")[3:]
        assert schedule_totals(rows).interest == Decimal("6618.53")
        assert rows[0].total == Decimal("7884.88")

    def test_both_graces(self):
        rows = schedule(method="equal_principal", grace_principal=2, grace_interest=1)
        assert rows[0].total == Decimal("0.00")
        assert rows[1].interest == Decimal("2000.00")
        assert rows[1].principal == Decimal("0.00")


class TestCustom:
    PLAN = [
        (date(2026, 3, 1), "30000"),
        (date(2026, 6, 15), "30000"),
        (date(2026, 12, 31), "40000"),
    ]

    def test_interest_by_actual_days_on_the_balance(self):
        rows = schedule(method="custom", term=3, custom_plan=self.PLAN)
        assert col(rows, "due_date") == [due for due, _ in self.PLAN]
        assert col(rows, "start_date") == [date(2026, 1, 15), date(2026, 3, 1), date(2026, 6, 15)]
        assert col(rows, "principal") == money("30000.00", "30000.00", "40000.00")
        # 45 days on 100,000; 106 days on 70,000; 199 days on 40,000; 12 % on 360.
        assert col(rows, "interest") == money("1500.00", "2473.33", "2653.33")
        assert col(rows, "balance") == money("70000.00", "40000.00", "0.00")

    def test_interest_only_rows_are_allowed(self):
        plan = [(date(2026, 2, 15), Decimal("0")), (date(2026, 3, 15), Decimal("100000"))]
        rows = schedule(method="custom", term=2, custom_plan=plan, day_basis=365)
        assert col(rows, "interest") == money("1019.18", "920.55")

    def test_plan_is_stored_immutably(self):
        terms = make(method="custom", term=3, custom_plan=self.PLAN)
        assert isinstance(terms.custom_plan, tuple)
        assert terms.custom_plan[0] == (date(2026, 3, 1), Decimal("30000.00"))
        hash(terms)


class TestInstallmentMultiple:
    def test_equal_installment_whole_yuan(self):
        rows = schedule(installment_multiple=Decimal("1"))
        assert all(row.total == Decimal("8885.00") for row in rows[:11])
        assert [rows[0].principal, rows[0].interest] == money("7885.00", "1000.00")
        assert rows[-1].balance == Decimal("0.00")
        assert rows[-1].total < Decimal("8885.00")
        assert sum(col(rows, "principal")) == Decimal("100000.00")

    def test_equal_installment_hundreds_and_half_even(self):
        rows = schedule(installment_multiple=Decimal("100"), rounding="HALF_EVEN")
        assert all(row.total == Decimal("8900.00") for row in rows[:11])

    def test_flat_whole_yuan(self):
        rows = schedule(method="flat", installment_multiple=Decimal("1"))
        assert all(row.total == Decimal("9333.00") for row in rows[:11])
        assert col(rows, "interest") == [Decimal("1000.00")] * 12
        assert rows[-1].principal == Decimal("8337.00")

    @pytest.mark.parametrize(
        "overrides",
        [
            dict(principal=Decimal("1000"), term=3, installment_multiple=Decimal("1000")),
            dict(principal=Decimal("1000"), term=4, installment_multiple=Decimal("500")),
        ],
    )
    def test_a_multiple_that_breaks_amortisation_is_refused(self, overrides):
        with pytest.raises(DomainError) as caught:
            schedule(**overrides)
        assert caught.value.field == "installment_multiple"


class TestRounding:
    def test_half_fen_interest(self):
        # 100,000.50 × 1 % = 1,000.005: HALF_UP → 1,000.01, HALF_EVEN → 1,000.00.
        up = schedule(principal=Decimal("100000.50"), method="monthly_interest")
        even = schedule(
            principal=Decimal("100000.50"), method="monthly_interest", rounding="HALF_EVEN"
        )
        assert up[0].interest == Decimal("1000.01")
        assert even[0].interest == Decimal("1000.00")

    def test_flat_total_interest_is_rounded_in_the_loan_mode(self):
        # 1,000.50 × 1 % = 10.005 a month; Σ over 5 months = 50.025 exactly.
        base = dict(principal=Decimal("1000.50"), method="flat", term=5)
        up = schedule(**base)
        assert col(up, "interest") == money("10.01", "10.01", "10.01", "10.01", "9.99")  # Σ 50.03
        even = schedule(rounding="HALF_EVEN", **base)
        assert col(even, "interest") == money(
            "10.00", "10.00", "10.00", "10.00", "10.02"
        )  # Σ 50.02

    @pytest.mark.parametrize(
        ("principal", "rate", "half_up", "half_even"),
        [
            ("162.00", "7", "0.95", "0.94"),
            ("6.00", "13", "0.07", "0.06"),
            ("0.60", "10", "0.01", "0.00"),
        ],
    )
    def test_inexact_rate_still_sees_the_half_fen(self, principal, rate, half_up, half_even):
        # 162 × 7 % / 12 = 0.945 exactly, but 7/1200 = 0.0058333… is not a finite decimal:
        # multiplying by the rate cut to 50 digits gives 0.94499…, which rounds to 0.94.
        base = dict(
            principal=Decimal(principal),
            annual_rate=Decimal(rate),
            method="monthly_interest",
            term=1,
        )
        assert schedule(**base)[0].interest == Decimal(half_up)
        assert schedule(rounding="HALF_EVEN", **base)[0].interest == Decimal(half_even)

    def test_every_amount_has_two_places(self):
        for method in METHOD_LABELS:
            extra = {}
            if method == "custom":
                extra = dict(term=1, custom_plan=[(date(2026, 2, 1), "100000")])
            for row in schedule(method=method, principal=Decimal("100000"), **extra):
                for name in ("principal", "interest", "total", "balance"):
                    assert getattr(row, name).as_tuple().exponent == -2, (method, name)


# --------------------------------------------------------------------------- types


class TestTypes:
    def test_frozen_and_slotted(self):
        terms = make()
        row = generate_schedule(terms)[0]
        with pytest.raises(FrozenInstanceError):
            terms.term = 3
        with pytest.raises(FrozenInstanceError):
            row.principal = Decimal(0)
        assert not hasattr(terms, "__dict__") and not hasattr(row, "__dict__")
        assert row == Installment(**{name: getattr(row, name) for name in Installment.__slots__})

    def test_inputs_are_normalised(self):
        terms = make(principal="100,000", annual_rate="12")
        assert terms.principal == Decimal("100000.00") and terms.principal.as_tuple().exponent == -2
        assert terms.annual_rate == Decimal("12")
        assert generate_schedule(terms) == schedule()

    def test_replace_revalidates(self):
        with pytest.raises(DomainError):
            replace(make(), term=0)

    def test_floats_are_refused(self):
        with pytest.raises(TypeError):
            make(principal=100000.0)
        with pytest.raises(TypeError):
            make(annual_rate=12.0)

    def test_labels(self):
        assert METHOD_LABELS["equal_installment"] == "等额本息"
        assert METHOD_LABELS["flat"] == "等本等息"
        assert set(METHOD_LABELS) == {
            "bullet",
            "monthly_interest",
            "quarterly_interest",
            "interest_first",
            "equal_principal",
            "equal_installment",
            "flat",
            "custom",
        }
        assert PERIOD_LABELS == {"month": "月", "week": "周", "day": "天"}

    def test_zero_rate(self):
        rows = schedule(annual_rate=Decimal("0"), term=3)
        assert col(rows, "principal") == money("33333.33", "33333.33", "33333.34")
        assert col(rows, "interest") == [Decimal("0.00")] * 3

    def test_caller_context_does_not_change_figures(self):
        import decimal

        expected = schedule(annual_rate=Decimal("10"), term=360)
        with decimal.localcontext(decimal.Context(prec=6, rounding=decimal.ROUND_DOWN)):
            assert schedule(annual_rate=Decimal("10"), term=360) == expected


# --------------------------------------------------------------------------- validation

_PLAN = [(date(2026, 2, 15), "50000"), (date(2026, 3, 15), "50000")]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (dict(principal=Decimal("0")), "principal"),
        (dict(principal=Decimal("-1")), "principal"),
        (dict(principal=Decimal("100.001")), "principal"),
        (dict(principal="abc"), "principal"),
        (dict(principal=Decimal("NaN")), "principal"),
        (dict(annual_rate=Decimal("-0.01")), "annual_rate"),
        (dict(annual_rate=Decimal("100.01")), "annual_rate"),
        (dict(term=0), "term"),
        (dict(term=-3), "term"),
        (dict(term=Decimal("12")), "term"),
        (dict(term=True), "term"),
        (dict(term=1201), "term"),
        (dict(method="balloon"), "method"),
        (dict(period="year"), "period"),
        (dict(rounding="ROUND_DOWN"), "rounding"),
        (dict(every=0), "every"),
        (dict(day_basis=366), "day_basis"),
        (dict(interest_by_days="yes"), "interest_by_days"),
        (dict(start_date="2026-01-15"), "start_date"),
        (dict(fixed_day=0), "fixed_day"),
        (dict(fixed_day=29), "fixed_day"),
        (dict(fixed_day=10, period="week"), "fixed_day"),
        (dict(first_due_date=date(2026, 1, 15)), "first_due_date"),
        (dict(first_due_date=date(2026, 2, 25), fixed_day=20), "first_due_date"),
        (dict(grace_principal=12), "grace_principal"),
        (dict(grace_principal=-1), "grace_principal"),
        (dict(grace_principal=1, method="monthly_interest"), "grace_principal"),
        (dict(grace_interest=12), "grace_interest"),
        (dict(grace_interest=1, method="interest_first"), "grace_interest"),
        (dict(method="quarterly_interest", period="week"), "period"),
        (dict(method="quarterly_interest", every=2), "every"),
        (dict(method="custom"), "custom_plan"),
        (dict(method="custom", term=2, custom_plan=[(date(2026, 2, 15), "50000")]), "custom_plan"),
        (dict(method="custom", term=2, custom_plan=list(reversed(_PLAN))), "custom_plan"),
        (
            dict(method="custom", term=2, custom_plan=[(date(2026, 1, 15), "50000"), _PLAN[1]]),
            "custom_plan",
        ),
        (
            dict(
                method="custom", term=2, custom_plan=[(_PLAN[0][0], "-1"), (_PLAN[1][0], "100001")]
            ),
            "custom_plan",
        ),
        (
            dict(
                method="custom", term=2, custom_plan=[(_PLAN[0][0], "100000"), (_PLAN[1][0], "0")]
            ),
            "custom_plan",
        ),
        (dict(method="custom", term=3, custom_plan=_PLAN), "term"),
        (dict(custom_plan=_PLAN), "custom_plan"),
        (dict(installment_multiple=Decimal("0")), "installment_multiple"),
        (dict(installment_multiple=Decimal("0.001")), "installment_multiple"),
        (dict(method="equal_principal", installment_multiple=Decimal("1")), "installment_multiple"),
    ],
)
def test_invalid_terms_name_the_field(overrides, field):
    with pytest.raises(DomainError) as caught:
        make(**overrides)
    assert caught.value.field == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.message)  # Chinese message


def test_term_message():
    with pytest.raises(DomainError) as caught:
        make(term=0)
    assert caught.value.message == "期数必须是大于 0 的整数"


def test_generate_requires_loan_terms():
    with pytest.raises(TypeError):
        generate_schedule({"principal": Decimal(1)})
