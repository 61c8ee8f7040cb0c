"""项目费用: collecting fees and deposits (vouchers by the fee's state, idempotent, capped at
what is outstanding), the fee screen, and the 项目财务流水账 with its running balance and
Excel export."""
import re
from datetime import date, timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.finance import JournalLine, Voucher
from app.models.loan import LoanFee
from app.models.servicing import Repayment
from app.services import fees, ledger, repayments

from .servicing_helpers import D, bank_id, finance_user, fund, key, on, repay
from .servicing_helpers import loan_id  # noqa: F401 (fixture: 100,000 at 12 %, 12 months; 评审费 500.00 receivable)
from .servicing_helpers import text_of as text
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty
START = date(2026, 3, 16)


def review_fee(app, loan_id):
    with app.app_context():
        return db.session.execute(select(LoanFee.id).where(LoanFee.loan_id == loan_id,
                                                           LoanFee.fee_type == "review_fee")).scalar_one()


def add_fee(app, loan_id, fee_type, amount, account, due_on=None):
    with app.app_context():
        fee = LoanFee(loan_id=loan_id, fee_type=fee_type, basis="fixed", value=D(amount), timing="per_period",
                      account=account, amount=D(amount), due_on=due_on)
        db.session.add(fee)
        db.session.commit()
        return fee.id


def collect(app, fee_id, amount, on_day=START, idempotency_key=None):
    with app.app_context():
        receipt = fees.collect(fee_id, D(amount), on_day, fund(), finance_user(), idempotency_key or key())
        lines = sorted((l.account.code, l.debit, l.credit) for l in receipt.voucher.lines)
        return receipt.id, receipt.kind, lines


def counts(app):
    with app.app_context():
        return tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in (Repayment, Voucher, JournalLine))


def balanced(app):
    with app.app_context():
        debit, credit = ledger.totals()
        return debit == credit


def test_income_fee_receivable_since_disbursement_clears_1221(app, loan_id):
    fee_id = review_fee(app, loan_id)
    receipt_id, kind, lines = collect(app, fee_id, "200.00")
    assert kind == "fee"
    assert lines == [("1002", D("200.00"), D("0")), ("1221", D("0"), D("200.00"))]
    again, _kind, _lines = collect(app, fee_id, "200.00", idempotency_key="FEE-1")
    assert collect(app, fee_id, "200.00", idempotency_key="FEE-1")[0] == again     # same key posts once
    with app.app_context():
        fee = db.session.get(LoanFee, fee_id)
        assert (fee.paid_amount, fee.outstanding) == (D("400.00"), D("100.00"))
        receipt = db.session.get(Repayment, receipt_id)
        assert [(l.component, l.loan_fee_id, l.amount) for l in receipt.lines] == [("fee", fee_id, D("200.00"))]
        assert ledger.account_balance("1221") == D("100.00")
    before = counts(app)
    with app.app_context():
        with pytest.raises(DomainError, match="超过评审费未收金额 100.00"):
            fees.collect(fee_id, D("100.01"), START, fund(), finance_user(), key())
        with pytest.raises(DomainError, match="现金或银行账户"):
            fees.collect(fee_id, D("50.00"), START, None, finance_user(), key())
        with pytest.raises(DomainError, match="不能晚于营业日期"):
            fees.collect(fee_id, D("50.00"), START + timedelta(days=1), fund(), finance_user(), key())
        db.session.rollback()
    assert counts(app) == before
    collect(app, fee_id, "100.00")
    with pytest.raises(DomainError, match="已收齐"):
        collect(app, fee_id, "1.00")
    assert balanced(app)


def test_income_fee_not_yet_receivable_is_income_when_received(app, loan_id):
    fee_id = add_fee(app, loan_id, "service_fee", "300.00", "income")
    _id, kind, lines = collect(app, fee_id, "300.00")
    assert kind == "fee" and lines == [("1002", D("300.00"), D("0")), ("6021", D("0"), D("300.00"))]
    assert balanced(app)


