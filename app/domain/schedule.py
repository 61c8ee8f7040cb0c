"""Repayment schedule engine (还款计划): every repayment method of DOMAIN.md §2.

``generate_schedule(LoanTerms(...))`` returns a list of :class:`Installment` rows. Pure
Python and Decimal only: no Flask, no SQLAlchemy, no float, no ``date.today()``.

Money rules (DOMAIN.md §0, §2.1)
--------------------------------
* Every principal and interest component is rounded to the fen when it is produced, in
  the loan's rounding mode (HALF_UP 四舍五入 by default, or HALF_EVEN). Rates are never
  rounded: a periodic rate is carried as an exact fraction ``numerator / denominator``
  (e.g. annual × months / 1200) and each interest amount is ``balance × numerator /
  denominator`` with one division (one multiplication when the rate is a finite decimal,
  like 12 %/12 = 0.01), under a 50-digit context, then rounded once. So an interest that
  is exactly half a fen is seen as exactly half a fen.
* The last installment's principal is the remaining balance: Σ principal = principal and
  the final balance is 0.00. ``Installment.balance`` is the principal outstanding after
  the installment.

Periods and due dates
---------------------
* ``term`` is always the number of periods, each ``every`` × ``period`` long.
* Monthly due date k is ``start_date + k × every`` months, computed from the start date
  and clamped to month end (31 Jan → 28/29 Feb → 31 Mar).
* ``fixed_day`` (固定还款日, 1–28, monthly periods only): the first due date is that day of
  the month ``every`` months after disbursement (disbursed 2025-03-10, fixed day 20 →
  2025-04-20), later ones every ``every`` months on the same day. The number of periods is
  unchanged.
* ``first_due_date``: an explicit first due date (must be after ``start_date``); later
  due dates follow it every period (for months: ``first_due_date + k`` months, clamped).
  Together with ``fixed_day`` its day must be the fixed day.
* A first period that is not exactly one regular period (because of ``fixed_day`` or
  ``first_due_date``) is a broken period (零头期): its interest is balance × annual ×
  actual days / day_basis. Equal-payment methods still split principal as if the period
  were regular, so the broken period only adds (or removes) the extra days' interest:
  DOMAIN §2.2, 8,884.88 + 366.67 = 9,251.55.
* Interest of a full period: months ``annual/12 × every``; weeks ``annual × 7 × every /
  day_basis``; days ``annual × every / day_basis``. With ``interest_by_days`` (按天计息)
  every period's interest is balance × annual × actual days / day_basis.

Method-specific decisions
-------------------------
* ``bullet`` (到期一次还本付息): one row. Maturity is ``term × every`` periods after the
  start (``first_due_date`` if given, which then *is* the maturity; ``fixed_day`` moves
  it to that day of the maturity month). Interest is P × annual/12 × months for whole
  months, otherwise (``interest_by_days``, week/day periods, moved maturity) by actual
  days: 2025-01-15 → 2025-07-15, 181 days → 6,033.33 on 360 / 5,950.68 on 365 / 6,000.00 as
  six whole months.
* ``monthly_interest`` (按月付息、到期还本): interest every period, principal with the last.
  Works with any ``period``/``every``.
* ``quarterly_interest`` (按季付息、到期还本): **term is the number of quarters**, so "term
  = number of periods" holds for every method. Requires ``period="month"`` and
  ``every=1``; each period is three months (rate annual/4). It is ``monthly_interest``
  with ``every=3``.
* ``interest_first`` (提前收息、到期还本): **term + 1 rows**. Row k (k = 1…term) is due on
  the first day of interest period k (row 1 on ``start_date``) and carries that period's
  interest; its ``start_date`` and ``due_date`` are both the period's first day. Row
  term + 1 is due at maturity and carries the principal with zero interest. Due dates are
  strictly increasing; Σ interest is the interest of ``term`` periods. Row 1 is a separate
  receipt: nothing is deducted from the payout (禁止砍头息, DOMAIN §2.3).
* ``equal_installment`` (等额本息): A = P·i·(1+i)^m / ((1+i)^m − 1) over the m = term −
  grace_principal amortising periods, rounded to the fen (or to ``installment_multiple``);
  interest on the balance, principal = A − interest. With ``interest_by_days`` the
  payment is the level payment that exactly repays the loan at the actual-day rates r_k,
  A = P / Σ_k Π_{j≤k} 1/(1+r_j) (the same formula when all periods are equal), so the
  payment stays level and the loan does not drift to a balloon or an early end;
  principal = A − actual interest.
  Only at an extreme rate × term can the level payment not be kept — when a long
  period's day-count interest exceeds it (that row then pays interest only), or when
  the payment's fen rounding, compounded over the term, would repay the loan before the
  last row — and then the payment is re-levelled over the remaining rows, so no row is
  ever empty or negative. (Drift the other way just makes the last row larger.)
* ``equal_principal`` (等额本金): principal P/m rounded, interest on the balance.
* ``flat`` (等本等息): principal P/m rounded, interest on the original principal every
  period; the last row absorbs both remainders so Σ interest = round(P × i × term) (or
  the sum of the per-period day-count interest when periods are counted in days).
* ``custom`` (自由还本付息): ``custom_plan`` gives (due_date, principal) rows; ``term`` must
  equal the number of rows; interest accrues on the balance by actual days / day_basis
  (``period``, ``every`` and ``interest_by_days`` do not apply).
* ``grace_principal`` = g (本金宽限期): rows 1…g pay interest only and the principal is
  amortised over the remaining term − g rows (equal_installment, equal_principal, flat).
  Not allowed where principal is paid at maturity anyway, nor for custom plans.
* ``grace_interest`` = h (利息宽限期): the interest of rows 1…h is computed as usual but
  deferred, without interest on interest, and falls due with row h + 1. Σ interest is
  unchanged. Not allowed for bullet and interest_first.
* ``installment_multiple`` (还款额取整, equal_installment and flat only): the regular
  payment is rounded to a multiple of it in the loan's rounding mode; principal = payment
  − interest and the last row takes what is left. A multiple so large that a payment no
  longer covers its interest, or repays the loan before the last row, is refused.
"""

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Context, Decimal, Inexact, localcontext

