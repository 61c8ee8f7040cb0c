"""贷款业务统计, 业务分析 and 贷款发放报表 (issue #11) against a prepared portfolio.

The portfolio is reports_portfolio.py's (L1–L7, business date 2026-03-31) plus the loans
below, created, paid out and repaid through the services; every expected figure is worked
out by hand here. Registration times are the wall clock when a loan is saved, so the build
pins them (``REGISTERED``) to put loans on the period boundaries.

| loan | branch | officer | product          | amount  | term | rate | method          | paid out   | due date(s)            |
|------|--------|---------|------------------|---------|------|------|-----------------|------------|------------------------|
| L8   | SH     | b       | 个人经营贷 GRJYD  | 100,000 | 1    | 12   | equal_principal | 2025-03-04 | 2025-04-04             |
| L9   | BJ     | a       | 个人经营贷        |  80,000 | 1    | 12   | equal_principal | 2025-11-30 | 2025-12-30             |
| L10  | SH     | b       | 个人经营贷        |  60,000 | 1    | 12   | equal_principal | 2026-01-28 | 2026-02-28             |
| L11  | BJ     | a       | 个人经营贷        |  50,000 | 1    | 12   | equal_principal | 2026-02-01 | 2026-03-01             |
| L12  | BJ     | a       | 企业流动资金贷 QYLDZJ | 400,000 | 3 | 9  | monthly_interest| 2026-03-31 | 04-30, 05-31, 06-30    |
| L13  | BJ     | a       | 个人经营贷        |  90,000 | 12   | 12   | equal_principal | draft, not paid out |       |

None of L8–L11 is repaid, except a receipt of 5,000.00 on L9 on 2026-03-31 (91 days late):
罚息 80,000 × 12 % × 1.5 × 91 / 360 = 3,640.00, 复利 800 × 18 % × 91 / 360 = 36.40, interest
800.00, principal 523.60. 罚息 of the others at 2026-03-31 (penalty rate 18 %, basis 360):
L8 100,000 × 18 % × 361 / 360 = 18,050.00 (复利 on 1,000: 180.50); L10 60,000 × 31 days =
930.00 (9.30); L11 50,000 × 30 days = 750.00 (7.50); L1 75,000 × 49 days = 1,837.50 (复利 on
750: 18.375, whose rounding is left to the database, so it is read back).
"""
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from flask import g
from sqlalchemy import select, update

from app.extensions import db
from app.models import Branch, LoanProduct

from . import reports_portfolio as P
from .test_loans import acting, make_customer, text_of

D = Decimal
AS_OF = P.AS_OF
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
FEBRUARY = (date(2026, 2, 1), date(2026, 2, 28))
EXTRA = {
    # name: (officer, product, amount, term, rate, method, guarantee, paid out on)
    "L8": ("officer_b", "GRJYD", "100000", 1, "12", "equal_principal", "unsecured", date(2025, 3, 4)),
    "L9": ("officer_a", "GRJYD", "80000", 1, "12", "equal_principal", "unsecured", date(2025, 11, 30)),
    "L10": ("officer_b", "GRJYD", "60000", 1, "12", "equal_principal", "unsecured", date(2026, 1, 28)),
    "L11": ("officer_a", "GRJYD", "50000", 1, "12", "equal_principal", "unsecured", date(2026, 2, 1)),
    "L12": ("officer_a", "QYLDZJ", "400000", 3, "9", "monthly_interest", "guarantee", date(2026, 3, 31)),
    "L13": ("officer_a", "GRJYD", "90000", 12, "12", "equal_principal", "unsecured", None),
}
REGISTERED = {
    "L1": datetime(2025, 12, 1, 9), "L2": datetime(2026, 1, 5, 10), "L3": datetime(2026, 2, 1, 0, 0, 0),
    "L4": datetime(2026, 3, 1, 0, 0, 0), "L5": datetime(2026, 3, 10, 15, 30), "L6": datetime(2026, 3, 20, 11),
    "L7": datetime(2026, 3, 31, 23, 59, 59), "L8": datetime(2025, 3, 1, 9), "L9": datetime(2025, 11, 20, 9),
    "L10": datetime(2026, 1, 20, 9), "L11": datetime(2026, 1, 25, 9), "L12": datetime(2026, 3, 15, 14),
    "L13": datetime(2026, 2, 28, 23, 59, 59),
}
BJ_LOANS = {"L1", "L2", "L3", "L6", "L7", "L9", "L11", "L12", "L13"}


@pytest.fixture(autouse=True)
def _baseline():
    """Overrides tests/integration/conftest.py: the portfolio is built once for the module."""
    yield


