"""贷后调整: 免息, 退息, 人工转收入, 核销 and 核销后收回, 代偿, 归还客户费用, 退还保证金 — each
applied by the officer, approved through its flow, executed (at approval or by finance) with
a balanced voucher; refusals change nothing."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Installment, Loan
from app.models.finance import JournalLine, Voucher
from app.models.loan import Guarantor, LoanFee
from app.models.servicing import Repayment, ServicingRequest
from app.models.workflow import WorkflowInstance
from app.services import adjustments, fees, ledger, repayments
from app.services import servicing_requests as requests_service

from . import servicing_helpers
from .servicing_helpers import D, bank_id, due_date, finance_user, fund, installment, key, on, repay, request_row
from .servicing_helpers import loan_id  # noqa: F401 (fixture)
from .servicing_helpers import text_of as text
from .test_loans import acting, business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty
START = date(2026, 3, 16)
#: Who approves each kind (app/services/defaults.py WORKFLOWS).
APPROVERS = {"write_off": ["risk", "approver"]}


def apply_form(client, kind, loan_id, **data):
    """Post the apply form; returns the new request's id (or the response when refused)."""
    data.setdefault("reason", "客户申请，经核实情况属实")
    response = client.post(f"/servicing/adjust/{kind}/{loan_id}", data=data)
    if response.status_code == 302:
        match = re.search(r"/servicingrequestview/show/(\d+)", response.headers["Location"])
        return int(match.group(1))
    return response


def approve(app, kind, request_id):
    servicing_helpers.approve(app, kind, request_id, APPROVERS.get(kind, ["approver"]))


def execute(app, request_id, fund_account=None, on=None, refused=None):
    """Finance executes through the service (ServicingRequestView registers no can_execute
    permission yet: its base_permissions list only can_list and can_show)."""
    from app.models.finance import FundAccount

    with acting(app, "finance") as user:
        options = {"idempotency_key": key()}
        if fund_account:
            options["fund_account"] = db.session.get(FundAccount, fund_account)
        if on:
            options["on"] = on
        if refused:
            with pytest.raises(DomainError, match=refused):
                requests_service.execute(request_id, user, **options)
            return None
        return requests_service.execute(request_id, user, **options).status


def voucher_lines(app, voucher_id):
    with app.app_context():
        voucher = db.session.get(Voucher, voucher_id)
        assert voucher.source_type == "servicing_request"
        return sorted((line.account.code, line.debit, line.credit, line.loan_id) for line in voucher.lines)


def balanced(app):
    with app.app_context():
        debit, credit = ledger.totals()
        return debit == credit


def counts(app):
    with app.app_context():
        return tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in (ServicingRequest, Voucher, JournalLine, WorkflowInstance, Repayment))


def refused(client, kind, loan_id, app, expected, **data):
    before = counts(app)
    response = apply_form(client, kind, loan_id, **data)
    assert not isinstance(response, int), "the request was accepted"
    assert response.status_code == 200
    page = text(response)
    assert expected in page, page[page.find('id="adjust-error"'):][:300]
    assert counts(app) == before
    return page


def add_deposit(app, loan_id, amount="5000.00"):
    """A 保证金 due at disbursement, collected through the fee service."""
    with app.app_context():
        fee = LoanFee(loan_id=loan_id, fee_type="deposit", basis="fixed", value=D(amount), timing="at_disbursement",
                      account="deposit", amount=D(amount), due_on=START)
        db.session.add(fee)
        db.session.commit()
        fee_id = fee.id
        fees.collect(fee_id, D(amount), START, fund(), finance_user(), key())
        return fee_id