from app.domain.daycount import add_months, month_dates
from app.domain.errors import DomainError
from app.domain.money import CENT, MONEY_CONTEXT, ROUNDING_MODES, ZERO, D

__all__ = [
    "DAY_BASES",
    "METHOD_LABELS",
    "PERIOD_LABELS",
    "Installment",
    "LoanTerms",
    "ScheduleTotals",
    "generate_schedule",
    "schedule_totals",
]

#: Repayment methods, code → Chinese label shown in the UI (DOMAIN.md §2).
METHOD_LABELS = {
    "bullet": "到期一次还本付息",
    "monthly_interest": "按月付息、到期还本",
    "quarterly_interest": "按季付息、到期还本",
    "interest_first": "提前收息、到期还本",
    "equal_principal": "等额本金",
    "equal_installment": "等额本息",
    "flat": "等本等息",
    "custom": "自由还本付息",
}

#: Period units, code → Chinese label.
PERIOD_LABELS = {"month": "月", "week": "周", "day": "天"}

#: Day-count bases a product may use (DOMAIN.md §1).
DAY_BASES = (360, 365)

#: Longest loan the engine accepts, as a guard against a typo building a huge table.
MAX_MONTHS = 1200
MAX_DAYS = 36600

MAX_PRINCIPAL = Decimal("9999999999999999.99")  # NUMERIC(18, 2)
MAX_RATE = Decimal(100)

