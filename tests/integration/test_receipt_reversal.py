"""收款冲正: the latest regular receipt is undone through approval: its voucher reversed, the
amounts owed again, a receipt dated that day can then be entered."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Loan
from app.models.finance import Voucher
from app.models.servicing import Repayment, ServicingRequest
from app.services import ledger

from .servicing_helpers import D, approve, due_date, installment, loan_id, on, repay, text_of  # noqa: F401
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty


def apply(client, receipt_id, reason="金额录错"):
    return client.post(f"/servicing/adjust/receipt_reversal/{receipt_id}", data={"reason": reason})


def test_the_latest_receipt_is_reversed_after_approval(app, loan_id, login_as):
    first_due, second_due = due_date(app, loan_id, 1), due_date(app, loan_id, 2)
    on(app, first_due)
    first = repay(app, loan_id, "8884.88", first_due)
    on(app, second_due)
    second = repay(app, loan_id, "8000.00", second_due)     # should have been 8,884.88
    finance = login_as("finance")
    assert 'id="receipt-reverse"' in text_of(finance.get(f"/repayment/receipt/{second}"))
    # Not the first: a later receipt was allocated on top of it.
    page = text_of(apply(finance, first))
    assert "请先冲正后面的收款" in page
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ServicingRequest)).scalar() == 0
        principal_before = ledger.loan_principal_outstanding(loan_id)
    r = apply(finance, second)
    assert r.status_code == 302
    with app.app_context():
        request_id = db.session.execute(select(ServicingRequest.id).where(
            ServicingRequest.kind == "receipt_reversal")).scalar_one()
    assert "已有冲正申请" in text_of(apply(finance, second))
    approve(app, "receipt_reversal", request_id, ["approver"])
    with app.app_context():
        request = db.session.get(ServicingRequest, request_id)
        assert request.status == "executed" and request.voucher.reversal_of_id == \
            db.session.get(Repayment, second).voucher_id
        row = installment(app, loan_id, 2)
        assert row.principal_paid == 0 and row.interest_paid == 0 and row.paid_off_on is None
        assert ledger.loan_principal_outstanding(loan_id) == principal_before + \
            db.session.get(Repayment, second).total_of("principal")
        debit, credit = ledger.totals()
        assert debit == credit
    assert 'id="receipt-reversed"' in text_of(finance.get(f"/repayment/receipt/{second}"))
    # The right amount can now be entered on the same day.
    repay(app, loan_id, "8884.88", second_due)
    assert installment(app, loan_id, 2).paid_off_on == second_due
    with app.app_context():
        assert db.session.get(Loan, loan_id).status == "active"
        assert db.session.execute(select(func.count()).select_from(Voucher)).scalar() >= 5


def test_officers_cannot_reverse_receipts(app, loan_id, login_as):
    day = due_date(app, loan_id, 1)
    on(app, day)
    receipt = repay(app, loan_id, "8884.88", day)
    assert login_as("manager").get(f"/servicing/adjust/receipt_reversal/{receipt}").status_code in (302, 403)


def test_a_settled_loan_s_guarantees_are_released_after_approval(app, loan_id, login_as):
    """解保: only after settlement, through approval; the loan page shows the release."""
    from app.services import repayments as service

    from .servicing_helpers import finance_user, fund, key
    from .test_adjustments import add_guarantor

    add_guarantor(app, loan_id)
    officer = login_as("officer_a")
    assert "不能办理解保申请" in text_of(officer.post(f"/servicing/adjust/guarantee_release/{loan_id}",
                                                  data={"reason": "已结清"}))
    day = due_date(app, loan_id, 1)
    on(app, day)
    with app.app_context():
        service.settle(loan_id, day, fund(), finance_user(), key())
    assert 'id="loan-guarantee-release"' in text_of(officer.get(f"/loanview/show/{loan_id}"))
    r = officer.post(f"/servicing/adjust/guarantee_release/{loan_id}", data={"reason": "贷款已结清，申请解除保证"})
    assert r.status_code == 302
    with app.app_context():
        request_id = db.session.execute(select(ServicingRequest.id).where(
            ServicingRequest.kind == "guarantee_release")).scalar_one()
    approve(app, "guarantee_release", request_id, ["risk"])
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan.guarantors[0].released_on == day
        assert "解保" in loan.status_changes[-1].comment
    assert "没有待解除" in text_of(officer.post(f"/servicing/adjust/guarantee_release/{loan_id}",
                                             data={"reason": "再次"}))