# -- 免息 ----------------------------------------------------------------------------------
def test_interest_waiver_runs_at_approval_and_lowers_what_is_owed(app, loan_id, login_as):
    late = due_date(app, loan_id, 1) + timedelta(days=10)
    on(app, late)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        waivable = adjustments.waivable(loan, late)
        due_before = repayments.summary(loan, late).due_now
    assert waivable["interest"] == D("1000.00") and waivable["penalty"] == D("39.42")   # 7,884.88 × 18 % × 10/360
    charges = waivable["penalty"] + waivable["compound"]
    officer = login_as("officer_a")
    refused(officer, "interest_waiver", loan_id, app, "超过", amount=str(charges + D("1000.01")))
    refused(officer, "interest_waiver", loan_id, app, "请填写申请原因", amount="10.00", reason=" ")
    request_id = apply_form(officer, "interest_waiver", loan_id, amount=f"{charges + D('100.00'):.2f}")
    assert request_row(app, request_id).status == "in_approval"
    vouchers = counts(app)[1]
    approve(app, "interest_waiver", request_id)
    item = request_row(app, request_id)
    assert item.status == "executed" and item.voucher_id is None      # not income: nothing posted
    assert counts(app)[1] == vouchers
    first = installment(app, loan_id, 1)
    assert first.penalty_waived == waivable["penalty"] and first.interest_waived == D("100.00")
    assert first.compound - first.compound_paid - first.compound_waived == D("0.00")
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert repayments.summary(loan, late).due_now == due_before - charges - D("100.00")
        assert repayments.schedule_status(loan, late)[0].interest_due == D("900.00")
        assert adjustments.waivable(loan, late)["interest"] == D("900.00")
    # Paying the rest clears the installment.
    repay(app, loan_id, "8784.88", late)
    assert installment(app, loan_id, 1).paid_off_on == late
    assert balanced(app)


def test_waiving_accrued_interest_reverses_the_accrual(app, loan_id, login_as):
    due = due_date(app, loan_id, 1)
    with app.app_context():   # the period close booked period 1's interest to 应收利息
        item = db.session.execute(select(Installment).where(Installment.loan_id == loan_id,
                                                            Installment.seq == 1)).scalar_one()
        item.interest_accrued = D("1000.00")
        ledger.post("计提利息", [ledger.Line("1132", debit=D("1000.00"), loan_id=loan_id),
                              ledger.Line("6011", credit=D("1000.00"), loan_id=loan_id)], finance_user(),
                    business_date=due)
        db.session.commit()
    on(app, due)
    request_id = apply_form(login_as("officer_a"), "interest_waiver", loan_id, amount="400.00")
    approve(app, "interest_waiver", request_id)
    item = request_row(app, request_id)
    assert item.status == "executed"
    assert voucher_lines(app, item.voucher_id) == [("1132", D("0"), D("400.00"), loan_id),
                                                   ("6011", D("400.00"), D("0"), loan_id)]
    assert installment(app, loan_id, 1).interest_accrued == D("600.00")
    assert balanced(app)


# -- 退息 ----------------------------------------------------------------------------------
def test_interest_refund_is_paid_by_finance(app, loan_id, login_as):
    due = due_date(app, loan_id, 1)
    on(app, due)
    repay(app, loan_id, "8884.88", due)          # interest 1,000.00 received
    officer = login_as("officer_a")
    refused(officer, "interest_refund", loan_id, app, "超过已收利息", amount="1000.01")
    request_id = apply_form(officer, "interest_refund", loan_id, amount="300.00")
    refused(officer, "interest_refund", loan_id, app, "其他在途申请已占用 300.00", amount="800.00")
    approve(app, "interest_refund", request_id)
    assert request_row(app, request_id).status == "approved"
    before = counts(app)
    execute(app, request_id, refused="请选择付款的现金或银行账户")     # no fund account: nothing posted
    assert request_row(app, request_id).status == "approved" and counts(app) == before
    execute(app, request_id, fund_account=bank_id(app), on=due)
    item = request_row(app, request_id)
    assert item.status == "executed" and item.fund_account_id == bank_id(app)
    assert voucher_lines(app, item.voucher_id) == [("1002", D("0"), D("300.00"), loan_id),
                                                   ("6011", D("300.00"), D("0"), loan_id)]
    with app.app_context():
        assert adjustments.refundable_interest(db.session.get(Loan, loan_id)) == D("700.00")
    assert balanced(app)


