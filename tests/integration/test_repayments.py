"""收款: allocation, penalty to the fen, partial payments, idempotency, settlement."""
from datetime import date

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Installment, Loan
from app.models.finance import Voucher
from app.models.servicing import Repayment
from app.services import ledger, repayments

from .servicing_helpers import D, active_loan, capital, finance_user, fund, key, on, repay
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty
START = date(2026, 3, 16)


@pytest.fixture
def loan_id(app, login_as):
    capital(app)
    return active_loan(app, login_as)   # 100,000 at 12 %, 12 months 等额本息, from 2026-03-16


def installment(app, loan_id, seq):
    with app.app_context():
        row = db.session.execute(select(Installment).where(Installment.loan_id == loan_id,
                                                           Installment.seq == seq)).scalar_one()
        db.session.expunge(row)
        return row


def voucher_lines(app, receipt_id):
    with app.app_context():
        receipt = db.session.get(Repayment, receipt_id)
        return sorted((line.account.code, line.debit, line.credit) for line in receipt.voucher.lines)


def test_on_time_then_late_with_penalty_to_the_fen(app, loan_id):
    first = installment(app, loan_id, 1)
    assert (first.principal, first.interest, first.total) == (D("7884.88"), D("1000.00"), D("8884.88"))
    on(app, first.due_date)
    receipt = repay(app, loan_id, "8884.88", first.due_date)
    assert voucher_lines(app, receipt) == [("1002", D("8884.88"), D("0")), ("1301", D("0"), D("7884.88")),
                                           ("6011", D("0"), D("1000.00"))]
    assert installment(app, loan_id, 1).paid_off_on == first.due_date
    # Period 2 (principal 7,963.73, interest 921.15) paid 10 days late: 罚息 39.82, 复利 4.61.
    second = installment(app, loan_id, 2)
    late = date.fromordinal(second.due_date.toordinal() + 10)
    on(app, late)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        row = repayments.schedule_status(loan, late)[1]
        assert (row.penalty, row.compound, row.overdue_days) == (D("39.82"), D("4.61"), 10)
        assert repayments.summary(loan, late).due_now == D("8884.88") + D("44.43")
    receipt = repay(app, loan_id, "8929.31", late)
    assert voucher_lines(app, receipt) == [("1002", D("8929.31"), D("0")), ("1301", D("0"), D("7963.73")),
                                           ("6011", D("0"), D("921.15")), ("6051", D("0"), D("4.61")),
                                           ("6051", D("0"), D("39.82"))]
    assert installment(app, loan_id, 2).paid_off_on == late


def test_partial_payment_goes_penalty_first_and_leaves_the_rest_owed(app, loan_id):
    second_due = installment(app, loan_id, 2).due_date
    late = date.fromordinal(second_due.toordinal() + 10)   # period 1 is 41 days late, period 2 ten
    on(app, late)
    receipt = repay(app, loan_id, "1000.00", late)
    with app.app_context():
        lines = [(l.seq, l.component, l.amount) for l in db.session.get(Repayment, receipt).lines]
    # Oldest installment first, penalty → compound → interest → principal.
    assert lines[0][:2] == (1, "penalty") and lines[1][:2] == (1, "compound") and lines[2][:2] == (1, "interest")
    assert sum(a for _s, _c, a in lines) == D("1000.00")
    first = installment(app, loan_id, 1)
    assert first.paid_off_on is None and first.interest_paid > 0 and first.principal_paid == 0


def test_overpayment_is_refused_and_changes_nothing(app, loan_id):
    on(app, installment(app, loan_id, 1).due_date)
    with app.app_context():
        vouchers = db.session.execute(select(func.count()).select_from(Voucher)).scalar()
        with pytest.raises(DomainError, match="提前还款"):
            repayments.post_repayment(loan_id, D("20000"), installment(app, loan_id, 1).due_date, fund(),
                                      finance_user(), key())
        assert db.session.execute(select(func.count()).select_from(Voucher)).scalar() == vouchers
        assert db.session.execute(select(func.count()).select_from(Repayment)).scalar() == 0