_PRINCIPAL_AT_MATURITY = frozenset(
    {"bullet", "monthly_interest", "quarterly_interest", "interest_first"}
)
_MULTIPLE_METHODS = frozenset({"equal_installment", "flat"})
_MONTH_DEN = Decimal(1200)  # percent per year → fraction per month
_ONE = Decimal(1)


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """Everything the engine needs to build a schedule; validated on construction.

    Amounts and rates may be given as Decimal, int or str (never float) and are stored as
    Decimal; ``principal`` is stored with two places. ``custom_plan`` is stored as a tuple
    of ``(date, Decimal)`` pairs so the object stays immutable and hashable. Any invalid
    field raises :class:`DomainError` with a Chinese message and ``field`` set to the
    attribute name, so a form can show it next to the input.
    """

    principal: Decimal
    annual_rate: Decimal
    term: int
    method: str
    start_date: date
    period: str = "month"
    every: int = 1
    day_basis: int = 360
    interest_by_days: bool = False
    rounding: str = "HALF_UP"
    fixed_day: int | None = None
    first_due_date: date | None = None
    grace_principal: int = 0
    grace_interest: int = 0
    custom_plan: tuple | None = None
    installment_multiple: Decimal | None = None

    def __post_init__(self):
        _validate(self)


@dataclass(frozen=True, slots=True)
class Installment:
    """One row of the schedule (期次). Amounts are Decimals with exactly two places.

    ``start_date`` is the first day of the interest period the row's interest covers
    (for interest_first it equals ``due_date``); ``balance`` is the principal still
    outstanding after this row is paid.
    """

    seq: int
    start_date: date
    due_date: date
    principal: Decimal
    interest: Decimal
    total: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class ScheduleTotals:
    """Column sums of a schedule, for the schedule preview and the contract."""

    principal: Decimal
    interest: Decimal
    total: Decimal
    installments: int


def schedule_totals(rows):
    """Σ principal, Σ interest, Σ total and the number of rows of a schedule."""
    principal = interest = ZERO
    for row in rows:
        principal += row.principal
        interest += row.interest
    return ScheduleTotals(principal, interest, principal + interest, len(rows))


# --------------------------------------------------------------------------- validation


def _fail(message, field):
    raise DomainError(message, field)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value):
    # datetime is a date subclass, but mixing it into day counts breaks (end - start).days.
    return isinstance(value, date) and not isinstance(value, datetime)


