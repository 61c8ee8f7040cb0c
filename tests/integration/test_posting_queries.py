"""Posting speed kept (issue #8): one 正常还款 costs a fixed, small number of SQL statements,
and what made it small does not change what is posted.

The statements of one ``post_repayment``: lock the loan (with product and customer), its
installments with the idempotency key + last receipt date + business date on every row
(``repayments.lock_with_key``), the chart checks + closed period + which accounts are loan
principal (one query), the voucher's and the receipt's numbers (one upsert), the flush
(voucher, installment, journal lines, receipt, receipt lines), then the commit: the audit
rows, the loan's stored balance, the fund account's stored balance with the closed-period
check that must follow the voucher's INSERT riding on it (RETURNING) — on PostgreSQL
(psycopg2) those three in one round trip (``ledger.apply_moves_with``). Nothing is read
back after the commit.
"""
import json
from datetime import date

import pytest
from sqlalchemy import event, func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AuditLog, Installment, LedgerAccount, Loan, Voucher
from app.models.finance import FundAccount, JournalLine
from app.models.servicing import Repayment
from app.models.system import NumberSequence
from app.services import ledger, numbering, period_close, repayments, repayments_fast

from .servicing_helpers import D, active_loan, capital, finance_user, fund, key, on
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty
#: The most statements one posting may send (12 today, see the module docstring; 18, then 13
#: before).
MAX_STATEMENTS = 12
#: On PostgreSQL (psycopg2) the commit's writes — the audit rows, the loan's and the fund
#: account's stored balances with the closed-period check — go in one round trip: 10.
MAX_STATEMENTS_POSTGRES = 10


def _limit():
    dialect = db.session.get_bind().dialect
    return MAX_STATEMENTS_POSTGRES if (dialect.name, dialect.driver) == ("postgresql", "psycopg2") else MAX_STATEMENTS


class Statements:
    """The SQL statements sent while it is open (``sent``), and how many count (``count``):
    SQLite's BEGIN is left out, and the rows of one INSERT that SQLite sends one by one
    (PostgreSQL: one statement for them all) count once."""

    def __init__(self):
        self.sent = []
        self.engine = db.engine

    def _sent(self, conn, cursor, statement, *args):
        self.sent.append(" ".join(statement.split())[:120])

    @property
    def count(self):
        kept = [s for s in self.sent if s != "BEGIN"]
        return sum(1 for n, s in enumerate(kept) if n == 0 or s != kept[n - 1] or not s.startswith("INSERT"))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._sent)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._sent)


@pytest.fixture(autouse=True)
def orm_path(monkeypatch):
    """These are the ORM path's figures: on PostgreSQL a regular receipt is otherwise written
    out as SQL (``repayments_fast``: three round trips, tests/integration/test_posting_fast.py),
    and the ORM path still posts whatever that path hands over."""
    monkeypatch.setattr(repayments_fast, "ENABLED", False)


@pytest.fixture
def loan_id(app, login_as):
    capital(app)
    return active_loan(app, login_as)   # 100,000 at 12 %, 12 months 等额本息, from 2026-03-16


def first_installment(app, loan_id):
    with app.app_context():
        row = db.session.execute(select(Installment).where(Installment.loan_id == loan_id,
                                                           Installment.seq == 1)).scalar_one()
        return row.due_date, row.total


def test_one_posting_sends_at_most_the_fixed_number_of_statements(app, loan_id):
    due, total = first_installment(app, loan_id)
    on(app, due)
    with app.app_context():
        user, account = finance_user(), fund()   # as a request has them: read before the posting
        with Statements() as posting:
            receipt = repayments.post_repayment(loan_id, total, due, account, user, key())
        assert posting.count <= _limit(), "\n".join(posting.sent)
        # The business date came with the key lookup; the chart and the closed period in one
        # query; both numbers in one statement; the chart is not read again at the commit;
        # the closed period is not read on its own.
        assert not [s for s in posting.sent if s.startswith("SELECT setting")], posting.sent
        assert sum("number_sequence" in s for s in posting.sent) == 1, posting.sent
        assert sum("FROM ledger_account" in s for s in posting.sent) == 1, posting.sent
        assert not [s for s in posting.sent if s.startswith("SELECT period_close")], posting.sent

        # The receipt, its lines and its voucher are read back without a statement ...
        with Statements() as reading:
            figures = (receipt.receipt_no, receipt.amount, receipt.voucher.voucher_no,
                       [(line.seq, line.component, line.amount) for line in receipt.lines])
        assert reading.sent == []
        assert figures[1] == total and figures[0].startswith("HK") and figures[2].startswith("PZ")
        assert sorted(c for _s, c, _a in figures[3]) == ["interest", "principal"]
        assert sum(a for _s, _c, a in figures[3]) == total
        # ... and they are what the database holds.
        db.session.expire_all()
        stored = db.session.get(Repayment, receipt.id)
        assert (stored.receipt_no, stored.amount, stored.voucher.voucher_no) == figures[:3]
        assert [(line.seq, line.component, line.amount) for line in stored.lines] == figures[3]


