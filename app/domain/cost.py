"""Annualised cost of a loan (综合融资成本, DOMAIN.md §2.4).

The annualised cost is the internal rate of return of the borrower's cash flows — the
payout in, every installment, fee and deposit out — times the number of periods per year,
in percent. It is what the rate caps (hard stop, 4 × LPR warning) are checked against, so
a flat-rate loan at "1 % a month" shows its true cost of about 21.46 %, not 12 %.

The root finding uses pyxirr (fast, Rust) behind :func:`_irr`; amounts go in as floats and
the rate comes out as a Decimal, so no float crosses this module's boundary. If pyxirr is
not installed or finds no root, a plain Decimal bisection does the same job more slowly.
"""

from decimal import ROUND_HALF_UP, Decimal, localcontext

from app.domain.errors import DomainError
from app.domain.money import CENT, MONEY_CONTEXT, ZERO, D

try:  # pragma: no cover - which branch runs depends on the environment
    import pyxirr
except ImportError:  # pragma: no cover
    pyxirr = None

__all__ = ["annualized_cost_rate", "schedule_cost_rate"]


def annualized_cost_rate(amount_received, flows, periods_per_year=12):
    """Annualised cost in percent, two decimals (e.g. Decimal("15.85")).

    ``amount_received`` — the payout to the borrower at period 0 (a positive Decimal).

    ``flows`` — what the borrower pays, in a list whose items are either

    * a bare amount: bare amounts are paid at periods 1, 2, 3… in the order given (pairs
      in between do not count), so a plain list of installment totals means periods 1…n;
    * a pair ``(period_index, amount)`` with an explicit period (0 = at disbursement).

    So ``[(0, fee), *installment_totals]`` is a schedule with a fee paid at the start.

    Several amounts on the same period add up. Amounts paid at period 0 (fees, deposits
    taken at the start) reduce the money the borrower really has in hand. A negative
    amount is money flowing back to the borrower (e.g. a deposit returned at settlement).

    ``periods_per_year`` — 12 for monthly flows, 4 quarterly, 52 weekly, etc. The result
    is the nominal annual rate, periodic IRR × periods_per_year (not compounded), as the
    regulator's 综合年化成本 is quoted.
    """
    received = D(amount_received, "amount_received", "放款金额")
    if received <= 0:
        raise DomainError("放款金额必须大于 0", "amount_received")
    per_year = D(periods_per_year, "periods_per_year", "每年期数")
    if per_year <= 0:
        raise DomainError("每年期数必须大于 0", "periods_per_year")

    paid = _by_period(flows)
    cash = [ZERO] * (max(paid) + 1 if paid else 1)
    for period, amount in paid.items():
        cash[period] = -amount
    cash[0] += received
    if cash[0] <= 0:
        raise DomainError("扣除期初费用后借款人实际到手金额必须大于 0", "flows")
    if not any(amount < 0 for amount in cash[1:]):
        raise DomainError("没有借款人的还款现金流，无法计算年化成本", "flows")

    rate = _irr(cash)
    with localcontext(MONEY_CONTEXT):
        return (rate * per_year * 100).quantize(CENT, rounding=ROUND_HALF_UP)


def schedule_cost_rate(rows, principal, upfront_fees=ZERO, periods_per_year=12):
    """Annualised cost of a generated schedule plus fees paid at disbursement.

    The payout is ``principal`` (never reduced: 禁止砍头息), ``upfront_fees`` are paid at
    period 0, and installment ``seq`` k is paid at period k. A row due on its own start
    date — interest_first's first row, due on the disbursement day — is paid at period 0,
    and the rows after it shift down by one.

    Periods are schedule periods: pass ``periods_per_year`` accordingly (12 for monthly,
    4 for quarterly_interest, 52 for weekly, 12 / months for a bullet loan). Irregular
    dates (a broken first period, custom plans) are treated as whole periods.
    """
    if not rows:
        raise DomainError("还款计划为空，无法计算年化成本", "rows")
    shift = 1 if rows[0].due_date == rows[0].start_date else 0
    flows = [(row.seq - shift, row.total) for row in rows]
    fees = D(upfront_fees, "upfront_fees", "费用")
    if fees:
        flows.append((0, fees))
    return annualized_cost_rate(principal, flows, periods_per_year)


def _by_period(flows):
    """{period: Σ amount} from the documented mix of bare amounts and (period, amount)."""
    paid = {}
    bare = 0
    for item in flows:
        if isinstance(item, tuple):
            try:
                period, amount = item
            except ValueError:
                raise DomainError("现金流格式不正确，应为（期次, 金额）", "flows") from None
            if isinstance(period, bool) or not isinstance(period, int) or period < 0:
                raise DomainError("现金流的期次必须是不小于 0 的整数", "flows")
        else:
            bare += 1
            period, amount = bare, item
        paid[period] = paid.get(period, ZERO) + D(amount, "flows", "现金流金额")
    return paid


def _irr(cash):
    """Periodic IRR of ``cash`` (Decimals, index = period) as a Decimal."""
    if pyxirr is not None:
        rate = pyxirr.irr([float(amount) for amount in cash], silent=True)
        if rate is not None and rate == rate and abs(rate) != float("inf"):
            return Decimal(repr(rate))
    return _irr_decimal(cash)


def _irr_decimal(cash, tolerance=Decimal("1e-14")):
    """IRR by bisection on the Decimal NPV; the fallback when pyxirr is unavailable.

    The bracket is -99.99 % … 1000 % per period. For a loan (money in at period 0, money
    out afterwards) the NPV falls monotonically with the rate, so the root is unique;
    bisection is slow but cannot diverge, and 60 steps leave an error far below what two
    decimals of an annual percentage can show.
    """
    with localcontext(MONEY_CONTEXT):

        def npv(rate):
            factor = 1 / (1 + rate)
            total = ZERO
            for amount in reversed(cash):  # Horner: Σ c_t · factor^t
                total = total * factor + amount
            return total

        low, high = Decimal("-0.9999"), Decimal(10)
        npv_low, npv_high = npv(low), npv(high)
        if (npv_low > 0) == (npv_high > 0):
            raise DomainError("现金流无法求出内部收益率（年化成本）", "flows")
        while high - low > tolerance:
            middle = (low + high) / 2
            npv_middle = npv(middle)
            if npv_middle == 0:
                return middle
            if (npv_middle > 0) == (npv_low > 0):
                low, npv_low = middle, npv_middle
            else:
                high = middle
        return (low + high) / 2
