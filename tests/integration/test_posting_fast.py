"""正常还款 written out as SQL on PostgreSQL (``repayments_fast``, issue #8) posts exactly what
the ORM path posts: the same receipts are posted on two identical loans, one each way, and
every row written is compared — installments, receipt, receipt lines, voucher lines, the
stored balances and the audit rows. Off the common path (a replay, a receipt that pays the
loan off, a closed period) the ORM path answers, with the same words."""
import json
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select, update

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AuditLog, Installment, JournalLine, LedgerAccount, Loan, Voucher
from app.models.system import NumberSequence
from app.models.servicing import Repayment, RepaymentLine
from app.services import ledger, period_close, repayments, repayments_fast

from .servicing_helpers import D, active_loan, capital, finance_user, fund, key, on
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty

#: Columns that differ between two loans by construction (ids, numbers, times, keys).
IDS = {"id", "loan_id", "voucher_id", "repayment_id", "installment_id", "receipt_no", "voucher_no", "created_at",
       "idempotency_key", "source_id", "payer", "description", "memo"}


@pytest.fixture
def twins(postgres, login_as):
    capital(postgres)
    return active_loan(postgres, login_as, name="张三"), active_loan(postgres, login_as, name="张三")


@pytest.fixture
def sql_posts(monkeypatch):
    """Count the receipts ``repayments_fast`` wrote (``attach`` runs once for each)."""
    written = []
    original = repayments_fast.attach

    def attach(receipt):
        written.append(receipt.id)
        return original(receipt)

    monkeypatch.setattr(repayments_fast, "attach", attach)
    return written


def post(app, loan_id, amount, received_on, fast, idempotency_key=None):
    repayments_fast.ENABLED = fast
    try:
        with app.app_context():
            receipt = repayments.post_repayment(loan_id, D(amount), received_on, fund(), finance_user(),
                                                idempotency_key or key(), payer="张三")
            return receipt.id, receipt.receipt_no, [(line.seq, line.component, line.amount) for line in receipt.lines]
    finally:
        repayments_fast.ENABLED = True


def _plain(row, skip=IDS):
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


def _changes(text):
    """An audit row's changes without the values that differ by construction."""
    return {k: v for k, v in json.loads(text).items() if k not in IDS}


def last_log(app):
    with app.app_context():
        return db.session.execute(select(func.max(AuditLog.id))).scalar() or 0


def written(app, receipt_id, after):
    """Everything a receipt wrote (its audit rows: those after audit row ``after``), without
    what differs between two loans."""
    with app.app_context():
        receipt = db.session.get(Repayment, receipt_id)
        lines = db.session.execute(select(RepaymentLine).where(RepaymentLine.repayment_id == receipt_id)
                                   .order_by(RepaymentLine.id)).scalars().all()
        journal = db.session.execute(
            select(LedgerAccount.code, JournalLine.fund_account_id, JournalLine.loan_id.is_not(None), JournalLine.debit,
                   JournalLine.credit, JournalLine.memo)
            .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
            .where(JournalLine.voucher_id == receipt.voucher_id).order_by(JournalLine.id)).all()
        row_ids = {("voucher", str(receipt.voucher_id)), ("repayment", str(receipt.id))}
        row_ids |= {("repayment_line", str(line.id)) for line in lines}
        row_ids |= {("journal_line", str(i)) for i in db.session.execute(
            select(JournalLine.id).where(JournalLine.voucher_id == receipt.voucher_id)).scalars()}
        row_ids |= {("installment", str(line.installment_id)) for line in lines}
        logs = db.session.execute(select(AuditLog).where(AuditLog.table_name.in_(
            ("voucher", "journal_line", "repayment", "repayment_line", "installment")),
            AuditLog.created_at >= receipt.created_at - timedelta(seconds=5))).scalars().all()
        audit = sorted((log.action, log.table_name, log.username, json.dumps(_changes(log.changes), sort_keys=True))
                       for log in logs if (log.table_name, log.row_id) in row_ids
                       and log.id > after)
        return {"receipt": _plain(receipt), "lines": [_plain(line) for line in lines],
                "journal": [tuple(row) for row in journal], "audit": audit}


def schedule(app, loan_id):
    with app.app_context():
        rows = db.session.execute(select(Installment).where(Installment.loan_id == loan_id)
                                  .order_by(Installment.seq)).scalars().all()
        loan = db.session.get(Loan, loan_id)
        return [_plain(row) for row in rows], loan.principal_balance, loan.status


