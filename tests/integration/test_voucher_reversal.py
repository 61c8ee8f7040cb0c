"""凭证冲销 through approval: finance applies with a reason, the approver approves in the
"voucher_reversal" flow and the reversal is posted at once; the refusals (a reversal, a
voucher reversed or already applied for, a business document, a closed month)."""
from datetime import date

import pytest
from flask import g
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Voucher
from app.models.servicing import ServicingRequest
from app.models.workflow import WorkflowInstance
from app.services import ledger, ledger_reversal, period_close, workflow

from . import servicing_helpers
from .servicing_helpers import D, active_loan, capital, finance_user, fund, on, repay, text_of
from .servicing_helpers import request_row as request_of
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty


def as_user(username):
    g.user = db.session.execute(select(AppUser).where(AppUser.username == username)).scalar_one()
    return g.user


def manual_voucher(app, on_day=date(2026, 3, 10), amount="300.00"):
    with app.app_context():
        user = finance_user()
        bank = fund()
        voucher = ledger.post("收到往来款", [ledger.Line(bank.ledger_account, debit=D(amount), fund_account=bank),
                                        ledger.Line("2241", credit=D(amount))], user, business_date=on_day)
        db.session.commit()
        return voucher.id


def approve(app, request_id, username="approver"):
    servicing_helpers.approve(app, "voucher_reversal", request_id, [username], opinion="同意冲销")


def test_reversal_is_applied_for_approved_and_then_posted(app, login_as):
    voucher_id = manual_voucher(app)
    finance = login_as("finance")
    assert finance.get(f"/voucherview/reverse/{voucher_id}").status_code == 200
    r = finance.post(f"/voucherview/reverse/{voucher_id}", data={"reason": ""})
    assert r.status_code == 200 and "请填写冲销原因" in text_of(r)
    r = finance.post(f"/voucherview/reverse/{voucher_id}", data={"reason": "重复入账"})
    assert r.status_code == 302 and "/servicingrequestview/show/" in r.headers["Location"]
    with app.app_context():
        item = db.session.execute(select(ServicingRequest)).scalar_one()
        request_id = item.id
        assert (item.kind, item.status, item.target_voucher_id, item.reason, item.loan_id, item.amount) == (
            "voucher_reversal", "in_approval", voucher_id, "重复入账", None, D("300.00"))
        assert item.created_by.username == "finance"
        assert db.session.execute(select(Voucher).where(Voucher.reversal_of_id == voucher_id)).first() is None
        instance = workflow.latest_instance("voucher_reversal", request_id)
        assert instance is not None and instance.status == "running"
    page = text_of(finance.get(r.headers["Location"]))
    assert "凭证冲销" in page and "重复入账" in page
    # Applying again while the first is in approval: sent to the pending request.
    r = finance.post(f"/voucherview/reverse/{voucher_id}", data={"reason": "再申请"}, follow_redirects=True)
    assert "已有冲销申请" in text_of(r)
    with app.app_context():
        as_user("finance")
        with pytest.raises(DomainError, match="已有冲销申请 .* 在审批中"):
            ledger_reversal.apply(db.session.get(Voucher, voucher_id), "再申请", g.user)
        assert db.session.execute(select(func.count()).select_from(ServicingRequest)).scalar_one() == 1
    # The finance user cannot approve it; the approver (总经理审批) can, and it is posted.
    with app.app_context():
        user = as_user("finance")
        with pytest.raises(DomainError):
            workflow.act(workflow.latest_instance("voucher_reversal", request_id).id, user, "approve", "自己批")
        db.session.rollback()
    approve(app, request_id)
    item = request_of(app, request_id)
    assert item.status == "executed" and item.executed_by_id is not None
    with app.app_context():
        reversal = db.session.execute(select(Voucher).where(Voucher.reversal_of_id == voucher_id)).scalar_one()
        assert item.voucher_id == reversal.id and reversal.reason == "重复入账"
        assert sorted((l.account.code, l.debit, l.credit) for l in reversal.lines) == [
            ("1002", D("0"), D("300.00")), ("2241", D("300.00"), D("0"))]
        assert ledger.account_balance("2241") == D("0.00")
        # Reversing twice and reversing the reversal are refused at apply.
        user = as_user("finance")
        with pytest.raises(DomainError, match="已被凭证 .* 冲销，不能重复冲销"):
            ledger_reversal.apply(db.session.get(Voucher, voucher_id), "再冲", user)
        with pytest.raises(DomainError, match="是冲销凭证，不能再冲销"):
            ledger_reversal.apply(reversal, "冲冲销", user)
        assert db.session.execute(select(func.count()).select_from(ServicingRequest)).scalar_one() == 1