# -- 人工转收入 ------------------------------------------------------------------------------
def test_transfer_of_the_deposit_to_income(app, loan_id, login_as):
    add_deposit(app, loan_id)
    officer = login_as("officer_a")
    refused(officer, "transfer_income", loan_id, app, "其他应付款余额为零", amount="100.00", source="other_payables")
    refused(officer, "transfer_income", loan_id, app, "超过该项目存入保证金余额", amount="5000.01", source="deposit")
    request_id = apply_form(officer, "transfer_income", loan_id, amount="2000.00", source="deposit")
    approve(app, "transfer_income", request_id)
    execute(app, request_id)
    item = request_row(app, request_id)
    assert item.status == "executed"
    assert voucher_lines(app, item.voucher_id) == [("2203", D("2000.00"), D("0"), loan_id),
                                                   ("6301", D("0"), D("2000.00"), loan_id)]
    with app.app_context():
        assert repayments.deposit_held(loan_id) == D("3000.00")
    assert balanced(app)


# -- 核销 and 核销后收回 ----------------------------------------------------------------------
def test_write_off_then_recovery(app, loan_id, login_as):
    due = due_date(app, loan_id, 1)
    on(app, due)
    repay(app, loan_id, "8884.88", due)
    long_overdue = date(2027, 3, 1)
    on(app, long_overdue)
    officer = login_as("officer_a")
    request_id = apply_form(officer, "write_off", loan_id)
    refused(officer, "write_off", loan_id, app, "已有在途的核销申请")
    assert request_row(app, request_id).amount == D("92115.12")
    approve(app, "write_off", request_id)
    execute(app, request_id, on=long_overdue)
    item = request_row(app, request_id)
    assert item.status == "executed" and item.amount == D("92115.12")
    # The reserve was empty: the shortfall is provided first, then used.
    assert voucher_lines(app, item.voucher_id) == [
        ("1301", D("0"), D("92115.12"), loan_id), ("1304", D("0"), D("92115.12"), loan_id),
        ("1304", D("92115.12"), D("0"), loan_id), ("6701", D("92115.12"), D("0"), loan_id)]
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan.status == "written_off" and loan.closed_on == long_overdue
        assert loan.status_changes[-1].to_status == "written_off" and "表外" in loan.status_changes[-1].comment
        assert ledger.loan_principal_outstanding(loan_id) == D("0.00")
        assert ledger.account_balance("1304") == D("0.00")
        with pytest.raises(DomainError, match="当前状态"):
            repayments.post_repayment(loan_id, D("100.00"), long_overdue, fund(), finance_user(), key())
        db.session.rollback()
    assert balanced(app)

    # 核销后收回 through its form, idempotent.
    finance = login_as("finance")
    page = text(finance.get(f"/servicing/adjust/recover/{loan_id}"))
    form_key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    data = {"amount": "30,000.00", "received_on": long_overdue.isoformat(), "fund_account": str(bank_id(app)),
            "payer": "张三", "idempotency_key": form_key}
    assert finance.post(f"/servicing/adjust/recover/{loan_id}", data=data).status_code == 302
    assert finance.post(f"/servicing/adjust/recover/{loan_id}", data=data).status_code == 302   # double submit
    with app.app_context():
        receipts = db.session.execute(select(Repayment).where(Repayment.kind == "recovery")).scalars().all()
        assert len(receipts) == 1 and receipts[0].amount == D("30000.00")
        lines = sorted((l.account.code, l.debit, l.credit) for l in receipts[0].voucher.lines)
        assert lines == [("1002", D("30000.00"), D("0")), ("1304", D("0"), D("30000.00"))]
        assert ledger.account_balance("1304") == D("30000.00")
        with pytest.raises(DomainError, match="尚未收回"):
            adjustments.recover(loan_id, D("62115.13"), long_overdue, fund(), finance_user(), key())
        db.session.rollback()
    before = counts(app)
    response = finance.post(f"/servicing/adjust/recover/{loan_id}",
                            data=dict(data, amount="70000", idempotency_key=key()))
    assert response.status_code == 200 and "尚未收回" in text(response) and counts(app) == before
    assert balanced(app)
    # Officers apply; they do not post receipts.
    assert officer.get(f"/servicing/adjust/recover/{loan_id}").status_code == 403