def test_same_key_posts_once(app, loan_id):
    due = installment(app, loan_id, 1).due_date
    on(app, due)
    first = repay(app, loan_id, "100.00", due, idempotency_key="K-1")
    again = repay(app, loan_id, "100.00", due, idempotency_key="K-1")
    assert first == again
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Repayment)).scalar() == 1
        with pytest.raises(DomainError, match="幂等键"):
            repayments.post_repayment(loan_id, D("200.00"), due, fund(), finance_user(), "K-1")


def test_early_settlement_charges_interest_to_the_day_and_closes_the_loan(app, loan_id):
    first = installment(app, loan_id, 1)
    on(app, first.due_date)
    repay(app, loan_id, "8884.88", first.due_date)
    day = date(2026, 5, 1)          # 15 days into period 2 (opening balance 92,115.12)
    on(app, day)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        q = repayments.quote(loan, day)
        assert q.principal == D("92115.12")
        assert q.interest == D("460.58")          # 92,115.12 × 12 % × 15 / 360
        assert q.penalty == q.compound == D("0") and q.early
        assert q.fees == D("500.00")              # 评审费 0.5 %, receivable since disbursement
        total = q.total
        receipt = repayments.settle(loan_id, day, fund(), finance_user(), key())
        loan = db.session.get(Loan, loan_id)
        assert loan.status == "settled" and loan.closed_on == day
        assert receipt.amount == total
        assert ledger.loan_principal_outstanding(loan_id) == D("0.00")
        assert all(i.paid_off_on == day for i in loan.installments[1:])
        assert sum(i.interest for i in loan.installments[2:]) == D("0")
        assert any(d.doc_type == "settlement_certificate" for d in loan_documents(loan))
        debit, credit = ledger.totals()
        assert debit == credit


def loan_documents(loan):
    from app.services import contracts

    return contracts.documents_of(loan)


def test_loan_page_shows_the_figures_as_of_the_business_date(app, loan_id, login_as):
    second = installment(app, loan_id, 2)
    late = date.fromordinal(second.due_date.toordinal() + 10)
    on(app, installment(app, loan_id, 1).due_date)
    repay(app, loan_id, "8884.88", installment(app, loan_id, 1).due_date)
    on(app, late)
    page = login_as("finance").get(f"/loanview/show/{loan_id}").get_data(as_text=True)
    assert 'id="tab-servicing"' in page
    assert 'id="sum-penalty">39.82<' in page and 'id="sum-compound">4.61<' in page
    assert 'id="sum-overdue-days">10<' in page
    assert "8,884.88" in page


def test_last_installment_leaves_the_loan_open_while_a_fee_is_owed_and_the_last_fee_closes_it(app, loan_id):
    """Paying every installment does not settle a loan that still owes an income fee (评审费
    500.00, receivable since disbursement); collecting the last of that fee does."""
    from app.models.loan import LoanFee
    from app.services import fees

    last = installment(app, loan_id, 12)
    on(app, last.due_date)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        owed = repayments.summary(loan, last.due_date)
        assert owed.penalty > 0 and owed.next_due_date is None   # all 12 due, 1–11 overdue
        due_now = owed.due_now
    repay(app, loan_id, str(due_now), last.due_date)            # all 12 installments in one receipt
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert all(i.paid_off_on == last.due_date for i in loan.installments)
        assert (loan.status, loan.closed_on) == ("active", None)
        assert [f.outstanding for f in repayments.fees_outstanding(loan)] == [D("500.00")]
        fee_id = db.session.execute(select(LoanFee.id).where(LoanFee.loan_id == loan_id,
                                                             LoanFee.fee_type == "review_fee")).scalar_one()
        fees.collect(fee_id, D("200.00"), last.due_date, fund(), finance_user(), key())
        assert db.session.get(Loan, loan_id).status == "active"        # 300.00 still owed
        receipt = fees.collect(fee_id, D("300.00"), last.due_date, fund(), finance_user(), key())
        loan = db.session.get(Loan, loan_id)
        assert (loan.status, loan.closed_on) == ("settled", last.due_date)
        assert loan.status_changes[-1].comment.endswith(receipt.receipt_no)
        assert any(d.doc_type == "settlement_certificate" for d in loan_documents(loan))
        debit, credit = ledger.totals()
        assert debit == credit