def build(app):
    from app.models import Customer, Loan, LoanProduct
    from app.services import batch, disbursement, loans

    from .servicing_helpers import finance_user, fund, on, repay

    ids = P.build(app)
    for name, (officer, code, amount, term, rate, method, guarantee, paid_on) in EXTRA.items():
        customer_id = make_customer(app, name=f"客户{name}", officer=officer, documents=False)
        with app.app_context():
            user = g.user = P._user(officer)
            product = db.session.execute(select(LoanProduct).where(LoanProduct.code == code)).scalar_one()
            product.min_term = 1
            loan = Loan(customer=db.session.get(Customer, customer_id), product=product, amount=D(amount), term=term,
                        annual_rate=D(rate), method=method, start_date=paid_on or AS_OF, purpose="working_capital",
                        guarantee_types=guarantee, officer=user)
            loans.save_draft(loan, user)
            if paid_on:
                loan.status = "ready_to_disburse"
            db.session.commit()
            ids[name] = loan.id
        if paid_on:
            with app.app_context():
                disbursement.disburse(ids[name], finance_user(), fund(), paid_on, "工商银行", f"客户{name}",
                                      "6222020200112233445")
    on(app, AS_OF)
    repay(app, ids["L9"], "5000.00", AS_OF)
    with app.app_context():
        for name, moment in REGISTERED.items():
            db.session.execute(update(Loan).where(Loan.id == ids[name]).values(created_at=moment))
        db.session.commit()
        g.user = P._user("admin")
        batch.run(AS_OF, user=g.user, trigger="cli")
        db.session.remove()
    return ids


@pytest.fixture(scope="module")
def portfolio(app):
    yield from P.built_once(app, build)


def F(**kw):
    from app.services.reports.statistics import StatFilters

    return StatFilters(**kw).resolve()


def _page(code, user, **kw):
    from app.services.reports import statistics

    return statistics.page(code, F(**kw), user, 1, 1000)


def _rows(page):
    keys = [f.key for f in page.tab.fields]
    return [dict(zip(keys, r["cells"]), _status=r["status"], _grp=r["grp"]) for r in page.rows]


def _groups(page):
    return {g.code: g for g in page.groups}



def _customers(page):
    return [r["customer"] for r in _rows(page)]


def _check_groups_add_up(page):
    """The summary's groups add up to the totals and to the row count, in every column."""
    assert sum(g.count for g in page.groups) == page.total_rows
    for key, total in page.totals.items():
        assert sum((g.sums[key] for g in page.groups), 0 * total) == total, key


def _l1_compound(app, ids):
    from app.models import Installment

    with app.app_context():
        row = db.session.execute(select(Installment).where(Installment.loan_id == ids["L1"],
                                                           Installment.seq == 2)).scalar_one()
        return (row.compound - row.compound_paid - row.compound_waived + row.compound_pending).quantize(D("0.01"))


# -- 登记贷款 ------------------------------------------------------------------------------------
def test_registered_by_status_with_inclusive_period(app, portfolio):
    with acting(app, "admin") as user:
        page = _page("registered", user, start=MARCH[0], end=MARCH[1])
        # L4 registered at 2026-03-01 00:00:00 and L7 at 2026-03-31 23:59:59: both inside
        assert _customers(page) == ["客户L4", "客户L5", "客户L12", "客户L6", "客户L7"]
        assert page.totals == {"amount": D("1920000.00")}
        groups = _groups(page)
        assert (groups["active"].count, groups["active"].sums["amount"]) == (4, D("1800000.00"))
        assert (groups["approved"].count, groups["approved"].sums["amount"]) == (1, D("120000.00"))
        assert groups["draft"].count == 0
        _check_groups_add_up(page)
        assert [r["_status"] for r in _rows(page)] == ["active"] * 4 + ["approved"]
        assert _rows(page)[-1]["status"] == "已批准"
        # February: L3 at 02-01 00:00:00 and the draft L13 at 02-28 23:59:59
        feb = _page("registered", user, start=FEBRUARY[0], end=FEBRUARY[1])
        assert _customers(feb) == ["客户L3", "客户L13"]
        assert feb.totals["amount"] == D("290000.00")
        assert (_groups(feb)["draft"].count, _groups(feb)["draft"].sums["amount"]) == (1, D("90000.00"))
        # the filters
        assert _customers(_page("registered", user, start=MARCH[0], end=MARCH[1], status="approved")) == ["客户L7"]
        assert _customers(_page("registered", user, start=MARCH[0], end=MARCH[1],
                                officer_id=P._user("officer_b").id)) == ["客户L4", "客户L5"]
        qy = db.session.execute(select(LoanProduct.id).where(LoanProduct.code == "QYLDZJ")).scalar_one()
        assert _customers(_page("registered", user, start=MARCH[0], end=MARCH[1], product_id=qy)) == ["客户L12"]
        sh = db.session.execute(select(Branch.id).where(Branch.code == "SH")).scalar_one()
        assert _page("registered", user, start=MARCH[0], end=MARCH[1], branch_id=sh).totals["amount"] == D("900000.00")
        assert _customers(_page("registered", user, start=MARCH[0], end=MARCH[1], keyword="客户L1")) == ["客户L12"]