def test_after_a_posting_the_loan_and_balances_are_read_afresh(app, loan_id):
    """The commit keeps the receipt loaded but expires the rest: the stored balances the
    commit itself updated (by SQL, not through the objects) are seen at once."""
    due, total = first_installment(app, loan_id)
    on(app, due)
    with app.app_context():
        user, account = finance_user(), fund()
        loan = db.session.get(Loan, loan_id)
        balance_before, net_before = loan.principal_balance, account.posted_net
        receipt = repayments.post_repayment(loan_id, total, due, account, user, key())
        principal = receipt.total_of("principal")
        assert principal > 0
        assert loan.principal_balance == balance_before - principal
        assert account.posted_net == net_before + total
        assert loan.installments[0].paid_off_on == due
        assert ledger.balance_differences() == []


def test_a_replayed_key_posts_nothing_and_returns_the_first_receipt(app, loan_id):
    due, total = first_installment(app, loan_id)
    on(app, due)
    same = key()
    with app.app_context():
        user, account = finance_user(), fund()
        first = repayments.post_repayment(loan_id, total, due, account, user, same)
        first_id, first_no = first.id, first.receipt_no
        assert not repayments.was_replayed(first)
    with app.app_context():
        user, account = finance_user(), fund()
        again = repayments.post_repayment(loan_id, total, due, account, user, same)
        assert (again.id, again.receipt_no) == (first_id, first_no)
        assert repayments.was_replayed(again)
        counters = dict(db.session.execute(select(NumberSequence.prefix, NumberSequence.value).where(
            NumberSequence.day == f"{due:%Y%m%d}")).all())
        assert counters["HK"] == 1   # the replay drew no number


def test_next_numbers_draws_several_counters_in_one_statement(app):
    day = date(2026, 5, 6)
    with app.app_context():
        before = numbering.next_number("ZZ", day)
        with Statements() as drawing:
            got = numbering.next_numbers([("ZZ", day), ("ZY", day)])
        assert drawing.count == 1
        assert before == "ZZ202605060001"
        assert got == ["ZZ202605060002", "ZY202605060001"]
        assert numbering.next_numbers([("ZY", day)]) == ["ZY202605060002"]
        with pytest.raises(ValueError):
            numbering.next_numbers([("ZZ", day), ("ZZ", day)])
        db.session.rollback()


def test_lines_on_a_sub_account_of_1301_move_the_loan_balance(app, loan_id):
    """Whether an account counts as loan principal comes with the chart checks (a recursive
    query over the chart): a sub-account of 1301 at any depth counts, another does not."""
    with app.app_context():
        user, account = finance_user(), fund()
        top = db.session.execute(select(LedgerAccount).where(LedgerAccount.code == ledger.LOAN_PRINCIPAL)).scalar_one()
        child = LedgerAccount(code="130101", name="正常类贷款", category="asset", normal_side="debit", parent=top,
                              is_active=True)
        grandchild = LedgerAccount(code="13010101", name="正常类个人贷款", category="asset", normal_side="debit",
                                   parent=child, is_active=True)
        db.session.add_all([child, grandchild])
        db.session.commit()
        before, net_before = db.session.get(Loan, loan_id).principal_balance, account.posted_net
        ledger.post("本金科目测试", [ledger.Line("13010101", debit=D("100.00"), loan_id=loan_id),
                                 ledger.Line(None, credit=D("100.00"), fund_account=account)], user)
        ledger.post("其他科目测试", [ledger.Line("1221", debit=D("50.00"), loan_id=loan_id),
                                 ledger.Line(None, credit=D("50.00"), fund_account=account)], user)
        db.session.commit()
        assert db.session.get(Loan, loan_id).principal_balance == before + D("100.00")
        assert ledger.balance_differences() == []
        lines = db.session.execute(select(JournalLine.debit).join(LedgerAccount).where(
            LedgerAccount.code == "13010101")).scalars().all()
        assert lines == [D("100.00")]
        assert db.session.get(FundAccount, account.id).posted_net == net_before - D("150.00")


