"""Issue #8's "done when", through the screens: a loan goes from application through approval
and disbursement, three on-time repayments, one late repayment with penalty, a partial
prepayment, an approved extension and an early settlement. Every voucher balances, the
fund account balance is right, the loan is closed and the 结清证明 downloads; the figures
match DOMAIN.md's rules to the fen."""
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import GeneratedDocument, JournalLine, Loan, Voucher
from app.models.servicing import Repayment, ServicingRequest
from app.services import ledger
from app.services import workflow as ws

from .servicing_helpers import bank_id, capital, form_key, installment, on
from .test_loans import create_loan, make_customer, submit, text_of
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty
D = Decimal
CENT = D("0.01")


def fen(value):
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def approve_all(app, client_of, code, object_id, usernames):
    """Each user approves the current step on the approval panel's form."""
    for username in usernames:
        with app.app_context():
            instance_id = ws.latest_instance(code, object_id).id
        r = client_of(username).post(f"/approval/act/{instance_id}", data={"action": "approve", "opinion": "同意"})
        assert r.status_code == 302, r.status_code
    with app.app_context():
        assert ws.latest_instance(code, object_id).status == "approved"


def latest(app, model, **where):
    with app.app_context():
        query = select(model).order_by(model.id.desc()).limit(1)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        item = db.session.execute(query).scalar_one()
        db.session.expunge(item)
        return item


def repay_on_screen(app, finance, loan_id, day, amount=None):
    """Open the repayment page on ``day`` (the business date), take the prefilled amount
    unless one is given, post it; returns the receipt."""
    on(app, day)
    page = text_of(finance.get(f"/repayment/loan/{loan_id}?date={day.isoformat()}"))
    prefilled = D(re.search(r'name="amount"[^>]*value="([0-9.,]+)"', page).group(1).replace(",", ""))
    r = finance.post(f"/repayment/loan/{loan_id}", data={
        "idempotency_key": form_key(page), "received_on": day.isoformat(), "amount": str(amount or prefilled),
        "fund_account": str(bank_id(app)), "payer": "张三", "remarks": ""})
    assert r.status_code == 302, text_of(r)[:2000]
    receipt = latest(app, Repayment, loan_id=loan_id)
    assert receipt.received_on == day
    return receipt, prefilled