def test_totals_cover_every_row_not_only_the_page(app, portfolio):
    from app.services.reports import statistics

    with acting(app, "admin") as user:
        first = statistics.page("registered", F(start=MARCH[0], end=MARCH[1]), user, 1, 2)
        last = statistics.page("registered", F(start=MARCH[0], end=MARCH[1]), user, 3, 2)
        assert (first.total_rows, first.pages, len(first.rows), len(last.rows)) == (5, 3, 2, 1)
        assert first.totals == last.totals == {"amount": D("1920000.00")}
        assert [r["cells"][2] for r in last.rows] == ["客户L7"]
        beyond = statistics.page("registered", F(start=MARCH[0], end=MARCH[1]), user, 9, 2)
        assert beyond.page == 3 and len(beyond.rows) == 1      # a page past the end shows the last one


# -- 待还款 --------------------------------------------------------------------------------------
def test_pending_principal_and_interest_due_and_unpaid(app, portfolio):
    with acting(app, "admin") as user:
        # March: L11's only installment (due 03-01) is unpaid; L3 #1 (03-10) and L2 #2 (03-15) were paid
        march = _page("pending", user, start=MARCH[0], end=MARCH[1])
        assert _customers(march) == ["客户L11"]
        assert march.totals == {"principal": D("50000.00"), "interest": D("500.00"), "total": D("50500.00")}
        assert _groups(march)["overdue"].count == 1
        # February: L1 #2 (02-10: 75,000 + 750) and L10 (02-28: 60,000 + 600), both already overdue
        feb = _page("pending", user, start=FEBRUARY[0], end=FEBRUARY[1])
        assert _customers(feb) == ["客户L1", "客户L10"]
        assert feb.totals == {"principal": D("135000.00"), "interest": D("1350.00"), "total": D("136350.00")}
        # the period's both ends count: 02-28 (L10) and 03-01 (L11)
        assert _customers(_page("pending", user, start=date(2026, 2, 28), end=date(2026, 3, 1))) == ["客户L10", "客户L11"]
        # April, not yet due: L4 25,000 + 300,000 × 1.5 % = 4,500; L3 33,333.33 + 166,666.67 × 1.25 % = 2,083.33;
        # L2 70,000 + 583.33; L5 25,000 + 4,000; L6 41,666.67 + 5,000; L12 interest only 400,000 × 0.75 % = 3,000
        april = _page("pending", user, start=date(2026, 4, 1), end=date(2026, 4, 30))
        assert _customers(april) == ["客户L4", "客户L3", "客户L2", "客户L5", "客户L6", "客户L12"]
        assert [r["interest"] for r in _rows(april)] == [D("4500.00"), D("2083.33"), D("583.33"), D("4000.00"),
                                                          D("5000.00"), D("3000.00")]
        assert april.totals == {"principal": D("195000.00"), "interest": D("19166.66"), "total": D("214166.66")}
        assert _groups(april)["future"].count == 6
        _check_groups_add_up(april)


# -- 已还款 --------------------------------------------------------------------------------------
def test_repaid_from_the_receipt_allocations(app, portfolio):
    with acting(app, "admin") as user:
        march = _page("repaid", user, start=MARCH[0], end=MARCH[1])
        assert _customers(march) == ["客户L3", "客户L2", "客户L9"]
        assert march.totals == {"principal": D("103856.93"), "interest": D("4466.67"), "penalty": D("3640.00"),
                                "compound": D("36.40"), "total": D("112000.00")}
        late = _rows(march)[-1]
        assert (late["principal"], late["interest"], late["penalty"], late["compound"]) == (
            D("523.60"), D("800.00"), D("3640.00"), D("36.40"))
        assert late["due_date"] == date(2025, 12, 30) and late["timeliness"] == "逾期还款"
        assert [r["timeliness"] for r in _rows(march)] == ["按期还款", "按期还款", "逾期还款"]
        groups = _groups(march)                      # by the receipts' kind: all three are 正常还款
        assert (groups["repayment"].count, groups["prepayment"].count) == (3, 0)
        assert groups["repayment"].sums["total"] == D("112000.00")
        _check_groups_add_up(march)
        assert _customers(_page("repaid", user, start=date(2026, 3, 10), end=date(2026, 3, 10))) == ["客户L3"]
        quarter = _page("repaid", user, start=date(2026, 1, 1), end=MARCH[1])
        assert quarter.total_rows == 5
        assert quarter.totals["principal"] == D("248856.93") and quarter.totals["interest"] == D("7716.67")


