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
import time
from collections import Counter
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, event, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, \
    run_state_machine_as_test
from sqlalchemy import Numeric, func, select, type_coerce

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
MAX_LOANS = 4

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


TIMES = Counter()
SEEN = Counter()   # what the examples did: printed at the end (pytest -s) to judge the coverage


def _note(what):
    SEEN[what] += 1
    event(what)


def _money_sum(column):
    return type_coerce(func.coalesce(func.sum(column), 0), Numeric(18, 2))


def _cents(value):
    return D(str(value)).quantize(CENT)


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
        self.checked_closed = set()
        self.active = {}           # loan id → payout date, for the loans still active
        with self.app.app_context():
            self.fund_id = fund().id
            self.expected_fund = ledger.fund_balance(fund())

    @initialize(spec=loan_specs)
    def start(self, spec):
        on(self.app, START)
        self._pay_out(spec)

    # -- operations ------------------------------------------------------------------
    @precondition(lambda self: len(self.active) < 2 and len(self.loans) < MAX_LOANS)
    @rule(spec=loan_specs)
    def pay_out(self, spec):
        self._pay_out(spec)

    def _pay_out(self, spec):
        began = time.perf_counter()
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
        self.active[loan_id] = self.today
        self.expected_fund -= amount
        _note(f"pay out {method}")
        TIMES["pay out"] += time.perf_counter() - began

    @rule(days=st.one_of(st.integers(1, 10), st.integers(11, 95)))
    def advance(self, days):
        self.today = min(self.today + timedelta(days=days), HORIZON)
        on(self.app, self.today)
        _note("advance")

    @precondition(lambda self: self.active)
    @rule(days=st.integers(0, 45), data=st.data())
    def advance_and_pay(self, days, data):
        """The common case, weighted up: time passes (maybe past a due date), then a receipt."""
        if days:
            self.advance(days)
        self.pay(data)

    @precondition(lambda self: self.active)
    @rule(data=st.data())
    def pay(self, data):
        loan_id = data.draw(st.sampled_from(sorted(self.active)), label="loan")
        with self.app.app_context():
            loan = db.session.get(Loan, loan_id)
            rows = repayments.payable(loan, self.today)
            if not rows:
                # Every installment paid but a fee still owed: collecting it closes the loan.
                assert repayments.fees_outstanding(loan), f"active loan {loan_id} owes nothing on {self.today}"
                amount = self._collect_fees(loan)
                assert db.session.get(Loan, loan_id).status == "settled"
                del self.active[loan_id]
                _note("fee receipt closed the loan")
                self.expected_fund += amount
                return
            most = int(sum((r.total_due for r in rows), ZERO) * 100)
            first = int(rows[0].total_due * 100)
            cents = data.draw(st.one_of(st.integers(1, most), st.integers(1, first), st.just(first), st.just(most)),
                              label="fen")
            amount = D(cents) / 100
            principal_before = ledger.loan_principal_outstanding(loan_id)
            key = uuid.uuid4().hex
            receipt = repayments.post_repayment(loan_id, amount, self.today, fund(), finance_user(), key)
            assert receipt.amount == amount and receipt.kind == "repayment"
            assert sum((line.amount for line in receipt.lines), ZERO) == amount
            principal_paid = sum((line.amount for line in receipt.lines if line.component == "principal"), ZERO)
            assert ledger.loan_principal_outstanding(loan_id) == principal_before - principal_paid
            interest_paid = sum((line.amount for line in receipt.lines
                                 if line.component in ("interest", "penalty", "compound")), ZERO)
            assert (receipt.principal_amount, receipt.interest_amount) == (principal_paid, interest_paid)
            loan = db.session.get(Loan, loan_id)
            if cents == most:   # everything payable paid: nothing left due on or before today
                assert repayments.summary(loan, self.today).due_now == ZERO
            self.receipts.append((key, loan_id, amount, receipt.id))
            if loan.status != "active":
                del self.active[loan_id]
            _note("receipt closed the loan" if loan.status == "settled" else
                  "receipt with penalty" if any(l.component in ("penalty", "compound") for l in receipt.lines)
                  else "receipt")
        self.expected_fund += amount

    def _collect_fees(self, loan):
        from app.services import fees

        total = ZERO
        for fee in loan.fees:
            if fee.due_on is not None and fee.account == "income" and fee.outstanding > 0:
                amount = fee.outstanding
                fees.collect(fee.id, amount, self.today, fund(), finance_user(), uuid.uuid4().hex)
                total += amount
        return total

    @rule(data=st.data())
    def pay_invalid(self, data):
        """Too much, zero, negative, a third decimal; or anything on a closed loan."""
        closed = [i for i in self.loans if i not in self.active]
        loan_id = data.draw(st.sampled_from(sorted(self.active) or closed), label="loan")
        with self.app.app_context():
            loan = db.session.get(Loan, loan_id)
            if loan.status == "active":
                over = D(data.draw(st.integers(1, 10 ** 7), label="over (fen)")) / 100
                choices = [_payable_total(loan, self.today) + over, D("0"), D("-1.00"), D("0.001"), D("1.005")]
            else:
                choices = [D("0.01"), D("100.00")]
            amount = data.draw(st.sampled_from(choices), label="amount")
            before = _loan_state(loan_id)
            with pytest.raises(DomainError) as refused:
                repayments.post_repayment(loan_id, amount, self.today, fund(), finance_user(), uuid.uuid4().hex)
            _note(f"refused: {refused.value.message[:6]}")
            db.session.rollback()
            assert _loan_state(loan_id) == before

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def replay(self, data):
        """The same idempotency key again: the first receipt, nothing posted."""
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
        _note("replayed key")

    @precondition(lambda self: any(self.today - d >= timedelta(days=15) for d in self.active.values()))
    @rule(data=st.data())
    def settle(self, data):
        """结清 (early, on time or late) of a loan paid out at least 15 days ago."""
        ready = sorted(i for i, d in self.active.items() if self.today - d >= timedelta(days=15))
        loan_id = data.draw(st.sampled_from(ready), label="loan")
        with self.app.app_context():
            loan = db.session.get(Loan, loan_id)
            total = repayments.quote(loan, self.today).total
            receipt = repayments.settle(loan_id, self.today, fund(), finance_user(), uuid.uuid4().hex)
            assert receipt.amount == total and receipt.kind == "settlement"
            assert sum((line.amount for line in receipt.lines), ZERO) == total
            loan = db.session.get(Loan, loan_id)
            assert loan.status == "settled" and loan.closed_on == self.today
            self.receipts.append((receipt.idempotency_key, loan_id, total, receipt.id))
            _note("settled early" if loan.installments[-1].due_date > self.today else "settled")
        del self.active[loan_id]
        self.expected_fund += total

    # -- invariants ------------------------------------------------------------------
    @invariant()
    def books_hold(self):
        began = time.perf_counter()
        with self.app.app_context():
            self._vouchers_balance()
            per_loan = self._principal_agrees()
            self._funds_agree()
            self._installments_within_bounds()
            self._closed_loans_owe_nothing(per_loan)
            # The stored balances the dashboard reads (Loan.principal_balance, FundAccount.posted_net)
            # follow every commit and every rollback of a refused receipt.
            assert ledger.balance_differences() == []
        TIMES["invariants"] += time.perf_counter() - began

    def _vouchers_balance(self):
        # Summed in SQL per voucher, compared as Decimals (SQLite sums NUMERIC as floats).
        sums = db.session.execute(
            select(JournalLine.voucher_id, _money_sum(JournalLine.debit), _money_sum(JournalLine.credit))
            .group_by(JournalLine.voucher_id)).all()
        assert [(v, d, c) for v, d, c in sums if _cents(d) != _cents(c)] == []
        debit, credit = ledger.totals()
        assert debit == credit
        assert db.session.execute(select(func.count()).select_from(JournalLine).where(
            (JournalLine.debit < 0) | (JournalLine.credit < 0))).scalar_one() == 0

    def _principal_agrees(self):
        """1301 = Σ (principal − principal_paid) over paid-out loans = Σ per-loan 1301 balances."""
        from_schedule = _cents(db.session.execute(
            select(_money_sum(Installment.principal - Installment.principal_paid))
            .where(Installment.loan_id.in_(select(Disbursement.loan_id)))).scalar_one())
        per_loan = {loan_id: _cents(net) for loan_id, net in db.session.execute(
            select(JournalLine.loan_id, _money_sum(JournalLine.debit - JournalLine.credit))
            .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
            .where(LedgerAccount.code == ledger.LOAN_PRINCIPAL)
            .group_by(JournalLine.loan_id))}
        assert None not in per_loan, "a line on 1301 without a loan"
        assert ledger.account_balance(ledger.LOAN_PRINCIPAL) == from_schedule == sum(per_loan.values(), ZERO)
        owed = {loan_id: _cents(amount) for loan_id, amount in db.session.execute(
            select(Installment.loan_id, _money_sum(Installment.principal - Installment.principal_paid))
            .where(Installment.loan_id.in_(self.loans)).group_by(Installment.loan_id))}
        for loan_id in self.loans:
            assert ledger.loan_principal_outstanding(loan_id) == owed[loan_id] == per_loan.get(loan_id, ZERO)
            assert owed[loan_id] >= 0
        return per_loan

    def _funds_agree(self):
        """Each fund account's balance is the sum of its lines; cash and bank fund accounts add
        up to their ledger accounts; the bank moved by exactly what this example paid and got."""
        funds = db.session.execute(select(FundAccount)).scalars().all()
        nets = {fund_id: _cents(d) - _cents(c) for fund_id, d, c in db.session.execute(
            select(JournalLine.fund_account_id, _money_sum(JournalLine.debit), _money_sum(JournalLine.credit))
            .where(JournalLine.fund_account_id.is_not(None)).group_by(JournalLine.fund_account_id))}
        balances = ledger.fund_balances(funds)
        by_ledger = {}
        for account in funds:
            net = nets.get(account.id, ZERO)
            assert balances[account.id] == (net if account.ledger_account.normal_side == "debit" else -net)
            if account.kind in ("cash", "bank"):
                code = account.ledger_account.code
                by_ledger[code] = by_ledger.get(code, ZERO) + balances[account.id]
        for code, total in by_ledger.items():
            assert ledger.account_balance(code) == total, code
        assert balances[self.fund_id] == self.expected_fund

    def _installments_within_bounds(self):
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
            nothing_owed = (i.principal_paid == i.principal and i.interest_paid + i.interest_waived == i.interest
                            and i.penalty_paid + i.penalty_waived == i.penalty and i.compound_paid == i.compound)
            assert (i.paid_off_on is not None) == nothing_owed, where
        # A receipt's lines add up to its amount.
        sums = db.session.execute(
            select(Repayment.id, Repayment.amount, _money_sum(RepaymentLine.amount))
            .join(RepaymentLine, RepaymentLine.repayment_id == Repayment.id)
            .where(Repayment.loan_id.in_(self.loans))
            .group_by(Repayment.id, Repayment.amount)).all()
        assert [(r, a, t) for r, a, t in sums if _cents(t) != a] == []

    def _closed_loans_owe_nothing(self, per_loan):
        loans = db.session.execute(select(Loan).where(Loan.id.in_(self.loans))).scalars().all()
        for loan in loans:
            if loan.status == "active":
                # A fully paid loan is closed by its last receipt (or its last fee): an active one
                # owes something.
                assert any(i.paid_off_on is None for i in loan.installments) or repayments.fees_outstanding(loan), \
                    loan.id
                continue
            assert loan.status == "settled", (loan.id, loan.status)
            assert per_loan.get(loan.id, ZERO) == ZERO
            if loan.id in self.checked_closed:
                continue
            self.checked_closed.add(loan.id)
            assert loan.closed_on is not None
            assert all(i.paid_off_on is not None for i in loan.installments)
            assert repayments.payable(loan, self.today) == []
            q = repayments.quote(loan, self.today)
            assert (q.principal, q.interest, q.penalty, q.compound) == (ZERO, ZERO, ZERO, ZERO), loan.id
            s = repayments.summary(loan, self.today)
            assert (s.principal_outstanding, s.due_now) == (ZERO, ZERO)


def test_random_servicing_keeps_the_ledger_sound(app, login_as):
    capital(app)
    LedgerMachine.app, LedgerMachine.login_as = app, staticmethod(login_as)
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=6, stateful_step_count=12, deadline=None, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.filter_too_much]))
    print("\nledger invariants, operations run:", dict(sorted(SEEN.items())))
    print("seconds:", {k: round(v, 1) for k, v in TIMES.items()})
