"""Two clerks post to one loan at the same moment (DOMAIN.md §3: no double counting).

PostgreSQL only (the ``postgres`` fixture: skipped elsewhere, a failure where the run
requires the services): SQLite serialises writers, so it cannot show a race. Each thread
has its own app context (its own session and connection); a Barrier releases them
together into ``repayments.post_repayment``, which locks the loan row (SELECT … FOR
UPDATE) before it allocates, and relies on the unique idempotency key for twins.
"""
import threading
import uuid

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Installment, JournalLine, Loan, Voucher
from app.models.servicing import Repayment
from app.services import ledger, repayments

from .servicing_helpers import D, active_loan, capital, finance_user, fund, on
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty
ZERO = D("0.00")
ROUNDS = 3   # each scenario races this many times on the same loan


@pytest.fixture
def loan_id(postgres, login_as):
    app = postgres
    capital(app)
    loan_id = active_loan(app, login_as)   # 100,000 at 12 %, 12 months 等额本息, from 2026-03-16
    with app.app_context():
        first_due = db.session.execute(select(Installment.due_date).where(
            Installment.loan_id == loan_id, Installment.seq == 1)).scalar_one()
    on(app, first_due)   # period 1 due today, period 2 may be paid early: 2 × 8,884.88 payable
    return loan_id


def state(app, loan_id):
    """(still owed on the schedule, 1301 balance of the loan, receipts, vouchers, bank balance)."""
    with app.app_context():
        rows = db.session.execute(select(Installment).where(Installment.loan_id == loan_id)).scalars().all()
        owed = sum((i.principal + i.interest + i.penalty + i.compound - i.principal_paid - i.interest_paid
                    - i.interest_waived - i.penalty_paid - i.penalty_waived - i.compound_paid for i in rows), ZERO)
        for i in rows:
            for paid, scheduled in ((i.principal_paid, i.principal), (i.interest_paid, i.interest),
                                    (i.penalty_paid, i.penalty), (i.compound_paid, i.compound)):
                assert ZERO <= paid <= scheduled, (i.seq, paid, scheduled)
        principal = sum((i.principal - i.principal_paid for i in rows), ZERO)
        assert ledger.loan_principal_outstanding(loan_id) == principal
        debit, credit = ledger.totals()
        assert debit == credit
        receipts = db.session.execute(select(func.count()).select_from(Repayment)
                                      .where(Repayment.loan_id == loan_id)).scalar_one()
        vouchers = db.session.execute(select(func.count()).select_from(Voucher)).scalar_one()
        return owed, principal, receipts, vouchers, ledger.fund_balance(fund())


def payable_total(app, loan_id):
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        return sum((r.total_due for r in repayments.payable(loan, loan.installments[0].due_date)), ZERO)


def race(app, jobs):
    """Run each (loan id, amount, key) through post_repayment in its own thread, released
    together by a Barrier; returns [(True, (receipt id, receipt no)) or (False, message)]."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(n, loan_id, amount, key):
        try:
            with app.app_context():
                user, account = finance_user(), fund()
                loan = db.session.get(Loan, loan_id)
                received_on = loan.installments[0].due_date
                db.session.rollback()   # end the read transaction: the post starts fresh
                barrier.wait(timeout=10)
                receipt = repayments.post_repayment(loan_id, amount, received_on, account, user, key)
                results[n] = (True, (receipt.id, receipt.receipt_no))
        except DomainError as exc:
            results[n] = (False, exc.message)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[n] = (None, repr(exc))
        finally:
            with app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n, *job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a posting thread hung (lock never released?)"
    assert all(ok is not None for ok, _ in results), results
    return results


def test_two_clerks_with_different_keys_both_post_and_nothing_is_lost(postgres, loan_id):
    app = postgres
    for n in range(ROUNDS):
        before = state(app, loan_id)
        first, second = D("1234.56") + n, D("2000.01") + n   # together well within what is payable
        results = race(app, [(loan_id, first, uuid.uuid4().hex), (loan_id, second, uuid.uuid4().hex)])
        assert [ok for ok, _ in results] == [True, True], results
        assert results[0][1] != results[1][1]
        after = state(app, loan_id)
        assert after[0] == before[0] - first - second              # owed drops by both, exactly
        assert after[2] == before[2] + 2 and after[3] == before[3] + 2   # two receipts, two vouchers
        assert after[4] == before[4] + first + second              # the bank got both
        assert after[0] >= 0 and after[1] >= 0


def test_when_both_together_exceed_what_is_payable_one_is_refused(postgres, loan_id):
    app = postgres
    for n in range(ROUNDS):
        most = payable_total(app, loan_id)
        before = state(app, loan_id)
        # Each alone fits; both together are more than may be paid today.
        amount = (most / 2 + D("0.01") + n).quantize(D("0.01"))
        assert amount <= most < 2 * amount
        results = race(app, [(loan_id, amount, uuid.uuid4().hex), (loan_id, amount, uuid.uuid4().hex)])
        outcomes = sorted(ok for ok, _ in results)
        assert outcomes == [False, True], results
        refusal = next(message for ok, message in results if not ok)
        assert "超过应还合计" in refusal, refusal
        after = state(app, loan_id)
        assert after[0] == before[0] - amount                      # posted once, exactly
        assert after[2] == before[2] + 1 and after[3] == before[3] + 1
        assert after[4] == before[4] + amount
        assert after[0] >= 0 and after[1] >= 0
        if payable_total(app, loan_id) == 0:
            break


def test_two_clerks_with_the_same_key_post_once_and_get_the_same_receipt(postgres, loan_id):
    app = postgres
    for n in range(ROUNDS):
        before = state(app, loan_id)
        amount, key = D("500.00") + n, uuid.uuid4().hex
        results = race(app, [(loan_id, amount, key), (loan_id, amount, key)])
        assert [ok for ok, _ in results] == [True, True], results
        assert results[0][1] == results[1][1]                      # the same receipt (id, number)
        after = state(app, loan_id)
        assert after[0] == before[0] - amount
        assert after[2] == before[2] + 1 and after[3] == before[3] + 1
        assert after[4] == before[4] + amount
        with app.app_context():
            receipt = repayments.by_key(key)
            assert receipt.amount == amount and receipt.id == results[0][1][0]
            lines = db.session.execute(select(func.count()).select_from(JournalLine)
                                       .where(JournalLine.voucher_id == receipt.voucher_id)).scalar_one()
            assert lines >= 2
