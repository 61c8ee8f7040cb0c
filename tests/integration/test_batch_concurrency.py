"""The nightly batch and a receipt at the same moment (issue #9 §1): neither corrupts the other.

PostgreSQL only: the batch locks the loan table (EXCLUSIVE) for the day, a receipt locks
its loan row, so one waits for the other; either order ends in the same consistent state.
"""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain.servicing import penalty_interest
from app.extensions import db
from app.models import Installment, Loan
from app.services import batch, repayments

from .servicing_helpers import D, active_loan, capital, finance_user, fund, installment, on
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty


def test_a_receipt_during_the_batch_waits_and_both_land(postgres, login_as):
    app = postgres
    capital(app)
    loan_id = active_loan(app, login_as)
    first = installment(app, loan_id, 1)
    day = first.due_date + timedelta(days=10)
    with app.app_context():
        batch.run(day - timedelta(days=1))
    on(app, day)
    penalty = penalty_interest(first.principal, D("12"), D("50"), 10)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        amount = first.total + sum(repayments.pending_charges(loan, db.session.get(Installment, first.id), day))
    barrier, errors = threading.Barrier(2), []

    def in_thread(work):
        def target():
            with app.app_context():
                try:
                    barrier.wait()
                    work()
                except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
                    errors.append(exc)
                finally:
                    db.session.remove()
        return threading.Thread(target=target)

    threads = [in_thread(lambda: batch.run(day)),
               in_thread(lambda: repayments.post_repayment(loan_id, amount, day, fund(), finance_user(), "k-1"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    paid = installment(app, loan_id, 1)
    assert paid.paid_off_on == day and paid.penalty == penalty
    assert (paid.penalty_pending, paid.compound_pending) == (0, 0)
    with app.app_context():
        batch.run(day)       # whichever went first, a re-run sees the receipt: nothing overdue
        rows = db.session.execute(select(Installment.overdue_days, Installment.penalty_pending)).all()
        assert rows and all(tuple(r) == (0, 0) for r in rows)
        assert db.session.get(Loan, loan_id).overdue_days == 0
