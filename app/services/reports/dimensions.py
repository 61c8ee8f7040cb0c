"""The breakdowns of the regulatory tables (DOMAIN.md §10) as SQL expressions over
``Loan`` joined with ``Customer`` and ``LoanProduct``: the twins of app/domain/bands.py
(same boundaries), so a table groups in the database and never loops over loans.

Each dimension: code, Chinese caption, SQL expression (a code), and the ordered
(code, label) list of its categories (labels of dictionary codes are read at run time).
"""
from dataclasses import dataclass

from sqlalchemy import case, func, literal

from app.domain import bands
from app.models import Branch, Customer, Loan, LoanProduct
from app.models.customer import CUSTOMER_KINDS
from app.models.risk import CLASS_LABELS, CLASSES
from app.services import dictionaries


def amount_band_expr(amount=Loan.amount):
    low, mid, high = bands.AMOUNT_LIMITS
    return case((amount < low, literal("lt20")), (amount < mid, literal("20_30")), (amount <= high, literal("30_50")),
                else_=literal("gt50"))


def term_band_expr():
    months = case((Loan.method == "quarterly_interest", Loan.term * 3), else_=Loan.term)
    days = case((LoanProduct.period == "week", Loan.term * 7), else_=Loan.term)
    m1, m2, m3 = bands.MONTH_LIMITS
    d1, d2, d3 = bands.DAY_LIMITS
    by_day = LoanProduct.period.in_(("day", "week"))
    return case(
        (by_day & (days < d1), literal("lt3")), (by_day & (days < d2), literal("3_6")),
        (by_day & (days <= d3), literal("6_12")), (by_day, literal("gt12")),
        (months < m1, literal("lt3")), (months < m2, literal("3_6")), (months <= m3, literal("6_12")),
        else_=literal("gt12"))


def guarantee_expr():
    types = Loan.guarantee_types
    whens = [(types.like(f"%{code}%"), literal(code)) for code in bands.GUARANTEE_ORDER[:-1]]
    return case(*whens, else_=literal("unsecured"))


@dataclass
class Dimension:
    code: str
    caption: str
    expr: object = None          # None: the class at the report date (see common.class_at)
    categories: object = None    # callable → [(code, label)]; unknown codes are appended


def _industries():
    items = list(dictionaries.labels("industry").items())
    return items + [("", "未填行业（个人等）")]


def _purposes():
    return list(dictionaries.labels("loan_purpose").items())


def _branches():
    from sqlalchemy import select

    from app.extensions import db

    return [(str(i), n) for i, n in db.session.execute(select(Branch.id, Branch.name).order_by(Branch.id))]


def _products():
    from sqlalchemy import select

    from app.extensions import db

    return [(str(i), n) for i, n in db.session.execute(select(LoanProduct.id, LoanProduct.name).order_by(LoanProduct.id))]


DIMENSIONS = {
    "guarantee": Dimension("guarantee", "按担保方式", guarantee_expr(),
                           lambda: [(c, bands.GUARANTEE_LABELS[c]) for c in bands.GUARANTEE_ORDER]),
    "industry": Dimension("industry", "按贷款投向（行业，GB/T 4754）", func.coalesce(Customer.industry, ""), _industries),
    "purpose": Dimension("purpose", "按贷款用途", Loan.purpose, _purposes),
    "amount": Dimension("amount", "按单笔金额", amount_band_expr(), lambda: list(bands.AMOUNT_BANDS)),
    "term": Dimension("term", "按贷款期限", term_band_expr(), lambda: list(bands.TERM_BANDS)),
    "class": Dimension("class", "按五级分类", None, lambda: [(c, CLASS_LABELS[c]) for c in CLASSES]),
    "customer": Dimension("customer", "按借款人类型", Customer.kind,
                          lambda: [(c, bands.CUSTOMER_KIND_LABELS.get(c, CUSTOMER_KINDS[c])) for c in
                                   ("person", "sole_trader", "company")]),
    "branch": Dimension("branch", "按机构", Loan.branch_id, _branches),
    "product": Dimension("product", "按贷款产品", Loan.product_id, _products),
}
