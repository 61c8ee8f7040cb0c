"""Ledger invariants under random servicing (hypothesis, stateful).

A random sequence of operations on the service layer over a few loans: pay out a loan of a
random product / method / term / amount, receive random valid amounts (0.01 up to what
``repayments.payable`` allows), try invalid receipts (too much, zero, negative, a third
decimal, on a closed loan) that must be refused and change nothing, replay a receipt's
idempotency key, move the business date forward (penalty accrues), settle. After every
step the books must hold (DOMAIN.md §0, §3):

- every voucher balances (Σ debit = Σ credit), and so do the overall totals;
- 1301 贷款本金 = Σ over paid-out loans of (principal − principal_paid) of the installments
  = Σ ``ledger.loan_principal_outstanding``, and per loan the two agree;
- each cash/bank fund account's balance = Σ of its lines = what the model expects
  (capital − payouts + receipts), and the fund balances add up to 1001/1002;
- no installment's paid component exceeds its scheduled or charged amount, none negative;
  ``paid_off_on`` is set exactly when nothing is owed on the row;
- a receipt's lines add up to its amount;
- a settled loan owes nothing (principal, interest, penalty, compound; ``payable`` empty).

The database is not reset between examples (too slow): each example pays out new loans
and the global invariants hold over everything in the database.
"""
import itertools
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, \
    run_state_machine_as_test
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.domain.identity import complete_id_number
from app.extensions import db
from app.models import Customer, Installment, JournalLine, Loan, Voucher
from app.models.finance import FundAccount, LedgerAccount
from app.models.servicing import Disbursement, Repayment, RepaymentLine
from app.services import ledger, repayments

from .servicing_helpers import D, capital, finance_user, fund, on
from .test_loans import acting, business_date, create_loan  # noqa: F401 (business_date: autouse fixture)

pytestmark = pytest.mark.dirty
START = date(2026, 3, 16)
ZERO = D("0.00")
CENT = D("0.01")
HORIZON = START + timedelta(days=500)
MAX_LOANS = 3

# (product code, method, term range, amount range in yuan, extra form fields)
PRODUCTS = [
    ("GRJYD", "equal_installment", (3, 6), (10000, 300000), {}),
    ("GRJYD", "equal_principal", (3, 6), (10000, 300000), {}),
    ("QYLDZJ", "monthly_interest", (3, 4), (200000, 500000), {"guarantee_types": ["guarantee"]}),
    ("DQQGD", "bullet", (20, 90), (50000, 300000), {"guarantee_types": ["guarantee"]}),
]

loan_specs = st.tuples(
    st.sampled_from(range(len(PRODUCTS))),
    st.integers(0, 10 ** 6),     # picks the term within the product's range
    st.integers(0, 10 ** 9),     # picks the amount (in fen) within the product's range
)


_BIRTHS = (date(1970, 1, 1) + timedelta(days=n) for n in itertools.count())


def _customer(app, name):
    """A person customer (no documents: paying out does not need them) with an id number of
    its own, so any number of examples can run in one session."""
    from app.services import customers as customer_service

    id_number = complete_id_number(f"110105{next(_BIRTHS):%Y%m%d}001")
    with acting(app, "officer_a") as user:
        customer = Customer(kind="person", name=name, id_number=id_number, mobile="13800138000")
        customer.officer = user
        customer_service.prepare(customer, user)
        db.session.add(customer)
        db.session.commit()
        return customer.id


def _active_loan(app, login_as, disbursed_on, name, **form):
    """servicing_helpers.active_loan with a customer from ``_customer``."""
    from app.services import disbursement

    loan_id = create_loan(app, login_as("officer_a"), _customer(app, name), **form)
    with app.app_context():
        db.session.get(Loan, loan_id).status = "ready_to_disburse"
        db.session.commit()
        disbursement.disburse(loan_id, finance_user(), fund(), disbursed_on, "工商银行", name, "6222020200112233445")
    return loan_id


