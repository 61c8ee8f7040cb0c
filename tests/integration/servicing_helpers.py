"""Shared set-up for the servicing tests: an active (disbursed) loan, moving the business
date, and posting receipts through the services as the finance user."""
import uuid
from datetime import date
from decimal import Decimal

from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, Loan
from app.models.finance import FundAccount

from .test_loans import BUSINESS_DATE, create_loan, make_customer, set_setting

D = Decimal


def bank_id(app):
    with app.app_context():
        return db.session.execute(select(FundAccount.id).where(FundAccount.kind == "bank")
                                  .order_by(FundAccount.id)).scalars().first()


def finance_user():
    g.user = db.session.execute(select(AppUser).where(AppUser.username == "finance")).scalar_one()
    return g.user


def fund():
    return db.session.get(FundAccount, db.session.execute(
        select(FundAccount.id).where(FundAccount.kind == "bank").order_by(FundAccount.id)).scalars().first())


def capital(app, amount="100000000"):
    """Shareholders pay in capital so there is money to lend."""
    from app.services import ledger

    with app.app_context():
        user = finance_user()
        account = fund()
        ledger.post("股东注资", [ledger.Line(account.ledger_account, debit=D(amount), fund_account=account),
                             ledger.Line("4001", credit=D(amount))], user, business_date=date(2026, 1, 1))
        db.session.commit()


def active_loan(app, login_as, disbursed_on=BUSINESS_DATE, name="张三", **form):
    """A loan taken through the form, marked ready and paid out on ``disbursed_on``."""
    from app.services import disbursement

    customer_id = make_customer(app, name=name)
    defaults = {"guarantee_types": ["unsecured"], "annual_rate": "12"}
    defaults.update(form)
    loan_id = create_loan(app, login_as("officer_a"), customer_id, **defaults)
    with app.app_context():
        db.session.get(Loan, loan_id).status = "ready_to_disburse"
        db.session.commit()
        disbursement.disburse(loan_id, finance_user(), fund(), disbursed_on, "工商银行", name, "6222020200112233445")
    return loan_id


def on(app, day):
    """Move the business date (营业日期)."""
    set_setting(app, "business_date", day.isoformat())


def key():
    return uuid.uuid4().hex


def repay(app, loan_id, amount, received_on, idempotency_key=None):
    from app.services import repayments

    with app.app_context():
        receipt = repayments.post_repayment(loan_id, D(amount), received_on, fund(), finance_user(),
                                            idempotency_key or key())
        return receipt.id
