"""Invariants of the schedule engine over random valid loans (hypothesis).

Every method, period unit, day basis, rounding mode, fixed day, first due date, grace
period and payment multiple is drawn; the properties below must hold for all of them.
An independent oracle (exact Fractions, its own date and rate arithmetic) re-computes the
interest of the methods that charge interest on the running balance.
"""

import calendar
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_DOWN, Decimal
from fractions import Fraction
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.daycount import add_months
from app.domain.errors import DomainError
from app.domain.money import ROUNDING_MODES
from app.domain.schedule import LoanTerms, generate_schedule

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BALANCE_METHODS = (
    "equal_installment",
    "equal_principal",
    "monthly_interest",
    "quarterly_interest",
    "custom",
)
ALL_METHODS = BALANCE_METHODS + ("bullet", "interest_first", "flat")

cents = st.integers(min_value=100_000, max_value=1_000_000_000).map(lambda c: Decimal(c).scaleb(-2))
rates = st.one_of(
    st.just(Decimal("0")),
    st.sampled_from([Decimal(r) for r in ("12", "10", "7.5", "18.25", "23.99", "36", "4.35")]),
    st.integers(min_value=1, max_value=3_600_000).map(lambda r: Decimal(r).scaleb(-5)),
)
start_dates = st.one_of(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    st.sampled_from([date(2026, 1, 31), date(2028, 2, 29), date(2026, 8, 31), date(2027, 12, 30)]),
)