def test_a_rejected_request_reverses_nothing_and_may_be_applied_for_again(app):
    voucher_id = manual_voucher(app)
    with app.app_context():
        user = as_user("finance")
        request_id = ledger_reversal.apply(db.session.get(Voucher, voucher_id), "录错", user).id
    with app.app_context():
        user = as_user("approver")
        workflow.act(workflow.latest_instance("voucher_reversal", request_id).id, user, "reject", "不同意")
    assert request_of(app, request_id).status == "rejected"
    with app.app_context():
        assert db.session.execute(select(Voucher).where(Voucher.reversal_of_id == voucher_id)).first() is None
        again = ledger_reversal.apply(db.session.get(Voucher, voucher_id), "确实录错", as_user("finance"))
        assert again.status == "in_approval"


def test_business_documents_are_reversed_through_their_own_flows(app, login_as):
    capital(app)
    loan_id = active_loan(app, login_as)
    with app.app_context():
        from app.models import Loan

        loan = db.session.get(Loan, loan_id)
        first_due = loan.installments[0].due_date
    on(app, first_due)
    receipt_id = repay(app, loan_id, "8884.88", first_due)
    with app.app_context():
        from app.models.servicing import Disbursement, Repayment

        user = as_user("finance")
        receipt_voucher = db.session.get(Repayment, receipt_id).voucher
        payout_voucher = db.session.execute(select(Disbursement).where(Disbursement.loan_id == loan_id)
                                            ).scalar_one().voucher
        with pytest.raises(DomainError, match="由收款单生成，不能在此直接冲销"):
            ledger_reversal.apply(receipt_voucher, "收错了", user)
        with pytest.raises(DomainError, match="由放款生成，不能在此直接冲销"):
            ledger_reversal.apply(payout_voucher, "放错了", user)
        assert db.session.execute(select(func.count()).select_from(ServicingRequest)).scalar_one() == 0
    finance = login_as("finance")
    with app.app_context():
        receipt_voucher_id = db.session.get(Repayment, receipt_id).voucher_id
    r = finance.post(f"/voucherview/reverse/{receipt_voucher_id}", data={"reason": "收错了"}, follow_redirects=True)
    assert "由收款单生成" in text_of(r)


def test_a_closed_month_refuses_the_reversal_at_apply_and_at_approval(app):
    capital(app)
    voucher_id = manual_voucher(app)
    other_id = manual_voucher(app, on_day=date(2026, 3, 5), amount="20.00")
    on(app, date(2026, 3, 20))
    with app.app_context():
        request_id = ledger_reversal.apply(db.session.get(Voucher, voucher_id), "录错", as_user("finance")).id
    on(app, date(2026, 4, 1))
    with app.app_context():
        period_close.close("2026-03", as_user("finance"))
    on(app, date(2026, 3, 25))   # the business date moved back into the closed month
    with app.app_context():
        user = as_user("approver")
        with pytest.raises(DomainError, match="2026-03 已结账，不能记账到 2026-03-25"):
            workflow.act(workflow.latest_instance("voucher_reversal", request_id).id, user, "approve", "同意")
        db.session.rollback()
    assert request_of(app, request_id).status == "in_approval"
    with app.app_context():
        assert db.session.execute(select(Voucher).where(Voucher.reversal_of_id == voucher_id)).first() is None
        with pytest.raises(DomainError, match="2026-03 已结账"):
            ledger_reversal.apply(db.session.get(Voucher, other_id), "另申请", as_user("finance"))
    # In the open month the same request is approved and reversed in April.
    on(app, date(2026, 4, 2))
    approve(app, request_id)
    with app.app_context():
        reversal = db.session.execute(select(Voucher).where(Voucher.reversal_of_id == voucher_id)).scalar_one()
        assert reversal.business_date == date(2026, 4, 2)


def test_manager_and_officer_cannot_apply(app, login_as):
    voucher_id = manual_voucher(app)
    for username in ("manager", "officer_a"):
        client = login_as(username)
        assert client.get(f"/voucherview/reverse/{voucher_id}").status_code == 403
        assert client.post(f"/voucherview/reverse/{voucher_id}", data={"reason": "试试"}).status_code == 403
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ServicingRequest)).scalar_one() == 0
        assert db.session.execute(select(func.count()).select_from(WorkflowInstance)).scalar_one() == 0