def _validate(t):
    """Check and normalise every field of ``t`` (a frozen dataclass, hence __setattr__)."""
    put = object.__setattr__

    if t.method not in METHOD_LABELS:
        _fail(f"还款方式不正确：{t.method!r}", "method")
    method_label = METHOD_LABELS[t.method]
    if t.period not in PERIOD_LABELS:
        _fail(f"还款周期单位不正确：{t.period!r}（可选 month、week、day）", "period")
    if t.rounding not in ROUNDING_MODES:
        _fail(f"舍入方式不正确：{t.rounding!r}（可选 HALF_UP、HALF_EVEN）", "rounding")

    principal = D(t.principal, "principal", "本金")
    if principal <= 0:
        _fail("本金必须大于 0", "principal")
    if principal != principal.quantize(CENT, context=MONEY_CONTEXT):
        _fail("本金最多保留两位小数（到分）", "principal")
    if principal > MAX_PRINCIPAL:
        _fail("本金超出允许范围", "principal")
    put(t, "principal", principal.quantize(CENT, context=MONEY_CONTEXT))

    rate = D(t.annual_rate, "annual_rate", "年利率")
    if rate < 0 or rate > MAX_RATE:
        _fail("年利率必须在 0 到 100（%）之间", "annual_rate")
    put(t, "annual_rate", rate)

    if not _is_int(t.term) or t.term < 1:
        _fail("期数必须是大于 0 的整数", "term")
    if not _is_int(t.every) or t.every < 1:
        _fail("还款间隔必须是大于 0 的整数", "every")
    if t.method == "quarterly_interest":
        if t.period != "month":
            _fail("按季付息、到期还本的周期单位必须是月", "period")
        if t.every != 1:
            _fail("按季付息、到期还本每期固定为 3 个月，还款间隔必须为 1", "every")
    if t.method != "custom":
        length = t.term * t.every * (3 if t.method == "quarterly_interest" else 1)
        if t.period == "month" and length > MAX_MONTHS:
            _fail("贷款期限不能超过 100 年", "term")
        if t.period != "month" and length * (7 if t.period == "week" else 1) > MAX_DAYS:
            _fail("贷款期限不能超过 100 年", "term")
    if t.day_basis not in DAY_BASES or not _is_int(t.day_basis):
        _fail("计息天数基准必须是 360 或 365", "day_basis")
    if not isinstance(t.interest_by_days, bool):
        _fail("按天计息必须是布尔值", "interest_by_days")
    if not _is_date(t.start_date):
        _fail("放款日期必须是日期", "start_date")

    if t.fixed_day is not None:
        if not _is_int(t.fixed_day) or not 1 <= t.fixed_day <= 28:
            _fail("固定还款日必须是 1 到 28 之间的整数", "fixed_day")
        if t.period != "month":
            _fail("固定还款日只适用于按月还款", "fixed_day")
        if t.method == "custom":
            _fail("自由还本付息不使用固定还款日", "fixed_day")
    if t.first_due_date is not None:
        if not _is_date(t.first_due_date):
            _fail("首期还款日必须是日期", "first_due_date")
        if t.first_due_date <= t.start_date:
            _fail("首期还款日必须晚于放款日期", "first_due_date")
        if t.method == "custom":
            _fail("自由还本付息不使用首期还款日", "first_due_date")
        if t.fixed_day is not None and t.first_due_date.day != t.fixed_day:
            _fail("首期还款日必须落在固定还款日", "first_due_date")

    if not _is_int(t.grace_principal) or not 0 <= t.grace_principal < t.term:
        _fail("本金宽限期必须是小于期数的非负整数", "grace_principal")
    if t.grace_principal and (t.method in _PRINCIPAL_AT_MATURITY or t.method == "custom"):
        _fail(f"{method_label}不适用本金宽限期", "grace_principal")
    if not _is_int(t.grace_interest) or not 0 <= t.grace_interest < t.term:
        _fail("利息宽限期必须是小于期数的非负整数", "grace_interest")
    if t.grace_interest and t.method in ("bullet", "interest_first"):
        _fail(f"{method_label}不适用利息宽限期", "grace_interest")

    if t.method == "custom":
        put(t, "custom_plan", _validate_plan(t, principal))
    elif t.custom_plan:
        _fail("只有自由还本付息可以录入还款计划", "custom_plan")
    else:
        put(t, "custom_plan", None)

    if t.installment_multiple is not None:
        if t.method not in _MULTIPLE_METHODS:
            _fail("只有等额本息和等本等息可以设置还款额取整", "installment_multiple")
        multiple = D(t.installment_multiple, "installment_multiple", "还款额取整单位")
        if multiple <= 0 or multiple != multiple.quantize(CENT, context=MONEY_CONTEXT):
            _fail("还款额取整单位必须大于 0，最多两位小数", "installment_multiple")
        put(t, "installment_multiple", multiple)


def _validate_plan(t, principal):
    """Normalise a custom plan to ((date, Decimal), ...) and check it repays the loan."""
    plan = t.custom_plan
    if not plan:
        _fail("自由还本付息必须录入还款计划", "custom_plan")
    rows = []
    previous = t.start_date
    total = ZERO
    for index, item in enumerate(plan, start=1):
        try:
            due, amount = item
        except (TypeError, ValueError):
            _fail(f"还款计划第 {index} 行格式不正确，应为（还款日期, 本金）", "custom_plan")
        if not _is_date(due):
            _fail(f"还款计划第 {index} 行的还款日期不正确", "custom_plan")
        if due <= previous:
            _fail("还款计划的还款日期必须晚于放款日期且逐期递增", "custom_plan")
        amount = D(amount, "custom_plan", "还款计划本金")
        if amount < 0 or amount != amount.quantize(CENT, context=MONEY_CONTEXT):
            _fail(f"还款计划第 {index} 行的本金必须是不小于 0 的金额（到分）", "custom_plan")
        amount = amount.quantize(CENT, context=MONEY_CONTEXT)
        rows.append((due, amount))
        total += amount
        previous = due
    if total != principal:
        _fail(f"还款计划的本金合计 {total} 与贷款本金 {principal} 不一致", "custom_plan")
    if rows[-1][1] == 0:
        _fail("还款计划最后一期的本金必须大于 0", "custom_plan")
    if t.term != len(rows):
        _fail(f"自由还本付息的期数必须等于还款计划的行数（{len(rows)}）", "term")
    return tuple(rows)