def test_deposit_is_a_liability(app, loan_id):
    fee_id = add_fee(app, loan_id, "deposit", "5000.00", "deposit", due_on=START)
    _id, kind, lines = collect(app, fee_id, "5000.00")
    assert kind == "deposit" and lines == [("1002", D("5000.00"), D("0")), ("2203", D("0"), D("5000.00"))]
    with app.app_context():
        assert repayments.deposit_held(loan_id) == D("5000.00")
    assert balanced(app)


def test_fee_screen_collects_and_keeps_the_input_on_refusal(app, loan_id, login_as):
    fee_id = review_fee(app, loan_id)
    finance = login_as("finance")
    page = text(finance.get(f"/fee/loan/{loan_id}"))
    assert "评审费" in page and 'id="fee-form"' in page and 'value="500.00"' in page
    form_key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    before = counts(app)
    response = finance.post(f"/fee/loan/{loan_id}", data={
        "loan_fee": str(fee_id), "amount": "600.00", "received_on": START.isoformat(),
        "fund_account": str(bank_id(app)), "payer": "张三", "idempotency_key": form_key})
    assert response.status_code == 200 and "超过评审费未收金额" in text(response)
    assert 'value="600.00"' in text(response) and counts(app) == before
    data = {"loan_fee": str(fee_id), "amount": "500.00", "received_on": START.isoformat(),
            "fund_account": str(bank_id(app)), "payer": "张三", "idempotency_key": form_key}
    assert finance.post(f"/fee/loan/{loan_id}", data=data).status_code == 302
    assert finance.post(f"/fee/loan/{loan_id}", data=data).status_code == 302     # double submit
    with app.app_context():
        assert db.session.get(LoanFee, fee_id).paid_amount == D("500.00")
    assert counts(app)[0] == before[0] + 1
    page = text(finance.get(f"/fee/loan/{loan_id}"))
    row = page.split(f'id="fee-{fee_id}"')[1].split("</tr>")[0]
    assert "500.00" in row and "0.00" in row
    assert login_as("manager").get(f"/fee/loan/{loan_id}").status_code == 403
    assert login_as("officer_a").post(f"/fee/loan/{loan_id}", data=data).status_code == 403


def test_project_ledger_lists_every_receipt_and_payment_with_the_running_balance(app, loan_id, login_as):
    fee_id = review_fee(app, loan_id)
    deposit_id = add_fee(app, loan_id, "deposit", "5000.00", "deposit", due_on=START)
    collect(app, fee_id, "500.00")
    collect(app, deposit_id, "5000.00")
    with app.app_context():   # someone else's loan money does not show
        ledger.post("其他收款", [ledger.Line("1002", debit=D("1.00"), fund_account=fund()),
                             ledger.Line("2241", credit=D("1.00"))], finance_user())
        db.session.commit()
    due = START.replace(month=4)
    on(app, due)
    repay(app, loan_id, "8884.88", due)
    with app.app_context():
        book = fees.project_ledger(loan_id)
    assert [(r.kind, r.receipt, r.payment, r.balance) for r in book.rows] == [
        ("放款", D("0.00"), D("100000.00"), D("-100000.00")),
        ("费用收取", D("500.00"), D("0.00"), D("-99500.00")),
        ("保证金收取", D("5000.00"), D("0.00"), D("-94500.00")),
        ("还款", D("8884.88"), D("0.00"), D("-85615.12")),
    ]
    assert (book.total_receipts, book.total_payments, book.balance) == (D("14384.88"), D("100000.00"),
                                                                         D("-85615.12"))
    manager = login_as("manager")
    page = text(manager.get(f"/repayment/ledger/{loan_id}"))
    assert page.count('class="ledger-row"') == 4 and "-85,615.12" in page and "放款" in page
    response = manager.get(f"/repayment/ledger/{loan_id}/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    from openpyxl import load_workbook

    sheet = load_workbook(BytesIO(response.data)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(values) if row and row[0] == "日期")
    data = values[header + 1:header + 5]
    assert [row[2] for row in data] == ["放款", "费用收取", "保证金收取", "还款"]
    assert [D(str(row[7])) for row in data] == [D("-100000"), D("-99500"), D("-94500"), D("-85615.12")]
    assert login_as("officer_a").get(f"/repayment/ledger/{loan_id}").status_code == 403
    assert login_as("finance").get(f"/repayment/ledger/{loan_id}").status_code == 200
    assert balanced(app)