# -- 逾期 ----------------------------------------------------------------------------------------
def test_overdue_by_band_at_the_business_date(app, portfolio):
    with acting(app, "admin") as user:
        page = _page("overdue", user, as_of=AS_OF)
        rows = {r["customer"]: r for r in _rows(page)}
        # oldest overdue due date → days → band: L8 2025-04-04 → 361; L9 2025-12-30 → 91; L1 02-10 → 49;
        # L10 02-28 → 31; L11 03-01 → 30
        assert {c: (r["days"], r["_grp"]) for c, r in rows.items()} == {
            "客户L8": (361, "361+"), "客户L9": (91, "91-180"), "客户L1": (49, "31-90"), "客户L10": (31, "31-90"),
            "客户L11": (30, "1-30")}
        assert (rows["客户L8"]["principal"], rows["客户L8"]["interest"], rows["客户L8"]["penalty"],
                rows["客户L8"]["compound"]) == (D("100000.00"), D("1000.00"), D("18050.00"), D("180.50"))
        assert (rows["客户L9"]["principal"], rows["客户L9"]["interest"], rows["客户L9"]["penalty"]) == (
            D("79476.40"), D("0.00"), D("0.00"))
        assert rows["客户L9"]["balance"] == D("79476.40")          # the ledger's 1301 balance
        assert (rows["客户L10"]["penalty"], rows["客户L10"]["compound"]) == (D("930.00"), D("9.30"))
        assert (rows["客户L11"]["penalty"], rows["客户L11"]["compound"]) == (D("750.00"), D("7.50"))
        assert rows["客户L1"]["penalty"] == D("1837.50")
        l1_compound = _l1_compound(app, portfolio)
        assert rows["客户L1"]["compound"] == l1_compound
        assert page.totals["principal"] == D("364476.40")
        assert page.totals["interest"] == D("2850.00")
        assert page.totals["penalty"] == D("21567.50")
        assert page.totals["compound"] == D("197.30") + l1_compound
        assert page.totals["balance"] == D("364476.40")
        groups = _groups(page)
        assert [(code, groups[code].count, groups[code].sums["principal"]) for code in groups] == [
            ("1-30", 1, D("50000.00")), ("31-90", 2, D("135000.00")), ("91-180", 1, D("79476.40")),
            ("181-360", 0, D("0.00")), ("361+", 1, D("100000.00"))]
        assert groups["31-90"].sums["interest"] == D("1350.00")
        _check_groups_add_up(page)


@pytest.mark.parametrize("as_of, expected", [
    (date(2025, 4, 4), {}),                                      # due that day: not overdue yet
    (date(2025, 4, 5), {"客户L8": (1, "1-30")}),
    (date(2025, 5, 4), {"客户L8": (30, "1-30")}),
    (date(2025, 5, 5), {"客户L8": (31, "31-90")}),
    (date(2025, 10, 1), {"客户L8": (180, "91-180")}),
    (date(2025, 10, 2), {"客户L8": (181, "181-360")}),
    (date(2026, 3, 30), {"客户L8": (360, "181-360"), "客户L9": (90, "31-90"), "客户L1": (48, "31-90"),
                         "客户L10": (30, "1-30"), "客户L11": (29, "1-30")}),
])
def test_overdue_band_boundaries(app, portfolio, as_of, expected):
    with acting(app, "admin") as user:
        page = _page("overdue", user, as_of=as_of)
        assert {r["customer"]: (r["days"], r["_grp"]) for r in _rows(page)} == expected
        _check_groups_add_up(page)


def test_overdue_at_a_past_date_adds_back_later_receipts(app, portfolio):
    with acting(app, "admin") as user:
        page = _page("overdue", user, as_of=date(2026, 3, 30))
        l9 = {r["customer"]: r for r in _rows(page)}["客户L9"]
        # the receipt of 03-31 had not come yet: the whole installment was owed at the end of 03-30
        assert (l9["principal"], l9["interest"], l9["balance"]) == (D("80000.00"), D("800.00"), D("80000.00"))
        assert l9["penalty"] == D("3640.00")      # what that receipt paid of 罚息, added back
        assert page.totals["principal"] == D("365000.00")
        assert (_groups(page)["1-30"].count, _groups(page)["1-30"].sums["principal"]) == (2, D("110000.00"))
        old = _page("overdue", user, as_of=date(2025, 10, 2))
        assert old.totals["balance"] == D("100000.00") and old.totals["interest"] == D("1000.00")