# --------------------------------------------------------------------------- periods


def _rate(num, den):
    """An exact periodic rate: ``(num / den, None)`` if that quotient is an exact decimal,
    else ``(num, den)`` so that interest is computed with one division and no rounded rate.

    Why not always store the quotient: 7 %/12 = 0.0058333… is not a finite decimal, and
    162.00 × 0.0058333…(cut to 50 digits) = 0.94499…, which rounds to 0.94, while the exact
    162.00 × 7/1200 = 0.945 is a half fen that HALF_UP must round to 0.95.
    """
    ctx = Context(prec=MONEY_CONTEXT.prec)
    quotient = ctx.divide(num, den)
    return (num, den) if ctx.flags[Inexact] else (quotient, None)


def _day_rates(rate, day_den, starts, dues):
    """Per-period rates by actual days; months have few distinct lengths, so cache them."""
    cache = {}
    rates = []
    for start, due in zip(starts, dues):
        days = (due - start).days
        found = cache.get(days)
        if found is None:
            found = cache[days] = _rate(rate * days, day_den)
        rates.append(found)
    return rates


def _interest(balance, rate, mode):
    """balance × rate, rounded to the fen once."""
    num, den = rate
    exact = balance * num if den is None else balance * num / den
    return exact.quantize(CENT, rounding=mode)


class _Layout:
    """The periods of a schedule: dates and each period's exact interest rate.

    ``rates[k]`` is period k's exact rate as made by :func:`_rate`: ``(numerator,
    denominator)`` such that the interest on a balance B is B × numerator / denominator
    (numerator = annual % × months or days; denominator = 1200 or 100 × day_basis), or
    ``(factor, None)`` when that quotient is an exact decimal (12 %/12 = 0.01), so the hot
    loops can multiply instead of divide. ``regular_first`` is the rate period 1 would
    have had without a broken first period; ``nominal`` is the regular periodic rate i used
    by the annuity and flat formulas.
    """

    __slots__ = ("n", "starts", "dues", "rates", "regular_first", "nominal", "broken")


def _layout(t):
    rate = t.annual_rate
    day_den = Decimal(100 * t.day_basis)
    n = t.term
    lay = _Layout()
    lay.n = n
    if t.period == "month":
        step = t.every * 3 if t.method == "quarterly_interest" else t.every
        natural_first = add_months(t.start_date, step)
        first = t.first_due_date
        if first is None and t.fixed_day is not None:
            first = date(natural_first.year, natural_first.month, t.fixed_day)
        if first is None or (first == natural_first and t.fixed_day is None):
            # An explicit first due date equal to the natural one changes nothing: keep
            # anchoring on the start date so 31 Jan → 28 Feb still springs back to 31 Mar.
            dues = month_dates(t.start_date, step, n)
        else:
            dues = month_dates(first, step, n, first_offset=0)
        regular = _rate(rate * step, _MONTH_DEN)
        regular_first_days = (natural_first - t.start_date).days
    else:
        length = t.every * (7 if t.period == "week" else 1)
        natural_first = t.start_date + timedelta(days=length)
        first = t.first_due_date or natural_first
        dues = [first + timedelta(days=length * k) for k in range(n)]
        regular = _rate(rate * length, day_den)
        regular_first_days = length
    starts = [t.start_date]
    starts.extend(dues[:-1])
    lay.starts = starts
    lay.dues = dues
    lay.nominal = regular
    lay.broken = dues[0] != natural_first

    if t.interest_by_days:
        lay.rates = _day_rates(rate, day_den, starts, dues)
        lay.regular_first = _rate(rate * regular_first_days, day_den)
    else:
        lay.rates = [regular] * n
        lay.regular_first = regular
        if lay.broken:
            lay.rates[0] = _rate(rate * (dues[0] - t.start_date).days, day_den)
    return lay


