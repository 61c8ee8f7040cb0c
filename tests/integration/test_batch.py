"""日终批处理: overdue days, penalty accrual to the fen, classification floors with history,
provisions, idempotent re-runs and catch-up over missed days (issue #9 §1–3)."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.domain.servicing import compound_interest, penalty_interest
from app.extensions import db
from app.models import Installment, Loan
from app.models.risk import BatchRun, ClassificationChange, ProvisionSnapshot
from app.services import batch, repayments, settings

from .servicing_helpers import D, installment, loan_id, repay  # noqa: F401

FIRST_DUE = date(2026, 4, 16)   # the fixture loan: 100,000 at 12 %, 12 months, from 2026-03-16


def run(app, day, trigger="cli"):
    with app.app_context():
        return [(r.as_of, r.status) for r in batch.run(day, trigger=trigger)]


def loan_state(app, loan_id):
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        rows = db.session.execute(
            select(Installment.seq, Installment.overdue_days, Installment.penalty_pending,
                   Installment.compound_pending, Installment.pending_as_of)
            .where(Installment.loan_id == loan_id).order_by(Installment.seq)).all()
        history = db.session.execute(select(func.count(ClassificationChange.id))).scalar()
        return (loan.overdue_days, loan.classification, loan.non_accrual, [tuple(r) for r in rows], history)


def history(app, loan_id):
    with app.app_context():
        return [(h.changed_on, h.from_class, h.to_class, h.source) for h in db.session.execute(
            select(ClassificationChange).where(ClassificationChange.loan_id == loan_id)
            .order_by(ClassificationChange.id)).scalars()]


def test_overdue_days_and_penalty_match_a_receipt_to_the_fen(app, loan_id):
    day = FIRST_DUE + timedelta(days=10)
    assert run(app, day) == [(day, "success")]
    first = installment(app, loan_id, 1)
    assert first.overdue_days == 10 and first.pending_as_of == day
    # 12 % + 50 % → 18 %/yr on the unpaid principal and interest for 10 days (DOMAIN.md §3).
    assert first.penalty_pending == penalty_interest(first.principal, D("12"), D("50"), 10)
    assert first.compound_pending == compound_interest(first.interest, D("12"), D("50"), 10)
    assert first.penalty_pending > 0 and installment(app, loan_id, 2).overdue_days == 0
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert (loan.overdue_days, loan.classification) == (10, "special_mention")
        assert settings.business_date() == day
        # What a receipt would crystallise on that day equals what the batch shows.
        item = db.session.get(Installment, first.id)
        assert repayments.pending_charges(loan, item, day) == (first.penalty_pending, first.compound_pending)
    repay(app, loan_id, first.total + first.penalty_pending + first.compound_pending, day)
    paid = installment(app, loan_id, 1)
    assert paid.paid_off_on == day and paid.penalty == first.penalty_pending
    assert (paid.penalty_pending, paid.compound_pending) == (0, 0)
    run(app, day + timedelta(days=1))
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert (loan.overdue_days, loan.classification) == (0, "normal")
    assert [h[1:3] for h in history(app, loan_id)] == [("normal", "special_mention"), ("special_mention", "normal")]


def test_the_worked_penalty_example(app, loan_id):
    """DOMAIN.md §3: 7,963.73 principal and 921.15 interest ten days late → 39.82 and 4.61."""
    with app.app_context():
        item = db.session.execute(select(Installment).where(Installment.loan_id == loan_id,
                                                            Installment.seq == 1)).scalar_one()
        item.principal, item.interest, item.total = D("7963.73"), D("921.15"), D("8884.88")
        db.session.commit()
    run(app, FIRST_DUE + timedelta(days=10))
    first = installment(app, loan_id, 1)
    assert (first.penalty_pending, first.compound_pending) == (D("39.82"), D("4.61"))


def test_rerunning_a_date_changes_nothing_and_missed_days_are_caught_up(app, loan_id):
    start = FIRST_DUE + timedelta(days=1)
    run(app, start)
    target = start + timedelta(days=5)
    assert run(app, target) == [(start + timedelta(days=n), "success") for n in range(1, 6)]
    before = loan_state(app, loan_id)
    assert run(app, target) == [(target, "success")]
    assert loan_state(app, loan_id) == before
    with app.app_context():
        assert db.session.execute(select(func.count(BatchRun.id))).scalar() == 7
        with pytest.raises(DomainError, match="不能倒回"):
            batch.run(start)
        with pytest.raises(DomainError, match="一次最多补跑"):
            batch.run(target + timedelta(days=400))


def test_classes_move_down_with_the_floors_and_history(app, loan_id):
    run(app, FIRST_DUE)
    run(app, FIRST_DUE + timedelta(days=100))   # 100 runs, one per day
    assert [(h[0] - FIRST_DUE).days for h in history(app, loan_id)] == [1, 91]
    assert [h[2] for h in history(app, loan_id)] == ["special_mention", "substandard"]
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan.overdue_days == 100 and loan.non_accrual
        snapshot = {s.loan_class: s for s in db.session.execute(
            select(ProvisionSnapshot).where(ProvisionSnapshot.as_of == FIRST_DUE + timedelta(days=100))).scalars()}
        assert set(snapshot) == {"normal", "special_mention", "substandard", "doubtful", "loss"}
        balance = sum(i.principal - i.principal_paid for i in loan.installments)
        assert snapshot["substandard"].balance == balance and snapshot["substandard"].loan_count == 1
        assert snapshot["substandard"].specific == (balance * D("0.25")).quantize(D("0.01"))


def test_a_failed_step_is_recorded_and_rolled_back(app, loan_id, monkeypatch):
    def boom(as_of):
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(batch, "STEPS", batch.STEPS[:2] + [("classify", boom)] + batch.STEPS[3:])
    with app.app_context():
        with pytest.raises(DomainError, match="磁盘已满"):
            batch.run(FIRST_DUE + timedelta(days=3))
        runs = db.session.execute(select(BatchRun)).scalars().all()
        assert [(r.status, "磁盘已满" in r.error) for r in runs] == [("failed", True)]
    assert installment(app, loan_id, 1).overdue_days == 0   # the mark_overdue step was rolled back


def test_stored_balances_are_checked_each_night(app, loan_id):
    """The dashboard reads Loan.principal_balance; the batch stops when it differs from the
    journal, and ``flask batch rebuild-balances`` sets it from the journal again."""
    from app.services import ledger

    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan.principal_balance == ledger.loan_principal_outstanding(loan_id) == D("100000.00")
        db.session.execute(Loan.__table__.update().where(Loan.id == loan_id).values(principal_balance=D("99999.99")))
        db.session.commit()
        with pytest.raises(DomainError, match=f"账务余额核对不符（1 处）：项目 #{loan_id} 存量 99999.99 ≠ 分录 100000.00"):
            batch.run(FIRST_DUE)
    result = app.test_cli_runner().invoke(args=["batch", "rebuild-balances"])
    assert "1 differences corrected" in result.output
    with app.app_context():
        assert db.session.get(Loan, loan_id).principal_balance == D("100000.00")
        assert [r.status for r in batch.run(FIRST_DUE)][-1] == "success"


def test_a_portfolio_of_cases_in_one_run(app, login_as):
    """On time, partly paid late, within grace, and settled: each gets its own figures in one run."""
    from app.models import LoanProduct

    from .servicing_helpers import active_loan, capital

    capital(app)
    on_time = active_loan(app, login_as, name="按时")
    partly = active_loan(app, login_as, name="部分")
    graced = active_loan(app, login_as, name="宽限")
    with app.app_context():
        loan = db.session.get(Loan, graced)
        product = db.session.get(LoanProduct, loan.product_id)
        # Its own product with 5 grace days, so the others keep none.
        clone = LoanProduct(**{c.key: getattr(product, c.key) for c in LoanProduct.__table__.columns if c.key != "id"})
        clone.code, clone.name, clone.grace_days = "GRACE5", "宽限五天", 5
        db.session.add(clone)
        db.session.flush()
        loan.product_id = clone.id
        db.session.commit()
    first = installment(app, on_time, 1)
    repay(app, on_time, first.total, first.due_date)
    repay(app, partly, D("5000.00"), first.due_date + timedelta(days=2))   # penalty, compound, interest, principal
    day = first.due_date + timedelta(days=4)
    run(app, day)
    with app.app_context():
        states = {loan.id: (loan.overdue_days, loan.classification) for loan in db.session.execute(select(Loan)).scalars()}
    assert states[on_time] == (0, "normal")
    assert states[partly] == (4, "special_mention") and states[graced] == (4, "special_mention")
    assert installment(app, graced, 1).penalty_pending == 0            # 4 days ≤ 5 grace days
    rest = installment(app, partly, 1)
    assert rest.accrued_to == first.due_date + timedelta(days=2)
    # Two more days on what is left, from the receipt that crystallised the first two.
    assert rest.penalty_pending == penalty_interest(rest.principal - rest.principal_paid, D("12"), D("50"), 2)
    assert rest.compound_pending == compound_interest(rest.interest - rest.interest_paid, D("12"), D("50"), 2)