def test_a_posting_writes_its_audit_rows_in_its_transaction(app, loan_id):
    """One audit row per row written, with the values (inserts) and the changes (updates):
    the receipt, its lines, the voucher, its lines and the installment paid."""
    due, total = first_installment(app, loan_id)
    on(app, due)
    with app.app_context():
        user, account = finance_user(), fund()
        last = db.session.execute(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1)).scalar() or 0
        receipt = repayments.post_repayment(loan_id, total, due, account, user, key())
        receipt_id, voucher_id = receipt.id, receipt.voucher_id
        rows = db.session.execute(select(AuditLog).where(AuditLog.id > last)).scalars().all()
        written = sorted((row.action, row.table_name) for row in rows)
        assert written == sorted([("insert", "repayment"), ("insert", "repayment_line"), ("insert", "repayment_line"),
                                  ("insert", "voucher"), ("insert", "journal_line"), ("insert", "journal_line"),
                                  ("insert", "journal_line"), ("update", "installment")]), written
        assert {row.username for row in rows} == {"finance"}
        by_table = {row.table_name: row for row in rows}
        inserted = json.loads(by_table["repayment"].changes)
        assert by_table["repayment"].row_id == str(receipt_id)
        assert inserted["amount"] == [None, f"{total:.2f}"] and inserted["voucher_id"] == [None, voucher_id]
        paid = json.loads(by_table["installment"].changes)
        assert set(paid) == {"principal_paid", "interest_paid", "paid_off_on"}, paid
        assert paid["paid_off_on"] == [None, due.isoformat()]


def _race_lost(monkeypatch):
    """The first closed-period check (with the chart, before any write) sees the month
    open, as it does when the close commits between that check and the voucher's INSERT."""
    original = ledger._chart_facts

    def before_the_close(lines, business_date=None):
        keys, facts, _closed = original(lines, business_date)
        return keys, facts, None

    monkeypatch.setattr(ledger, "_chart_facts", before_the_close)


def test_a_receipt_whose_month_closed_after_the_first_check_is_refused_at_the_commit(app, loan_id, monkeypatch):
    """The check after the voucher's INSERT rides on the commit's fund-account UPDATE: the
    commit refuses, nothing is written, not even a number."""
    on(app, date(2026, 4, 1))
    with app.app_context():
        user, account = finance_user(), fund()
        period_close.close("2026-03", user)
        db.session.commit()
        vouchers = db.session.execute(select(func.count()).select_from(Voucher)).scalar_one()
        net, balance = account.posted_net, db.session.get(Loan, loan_id).principal_balance
        counters = db.session.execute(select(NumberSequence.prefix, NumberSequence.value)
                                      .where(NumberSequence.day == "20260331")).all()   # the accrual's PZ
    _race_lost(monkeypatch)
    with app.app_context():
        with pytest.raises(DomainError) as refused:
            repayments.post_repayment(loan_id, D("1000.00"), date(2026, 3, 31), fund(), finance_user(), key())
        assert refused.value.message == "2026-03 已结账，不能记账到 2026-03-31；请使用本期日期或请管理员反结账"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Repayment)).scalar_one() == 0
        assert db.session.execute(select(func.count()).select_from(Voucher)).scalar_one() == vouchers
        assert db.session.execute(select(NumberSequence.prefix, NumberSequence.value)
                                  .where(NumberSequence.day == "20260331")).all() == counters
        assert (fund().posted_net, db.session.get(Loan, loan_id).principal_balance) == (net, balance)
        assert ledger.balance_differences() == []
    # Any other posting still meets the check inside ledger.post, right after its INSERT.
    with app.app_context():
        user, account = finance_user(), fund()
        with pytest.raises(DomainError, match="2026-03 已结账"):
            ledger.post("补记", [ledger.Line(None, debit=D("10.00"), fund_account=account),
                               ledger.Line("6301", credit=D("10.00"))], user, business_date=date(2026, 3, 31))
        db.session.rollback()


def test_audit_rows_keep_text_the_driver_could_read_as_placeholders(app, loan_id):
    """On PostgreSQL the audit rows go out as SQL text bound by the driver in the commit's one
    round trip: a payer or remark with ``%``, ``%s``, quotes or a backslash is stored as typed,
    in the receipt and in its audit row."""
    due, total = first_installment(app, loan_id)
    on(app, due)
    payer, remarks = "张三 100% 付清 %s %(x)s", "备注 'quoted' \\ \"dq\" ;-- %%"
    with app.app_context():
        user, account = finance_user(), fund()
        last = db.session.execute(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1)).scalar() or 0
        receipt = repayments.post_repayment(loan_id, total, due, account, user, key(), payer=payer, remarks=remarks)
        receipt_id = receipt.id
    with app.app_context():
        stored = db.session.get(Repayment, receipt_id)
        assert (stored.payer, stored.remarks) == (payer, remarks)
        row = db.session.execute(select(AuditLog).where(AuditLog.id > last, AuditLog.table_name == "repayment")
                                 ).scalar_one()
        changes = json.loads(row.changes)
        assert changes["payer"] == [None, payer] and changes["remarks"] == [None, remarks]
        assert row.username == "finance" and row.row_id == str(receipt_id)
        assert ledger.balance_differences() == []
