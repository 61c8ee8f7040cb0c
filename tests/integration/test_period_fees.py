"""每期费用: a per-period fee of the product becomes one fee row per installment at
disbursement, each receivable (Dr 1221 / Cr 6021) on its installment's due date by the
nightly batch; collected like any fee; not owed for periods after an early settlement; the
rows follow a regenerated schedule."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Installment, JournalLine, Loan, LoanProduct, ProductFee, Voucher
from app.models.loan import LoanFee
from app.services import batch, fees, ledger, repayments

from .servicing_helpers import D, active_loan, capital, finance_user, fund, key, on, repay, text_of
from .test_loans import business_date, product_id  # noqa: F401 (business_date: autouse fixture)

pytestmark = pytest.mark.dirty


@pytest.fixture
def loan_id(app, login_as):
    """100,000 at 12 %, 12 monthly installments from 2026-03-16, with 服务费 100 元 每期."""
    capital(app)
    with app.app_context():
        product = db.session.get(LoanProduct, product_id(app))
        product.fees.append(ProductFee(fee_type="service_fee", basis="fixed", value=D("100"), timing="per_period",
                                       account="income", editable=True))
        db.session.commit()
    return active_loan(app, login_as)


def period_rows(app, loan_id):
    with app.app_context():
        rows = db.session.execute(select(LoanFee).where(LoanFee.loan_id == loan_id, LoanFee.timing == "per_period")
                                  .order_by(LoanFee.installment_seq)).scalars().all()
        return [(f.installment_seq, f.amount, f.paid_amount, f.due_on) for f in rows]


def period_fee_id(app, loan_id, seq):
    with app.app_context():
        return db.session.execute(select(LoanFee.id).where(LoanFee.loan_id == loan_id,
                                                           LoanFee.installment_seq == seq)).scalar_one()


def due(app, loan_id, seq):
    with app.app_context():
        return db.session.execute(select(Installment.due_date).where(
            Installment.loan_id == loan_id, Installment.seq == seq)).scalar_one()


def recognize(app, day):
    with app.app_context():
        count = batch.period_fees(day)
        db.session.commit()
        return count


def lines_of(app, source_type):
    with app.app_context():
        return sorted((line.account.code, line.debit, line.credit) for line in db.session.execute(
            select(JournalLine).join(Voucher).where(Voucher.source_type == source_type)).scalars())


def test_one_row_per_installment_receivable_when_due(app, login_as, loan_id):
    rows = period_rows(app, loan_id)
    assert [r[0] for r in rows] == list(range(1, 13))
    assert {(r[1], r[2], r[3]) for r in rows} == {(D("100.00"), D("0.00"), None)}
    # Nothing booked at the payout for them (only fees due at disbursement are).
    assert lines_of(app, "fee_receivable") == []

    first, second = due(app, loan_id, 1), due(app, loan_id, 2)
    assert recognize(app, first - timedelta(days=1)) == 0
    on(app, first)
    assert recognize(app, first) == 1
    assert recognize(app, first) == 0                      # a re-run books nothing twice
    assert lines_of(app, "fee_receivable") == [("1221", D("100.00"), D("0.00")), ("6021", D("0.00"), D("100.00"))]
    assert period_rows(app, loan_id)[0][3] == first
    # The repayment page says what fees are receivable besides the installments.
    page = text_of(login_as("finance").get(f"/repayment/loan/{loan_id}"))
    assert 'id="fees-due"' in page and "共 600.00 元" in page and "服务费（第 1 期） 100.00" in page

    # Collected: the receivable is cleared (Cr 1221); the next period's fee paid early is
    # income at once (Cr 6021) and never booked as receivable afterwards.
    with app.app_context():
        receipt = fees.collect(period_fee_id(app, loan_id, 1), D("100"), first, fund(), finance_user(), key())
        assert sorted((ln.account.code, ln.credit) for ln in receipt.voucher.lines if ln.credit) == [
            ("1221", D("100.00"))]
        receipt = fees.collect(period_fee_id(app, loan_id, 2), D("100"), first, fund(), finance_user(), key())
        assert sorted((ln.account.code, ln.credit) for ln in receipt.voucher.lines if ln.credit) == [
            ("6021", D("100.00"))]
    on(app, second)
    assert recognize(app, second) == 0
    with app.app_context():
        debit, credit = ledger.totals()
        assert debit == credit
        upfront = sum(f.outstanding for f in db.session.get(Loan, loan_id).fees if f.timing == "at_disbursement")
        assert upfront == D("500.00")                       # the product's 评审费 0.5 %, receivable since the payout
        assert ledger.account_balance(ledger.OTHER_RECEIVABLES, second) == upfront

    # The fee page lists each period's row; the loan page's terms show the fee once.
    page = text_of(login_as("finance").get(f"/fee/loan/{loan_id}"))
    assert "第 2 期" in page and "第 12 期" in page
    with app.app_context():
        terms = [(f.fee_type, f.timing) for f in db.session.get(Loan, loan_id).fee_terms]
        assert terms.count(("service_fee", "per_period")) == 1


def test_an_early_settlement_owes_no_later_period_fee(app, login_as, loan_id):
    first = due(app, loan_id, 1)
    on(app, first)
    recognize(app, first)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        quote = repayments.quote(loan, first)
        assert quote.fees == D("600.00")                    # 评审费 500 and the first period's 100
    with app.app_context():
        receipt = repayments.settle(loan_id, first, fund(), finance_user(), key())
        assert receipt.loan.status == "settled"
    rows = period_rows(app, loan_id)
    assert rows[0][2] == D("100.00")                        # settled with the loan
    # Later periods are not owed: not collectable, never booked.
    with app.app_context():
        with pytest.raises(DomainError, match="不再收取"):
            fees.collect(period_fee_id(app, loan_id, 3), D("100"), first, fund(), finance_user(), key())
        assert fees.fees_of(db.session.get(Loan, loan_id))[-1].outstanding == 0
    later = due(app, loan_id, 3)
    on(app, later)
    assert recognize(app, later) == 0
    page = text_of(login_as("finance").get(f"/fee/loan/{loan_id}"))
    assert "提前结清，不再收取" in page


def test_rows_follow_a_regenerated_schedule(app, login_as, loan_id):
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        last = loan.installments[-1]
        loan.installments.remove(last)
        db.session.delete(last)
        fees.sync_period_fees(loan)
        assert sorted(f.installment_seq for f in loan.fees if f.timing == "per_period") == list(range(1, 12))
        loan.installments.append(Installment(seq=12, start_date=last.start_date, due_date=last.due_date,
                                             principal=last.principal, interest=last.interest, total=last.total,
                                             balance=last.balance))
        loan.installments.append(Installment(seq=13, start_date=last.due_date, due_date=last.due_date
                                             + timedelta(days=30), principal=D("0"),
                                             interest=D("0"), total=D("0"), balance=D("0")))
        fees.sync_period_fees(loan)
        assert sorted(f.installment_seq for f in loan.fees if f.timing == "per_period") == list(range(1, 14))
        db.session.rollback()


def test_repayments_are_not_affected(app, login_as, loan_id):
    """Installments are repaid as before: the period fees are collected on their own."""
    first = due(app, loan_id, 1)
    on(app, first)
    with app.app_context():
        total = db.session.execute(select(Installment.total).where(Installment.loan_id == loan_id,
                                                                   Installment.seq == 1)).scalar_one()
    repay(app, loan_id, total, first)
    assert recognize(app, first) == 1


def test_settling_before_the_batch_booked_a_due_period_fee_collects_it(app, login_as, loan_id):
    """The nightly batch has not run for the first due date: the payoff quote still counts that
    period's fee, and the settlement books it as receivable and collects it in one go."""
    first = due(app, loan_id, 1)
    on(app, first)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert repayments.quote(loan, first).fees == D("600.00")      # 评审费 500 + 第 1 期服务费 100, unbooked
        receipt = repayments.settle(loan_id, first, fund(), finance_user(), key())
        fee_lines = sorted((ln.loan_fee_id is not None, ln.amount) for ln in receipt.lines if ln.component == "fee")
        assert fee_lines == [(True, D("100.00")), (True, D("500.00"))]
        assert ledger.account_balance(ledger.OTHER_RECEIVABLES, first) == D("0.00")
        debit, credit = ledger.totals()
        assert debit == credit
    assert lines_of(app, "fee_receivable") == [("1221", D("100.00"), D("0.00")), ("6021", D("0.00"), D("100.00"))]
    assert period_rows(app, loan_id)[0][2:] == (D("100.00"), first)
    assert recognize(app, first) == 0


def test_an_extension_adds_the_new_periods_fees(app, login_as, loan_id):
    """Through the real flow: an approved 展期 of 3 months regenerates the schedule, and the fee
    rows follow it (one per installment, the new ones unbooked)."""
    from datetime import date

    from .test_extension import extend

    on(app, date(2026, 3, 20))                              # before the first due date, nothing overdue
    extend(app, loan_id, 3)
    rows = period_rows(app, loan_id)
    assert [r[0] for r in rows] == list(range(1, 16))
    assert {(r[1], r[3]) for r in rows} == {(D("100.00"), None)}
