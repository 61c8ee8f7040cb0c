"""Shared set-up for the servicing tests: an active (disbursed) loan (also as the ``loan_id``
fixture), moving the business date, posting receipts through the services as the finance
user, approving a request and reading rows back."""
import re
import uuid
from datetime import date
from decimal import Decimal

import pytest
from flask import g
from sqlalchemy import func, select

from app.extensions import db
from app.models import AppUser, Installment, Loan
from app.models.finance import FundAccount
from app.models.servicing import ServicingRequest
from app.services import workflow as ws

from .test_loans import BUSINESS_DATE, acting, create_loan, make_customer, set_setting
from .test_loans import text_of  # noqa: F401 (re-exported for the servicing tests)

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


@pytest.fixture
def loan_id(app, login_as):
    """Import into a test module to use: ``from .servicing_helpers import loan_id``."""
    capital(app)
    return active_loan(app, login_as)   # 100,000 at 12 %, 12 months 等额本息, from 2026-03-16


def approve(app, kind, request_id, users=("approver",), opinion="同意"):
    """Each of ``users`` in turn approves the current step of the request's ``kind`` flow."""
    for username in users:
        with acting(app, username) as user:
            instance = ws.latest_instance(kind, request_id)
            ws.act(instance.id, user, "approve", opinion)


def request_row(app, request_id):
    """The ServicingRequest as stored now, detached (its columns stay readable)."""
    with app.app_context():
        item = db.session.get(ServicingRequest, request_id)
        db.session.expunge(item)
        return item


def installment(app, loan_id, seq):
    with app.app_context():
        row = db.session.execute(select(Installment).where(Installment.loan_id == loan_id,
                                                           Installment.seq == seq)).scalar_one()
        db.session.expunge(row)
        return row


def due_date(app, loan_id, seq):
    return installment(app, loan_id, seq).due_date


def count(app, model):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def form_key(page):
    """The idempotency key of the form on a rendered page."""
    return re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
