"""放款: an approved loan is paid out in full, with its voucher, frozen schedule and documents."""
from datetime import date
from decimal import Decimal

import pytest
from flask import g
from sqlalchemy import func, select

from app.extensions import db
from app.models import AppUser, GeneratedDocument, Loan
from app.models.finance import FundAccount, JournalLine, Voucher
from app.models.servicing import Disbursement

from .test_loans import BUSINESS_DATE, business_date, create_loan, make_customer  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty


def bank(app):
    with app.app_context():
        return db.session.execute(select(FundAccount).where(FundAccount.kind == "bank")).scalars().first().id


def inject_capital(app, amount="500000"):
    """Shareholders pay in capital: Dr 银行存款 / Cr 实收资本."""
    from app.services import ledger

    with app.app_context():
        g.user = db.session.execute(select(AppUser).where(AppUser.username == "finance")).scalar_one()
        fund = db.session.get(FundAccount, bank(app))
        ledger.post("股东注资", [ledger.Line(fund.ledger_account, debit=Decimal(amount), fund_account=fund),
                             ledger.Line("4001", credit=Decimal(amount))], g.user)
        db.session.commit()


def ready_loan(app, login_as):
    customer_id = make_customer(app)
    loan_id = create_loan(app, login_as("officer_a"), customer_id, guarantee_types=["unsecured"])
    with app.app_context():
        db.session.get(Loan, loan_id).status = "ready_to_disburse"
        db.session.commit()
    return loan_id


def pay(client, app, loan_id, **overrides):
    form = {"fund_account": str(bank(app)), "disbursed_on": BUSINESS_DATE.isoformat(), "receiving_bank": "工商银行",
            "receiving_account_name": "张三", "receiving_account_no": "6222020200112233445"}
    form.update(overrides)
    return client.post(f"/disbursement/pay/{loan_id}", data=form, follow_redirects=True)


def test_finance_disburses_the_full_principal(app, login_as):
    inject_capital(app)
    loan_id = ready_loan(app, login_as)
    r = pay(login_as("finance"), app, loan_id)
    assert "已放款 100,000.00 元" in r.get_data(as_text=True)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan.status == "active" and loan.start_date == BUSINESS_DATE
        assert loan.installments[0].start_date == BUSINESS_DATE and len(loan.installments) == 12
        payout = db.session.execute(select(Disbursement).where(Disbursement.loan_id == loan_id)).scalar_one()
        assert payout.amount == Decimal("100000.00")
        lines = db.session.execute(select(JournalLine).where(JournalLine.voucher_id == payout.voucher_id)).scalars().all()
        # The payout is the full principal; the 0.5 % 评审费 becomes a receivable, never a deduction.
        assert sum(l.debit for l in lines) == sum(l.credit for l in lines) == Decimal("100500.00")
        assert sorted((l.account.code, l.debit, l.credit) for l in lines) == [
            ("1002", Decimal("0.00"), Decimal("100000.00")), ("1221", Decimal("500.00"), Decimal("0.00")),
            ("1301", Decimal("100000.00"), Decimal("0.00")), ("6021", Decimal("0.00"), Decimal("500.00"))]
        assert loan.fees[0].due_on == BUSINESS_DATE and loan.fees[0].outstanding == Decimal("500.00")
        from app.services import ledger

        assert ledger.fund_balance(db.session.get(FundAccount, bank(app))) == Decimal("400000.00")
        assert ledger.loan_principal_outstanding(loan_id) == Decimal("100000.00")
        types = {d.doc_type for d in db.session.execute(
            select(GeneratedDocument).where(GeneratedDocument.loan_id == loan_id)).scalars()}
        assert {"iou", "disbursement_voucher"} <= types


def test_disbursement_refusals_change_nothing(app, login_as):
    inject_capital(app, "50000")
    loan_id = ready_loan(app, login_as)
    finance = login_as("finance")
    page = pay(finance, app, loan_id).get_data(as_text=True)
    assert "余额" in page and "不足以放款" in page
    inject_capital(app, "100000")
    assert "不能晚于营业日期" in pay(finance, app, loan_id, disbursed_on=date(2026, 3, 17).isoformat()).get_data(
        as_text=True)
    assert "收款账号应为" in pay(finance, app, loan_id, receiving_account_no="12ab").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Loan, loan_id).status == "ready_to_disburse"
        assert db.session.execute(select(func.count(Disbursement.id))).scalar() == 0
        assert db.session.execute(select(func.count(Voucher.id))).scalar() == 2  # the two capital injections
    assert "已放款 100,000.00 元" in pay(finance, app, loan_id).get_data(as_text=True)
    # Paid once: a second payout is refused.
    assert "放款审批通过后才能放款" in pay(finance, app, loan_id).get_data(as_text=True)


def test_only_finance_pays_out(app, login_as):
    inject_capital(app)
    loan_id = ready_loan(app, login_as)
    assert login_as("officer_a").post(f"/disbursement/pay/{loan_id}", data={}).status_code == 403
    assert login_as("manager").get(f"/disbursement/pay/{loan_id}").status_code == 403