@st.composite
def loan_terms(draw, methods=ALL_METHODS):
    method = draw(st.sampled_from(methods))
    principal = draw(cents)
    start = draw(start_dates)
    fields = dict(
        principal=principal,
        annual_rate=draw(rates),
        method=method,
        start_date=start,
        day_basis=draw(st.sampled_from([360, 365])),
        rounding=draw(st.sampled_from(["HALF_UP", "HALF_EVEN"])),
        interest_by_days=draw(st.booleans()),
    )
    if method == "custom":
        n = draw(st.integers(min_value=1, max_value=24))
        gaps = draw(st.lists(st.integers(min_value=1, max_value=120), min_size=n, max_size=n))
        weights = draw(st.lists(st.integers(min_value=0, max_value=100), min_size=n, max_size=n))
        weights[-1] += 1  # the last row repays something
        total_cents = int(principal * 100)
        parts = [total_cents * w // sum(weights) for w in weights]
        parts[-1] += total_cents - sum(parts)
        due, plan = start, []
        for gap, part in zip(gaps, parts):
            due += timedelta(days=gap)
            plan.append((due, Decimal(part).scaleb(-2)))
        fields.update(term=n, custom_plan=plan)
        fields["grace_interest"] = draw(st.integers(min_value=0, max_value=n - 1))
        return LoanTerms(**fields)

    period = (
        "month"
        if method == "quarterly_interest"
        else draw(st.sampled_from(["month", "month", "week", "day"]))
    )
    every = 1 if method == "quarterly_interest" else draw(st.integers(min_value=1, max_value=3))
    term = draw(st.integers(min_value=1, max_value=120 if method != "quarterly_interest" else 40))
    fields.update(term=term, period=period, every=every)
    if period == "month" and draw(st.booleans()):
        fields["fixed_day"] = draw(st.integers(min_value=1, max_value=28))
    elif draw(st.integers(min_value=0, max_value=3)) == 0:
        fields["first_due_date"] = start + timedelta(
            days=draw(st.integers(min_value=1, max_value=60))
        )
    if method in ("equal_installment", "equal_principal", "flat") and term > 1:
        fields["grace_principal"] = draw(st.integers(min_value=0, max_value=min(term - 1, 6)))
    if method not in ("bullet", "interest_first") and term > 1:
        fields["grace_interest"] = draw(st.integers(min_value=0, max_value=min(term - 1, 6)))
    if method in ("equal_installment", "flat") and draw(st.booleans()):
        fields["installment_multiple"] = draw(
            st.sampled_from([Decimal("1"), Decimal("10"), Decimal("0.5")])
        )
    return LoanTerms(**fields)


def build(terms):
    """The schedule, or None when a payment multiple is (correctly) refused."""
    try:
        return generate_schedule(terms)
    except DomainError as error:
        assert error.field == "installment_multiple" and terms.installment_multiple is not None
        return None


def rows_expected(terms):
    if terms.method == "bullet":
        return 1
    if terms.method == "interest_first":
        return terms.term + 1
    return terms.term


# --------------------------------------------------------------------------- oracle


def round_to_int(value, rounding):
    """Round an exact non-negative Fraction to an integer (HALF_UP / HALF_EVEN)."""
    whole, rest = divmod(value.numerator, value.denominator)
    twice = 2 * rest
    if twice > value.denominator or (
        twice == value.denominator and (rounding == "HALF_UP" or whole % 2 == 1)
    ):
        whole += 1
    return whole


def round_fraction(value, rounding):
    """Round an exact non-negative Fraction to the fen."""
    return Decimal(round_to_int(value * 100, rounding)).scaleb(-2)


def oracle_period_rates(terms):
    """(start, due, exact rate) of each period, derived independently from the terms."""
    annual = Fraction(terms.annual_rate) / 100
    if terms.method == "custom":
        dues = [due for due, _ in terms.custom_plan]
        starts = [terms.start_date] + dues[:-1]
        return [(s, d, annual * (d - s).days / terms.day_basis) for s, d in zip(starts, dues)]
    step = terms.every * (3 if terms.method == "quarterly_interest" else 1)
    if terms.period == "month":
        natural = add_months(terms.start_date, step)
        first = terms.first_due_date
        if first is None and terms.fixed_day:
            first = natural.replace(day=terms.fixed_day)
        if first is None or (first == natural and not terms.fixed_day):
            dues = [add_months(terms.start_date, step * k) for k in range(1, terms.term + 1)]
        else:
            dues = [add_months(first, step * k) for k in range(terms.term)]
        regular = annual * step / 12
    else:
        length = step * (7 if terms.period == "week" else 1)
        natural = terms.start_date + timedelta(days=length)
        first = terms.first_due_date or natural
        dues = [first + timedelta(days=length * k) for k in range(terms.term)]
        regular = annual * length / terms.day_basis
    starts = [terms.start_date] + dues[:-1]
    result = []
    for k, (s, d) in enumerate(zip(starts, dues)):
        by_days = terms.interest_by_days or (k == 0 and d != natural)
        result.append((s, d, annual * (d - s).days / terms.day_basis if by_days else regular))
    return result


def annuity(terms):
    """The level payment of equal_installment, exactly, then rounded like the engine.

    Regular periods: P·i·(1+i)^m / ((1+i)^m − 1). By actual days: the payment that repays
    exactly at the per-period rates, P / Σ_k Π_{j≤k} 1/(1+r_j), where a broken first
    period counts as a regular one (its extra days are paid on top).
    """
    g = terms.grace_principal
    m = terms.term - g
    p = Fraction(terms.principal)
    if terms.interest_by_days:
        rates = [rate for _, _, rate in oracle_period_rates(terms)][g:]
        if g == 0:
            rates[0] = oracle_period_rates(replace(terms, fixed_day=None, first_due_date=None))[0][
                2
            ]
        exact = level_payment(p, rates, None)
    else:
        (_, _, rate), *_ = oracle_period_rates(replace_no_break(terms))
        if rate == 0:
            exact = p / m
        else:
            growth = (1 + rate) ** m
            exact = p * rate * growth / (growth - 1)
    if terms.installment_multiple is None:
        return round_fraction(exact, terms.rounding)
    units = round_to_int(exact / Fraction(terms.installment_multiple), terms.rounding)
    return (units * terms.installment_multiple).quantize(CENT)


def level_payment(balance, rates, rounding):
    """The level payment repaying ``balance`` at per-period ``rates`` (exact, or rounded)."""
    discount, total = Fraction(1), Fraction(0)
    for rate in rates:
        discount /= 1 + rate
        total += discount
    exact = balance / total
    return exact if rounding is None else round_fraction(exact, rounding)


def replace_no_break(terms):
    """Same terms with regular dates: the nominal rate i ignores the broken first period."""
    return replace(terms, fixed_day=None, first_due_date=None, interest_by_days=False)


# --------------------------------------------------------------------------- properties


@SETTINGS
@given(loan_terms())
def test_principal_balances_and_amounts(terms):
    rows = build(terms)
    if rows is None:
        return
    assert len(rows) == rows_expected(terms)
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert sum((row.principal for row in rows), ZERO) == terms.principal
    outstanding = terms.principal
    for row in rows:
        for amount in (row.principal, row.interest, row.total, row.balance):
            assert isinstance(amount, Decimal) and amount.as_tuple().exponent == -2
        assert row.principal >= 0
        assert row.interest >= 0, "no installment has negative interest"
        assert row.total == row.principal + row.interest
        outstanding -= row.principal
        assert row.balance == outstanding >= 0
    assert rows[-1].balance == ZERO


@SETTINGS
@given(loan_terms())
def test_due_dates(terms):
    rows = build(terms)
    if rows is None:
        return
    dues = [row.due_date for row in rows]
    assert all(a < b for a, b in zip(dues, dues[1:])), "due dates strictly increasing"
    if terms.method == "interest_first":
        assert dues[0] == terms.start_date
        assert all(row.start_date == row.due_date for row in rows)
    else:
        assert rows[0].start_date == terms.start_date < dues[0]
        assert all(b.start_date == a.due_date for a, b in zip(rows, rows[1:]))
    if terms.fixed_day and terms.method != "bullet":
        assert all(due.day == terms.fixed_day for due in dues[rows_expected(terms) - terms.term :])


@SETTINGS
@given(loan_terms(methods=BALANCE_METHODS))
def test_interest_matches_an_exact_oracle(terms):
    rows = build(terms)
    if rows is None:
        return
    periods = oracle_period_rates(terms)
    balance = Fraction(terms.principal)
    expected = []
    for (start, due, rate), row in zip(periods, rows):
        assert (row.start_date, row.due_date) == (start, due)
        expected.append(round_fraction(balance * rate, terms.rounding))
        balance -= Fraction(row.principal)
    h = terms.grace_interest
    if h:
        deferred = sum(expected[:h], ZERO)
        expected[:h] = [ZERO] * h
        expected[h] += deferred
    assert [row.interest for row in rows] == expected


@SETTINGS
@given(loan_terms(methods=("equal_installment",)))
def test_equal_installment_level_payment(terms):
    """principal = payment − interest on every amortising row but the last, so the totals
    are level apart from deferred interest and a broken first period's extra days.

    Where the level payment cannot be kept (extreme rate × term only) it is re-levelled
    over the rows left: when it would repay the loan before the last row (from that row),
    or when day-count interest exceeds it (interest only, then from the next row)."""
    rows = build(terms)
    if rows is None:
        return
    g, h, n = terms.grace_principal, terms.grace_interest, terms.term
    assert len(rows) == n
    periods = oracle_period_rates(terms)
    broken = periods[0][1] != oracle_period_rates(replace_no_break(terms))[0][1]
    amortising = [rate for _, _, rate in periods]
    if broken:  # a broken first period splits principal as a regular one would
        regular = oracle_period_rates(replace(terms, fixed_day=None, first_due_date=None))
        amortising[0] = regular[0][2]
    payment = annuity(terms)
    balance = Fraction(terms.principal)
    for k, row in enumerate(rows[:-1]):
        interest = round_fraction(balance * periods[k][2], terms.rounding)  # before deferral
        split = round_fraction(balance * amortising[k], terms.rounding) if k == 0 else interest
        if k < g:
            assert row.principal == ZERO
            continue
        principal = payment - split
        level = True
        if principal >= balance:
            payment = level_payment(balance, amortising[k:], terms.rounding)
            principal, level = payment - split, False
        if principal < 0:
            assert terms.interest_by_days
            payment = level_payment(balance, amortising[k + 1 :], terms.rounding)
            principal, level = ZERO, False
        principal = min(principal, balance)
        assert row.principal == principal, (k, row, payment)
        if level and not (h and k <= h) and not (k == 0 and broken):
            assert row.total == payment, (k, row, payment)
        balance -= Fraction(row.principal)
    assert rows[-1].principal > 0 or terms.principal < n  # never an empty last row


@SETTINGS
@given(loan_terms(methods=("equal_principal", "flat")))
def test_equal_principal_parts(terms):
    rows = build(terms)
    if rows is None:
        return
    g = terms.grace_principal
    if terms.installment_multiple is None:
        part = round_fraction(Fraction(terms.principal) / (terms.term - g), terms.rounding)
        assert all(row.principal == ZERO for row in rows[:g])
        assert all(row.principal == part for row in rows[g:-1])


@SETTINGS
@given(loan_terms(methods=("flat",)))
def test_flat_interest_total(terms):
    rows = build(terms)
    if rows is None:
        return
    periods = oracle_period_rates(terms)
    exact = sum(Fraction(terms.principal) * rate for _, _, rate in periods)
    total = sum((row.interest for row in rows), ZERO)
    # The last row absorbs the remainder, unless that would make it negative (tiny loans).
    assert total == round_fraction(exact, terms.rounding) or rows[-1].interest == ZERO


@SETTINGS
@given(loan_terms(methods=("monthly_interest", "quarterly_interest", "interest_first", "bullet")))
def test_principal_at_maturity(terms):
    rows = build(terms)
    assert all(row.principal == ZERO for row in rows[:-1])
    assert rows[-1].principal == terms.principal
    if terms.method == "interest_first":
        assert rows[-1].interest == ZERO


@SETTINGS
@given(loan_terms())
def test_half_even_differs_from_half_up_only_on_a_half_fen(terms):
    """Sound check: HALF_UP and HALF_DOWN disagree exactly on exact halves (half a fen, or
    half an installment_multiple), and every rounded figure shows in the schedule
    (directly, or summed into a deferred-interest or last row, where all ties push the
    same way). So if the whole schedule is the same under both, no half occurred
    anywhere, and HALF_EVEN must give that very schedule too. Where they do differ, the
    first diverging row differs by a few fen (or one multiple) at most; later rows may
    drift further as the balances diverge."""
    with mock.patch.dict(ROUNDING_MODES, {"HALF_DOWN": ROUND_HALF_DOWN}):
        up = build(replace(terms, rounding="HALF_UP"))
        down = build(replace(terms, rounding="HALF_DOWN"))
        even = build(replace(terms, rounding="HALF_EVEN"))
    if up is None or down is None or even is None:
        return
    if up == down:
        assert even == up
        return
    # A half fen moves a component by one fen; a deferred-interest row sums up to h + 1
    # of them, and a level payment's principal can take two (payment and interest). A
    # payment rounded to a multiple moves by the whole multiple on an exact half of it.
    bound = CENT * (terms.grace_interest + 2) + (terms.installment_multiple or 0)
    for a, b in zip(up, even):
        if a != b:
            for name in ("principal", "interest", "total", "balance"):
                assert abs(getattr(a, name) - getattr(b, name)) <= bound
            break


def test_half_fen_is_exercised():
    """The property above is not vacuous: a half fen does make the modes differ."""
    terms = LoanTerms(
        principal=Decimal("100000.50"),
        annual_rate=Decimal("12"),
        term=3,
        method="equal_principal",
        start_date=date(2026, 1, 15),
    )
    up = generate_schedule(terms)
    even = generate_schedule(replace(terms, rounding="HALF_EVEN"))
    assert up[0].interest - even[0].interest == CENT


@settings(max_examples=60, deadline=None)
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    st.integers(min_value=1, max_value=120),
)
def test_month_end_dates_from_start(start, k):
    rows = generate_schedule(
        LoanTerms(
            principal=Decimal("1000"),
            annual_rate=Decimal("12"),
            term=k,
            method="monthly_interest",
            start_date=start,
        )
    )
    for j, row in enumerate(rows, start=1):
        year, month = divmod(start.year * 12 + start.month - 1 + j, 12)
        month += 1
        assert row.due_date == date(
            year, month, min(start.day, calendar.monthrange(year, month)[1])
        )