# -- 到期 / 即将到期 -------------------------------------------------------------------------------
def test_maturity_in_the_period(app, portfolio):
    with acting(app, "admin") as user:
        march = _page("maturity", user, start=MARCH[0], end=MARCH[1])
        assert _customers(march) == ["客户L11"]                     # matured 03-01, the first day
        assert _rows(march)[0]["maturity"] == date(2026, 3, 1) and _rows(march)[0]["_grp"] == "overdue"
        feb = _page("maturity", user, start=FEBRUARY[0], end=FEBRUARY[1])
        assert _customers(feb) == ["客户L1", "客户L10"]              # 02-10 and 02-28, the last day
        assert feb.totals == {"amount": D("210000.00"), "principal": D("135000.00"), "interest": D("1350.00"),
                              "total": D("136350.00")}
        assert _groups(feb)["overdue"].count == 2
        april_june = _page("maturity", user, start=date(2026, 4, 1), end=date(2026, 6, 30))
        assert _customers(april_june) == ["客户L2", "客户L12"]       # 04-15 and 06-30
        assert _groups(april_june)["pending"].count == 2
        # L12 owes its whole principal and three months of interest: 400,000 + 3 × 3,000
        assert _rows(april_june)[1]["total"] == D("409000.00")
        _check_groups_add_up(april_june)


def test_upcoming_maturities(app, portfolio):
    with acting(app, "admin") as user:
        page = _page("upcoming", user, as_of=AS_OF)                 # default: the next 30 days
        assert _customers(page) == ["客户L2"]
        assert _rows(page)[0]["days_left"] == 15 and _rows(page)[0]["_grp"] == "8-15"
        assert page.totals["principal"] == D("70000.00") and page.totals["interest"] == D("583.33")
        assert _customers(_page("upcoming", user, as_of=AS_OF, days=14)) == []
        assert _customers(_page("upcoming", user, as_of=AS_OF, days=15)) == ["客户L2"]
        assert _customers(_page("upcoming", user, as_of=AS_OF, days=91)) == ["客户L2", "客户L12"]  # 06-30: day 91
        # maturing on the statistics date itself counts (0 days left)
        today = _page("upcoming", user, as_of=date(2026, 2, 10), days=0)
        assert _customers(today) == ["客户L1"] and _rows(today)[0]["days_left"] == 0


# -- data scope ---------------------------------------------------------------------------------
def test_an_officer_of_another_branch_sees_nothing_of_branch_a(app, portfolio):
    from app.services.reports import statistics

    bj_customers = {f"客户{name}" for name in BJ_LOANS}
    with acting(app, "officer_b") as user:
        bj = db.session.execute(select(Branch.id).where(Branch.code == "BJ")).scalar_one()
        for code in statistics.TABS:
            for kwargs in ({"start": date(2025, 1, 1), "end": date(2026, 12, 31), "as_of": AS_OF, "days": 366},
                           {"start": date(2025, 1, 1), "end": date(2026, 12, 31), "as_of": AS_OF, "days": 366,
                            "branch_id": bj}):
                page = _page(code, user, **kwargs)
                assert not bj_customers & set(_customers(page)), code
                if "branch_id" in kwargs:
                    assert page.total_rows == 0 and all(not v for v in page.totals.values()), code
        overdue = _page("overdue", user, as_of=AS_OF)
        assert _customers(overdue) == ["客户L8", "客户L10"]
        assert overdue.totals["principal"] == D("160000.00")
        summary = statistics.disbursement_summary(F(start=date(2025, 1, 1), end=MARCH[1]), user)
        assert [r.label for r in summary.branches] == ["上海分公司"]
        assert (summary.total.count, summary.total.amount) == (4, D("1060000.00"))   # L8, L10, L4, L5
    with acting(app, "officer_a") as user:
        overdue = _page("overdue", user, as_of=AS_OF)
        assert _customers(overdue) == ["客户L9", "客户L1", "客户L11"]