def test_recovery_needs_a_written_off_loan(app, loan_id):
    with app.app_context():
        with pytest.raises(DomainError, match="只有已核销的项目"):
            adjustments.recover(loan_id, D("100.00"), START, fund(), finance_user(), key())


# -- 代偿 ----------------------------------------------------------------------------------
def add_guarantor(app, loan_id, name="李四"):
    with app.app_context():
        guarantor = Guarantor(loan_id=loan_id, kind="person", name=name, identifier="110105198001010019",
                              mode="joint", guaranteed_amount=D("100000"), period_months=6)
        db.session.add(guarantor)
        db.session.commit()
        return guarantor.id


def test_guarantor_compensation_is_a_receipt_allocated_like_a_repayment(app, loan_id, login_as):
    guarantor_id = add_guarantor(app, loan_id)
    late = due_date(app, loan_id, 1) + timedelta(days=10)
    on(app, late)
    with app.app_context():
        due = adjustments.due_by_guarantor(db.session.get(Loan, loan_id), late)
    assert due == D("8884.88") + D("39.42") + D("5.00")
    officer = login_as("officer_a")
    refused(officer, "compensation", loan_id, app, "请选择该项目的保证人", amount="100.00")
    refused(officer, "compensation", loan_id, app, "超过", amount=str(due + D("0.01")), guarantor=str(guarantor_id))
    request_id = apply_form(officer, "compensation", loan_id, amount=str(due), guarantor=str(guarantor_id),
                            fund_account=str(bank_id(app)))
    approve(app, "compensation", request_id)
    execute(app, request_id, fund_account=bank_id(app), on=late)
    item = request_row(app, request_id)
    assert item.status == "executed" and item.repayment_id
    with app.app_context():
        receipt = db.session.get(Repayment, item.repayment_id)
        assert (receipt.kind, receipt.payer, receipt.amount) == ("compensation", "李四", due)
        assert "追偿权" in receipt.remarks
        assert receipt.voucher_id == item.voucher_id
        assert receipt.total_of("principal") == D("7884.88") and receipt.total_of("interest") == D("1000.00")
    assert voucher_lines(app, item.voucher_id) == [
        ("1002", due, D("0"), loan_id), ("1301", D("0"), D("7884.88"), loan_id),
        ("6011", D("0"), D("1000.00"), loan_id), ("6051", D("0"), D("5.00"), loan_id),
        ("6051", D("0"), D("39.42"), loan_id)]
    assert installment(app, loan_id, 1).paid_off_on == late
    assert balanced(app)


# -- 归还客户费用 and 退还保证金 -----------------------------------------------------------------
def test_fee_refund_of_a_collected_income_fee(app, loan_id, login_as):
    with app.app_context():
        fee_id = db.session.execute(select(LoanFee.id).where(LoanFee.loan_id == loan_id)).scalar_one()
    officer = login_as("officer_a")
    refused(officer, "fee_refund", loan_id, app, "尚未收取", amount="100.00", loan_fee=str(fee_id))
    with app.app_context():
        fees.collect(fee_id, D("500.00"), START, fund(), finance_user(), key())
    refused(officer, "fee_refund", loan_id, app, "超过评审费已收未退的金额", amount="500.01", loan_fee=str(fee_id))
    request_id = apply_form(officer, "fee_refund", loan_id, amount="200.00", loan_fee=str(fee_id))
    approve(app, "fee_refund", request_id)
    execute(app, request_id, fund_account=bank_id(app))
    item = request_row(app, request_id)
    assert item.status == "executed"
    assert voucher_lines(app, item.voucher_id) == [("1002", D("0"), D("200.00"), loan_id),
                                                   ("6021", D("200.00"), D("0"), loan_id)]
    with app.app_context():
        fee = db.session.get(LoanFee, fee_id)
        assert (fee.paid_amount, fee.refunded_amount) == (D("500.00"), D("200.00"))
    refused(officer, "fee_refund", loan_id, app, "超过", amount="300.01", loan_fee=str(fee_id))
    assert balanced(app)