@contextmanager
def sql_sent(app):
    """The SQL statements sent while it is open (a list, filled as they go)."""
    sent = []

    def seen(conn, cursor, statement, *args):
        sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def first_installment(app, loan_id):
    """(due date, total) of the loan's installment 1."""
    with app.app_context():
        item = db.session.execute(select(Installment).where(Installment.loan_id == loan_id, Installment.seq == 1)
                                  ).scalar_one()
        return item.due_date, item.total


def test_sql_posting_writes_what_the_orm_posting_writes(postgres, twins, sql_posts):
    app = postgres
    orm_loan, sql_loan = twins
    with app.app_context():
        first = db.session.execute(select(Installment).where(Installment.loan_id == orm_loan)
                                   .order_by(Installment.seq)).scalars().all()
        due1, total1, due2 = first[0].due_date, first[0].total, first[1].due_date
        # Interest booked as receivable at a month end (期末计提) is cleared by the receipt.
        for loan_id in twins:
            db.session.execute(update(Installment).where(Installment.loan_id == loan_id, Installment.seq == 2)
                               .values(interest_accrued=D("300.00")))
        db.session.commit()
    steps = [
        (due1, D("1000.00")),                               # part of installment 1 on its due date
        (due1 + timedelta(days=20), total1 - D("1000.00")),  # the rest, 20 days late: 罚息 and 复利 charged
        (due2 + timedelta(days=3), total1 + D("123.45")),    # installment 2 late, with its 应收利息, and part of 3
    ]
    for received_on, amount in steps:
        on(app, received_on)
        orm_after = last_log(app)
        orm = post(app, orm_loan, amount, received_on, fast=False)
        sql_after = last_log(app)
        sql = post(app, sql_loan, amount, received_on, fast=True)
        assert sql[2] == orm[2]   # the allocation the caller sees
        assert sql[1] > orm[1]    # numbered by the same counter, after it
        assert written(app, sql[0], sql_after) == written(app, orm[0], orm_after)
        assert schedule(app, sql_loan) == schedule(app, orm_loan)
    assert len(sql_posts) == len(steps)
    with app.app_context():
        assert ledger.balance_differences() == []
        audit = written(app, sql[0], sql_after)["audit"]
    assert {(action, table) for action, table, _u, _c in audit} == {
        ("insert", "voucher"), ("insert", "journal_line"), ("insert", "repayment"), ("insert", "repayment_line"),
        ("update", "installment")}
    penalty = [line for line in written(app, sql[0], sql_after)["lines"] if line["component"] == "penalty"]
    assert penalty and penalty[0]["amount"] > 0


def test_the_receipt_comes_back_loaded(postgres, twins, sql_posts):
    """The caller reads the receipt, its lines and its voucher at once without a query."""
    app = postgres
    due, total = first_installment(app, twins[1])
    on(app, due)
    with app.app_context():
        receipt = repayments.post_repayment(twins[1], total, due, fund(), finance_user(), key(), remarks="柜台")
        with sql_sent(app) as sent:
            seen = (receipt.receipt_no, receipt.amount, receipt.remarks, receipt.principal_amount,
                    [(line.seq, line.component, line.amount, line.loan_fee_id) for line in receipt.lines],
                    receipt.voucher.voucher_no, [line.debit for line in receipt.voucher.lines])
        assert sent == []
        assert seen[1] == total and seen[2] == "柜台" and sum(seen[6]) == total
        assert repayments.was_replayed(receipt) is False
    assert len(sql_posts) == 1