def _product_id(code):
    from app.models import LoanProduct

    return db.session.execute(select(LoanProduct.id).where(LoanProduct.code == code)).scalar_one()


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _loan_state(loan_id):
    """Everything a refused receipt must leave as it was."""
    loan = db.session.get(Loan, loan_id)
    rows = db.session.execute(select(Installment).where(Installment.loan_id == loan_id)
                              .order_by(Installment.seq)).scalars().all()
    return (loan.status, loan.closed_on, _count(Voucher), _count(JournalLine), _count(Repayment),
            tuple((i.seq, i.principal, i.interest, i.principal_paid, i.interest_paid, i.penalty, i.penalty_paid,
                   i.compound, i.compound_paid, i.accrued_to, i.interest_accrued, i.paid_off_on) for i in rows))


def _payable_total(loan, as_of):
    return sum((r.total_due for r in repayments.payable(loan, as_of)), ZERO)


class LedgerMachine(RuleBasedStateMachine):
    """One example: up to MAX_LOANS new loans serviced at random."""

    app = None
    login_as = None

    def __init__(self):
        super().__init__()
        self.today = START
        self.loans = []            # ids of this example's loans
        self.receipts = []         # (key, loan id, amount, receipt id)
        with self.app.app_context():
            self.fund_id = fund().id
            self.expected_fund = ledger.fund_balance(fund())

    # -- helpers ---------------------------------------------------------------------
    def _statuses(self):
        with self.app.app_context():
            return {i: s for i, s in db.session.execute(select(Loan.id, Loan.status).where(Loan.id.in_(self.loans)))}

    def _active(self):
        return sorted(i for i, s in self._statuses().items() if s == "active")

    def _settled(self):
        return sorted(i for i, s in self._statuses().items() if s == "settled")

    @initialize()
    def start(self):
        on(self.app, START)

    # -- operations ------------------------------------------------------------------
    @precondition(lambda self: len(self.loans) < MAX_LOANS)
    @rule(spec=loan_specs)
    def pay_out(self, spec):
        index, term_pick, amount_pick = spec
        code, method, (term_lo, term_hi), (amount_lo, amount_hi), extra = PRODUCTS[index]
        term = term_lo + term_pick % (term_hi - term_lo + 1)
        fen = amount_lo * 100 + amount_pick % ((amount_hi - amount_lo) * 100 + 1)
        amount = D(fen) / 100
        with self.app.app_context():
            product = _product_id(code)
        form = {"guarantee_types": ["unsecured"], **extra}
        loan_id = _active_loan(self.app, self.login_as, self.today, f"借款人{len(self.loans) + 1}",
                               product=str(product), method=method, term=str(term), amount=f"{amount:.2f}",
                               annual_rate="12", start_date=self.today.isoformat(), **form)
        with self.app.app_context():
            loan = db.session.get(Loan, loan_id)
            assert loan.status == "active" and loan.amount == amount
            assert sum((i.principal for i in loan.installments), ZERO) == amount
        self.loans.append(loan_id)
        self.expected_fund -= amount

    @precondition(lambda self: self.today < HORIZON)
    @rule(days=st.one_of(st.integers(1, 10), st.integers(11, 95)))
    def advance(self, days):
        self.today = min(self.today + timedelta(days=days), HORIZON)
        on(self.app, self.today)

    @precondition(lambda self: self.loans)
    @rule(data=st.data())
    def pay(self, data):
        active = self._active()
        if not active:
            return
        loan_id = data.draw(st.sampled_from(active), label="loan")
        with self.app.app_context():
            loan = db.session.get(Loan, loan_id)
            rows = repayments.payable(loan, self.today)
            assert rows, f"active loan {loan_id} has nothing payable on {self.today}"
            most = sum((r.total_due for r in rows), ZERO)
            first = rows[0].total_due
            cents = data.draw(st.one_of(st.just(int(most * 100)), st.just(int(first * 100)),
                                        st.integers(1, int(most * 100))), label="fen")
            amount = D(cents) / 100
            principal_before = ledger.loan_principal_outstanding(loan_id)
            key = uuid.uuid4().hex
            receipt = repayments.post_repayment(loan_id, amount, self.today, fund(), finance_user(), key)
            assert receipt.amount == amount and receipt.kind == "repayment"
            assert sum((line.amount for line in receipt.lines), ZERO) == amount
            principal_paid = sum((line.amount for line in receipt.lines if line.component == "principal"), ZERO)
            assert ledger.loan_principal_outstanding(loan_id) == principal_before - principal_paid
            # Paying everything payable leaves nothing due on or before today.
            loan = db.session.get(Loan, loan_id)
            if amount == most:
                assert repayments.summary(loan, self.today).due_now == ZERO
            self.receipts.append((key, loan_id, amount, receipt.id))
        self.expected_fund += amount

    @precondition(lambda self: self.loans)
    @rule(data=st.data())
    def pay_invalid(self, data):
        loan_id = data.draw(st.sampled_from(self.loans), label="loan")
        with self.app.app_context():
            loan = db.session.get(Loan, loan_id)
            if loan.status == "active":
                most = _payable_total(loan, self.today)
                over = data.draw(st.integers(1, 10 ** 7), label="over (fen)")
                choices = [most + D(over) / 100, D("0"), D("-1.00"), D("0.001"), D("1.005")]
            else:
                choices = [D("0.01"), D("100.00")]
            amount = data.draw(st.sampled_from(choices), label="amount")
            before = _loan_state(loan_id)
            with pytest.raises(DomainError):
                repayments.post_repayment(loan_id, amount, self.today, fund(), finance_user(), uuid.uuid4().hex)
            db.session.rollback()
            assert _loan_state(loan_id) == before

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def replay(self, data):
        key, loan_id, amount, receipt_id = data.draw(st.sampled_from(self.receipts), label="receipt")
        with self.app.app_context():
            before = _loan_state(loan_id)
            again = repayments.post_repayment(loan_id, amount, self.today, fund(), finance_user(), key)
            assert again.id == receipt_id
            assert _loan_state(loan_id) == before
            # The same key for another amount is refused.
            with pytest.raises(DomainError, match="幂等键"):
                repayments.post_repayment(loan_id, amount + CENT, self.today, fund(), finance_user(), key)
            db.session.rollback()
            assert _loan_state(loan_id) == before

    @precondition(lambda self: self.loans)
    @rule(data=st.data())
    def settle(self, data):
        active = self._active()
        if not active:
            return
        loan_id = data.draw(st.sampled_from(active), label="loan")
        with self.app.app_context():
            loan = db.session.get(Loan, loan_id)
            total = repayments.quote(loan, self.today).total
            receipt = repayments.settle(loan_id, self.today, fund(), finance_user(), uuid.uuid4().hex)
            assert receipt.amount == total and receipt.kind == "settlement"
            assert sum((line.amount for line in receipt.lines), ZERO) == total
            loan = db.session.get(Loan, loan_id)
            assert loan.status == "settled" and loan.closed_on == self.today
            self.receipts.append((receipt.idempotency_key, loan_id, total, receipt.id))
        self.expected_fund += total

    # -- invariants ------------------------------------------------------------------
    @invariant()
    def books_balance(self):
        with self.app.app_context():
            unbalanced = db.session.execute(
                select(JournalLine.voucher_id, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
                .group_by(JournalLine.voucher_id)
                .having(func.sum(JournalLine.debit) != func.sum(JournalLine.credit))).all()
            assert unbalanced == []
            debit, credit = ledger.totals()
            assert debit == credit
            negative = db.session.execute(select(func.count()).select_from(JournalLine).where(
                (JournalLine.debit < 0) | (JournalLine.credit < 0))).scalar_one()
            assert negative == 0

    @invariant()
    def principal_agrees(self):
        with self.app.app_context():
            from_schedule = D(db.session.execute(
                select(func.coalesce(func.sum(Installment.principal - Installment.principal_paid), 0))
                .where(Installment.loan_id.in_(select(Disbursement.loan_id)))).scalar_one()).quantize(CENT)
            per_loan_ledger = {loan_id: D(net).quantize(CENT) for loan_id, net in db.session.execute(
                select(JournalLine.loan_id, func.sum(JournalLine.debit - JournalLine.credit))
                .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
                .where(LedgerAccount.code == ledger.LOAN_PRINCIPAL)
                .group_by(JournalLine.loan_id))}
            assert None not in per_loan_ledger, "a line on 1301 without a loan"
            assert ledger.account_balance(ledger.LOAN_PRINCIPAL) == from_schedule == sum(per_loan_ledger.values(),
                                                                                         ZERO)
            for loan_id in self.loans:
                rows = db.session.execute(select(Installment).where(Installment.loan_id == loan_id)).scalars().all()
                owed = sum((i.principal - i.principal_paid for i in rows), ZERO)
                assert ledger.loan_principal_outstanding(loan_id) == owed == per_loan_ledger.get(loan_id, ZERO)
                assert owed >= 0

    @invariant()
    def funds_agree(self):
        with self.app.app_context():
            funds = db.session.execute(select(FundAccount)).scalars().all()
            by_ledger = {}
            for account in funds:
                debit, credit = db.session.execute(
                    select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
                    .where(JournalLine.fund_account_id == account.id)).one()
                net = D(debit) - D(credit)
                side = account.ledger_account.normal_side
                assert ledger.fund_balance(account) == (net if side == "debit" else -net).quantize(CENT)
                if account.kind in ("cash", "bank"):
                    by_ledger[account.ledger_account.code] = by_ledger.get(account.ledger_account.code, ZERO) + \
                        ledger.fund_balance(account)
            # Every line on a cash / bank account names its fund account: they add up.
            for code, total in by_ledger.items():
                assert ledger.account_balance(code) == total, code
            assert ledger.fund_balance(db.session.get(FundAccount, self.fund_id)) == self.expected_fund

    @invariant()
    def installments_within_bounds(self):
        if not self.loans:
            return
        with self.app.app_context():
            rows = db.session.execute(select(Installment).where(Installment.loan_id.in_(self.loans))).scalars().all()
            for i in rows:
                where = f"loan {i.loan_id} period {i.seq}"
                for value in (i.principal_paid, i.interest_paid, i.interest_waived, i.penalty, i.penalty_paid,
                              i.penalty_waived, i.compound, i.compound_paid, i.interest_accrued):
                    assert value >= 0, where
                assert i.principal_paid <= i.principal, where
                assert i.interest_paid + i.interest_waived <= i.interest, where
                assert i.penalty_paid + i.penalty_waived <= i.penalty, where
                assert i.compound_paid <= i.compound, where
                settled_row = (i.principal_paid == i.principal and i.interest_paid + i.interest_waived == i.interest
                               and i.penalty_paid + i.penalty_waived == i.penalty and i.compound_paid == i.compound)
                assert (i.paid_off_on is not None) == settled_row, where
            # A receipt's lines add up to its amount (settlements may offset a deposit).
            mismatched = db.session.execute(
                select(Repayment.id).join(RepaymentLine, RepaymentLine.repayment_id == Repayment.id)
                .where(Repayment.loan_id.in_(self.loans))
                .group_by(Repayment.id, Repayment.amount)
                .having(func.sum(RepaymentLine.amount) != Repayment.amount)).scalars().all()
            assert mismatched == []

    @invariant()
    def settled_loans_owe_nothing(self):
        settled = self._settled()
        with self.app.app_context():
            for loan_id in settled:
                loan = db.session.get(Loan, loan_id)
                assert all(i.paid_off_on is not None for i in loan.installments)
                assert ledger.loan_principal_outstanding(loan_id) == ZERO
                assert repayments.payable(loan, self.today) == []
                q = repayments.quote(loan, self.today)
                assert (q.principal, q.interest, q.penalty, q.compound) == (ZERO, ZERO, ZERO, ZERO), loan_id
                s = repayments.summary(loan, self.today)
                assert (s.principal_outstanding, s.due_now) == (ZERO, ZERO)
            # An active loan owes something (a fully paid loan is closed by its last receipt).
            for loan_id in self._active():
                loan = db.session.get(Loan, loan_id)
                assert any(i.paid_off_on is None for i in loan.installments), loan_id


def test_random_servicing_keeps_the_ledger_sound(app, login_as):
    capital(app)
    LedgerMachine.app, LedgerMachine.login_as = app, login_as
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=20, stateful_step_count=12, deadline=None, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.filter_too_much]))
