"""A small hand-built portfolio for the report tests (built once per module; see
``portfolio`` in test_reports.py). All figures below are computed by hand.

Business date 2026-03-31; 本月 = March, 上月 = February, 年初 = 2025-12-31.

| loan | branch | customer (kind, industry) | amount   | term | rate | method          | guarantee          | paid out   |
|------|--------|---------------------------|----------|------|------|-----------------|--------------------|------------|
| L1   | BJ     | person, –                 | 150,000  | 2    | 12   | equal_principal | unsecured          | 2025-12-10 |
| L2   | BJ     | company, C                | 210,000  | 3    | 10   | equal_principal | guarantee          | 2026-01-15 |
| L3   | BJ     | person, –                 | 200,000  | 6    | 15   | equal_principal | guarantee,mortgage | 2026-02-10 |
| L4   | SH     | sole_trader, F            | 300,000  | 12   | 18   | equal_principal | pledge             | 2026-03-05 |
| L5   | SH     | company, F                | 600,000  | 24   | 8    | equal_principal | unsecured          | 2026-03-20 |
| L6   | BJ     | person, –                 | 500,000  | 12   | 12   | equal_principal | guarantee          | 2026-03-25 |
| L7   | BJ     | person, –                 | 120,000  | 12   | 12   | equal_principal | unsecured          | not paid out (approved) |

Receipts (本金 + 利息): L1 #1 on 2026-01-10: 75,000 + 1,500; L2 #1 on 2026-02-15: 70,000 + 1,750;
L2 #2 on 2026-03-15: 70,000 + 1,166.67; L3 #1 on 2026-03-10: 33,333.33 + 2,500.
L1 #2 (due 2026-02-10: 75,000 + 750) is unpaid: 49 days overdue on 2026-03-31; a manual class
of 次级 (substandard) is set before the batch runs for 2026-03-31.
"""
from datetime import date
from decimal import Decimal

import pytest
from flask import g
from sqlalchemy import select, update

from app.extensions import db
from app.models import AppUser, Customer, Loan, LoanProduct

from .servicing_helpers import capital, finance_user, fund, on, repay
from .test_loans import make_customer

D = Decimal
AS_OF = date(2026, 3, 31)
LOANS = {
    # name: (officer, kind, industry, amount, term, rate, guarantee, paid out on)
    "L1": ("officer_a", "person", None, "150000", 2, "12", "unsecured", date(2025, 12, 10)),
    "L2": ("officer_a", "company", "C", "210000", 3, "10", "guarantee", date(2026, 1, 15)),
    "L3": ("officer_a", "person", None, "200000", 6, "15", "guarantee,mortgage", date(2026, 2, 10)),
    "L4": ("officer_b", "sole_trader", "F", "300000", 12, "18", "pledge", date(2026, 3, 5)),
    "L5": ("officer_b", "company", "F", "600000", 24, "8", "unsecured", date(2026, 3, 20)),
    "L6": ("officer_a", "person", None, "500000", 12, "12", "guarantee", date(2026, 3, 25)),
    "L7": ("officer_a", "person", None, "120000", 12, "12", "unsecured", None),
}
RECEIPTS = [("L1", "76500.00", date(2026, 1, 10)), ("L2", "71750.00", date(2026, 2, 15)),
            ("L3", "35833.33", date(2026, 3, 10)), ("L2", "71166.67", date(2026, 3, 15))]
# principal outstanding at the end of each date
BALANCES = {
    AS_OF: {"L1": D("75000"), "L2": D("70000"), "L3": D("166666.67"), "L4": D("300000"), "L5": D("600000"),
            "L6": D("500000")},
    date(2026, 2, 28): {"L1": D("75000"), "L2": D("140000"), "L3": D("200000")},
    date(2025, 12, 31): {"L1": D("150000")},
}
TOTAL = D("1711666.67")


def _user(name):
    return db.session.execute(select(AppUser).where(AppUser.username == name)).scalar_one()


def build(app):
    """Build the portfolio; returns {name: loan id}."""
    from app.services import batch, disbursement, loans

    capital(app)
    with app.app_context():
        db.session.execute(update(LoanProduct).where(LoanProduct.code == "GRJYD").values(min_term=1))
        db.session.commit()
    ids = {}
    for name, (officer, kind, industry, amount, term, rate, guarantee, paid_on) in LOANS.items():
        on(app, paid_on or date(2026, 3, 25))
        customer_id = make_customer(app, name=f"客户{name}", officer=officer, documents=False)
        with app.app_context():
            db.session.execute(update(Customer).where(Customer.id == customer_id).values(kind=kind, industry=industry))
            user = g.user = _user(officer)
            product = db.session.execute(select(LoanProduct).where(LoanProduct.code == "GRJYD")).scalar_one()
            loan = Loan(customer=db.session.get(Customer, customer_id), product=product, amount=D(amount), term=term,
                        annual_rate=D(rate), method="equal_principal", start_date=paid_on or date(2026, 3, 25),
                        purpose="working_capital" if name != "L4" else "purchase_goods", guarantee_types=guarantee,
                        officer=user)
            loans.save_draft(loan, user)
            loan.status = "ready_to_disburse" if paid_on else "approved"
            db.session.commit()
            ids[name] = loan.id
        if paid_on:
            with app.app_context():
                disbursement.disburse(ids[name], finance_user(), fund(), paid_on, "工商银行", f"客户{name}",
                                      "6222020200112233445")
    for name, amount, day in sorted(RECEIPTS, key=lambda r: r[2]):
        on(app, day)
        repay(app, ids[name], amount, day)
    on(app, AS_OF)
    with app.app_context():
        db.session.execute(update(Loan).where(Loan.id == ids["L1"]).values(manual_class="substandard"))
        db.session.commit()
        g.user = _user("admin")
        batch.run(AS_OF, user=g.user, trigger="cli")
        db.session.remove()
    return ids


# Fixtures for the modules that share this portfolio (imported by name there): it is built once
# per module, and the autouse per-test reset of tests/integration/conftest.py is replaced by
# one reset at the end of the module.
@pytest.fixture(autouse=True)
def _baseline():
    yield


def built_once(app, build_portfolio):
    """The body of a module-scoped ``portfolio`` fixture: a clean database, the portfolio,
    and a clean database again after the module's last test."""
    from tests.conftest import reset_database

    with app.app_context():
        reset_database()
    yield build_portfolio(app)
    with app.app_context():
        reset_database()


@pytest.fixture(scope="module")
def portfolio(app):
    yield from built_once(app, build)
