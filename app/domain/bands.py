"""Breakdown bands of the regulatory tables (DOMAIN.md §10), pure.

金额档次 (by the loan's contract amount): < 20万, 20–30万, 30–50万, > 50万.
期限档次 (by the contract term): < 3 个月, 3–6 个月, 6–12 个月, > 1 年.

DOMAIN.md writes the outer bands with strict signs ("< 20万", "> 50万"; "< 3 months", "> 1 year"),
so an amount of exactly 20万 is not "< 20万" and 50万 is not "> 50万"; the inner boundary
goes to the upper band (含下限不含上限) except the last inner band, which keeps its upper bound:

    amount  < 200,000 → lt20;  200,000 ≤ a < 300,000 → 20_30;  300,000 ≤ a ≤ 500,000 → 30_50;  > 500,000 → gt50
    months  < 3 → lt3;         3 ≤ m < 6 → 3_6;               6 ≤ m ≤ 12 → 6_12;               > 12 → gt12

(so a one-year loan is short-term, as the PBOC's 短期贷款 "一年以内（含一年）" counts it).

A term in days (按天 products) bands by days: < 90, 90–179, 180–366, > 366 (a 365- or
366-day loan is a one-year loan); a week is 7 days. 按季付息 counts its term in quarters.

The SQL twins of these functions (app/services/reports/dimensions.py) must agree with them;
tests/integration/test_reports.py checks the boundary loans through both.
"""
from decimal import Decimal

AMOUNT_BANDS = (("lt20", "20万元以下"), ("20_30", "20万（含）至30万元"), ("30_50", "30万（含）至50万元（含）"),
                ("gt50", "50万元以上"))
TERM_BANDS = (("lt3", "3个月以下"), ("3_6", "3个月（含）至6个月"), ("6_12", "6个月（含）至1年（含）"),
              ("gt12", "1年以上"))
AMOUNT_LIMITS = (Decimal("200000"), Decimal("300000"), Decimal("500000"))
MONTH_LIMITS = (3, 6, 12)
DAY_LIMITS = (90, 180, 366)

#: Guarantee types from the strongest to the weakest: a loan with several counts under the first.
GUARANTEE_ORDER = ("mortgage", "pledge", "guarantee", "unsecured")
GUARANTEE_LABELS = {"mortgage": "抵押贷款", "pledge": "质押贷款", "guarantee": "保证贷款", "unsecured": "信用贷款"}
CUSTOMER_KIND_LABELS = {"person": "个人（自然人）", "sole_trader": "个体工商户", "company": "企业法人"}


def amount_band(amount):
    amount = Decimal(amount)
    low, mid, high = AMOUNT_LIMITS
    if amount < low:
        return "lt20"
    if amount < mid:
        return "20_30"
    if amount <= high:
        return "30_50"
    return "gt50"


def term_in(term, period="month", method=None):
    """(number, unit): the term in months (按月, quarters × 3) or in days (按天, weeks × 7)."""
    term = int(term)
    if period == "day":
        return term, "day"
    if period == "week":
        return term * 7, "day"
    return (term * 3 if method == "quarterly_interest" else term), "month"


def term_band(term, period="month", method=None):
    number, unit = term_in(term, period, method)
    first, second, third = DAY_LIMITS if unit == "day" else MONTH_LIMITS
    if number < first:
        return "lt3"
    if number < second:
        return "3_6"
    if number <= third:
        return "6_12"
    return "gt12"


def primary_guarantee(guarantee_types):
    """The strongest guarantee type of a comma list ("guarantee,mortgage" → "mortgage")."""
    present = {g.strip() for g in (guarantee_types or "").split(",") if g.strip()}
    for code in GUARANTEE_ORDER:
        if code in present:
            return code
    return "unsecured"


def band_label(bands, code):
    return dict(bands).get(code, code)