def _custom_layout(t):
    rate = t.annual_rate
    day_den = Decimal(100 * t.day_basis)
    lay = _Layout()
    lay.n = len(t.custom_plan)
    lay.dues = [due for due, _ in t.custom_plan]
    lay.starts = [t.start_date] + lay.dues[:-1]
    lay.rates = _day_rates(rate, day_den, lay.starts, lay.dues)
    lay.regular_first = lay.rates[0]
    lay.nominal = None
    lay.broken = False
    return lay


# --------------------------------------------------------------------------- helpers


def _annuity(principal, nominal, periods):
    """Unrounded level payment A = P·i·(1+i)^m / ((1+i)^m − 1); P/m when i = 0."""
    num, den = nominal
    if not num:
        return principal / periods
    i = num if den is None else num / den
    growth = (1 + i) ** periods
    return principal * i * growth / (growth - 1)


def _annuity_factors(rates):
    """Annuity factors for periods of unequal rates (按天计息), one per starting row.

    ``factors[k]`` = Σ_{j≥k} Π_{i=k..j} 1/(1+r_i), the value at the start of row k of 1
    paid at the end of each row k…n−1; the level payment that exactly repays a balance B
    from row k on is B / factors[k] (with equal rates: the usual annuity formula). Built
    backwards in one pass, f[k] = (1 + f[k+1]) / (1 + r_k), so re-levelling later costs
    nothing extra. Using the plain monthly formula with day-count interest instead makes
    the balance drift: on 360 days the loan ends with a balloon, on 365 it can be repaid
    a row early and leave an empty last row.
    """
    factors = [None] * len(rates)
    acc = Decimal(0)
    for k in range(len(rates) - 1, -1, -1):
        num, den = rates[k]
        acc = (1 + acc) / (1 + (num if den is None else num / den))
        factors[k] = acc
    return factors


def _round_to_multiple(amount, multiple, mode):
    """Round ``amount`` to a multiple of ``multiple`` (e.g. whole yuan) in ``mode``."""
    return ((amount / multiple).quantize(Decimal(1), rounding=mode) * multiple).quantize(CENT)


def _regular_payment(t, mode, exact):
    """The level payment in fen, or rounded to ``installment_multiple`` when one is set."""
    if t.installment_multiple is not None:
        payment = _round_to_multiple(exact, t.installment_multiple, mode)
        if payment <= 0:
            _fail("还款额取整单位过大：取整后的每期还款额为 0", "installment_multiple")
        return payment
    return exact.quantize(CENT, rounding=mode)


def _check_multiple_split(principal, balance):
    """A payment rounded to ``installment_multiple`` must still amortise: its principal
    part may be neither negative nor repay the loan before the last row. The user chose
    the multiple, so it is refused rather than silently adjusted."""
    if principal < 0:
        _fail("还款额取整后不足以支付当期利息，请减小取整单位", "installment_multiple")
    if principal >= balance:
        _fail("还款额取整后会在最后一期前还清本金，请减小取整单位", "installment_multiple")


# --------------------------------------------------------------------------- methods
# Each builder returns (starts, dues, principals, interests); _assemble adds totals,
# balances and the interest grace period.


def _bullet(t, mode):
    rate = t.annual_rate
    if t.period == "month":
        months = t.term * t.every
        natural = add_months(t.start_date, months)
        due = t.first_due_date
        if due is None and t.fixed_day is not None:
            due = date(natural.year, natural.month, t.fixed_day)
        due = due or natural
        if due == natural and not t.interest_by_days:
            exact = t.principal * rate * months / _MONTH_DEN
        else:
            exact = t.principal * rate * (due - t.start_date).days / (100 * t.day_basis)
    else:
        length = t.term * t.every * (7 if t.period == "week" else 1)
        due = t.first_due_date or t.start_date + timedelta(days=length)
        exact = t.principal * rate * (due - t.start_date).days / (100 * t.day_basis)
    return [t.start_date], [due], [t.principal], [exact.quantize(CENT, rounding=mode)]