def test_off_the_common_path_the_orm_path_answers(postgres, twins, sql_posts):
    app = postgres
    loan_id = twins[1]
    with app.app_context():
        items = db.session.execute(select(Installment).where(Installment.loan_id == loan_id)
                                   .order_by(Installment.seq)).scalars().all()
        due, total = items[0].due_date, items[0].total
        everything = sum((i.total for i in items), D("0"))
        last_due = items[-1].due_date
    on(app, due)
    same = key()
    first = post(app, loan_id, total, due, fast=True, idempotency_key=same)
    again = post(app, loan_id, total, due, fast=True, idempotency_key=same)   # a replay: nothing posted
    assert again[0] == first[0] and len(sql_posts) == 1
    with app.app_context():
        with pytest.raises(DomainError, match="超过应还合计"):
            repayments.post_repayment(loan_id, everything, due, fund(), finance_user(), key())
        assert db.session.execute(select(Repayment.id).where(Repayment.loan_id == loan_id)).scalars().all() \
            == [first[0]]
    on(app, last_due)
    with app.app_context():
        rest = sum((i.total for i in db.session.execute(select(Installment).where(
            Installment.loan_id == loan_id, Installment.seq > 1)).scalars()), D("0"))
    # Everything else on the last due date, with 罚息 for the late ones: a quote tells how much.
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        owed = repayments.summary(loan, last_due).due_now
    assert owed > rest
    closing = post(app, loan_id, owed, last_due, fast=True)
    assert len(sql_posts) == 1   # paying the loan off: the ORM path (it closes the loan)
    rows, balance, _status = schedule(app, loan_id)
    assert all(row["paid_off_on"] is not None for row in rows) and balance == 0
    assert closing[0] != first[0]
    with app.app_context():
        assert ledger.balance_differences() == []


def test_a_month_closed_while_posting_is_refused_and_nothing_is_written(postgres, twins, sql_posts, monkeypatch):
    """The month closes (another clerk, committed) after the receipt's reads saw it open: the
    check after the voucher's INSERT refuses the receipt; nothing is written, not even a
    number. (The reads are made to miss the close, as they do when it commits in between.)"""
    app = postgres
    loan_id = twins[1]
    on(app, date(2026, 4, 1))
    with app.app_context():
        period_close.close("2026-03", finance_user())
        db.session.commit()
        before = (db.session.execute(select(func.count()).select_from(Voucher)).scalar_one(), fund().posted_net,
                  db.session.get(Loan, loan_id).principal_balance)
    missed = repayments_fast.Prepared("microloan_receipt_read_missing_the_close", repayments_fast._READ.replace(
        "p.period_end >= %(on)s::date", "p.period_end >= %(on)s::date AND false"))
    assert missed.prepare != repayments_fast.READ.prepare
    monkeypatch.setattr(repayments_fast, "READ", missed)
    with app.app_context(), sql_sent(app) as sent:
        with pytest.raises(DomainError) as refused:
            repayments.post_repayment(loan_id, D("1000.00"), date(2026, 3, 31), fund(), finance_user(), key())
    assert refused.value.message == "2026-03 已结账，不能记账到 2026-03-31；请使用本期日期或请管理员反结账"
    assert [s for s in sent if s == repayments_fast.WRITE_CALL]   # refused by the check after the INSERTs
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Repayment)).scalar_one() == 0
        assert (db.session.execute(select(func.count()).select_from(Voucher)).scalar_one(), fund().posted_net,
                db.session.get(Loan, loan_id).principal_balance) == before
        assert db.session.execute(select(NumberSequence.value).where(
            NumberSequence.prefix == "HK", NumberSequence.day == "20260331")).scalar_one_or_none() is None
        assert ledger.balance_differences() == []
    assert sql_posts == []


def test_a_receipt_is_three_round_trips(postgres, twins, sql_posts):
    """Once the connection has its statements prepared: the lock with the reads, the numbers
    and ids, the writes; then the commit."""
    app = postgres
    due, total = first_installment(app, twins[1])
    on(app, due)
    post(app, twins[1], D("100.00"), due, fast=True)   # prepares the statements on this connection
    with app.app_context():
        account, user = fund(), finance_user()
        with sql_sent(app) as sent:
            repayments.post_repayment(twins[1], total - D("100.00"), due, account, user, key())
    assert [statement.split("(")[0] for statement in sent] == [
        "EXECUTE microloan_receipt_lock_v1", "EXECUTE microloan_receipt_numbers_v1",
        "EXECUTE microloan_receipt_write0_v1"], sent
    assert len(sql_posts) == 2


def test_switched_off_the_orm_path_posts(postgres, twins, sql_posts):
    """SQL_POSTING=0 (a pooler in transaction mode): every receipt goes the ORM path."""
    app = postgres
    due, total = first_installment(app, twins[1])
    on(app, due)
    app.config["SQL_POSTING"] = False
    try:
        post(app, twins[1], total, due, fast=True)
    finally:
        app.config["SQL_POSTING"] = True
    assert sql_posts == []
    assert schedule(app, twins[1])[0][0]["paid_off_on"] == due
