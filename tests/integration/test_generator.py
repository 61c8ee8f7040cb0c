"""The portfolio generator (issue #13, app/services/generator.py) on a tiny portfolio:
deterministic for a seed, valid identifiers, schedules from the engine, receipts that add up
and a ledger that balances (Σ debit = Σ credit, 1301 = the principal still owed)."""
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from app.domain.errors import DomainError
from app.domain.identity import check_id_matches, normalize_credit_code, normalize_id_number
from app.domain.schedule import generate_schedule
from app.extensions import db
from app.models import Customer, Installment, JournalLine, LedgerAccount, Loan
from app.models.servicing import Repayment, RepaymentLine
from app.services import loans as loan_service
from app.services.generator import generate
from tests.conftest import reset_database

pytestmark = pytest.mark.dirty

AS_OF = date(2026, 11, 30)
CUSTOMERS, LOANS = 24, 40
# What the generator writes; batch_run / classification_change hold timings and clock times.
TABLES = ("branch", "department", "customer", "loan", "installment", "loan_fee", "guarantor", "collateral",
          "voucher", "journal_line", "disbursement", "repayment", "repayment_line", "loan_status_change",
          "number_sequence", "provision_snapshot")
# Set by the clock, not by the generator: the batch's Core UPDATEs stamp loan.updated_at.
# Login bookkeeping changes whenever a test signs in as admin, not with the generator.
VOLATILE = {"updated_at", "password", "last_login", "login_count", "fail_login_count"}


def _rows():
    found = {}
    for name in TABLES:
        table = db.metadata.tables[name]
        columns = [c for c in table.columns if c.key not in VOLATILE]
        order = [table.c.id] if "id" in table.c else list(table.primary_key.columns) or columns
        found[name] = [tuple(row) for row in db.session.execute(select(*columns).order_by(*order))]
    users = db.metadata.tables["ab_user"]
    found["ab_user"] = [tuple(row) for row in db.session.execute(
        select(*[c for c in users.columns if c.key not in VOLATILE]).order_by(users.c.id))]
    return found


def _money(value):
    """A sum as Decimal to the fen (SQLite sums NUMERIC columns as floats)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _generate(seed=7):
    summary = generate(customers=CUSTOMERS, loans=LOANS, seed=seed, as_of=AS_OF)
    db.session.remove()
    return summary


def test_same_seed_same_rows_and_the_cli(app):
    with app.app_context():
        summary = _generate()
        first = _rows()
        assert summary.loans == LOANS and summary.customers == CUSTOMERS
        with pytest.raises(DomainError, match="已有贷款"):
            generate(customers=5, loans=5, seed=7, as_of=AS_OF)
        db.session.remove()
        reset_database()
    result = app.test_cli_runner().invoke(args=["demo", "generate", "--customers", str(CUSTOMERS), "--loans",
                                                str(LOANS), "--seed", "7", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "贷款 40" in result.output
    with app.app_context():
        second = _rows()
        for name in first:
            assert first[name] == second[name], f"{name} differs between two runs with the same seed"
        assert len(first["loan"]) == LOANS and len(first["installment"]) > LOANS * 5
        db.session.remove()
        reset_database()
        _generate(seed=8)
        assert _rows()["customer"] != first["customer"]


def test_portfolio_is_consistent(app):
    with app.app_context():
        _generate()
        # -- identifiers: valid by app/domain/identity.py, consistent with gender and birth date
        for customer in db.session.execute(select(Customer)).scalars():
            if customer.kind in ("person", "sole_trader"):
                assert normalize_id_number(customer.id_number) == customer.id_number
                check_id_matches(customer.id_number, customer.gender, customer.birth_date)
            if customer.kind in ("company", "sole_trader"):
                assert normalize_credit_code(customer.credit_code) == customer.credit_code
            assert customer.officer.branch_id == customer.branch_id

        # -- schedules: exactly what the engine makes of each loan's own terms
        loans = db.session.execute(select(Loan)).scalars().all()
        assert {loan.status for loan in loans} <= {"active", "settled", "draft"}
        assert "settled" in {loan.status for loan in loans}
        methods = set()
        for loan in loans:
            methods.add(loan.method)
            expected = [(r.seq, r.start_date, r.due_date, r.principal, r.interest, r.total, r.balance)
                        for r in generate_schedule(loan_service.terms_of(loan))]
            actual = [(i.seq, i.start_date, i.due_date, i.principal, i.interest, i.total, i.balance)
                      for i in loan.installments]
            assert actual == expected, loan.loan_no
            if loan.status == "settled":
                assert all(i.paid_off_on is not None for i in loan.installments)
                assert loan.closed_on == max(i.paid_off_on for i in loan.installments)
        assert len(methods) >= 4

        # -- receipts: lines add up to the receipt, installments' paid columns to the lines
        amounts = dict(db.session.execute(select(Repayment.id, Repayment.amount)).all())
        line_sums = dict(db.session.execute(select(RepaymentLine.repayment_id, func.sum(RepaymentLine.amount))
                                            .group_by(RepaymentLine.repayment_id)).all())
        assert amounts and {k: _money(v) for k, v in line_sums.items()} == amounts
        paid = defaultdict(Decimal)
        for installment_id, component, amount in db.session.execute(
                select(RepaymentLine.installment_id, RepaymentLine.component, RepaymentLine.amount)
                .where(RepaymentLine.installment_id.is_not(None))):
            paid[(installment_id, component)] += amount
        for item in db.session.execute(select(Installment)).scalars():
            assert paid[(item.id, "principal")] == item.principal_paid
            assert paid[(item.id, "interest")] == item.interest_paid
            assert paid[(item.id, "penalty")] == item.penalty_paid
            assert paid[(item.id, "compound")] == item.compound_paid

        # -- the ledger: every voucher balances; 1301 = principal owed on paid-out loans
        sides = db.session.execute(select(JournalLine.voucher_id, func.sum(JournalLine.debit),
                                          func.sum(JournalLine.credit)).group_by(JournalLine.voucher_id)).all()
        assert [v for v, debit, credit in sides if _money(debit) != _money(credit)] == []
        debit, credit = db.session.execute(select(func.sum(JournalLine.debit), func.sum(JournalLine.credit))).one()
        assert _money(debit) == _money(credit) > 0

        def balance(code):
            return db.session.execute(
                select(func.coalesce(func.sum(JournalLine.debit - JournalLine.credit), 0))
                .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
                .where(LedgerAccount.code == code)).scalar()

        owed = db.session.execute(
            select(func.sum(Installment.principal - Installment.principal_paid))
            .join(Loan, Loan.id == Installment.loan_id).where(Loan.status.in_(("active", "settled")))).scalar()
        assert _money(balance("1301")) == _money(owed)
        assert _money(balance("1221")) == 0           # every fee receivable collected
        assert _money(balance("1002")) > 0            # the capital covers every payout

        # -- the nightly batch ran for the date: business date, classes, overdue days
        assert db.session.execute(text("SELECT value FROM setting WHERE key = 'business_date'")).scalar() == \
            AS_OF.isoformat()
        for loan in loans:
            unpaid = [i.due_date for i in loan.installments if i.paid_off_on is None and i.due_date < AS_OF]
            if loan.status == "active":
                assert loan.overdue_days == ((AS_OF - min(unpaid)).days if unpaid else 0), loan.loan_no
                assert (loan.classification == "normal") == (loan.overdue_days == 0)