def _interest_only(t, mode):
    """monthly_interest / quarterly_interest: interest each period, principal at the end."""
    lay = _layout(t)
    p = t.principal
    interests = [_interest(p, rate, mode) for rate in lay.rates]
    principals = [ZERO] * lay.n
    principals[-1] = p
    return lay.starts, lay.dues, principals, interests


def _interest_first(t, mode):
    lay = _layout(t)
    p = t.principal
    interests = [_interest(p, rate, mode) for rate in lay.rates]
    interests.append(ZERO)
    principals = [ZERO] * lay.n + [p]
    maturity = lay.dues[-1]
    dues = lay.starts + [maturity]  # each period's interest falls due on its first day
    return dues, dues, principals, interests


def _equal_installment(t, mode):
    lay = _layout(t)
    n, g = lay.n, t.grace_principal
    # Rates for the level-payment arithmetic: as without 按天, a broken first period's
    # extra days ride on top of the payment instead of changing it.
    amortising = lay.rates
    if lay.broken:
        amortising = list(lay.rates)
        amortising[0] = lay.regular_first
    factors = None
    if t.interest_by_days:
        factors = _annuity_factors(amortising)
        exact = t.principal / factors[g]
    else:
        exact = _annuity(t.principal, lay.nominal, n - g)
    payment = _regular_payment(t, mode, exact)
    balance = t.principal
    principals = []
    interests = []
    add_principal = principals.append
    add_interest = interests.append
    rates = lay.rates
    last = n - 1
    for k in range(n):
        num, den = rates[k]
        interest = (balance * num if den is None else balance * num / den).quantize(
            CENT, rounding=mode
        )
        if k == last:
            principal = balance
        elif k < g:
            principal = ZERO
        else:
            split = interest
            if k == 0 and lay.broken:
                # Broken first period: principal as in a regular period, the extra (or
                # missing) days' interest goes on top of the payment (DOMAIN §2.2).
                split = _interest(balance, lay.regular_first, mode)
            principal = payment - split
            if principal < 0 or principal >= balance:
                # The level payment cannot be kept on this row (only at an extreme
                # rate × term). If it would repay the loan before the last row — the
                # payment's fen rounding compounds over the term — it is re-levelled
                # over the rows left, from this row. If a long period's day-count
                # interest exceeds it, the row pays its interest only and the payment
                # is re-levelled from the next row. Never an empty or negative row.
                if t.installment_multiple is not None:
                    _check_multiple_split(principal, balance)  # raises
                if factors is None:
                    factors = _annuity_factors(amortising)
                if principal >= balance:
                    payment = (balance / factors[k]).quantize(CENT, rounding=mode)
                    principal = payment - split
                if principal < 0:
                    principal = ZERO
                    payment = (balance / factors[k + 1]).quantize(CENT, rounding=mode)
                if principal > balance:
                    principal = balance  # loans of a few fen over many rows
        balance -= principal
        add_principal(principal)
        add_interest(interest)
    return lay.starts, lay.dues, principals, interests


def _equal_principal(t, mode):
    lay = _layout(t)
    n, g = lay.n, t.grace_principal
    part = (t.principal / (n - g)).quantize(CENT, rounding=mode)
    balance = t.principal
    principals = []
    interests = []
    last = n - 1
    for k, rate in enumerate(lay.rates):
        interests.append(_interest(balance, rate, mode))
        if k == last:
            principal = balance
        elif k < g:
            principal = ZERO
        else:
            # A tiny loan over many periods could round P/m up past the balance.
            principal = part if part <= balance else balance
        balance -= principal
        principals.append(principal)
    return lay.starts, lay.dues, principals, interests