# -- 贷款发放报表 ---------------------------------------------------------------------------------
def test_disbursement_summary_by_month_product_and_branch(app, portfolio):
    from app.services.reports import statistics

    with acting(app, "admin") as user:
        report = statistics.disbursement_summary(F(start=date(2026, 1, 1), end=MARCH[1]), user)
        assert report.check() == []
        months = {b.month: b for b in report.months}
        assert list(months) == ["2026-01", "2026-02", "2026-03"]
        jan = months["2026-01"].subtotal       # L2 210,000 at 10 % for 3; L10 60,000 at 12 % for 1
        assert (jan.count, jan.amount, jan.average, jan.rate, jan.term) == (
            2, D("270000.00"), D("135000.00"), D("10.4444"), D("2.00"))
        feb = months["2026-02"].subtotal       # L3 200,000 at 15 % for 6; L11 50,000 at 12 % for 1
        assert (feb.count, feb.amount, feb.rate, feb.term) == (2, D("250000.00"), D("14.4000"), D("3.50"))
        march = {r.label: r.figures for r in months["2026-03"].rows}
        personal = march["个人经营贷"]          # L4 300,000 at 18 % / 12; L5 600,000 at 8 % / 24; L6 500,000 at 12 % / 12
        assert (personal.count, personal.amount, personal.average, personal.rate, personal.term) == (
            3, D("1400000.00"), D("466666.67"), D("11.5714"), D("16.00"))
        company = march["企业流动资金贷"]        # L12 on 03-31, the period's last day
        assert (company.count, company.amount, company.rate, company.term) == (1, D("400000.00"), D("9.0000"),
                                                                               D("3.00"))
        sub = months["2026-03"].subtotal
        assert (sub.count, sub.amount, sub.average, sub.rate, sub.term) == (
            4, D("1800000.00"), D("450000.00"), D("11.0000"), D("12.75"))
        total = report.total                   # Σ amount × rate = 26,220,000; Σ months = 62
        assert (total.count, total.amount, total.average, total.rate, total.term) == (
            8, D("2320000.00"), D("290000.00"), D("11.3017"), D("7.75"))
        branches = {r.label: r.figures for r in report.branches}
        assert (branches["北京分公司"].count, branches["北京分公司"].amount, branches["北京分公司"].rate,
                branches["北京分公司"].term) == (5, D("1360000.00"), D("11.2500"), D("5.00"))
        assert (branches["上海分公司"].count, branches["上海分公司"].amount, branches["上海分公司"].rate,
                branches["上海分公司"].term) == (3, D("960000.00"), D("11.3750"), D("12.33"))
        # the list report of the same period has the same total (贷款发放明细表 is its detail)
        from app.services.reports import business

        detail = business.page("disbursements", business.Filters(start=date(2026, 1, 1), end=MARCH[1]), user)
        assert (detail.total_rows, detail.totals["amount"]) == (total.count, total.amount)
        march_only = statistics.disbursement_summary(F(start=MARCH[0], end=MARCH[1]), user)
        assert (march_only.total.count, march_only.total.amount) == (4, D("1800000.00"))


# -- 业务分析 -------------------------------------------------------------------------------------
def test_chart_data_equals_the_tables(app, portfolio, login_as):
    from app.services.reports import statistics

    data = login_as("manager").get(
        f"/reports/analysis/data/?as_of={AS_OF}&start=2026-01-01&end=2026-03-31").get_json()
    assert data["months"][0] == "2025-04" and data["months"][-1] == "2026-03" and len(data["months"]) == 12
    monthly = {k: dict(zip(data["months"], v)) for k, v in data["monthly"].items()}
    due = {k: dict(zip(data["months"], v)) for k, v in data["due_repaid"].items()}
    with acting(app, "admin") as user:
        for month, (start, end) in {"2026-02": FEBRUARY, "2026-03": MARCH, "2026-01": (date(2026, 1, 1),
                                                                                          date(2026, 1, 31))}.items():
            registered = _page("registered", user, start=start, end=end)
            assert (D(monthly["registered"][month]), monthly["registered_count"][month]) == (
                registered.totals["amount"], registered.total_rows)
            lending = statistics.disbursement_summary(F(start=start, end=end), user).total
            assert (D(monthly["disbursed"][month]), monthly["disbursed_count"][month]) == (lending.amount, lending.count)
            repaid = _page("repaid", user, start=start, end=end)
            assert D(monthly["recovered"][month]) == repaid.totals["principal"]
            assert D(due["repaid"][month]) == repaid.totals["total"]        # 罚息 and 复利 included
            assert D(due["unpaid"][month]) == _page("pending", user, start=start, end=end).totals["total"]
        overdue = _page("overdue", user, as_of=AS_OF)
        assert [(b["code"], b["count"], D(b["principal"]), D(b["penalty"])) for b in data["overdue_bands"]] == [
            (g.code, g.count, g.sums["principal"], g.sums["penalty"]) for g in overdue.groups]
        quarter = statistics.disbursement_summary(F(start=date(2026, 1, 1), end=MARCH[1]), user)
        assert [(r["name"], D(r["value"]), r["count"]) for r in data["by_product"]] == [
            (r.label, r.figures.amount, r.figures.count) for r in quarter.products]
        assert [(r["name"], D(r["value"])) for r in data["by_branch"]] == [
            ("北京分公司", D("1360000.00")), ("上海分公司", D("960000.00"))]
    # hand-computed: March registered 1,920,000 (5); disbursed 1,800,000 (4); principal recovered 103,856.93;
    # due in March (scheduled): L11 50,500 + L3 35,833.33 + L2 71,166.67 = 157,500.00, still owed 50,500.00
    assert (monthly["registered"]["2026-03"], monthly["disbursed"]["2026-03"]) == ("1920000.00", "1800000.00")
    assert monthly["recovered"]["2026-03"] == "103856.93"
    assert (due["due"]["2026-03"], due["repaid"]["2026-03"], due["unpaid"]["2026-03"]) == (
        "157500.00", "112000.00", "50500.00")
    assert (due["due"]["2025-04"], due["unpaid"]["2025-04"]) == ("101000.00", "101000.00")   # L8, never paid
    # an officer of the other branch: only Shanghai
    other = login_as("officer_b").get(f"/reports/analysis/data/?as_of={AS_OF}&start=2025-01-01").get_json()
    assert [r["name"] for r in other["by_branch"]] == ["上海分公司"]
    assert sum(b["count"] for b in other["overdue_bands"]) == 2
    assert other["monthly"]["registered"][-1] == "900000.00"          # L4 and L5
    assert login_as("manager").get("/reports/analysis/data/?start=2026-04-01&end=2026-03-01").status_code == 400