def test_deposit_return_before_settlement(app, loan_id, login_as):
    officer = login_as("officer_a")
    refused(officer, "deposit_return", loan_id, app, "没有存入保证金", amount="100.00")
    fee_id = add_deposit(app, loan_id)
    refused(officer, "deposit_return", loan_id, app, "超过该项目存入保证金余额", amount="5000.01")
    request_id = apply_form(officer, "deposit_return", loan_id, amount="5000.00", fund_account=str(bank_id(app)))
    approve(app, "deposit_return", request_id)
    execute(app, request_id)           # the account chosen at application
    item = request_row(app, request_id)
    assert item.status == "executed"
    assert voucher_lines(app, item.voucher_id) == [("1002", D("0"), D("5000.00"), loan_id),
                                                   ("2203", D("5000.00"), D("0"), loan_id)]
    with app.app_context():
        assert repayments.deposit_held(loan_id) == D("0.00")
        assert db.session.get(LoanFee, fee_id).refunded_amount == D("5000.00")
    assert balanced(app)


def test_requests_on_the_deposit_count_together_and_execution_checks_again(app, loan_id, login_as):
    add_deposit(app, loan_id, "1000.00")
    officer = login_as("officer_a")
    first = apply_form(officer, "deposit_return", loan_id, amount="600.00")
    refused(officer, "transfer_income", loan_id, app, "其他在途申请已占用 600.00", amount="400.01", source="deposit")
    approve(app, "deposit_return", first)
    with app.app_context():   # meanwhile finance moves the deposit by a manual voucher
        ledger.post("保证金转其他应付款", [ledger.Line("2203", debit=D("1000.00"), loan_id=loan_id),
                                   ledger.Line("2241", credit=D("1000.00"), loan_id=loan_id)], finance_user())
        db.session.commit()
    before = counts(app)
    execute(app, first, fund_account=bank_id(app), refused="没有存入保证金")
    assert request_row(app, first).status == "approved" and counts(app) == before
    # The money now sits on 其他应付款 and can be transferred to income from there.
    second = apply_form(officer, "transfer_income", loan_id, amount="1000.00", source="other_payables")
    approve(app, "transfer_income", second)
    execute(app, second)
    assert voucher_lines(app, request_row(app, second).voucher_id) == [
        ("2241", D("1000.00"), D("0"), loan_id), ("6301", D("0"), D("1000.00"), loan_id)]
    assert balanced(app)


# -- the forms ------------------------------------------------------------------------------
def test_apply_forms_show_the_figures_and_check_access(app, loan_id, login_as):
    officer = login_as("officer_a")
    for kind in ("interest_waiver", "interest_refund", "transfer_income", "write_off", "compensation", "fee_refund",
                 "deposit_return"):
        response = officer.get(f"/servicing/adjust/{kind}/{loan_id}")
        assert response.status_code == 200, kind
        assert 'id="adjust-form"' in text(response)
    assert "92,115.12" not in text(officer.get(f"/servicing/adjust/write_off/{loan_id}"))
    assert "100,000.00" in text(officer.get(f"/servicing/adjust/write_off/{loan_id}"))
    assert login_as("officer_b").get(f"/servicing/adjust/interest_waiver/{loan_id}").status_code == 404
    assert login_as("manager").get(f"/servicing/adjust/interest_waiver/{loan_id}").status_code == 403
    assert login_as("finance").get(f"/servicing/adjust/interest_waiver/{loan_id}").status_code == 200
