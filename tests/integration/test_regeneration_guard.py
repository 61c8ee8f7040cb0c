"""A regenerated schedule never drops below the interest already accrued at a period close
(booked to 1132 应收利息 and cleared only as that interest is paid): such a change is
refused rather than leaving 1132 with a receivable no installment will ever clear."""
import pytest

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Loan
from app.services import extension

from .servicing_helpers import D, loan_id  # noqa: F401 (fixture)
from .test_loans import business_date  # noqa: F401 (autouse fixture)


def test_rewrite_and_kept_period_keep_the_accrued_interest(app, loan_id):  # noqa: F811
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        first = loan.installments[0]
        interest = first.interest
        first.interest_accrued = interest - D("10.00")
        row = type("Row", (), {})()
        row.start_date, row.due_date = first.start_date, first.due_date
        row.principal, row.interest = first.principal, first.interest - D("10.01")
        row.total, row.balance = row.principal + row.interest, first.balance
        with pytest.raises(DomainError, match="已计提"):
            extension.rewrite(loan, 0, [row])
        plan = extension.Regeneration(after_seq=1, rows=[], kept=first, kept_interest=first.interest - D("10.01"))
        with pytest.raises(DomainError, match="已计提的利息"):
            plan.apply(loan)
        # At or above what was accrued it goes through.
        row.interest = first.interest - D("10.00")
        row.total = row.principal + row.interest
        extension.rewrite(loan, 0, [row] + [_row(i) for i in loan.installments[1:]])
        assert first.interest == interest - D("10.00") == first.interest_accrued
        db.session.rollback()


def _row(item):
    row = type("Row", (), {})()
    for name in ("start_date", "due_date", "principal", "interest", "total", "balance"):
        setattr(row, name, getattr(item, name))
    return row