def _flat(t, mode):
    lay = _layout(t)
    n, g = lay.n, t.grace_principal
    p = t.principal
    m = n - g
    interests = [_interest(p, rate, mode) for rate in lay.rates]
    # Σ interest = the exact interest of all periods rounded once: group numerators by
    # denominator so the total is one division, not a sum of rounded quotients.
    by_den = {}
    for num, den in lay.rates:
        den = den or _ONE
        by_den[den] = by_den.get(den, 0) + num
    top, bottom = Decimal(0), Decimal(1)
    for den, num in by_den.items():
        top, bottom = top * den + num * bottom, bottom * den
    target = (p * top / bottom).quantize(CENT, rounding=mode)
    remainder = target - sum(interests[:-1], ZERO)
    # If rounding pushed the earlier rows above the exact total (only for absurdly small
    # loans), the last row's interest is zero rather than negative.
    interests[-1] = remainder if remainder > 0 else ZERO

    if t.installment_multiple is not None:
        num, den = lay.nominal
        den = den or _ONE
        payment = _regular_payment(t, mode, (p * den + p * num * m) / (m * den))
        regular_first = _interest(p, lay.regular_first, mode)
    else:
        part = (p / m).quantize(CENT, rounding=mode)
    balance = p
    principals = []
    last = n - 1
    for k in range(n):
        if k == last:
            principal = balance
        elif k < g:
            principal = ZERO
        elif t.installment_multiple is not None:
            principal = payment - (regular_first if k == 0 else interests[k])
            _check_multiple_split(principal, balance)
        else:
            principal = part if part <= balance else balance
        balance -= principal
        principals.append(principal)
    return lay.starts, lay.dues, principals, interests


def _custom(t, mode):
    lay = _custom_layout(t)
    balance = t.principal
    principals = []
    interests = []
    for rate, (_, amount) in zip(lay.rates, t.custom_plan):
        interests.append(_interest(balance, rate, mode))
        principals.append(amount)
        balance -= amount
    return lay.starts, lay.dues, principals, interests


_BUILDERS = {
    "bullet": _bullet,
    "monthly_interest": _interest_only,
    "quarterly_interest": _interest_only,
    "interest_first": _interest_first,
    "equal_installment": _equal_installment,
    "equal_principal": _equal_principal,
    "flat": _flat,
    "custom": _custom,
}


# A frozen dataclass's __init__ sets each field through object.__setattr__, which costs
# about half of the per-row time of a 360-row schedule. The engine builds its own rows
# (all values already checked) by writing the slots directly: same class, same frozen
# behaviour for everyone else, half the cost. Order = the dataclass field order.
_INSTALLMENT_SLOTS = tuple(
    Installment.__dict__[name].__set__
    for name in ("seq", "start_date", "due_date", "principal", "interest", "total", "balance")
)
assert len(_INSTALLMENT_SLOTS) == len(fields(Installment)), "new Installment field: set it"


def _assemble(t, starts, dues, principals, interests):
    """Apply the interest grace period, then build rows with totals and balances."""
    h = t.grace_interest
    if h:
        deferred = sum(interests[:h], ZERO)
        interests[:h] = [ZERO] * h
        interests[h] += deferred
    rows = []
    append = rows.append
    new = object.__new__
    set_seq, set_start, set_due, set_principal, set_interest, set_total, set_balance = (
        _INSTALLMENT_SLOTS
    )
    balance = t.principal
    seq = 0
    for start, due, principal, interest in zip(starts, dues, principals, interests):
        seq += 1
        balance -= principal
        row = new(Installment)
        set_seq(row, seq)
        set_start(row, start)
        set_due(row, due)
        set_principal(row, principal)
        set_interest(row, interest)
        set_total(row, principal + interest)
        set_balance(row, balance)
        append(row)
    return rows


def generate_schedule(terms):
    """Build the repayment schedule for ``terms`` (see the module docstring for the rules).

    Returns a list of :class:`Installment`, ``seq`` from 1. Runs under the domain's own
    Decimal context so a caller's context settings cannot change the figures.
    """
    if not isinstance(terms, LoanTerms):
        raise TypeError("generate_schedule expects LoanTerms")
    mode = ROUNDING_MODES[terms.rounding]
    with localcontext(MONEY_CONTEXT):
        parts = _BUILDERS[terms.method](terms, mode)
        return _assemble(terms, *parts)