def test_a_loan_from_application_to_early_settlement(app, login_as):
    clients = {}

    def client_of(username):
        if username not in clients:
            clients[username] = login_as(username)
        return clients[username]

    capital(app, "1000000")
    start = date(2026, 3, 16)
    officer, finance = client_of("officer_a"), client_of("finance")

    # -- application, approval, contract, disbursement approval, payout ------------------------
    loan_id = create_loan(app, officer, make_customer(app), annual_rate="12")
    assert "已提交审批" in submit(officer, loan_id)
    approve_all(app, client_of, "loan_application", loan_id, ["risk"])
    assert officer.post(f"/loanview/contract_signed/{loan_id}").status_code == 302
    assert finance.post(f"/disbursement/request/{loan_id}", data={"opinion": ""}).status_code == 302
    approve_all(app, client_of, "disbursement", loan_id, ["finance", "approver"])
    r = finance.post(f"/disbursement/pay/{loan_id}", data={
        "fund_account": str(bank_id(app)), "disbursed_on": start.isoformat(), "receiving_bank": "工商银行",
        "receiving_account_name": "张三", "receiving_account_no": "6222020200112233445"}, follow_redirects=True)
    assert "已放款 100,000.00 元" in text_of(r)
    assert 'id="loan-repay"' in text_of(finance.get(f"/loanview/show/{loan_id}"))

    # -- three on-time repayments (等额本息 8,884.88, DOMAIN.md §2.1) ------------------------
    for seq in (1, 2, 3):
        due = installment(app, loan_id, seq).due_date
        receipt, amount = repay_on_screen(app, finance, loan_id, due)
        assert amount == D("8884.88") and receipt.amount == D("8884.88")
        assert installment(app, loan_id, seq).paid_off_on == due
    assert installment(app, loan_id, 2).interest == D("921.15")

    # -- one late repayment: 10 days, penalty at 12 % × 1.5 on principal, compound on interest -----
    fourth = installment(app, loan_id, 4)
    late = fourth.due_date + timedelta(days=10)
    penalty = fen(fourth.principal * D("0.18") * 10 / 360)
    compound = fen(fourth.interest * D("0.18") * 10 / 360)
    receipt, amount = repay_on_screen(app, finance, loan_id, late)
    assert amount == fourth.total + penalty + compound
    with app.app_context():
        lines = {(line.component, line.amount) for line in db.session.get(Repayment, receipt.id).lines}
    assert ("penalty", penalty) in lines and ("compound", compound) in lines
    page = text_of(finance.get(f"/repayment/receipt/{receipt.id}"))
    assert f"{penalty:,.2f}" in page and f"{compound:,.2f}" in page

    # -- partial prepayment of 20,000, keeping the term ----------------------------------------
    prepay_day = date(2026, 8, 1)
    on(app, prepay_day)
    balance = installment(app, loan_id, 4).balance
    old_fifth = installment(app, loan_id, 6).total
    with app.app_context():
        old_dues = [i.due_date for i in db.session.get(Loan, loan_id).installments[4:]]
    r = officer.post(f"/servicing/prepayment/{loan_id}", data={
        "amount": "20000", "effective_on": prepay_day.isoformat(), "keep_mode": "term", "reason": "客户资金回笼",
        "action": "apply"})
    assert r.status_code == 302, text_of(r)[:2000]
    request_id = latest(app, ServicingRequest, kind="prepayment").id
    approve_all(app, client_of, "prepayment", request_id, ["risk"])
    page = text_of(finance.get(f"/servicingrequestview/show/{request_id}"))
    r = finance.post(f"/servicingrequestview/execute/{request_id}", data={
        "idempotency_key": form_key(page), "on": prepay_day.isoformat(), "fund_account": str(bank_id(app))})
    assert r.status_code == 302
    assert latest(app, ServicingRequest, kind="prepayment").status == "executed"
    receipt = latest(app, Repayment, loan_id=loan_id)
    interest = fen(balance * D("0.12") * (prepay_day - fourth.due_date).days / 360)   # to the day (算头不算尾)
    assert receipt.kind == "prepayment" and receipt.amount == D("20000.00") + interest
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        unpaid = [i for i in loan.installments if i.paid_off_on is None]
        assert sum(i.principal for i in unpaid) == balance - D("20000.00")
        # The prepayment is a row of its own (cut at the day); the eight remaining due dates stay
        # and their installments are lower (term kept).
        assert [i.due_date for i in unpaid] == old_dues and unpaid[1].total < old_fifth
    # -- extension by 3 months, approved (风控 → 总经理): schedule regenerated -----------------
    ext_day = date(2026, 8, 5)
    on(app, ext_day)
    with app.app_context():
        old_maturity = db.session.get(Loan, loan_id).maturity_date
    r = officer.post(f"/servicing/extension/{loan_id}", data={
        "extension_periods": "3", "new_rate": "12", "reason": "经营周期延长", "action": "apply"})
    assert r.status_code == 302, text_of(r)[:2000]
    request_id = latest(app, ServicingRequest, kind="extension").id
    approve_all(app, client_of, "extension", request_id, ["risk", "approver"])
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan.extension_count == 1 and loan.maturity_date > old_maturity
        assert db.session.execute(select(GeneratedDocument.id).where(
            GeneratedDocument.loan_id == loan_id, GeneratedDocument.doc_type == "extension_agreement")).first()
        outstanding = sum(i.principal - i.principal_paid for i in loan.installments)
        assert outstanding == balance - D("20000.00") == ledger.loan_principal_outstanding(loan_id)

    # -- early settlement ------------------------------------------------------------------------
    settle_day = date(2026, 8, 10)   # before the next due date (08-16): nothing overdue
    on(app, settle_day)
    page = text_of(finance.get(f"/repayment/settle/{loan_id}?date={settle_day.isoformat()}"))
    r = finance.post(f"/repayment/settle/{loan_id}", data={
        "idempotency_key": form_key(page), "settled_on": settle_day.isoformat(), "fund_account": str(bank_id(app)),
        "payer": "张三", "remarks": ""})
    assert r.status_code == 302, text_of(r)[:2000]
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan.status == "settled" and loan.closed_on == settle_day
        settlement = db.session.execute(select(Repayment).where(Repayment.kind == "settlement")).scalar_one()
        # Principal left + interest from 08-01 to 08-10 on it + the 评审费 receivable; no penalty.
        left = balance - D("20000.00")
        assert settlement.amount == left + fen(left * D("0.12") * 9 / 360) + D("500.00")
        assert ledger.loan_principal_outstanding(loan_id) == D("0.00")
        # Every voucher balances, and so does the whole ledger.
        unbalanced = db.session.execute(
            select(JournalLine.voucher_id).group_by(JournalLine.voucher_id)
            .having(func.round(func.sum(JournalLine.debit) - func.sum(JournalLine.credit), 2) != 0)).all()
        assert unbalanced == []
        debit, credit = ledger.totals()
        assert debit == credit
        # The bank account: capital − payout + every receipt of the loan.
        received = db.session.execute(select(func.sum(Repayment.amount)).where(Repayment.loan_id == loan_id)).scalar()
        from app.models.finance import FundAccount

        assert ledger.fund_balance(db.session.get(FundAccount, bank_id(app))) == \
            D("1000000.00") - D("100000.00") + received
        certificate = db.session.execute(select(GeneratedDocument).where(
            GeneratedDocument.loan_id == loan_id, GeneratedDocument.doc_type == "settlement_certificate")).scalar_one()
        vouchers = db.session.execute(select(func.count()).select_from(Voucher)).scalar()
        assert vouchers >= 8
        attachment_id = certificate.attachment_id
    download = finance.get(f"/attachmentview/file/{attachment_id}")
    assert download.status_code == 200 and download.data[:2] == b"PK"      # a .docx
    page = text_of(finance.get(f"/loanview/show/{loan_id}"))
    assert "已结清" in page and 'id="tab-servicing"' in page