# -- screens, print views --------------------------------------------------------------------------
def test_pages_and_print_views(app, portfolio, login_as):
    client = login_as("manager")
    page = text_of(client.get("/reports/statistics/list/?start=2026-03-01&end=2026-03-31"))
    assert 'id="stat-tabs"' in page and 'id="stat-summary"' in page
    assert "客户L7" in page and 'data-status="approved"' in page
    assert "#00897b" in page and "已批准" in page            # the approved colour in the legend and the row
    assert "1,920,000.00" in page
    for code in ("pending", "repaid", "overdue", "maturity", "upcoming"):
        response = client.get(f"/reports/statistics/list/?tab={code}&start=2026-02-01&end=2026-03-31&as_of={AS_OF}")
        assert response.status_code == 200, code
        assert f'id="stat-{code}"' in text_of(response)
    overdue = text_of(client.get(f"/reports/statistics/list/?tab=overdue&as_of={AS_OF}"))
    assert "360 天以上" in overdue and "364,476.40" in overdue
    printed = text_of(client.get(f"/reports/statistics/list/?tab=overdue&as_of={AS_OF}&print=1"))
    assert "@page { size: A4 landscape" in printed and 'id="stat-tabs"' not in printed and "364,476.40" in printed
    paged = text_of(client.get("/reports/statistics/list/?start=2025-01-01&end=2026-12-31&page=1"))
    assert "合计（13）" in paged                            # all thirteen loans were registered in the window
    assert client.get("/reports/statistics/list/?tab=nope").status_code == 404
    bad = client.get("/reports/statistics/list/?tab=overdue&as_of=2026-13-01")
    assert bad.status_code == 302 and "tab=overdue" in bad.headers["Location"]
    assert client.get("/reports/statistics/list/?start=2026-03-31&end=2026-03-01").status_code == 302
    assert client.get("/reports/statistics/list/?tab=upcoming&days=999").status_code == 302

    analysis = text_of(client.get("/reports/analysis/list/"))
    assert "js/echarts.min.js" in analysis and 'id="chart-flows"' in analysis and "nonce=" in analysis
    assert "/reports/analysis/data/" in analysis

    summary = text_of(client.get("/reports/disbursement-summary/list/?start=2026-01-01&end=2026-03-31"))
    assert "2,320,000.00" in summary and "11.3017" in summary and "7.75" in summary
    assert "/reports/loans/table/disbursements/?" in summary and "start=2026-01-01" in summary
    printed = text_of(client.get("/reports/disbursement-summary/list/?start=2026-01-01&end=2026-03-31&print=1"))
    assert "@page { size: A4 landscape" in printed and "小计" in printed and "2,320,000.00" in printed

    officer = text_of(login_as("officer_b").get("/reports/statistics/list/?start=2025-01-01&end=2026-12-31"))
    assert "客户L6" not in officer and "北京分公司" not in officer and "客户L4" in officer
    assert login_as("archivist").get("/reports/statistics/list/").status_code == 403


# -- Excel ----------------------------------------------------------------------------------------
def _sheet(response, name=None):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    return book[name] if name else book.active


def _find_row(sheet, first_cell):
    for row in sheet.iter_rows():
        if row[0].value == first_cell:
            return row[0].row
    raise AssertionError(f"no row starting with {first_cell!r}")


def test_tab_export_is_a_real_workbook(app, portfolio, login_as):
    client = login_as("finance")
    sheet = _sheet(client.get(f"/reports/statistics/export/?tab=overdue&as_of={AS_OF}"))
    assert sheet["A1"].value == "贷款业务统计——逾期"
    header = _find_row(sheet, "业务编号")
    headers = [c.value for c in sheet[header]]
    assert headers[:3] == ["业务编号", "客户名称", "机构"]
    assert {"逾期本金（元）", "逾期利息（元）", "罚息（元）", "复利（元）", "逾期区间"} <= set(headers)
    col = {h: n + 1 for n, h in enumerate(headers)}
    data = list(range(header + 1, header + 6))
    assert [sheet.cell(r, col["客户名称"]).value for r in data] == ["客户L8", "客户L9", "客户L1", "客户L10", "客户L11"]
    principal = [sheet.cell(r, col["逾期本金（元）"]).value for r in data]
    assert all(isinstance(v, (int, float)) for v in principal)
    assert D(str(sum(principal))).quantize(D("0.01")) == D("364476.40")
    assert isinstance(sheet.cell(data[0], col["最早逾期应还日"]).value, datetime)
    assert sheet.cell(data[0], col["逾期区间"]).value == "360 天以上"
    total_row = header + 6
    assert sheet.cell(total_row, 1).value == "合计"
    letter = openpyxl.utils.get_column_letter(col["逾期本金（元）"])
    assert sheet.cell(total_row, col["逾期本金（元）"]).value == f"=SUM({letter}{data[0]}:{letter}{data[-1]})"
    assert sheet.cell(data[0], col["逾期本金（元）"]).number_format == "#,##0.00"
    assert sheet.freeze_panes == f"A{header + 1}"
    # every tab exports (default period: this month)
    for code in ("registered", "pending", "repaid", "maturity", "upcoming"):
        assert _sheet(client.get(f"/reports/statistics/export/?tab={code}")).max_row >= 4


def test_big_tab_export_runs_in_the_background(app, portfolio, login_as, monkeypatch):
    import os

    from app.models import AppUser
    from app.models.messages import Message
    from app.services.reports import exports

    monkeypatch.setattr(exports, "threshold", lambda: 1)
    monkeypatch.setitem(app.config, "REDIS_URL", None)   # the job runs in-process (no worker here)
    client = login_as("manager")
    response = client.get("/reports/statistics/export/?tab=registered&start=2026-03-01&end=2026-03-31")
    assert response.status_code == 302 and "/reports/statistics/list/" in response.headers["Location"]
    with app.app_context():
        manager = db.session.execute(select(AppUser).where(AppUser.username == "manager")).scalar_one()
        message = db.session.execute(select(Message).where(Message.link.like("/reports/loans/download/%"))
                                     .order_by(Message.id.desc())).scalars().first()
        assert message is not None and "登记贷款" in message.subject
        token = message.link.rsplit("/", 1)[1]
        assert os.path.exists(exports.file_path(manager.id, token))
    sheet = _sheet(client.get(message.link))
    assert sheet["A1"].value == "贷款业务统计——登记贷款"
    assert login_as("finance").get(message.link).status_code == 404     # another user's file


def test_summary_export_has_subtotal_and_total_formulas(app, portfolio, login_as):
    response = login_as("finance").get("/reports/disbursement-summary/export/?start=2026-01-01&end=2026-03-31")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["按月份和产品", "按机构"]
    sheet = book["按月份和产品"]
    header = _find_row(sheet, "月份")
    assert [c.value for c in sheet[header]][:7] == ["月份", "贷款产品", "笔数", "放款金额（元）", "平均金额（元）",
                                                    "加权平均年利率（%）", "平均期限（月）"]
    assert sheet.column_dimensions["H"].hidden and sheet.column_dimensions["I"].hidden
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=header + 1)]
    labels = [(r[0], r[1]) for r in rows]
    assert labels == [("2026-01", "个人经营贷"), ("2026-01", "小计"), ("2026-02", "个人经营贷"), ("2026-02", "小计"),
                      ("2026-03", "个人经营贷"), ("2026-03", "企业流动资金贷"), ("2026-03", "小计"), ("合计", None)]
    first = header + 1
    # data cells are numbers; 2026-03's subtotal sums its two rows; the grand total skips the subtotals
    assert rows[4][2:5] == [3, 1400000, 466666.67] and rows[4][5] == pytest.approx(11.5714)
    assert rows[6][2] == f"=SUBTOTAL(9,C{first + 4}:C{first + 5})"
    assert rows[6][3] == f"=SUBTOTAL(9,D{first + 4}:D{first + 5})"
    assert rows[6][5] == f'=IF(D{first + 6}=0,"",ROUND(H{first + 6}/D{first + 6},4))'
    assert rows[7][2] == f"=SUBTOTAL(9,C{first}:C{first + 6})"
    assert rows[7][3] == f"=SUBTOTAL(9,D{first}:D{first + 6})"
    # what the formulas add up to: the non-subtotal rows sum to the report's total
    data_rows = [r for r in rows if r[1] not in ("小计", None)]
    assert sum(r[2] for r in data_rows) == 8
    assert D(str(sum(r[3] for r in data_rows))).quantize(D("0.01")) == D("2320000.00")
    assert D(str(sum(r[7] for r in data_rows))) / D("2320000") == pytest.approx(D("11.30172"), abs=D("0.00001"))
    branches = book["按机构"]
    header = _find_row(branches, "机构")
    values = [[c.value for c in row] for row in branches.iter_rows(min_row=header + 1)]
    assert [v[0] for v in values] == ["北京分公司", "上海分公司", "合计"]
    assert values[2][1] == f"=SUBTOTAL(9,B{header + 1}:B{header + 2})"
    assert values[0][1:3] == [5, 1360000]
