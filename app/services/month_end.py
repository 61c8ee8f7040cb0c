"""月末余额 (month-end balances): each loan's principal outstanding, and whether it was
overdue, at the end of every locked month, written once and read by the reports.

A month end on or before the latest closed period's end (期末结算) is locked: no voucher can
be dated on or before it (``ledger.check_open``), so the journal's balances at that day can
no longer change. The reports' past dates are mostly such month ends (上月末, 上年末, the
twelve points of the dashboard's overdue trend); reading them from the journal means reading
every 1301 line posted since, a year of lines at 100,000 loans (seconds). So they are frozen:

* ``freeze(day)`` writes ``LoanMonthBalance`` rows (loans whose balance at ``day`` is not
  zero; ``overdue``: an installment due before ``day`` and not paid off by its end) and the
  ``MonthEndSnapshot`` row with their totals, computed from the journal exactly as
  ``reports.common.balances`` computes a past date; and the month's 收支 per fund account
  (``MonthFundFlow``, reports.finance.freeze_month), which 收支汇总统计 sums for the whole
  months of its period. Only a locked day can be frozen.
* Period close freezes the closed month's end; the nightly batch freezes every locked
  month end of the last ``KEEP_MONTHS`` months that is missing (the months an earlier first
  close locked with it, or a re-close after a reopen).
* Reopen (反结账) moves the lock back: ``thaw`` deletes what is after the new lock date.

The ``overdue`` flag is the installments' state at the freeze: a receipt reversed later
(which makes an installment unpaid again) does not change a closed month's figures, as a
report filed for that month does not change.
"""
import calendar
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, insert, literal, select, type_coerce, union_all

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Installment, JournalLine, LoanMonthBalance, MonthEndSnapshot, MonthFundFlow, Voucher
from app.models.servicing import PeriodClose

KEEP_MONTHS = 24


def lock_date():
    """The last day no voucher may be dated on any more (the latest closed period's end), or None."""
    return db.session.execute(select(func.max(PeriodClose.period_end))
                              .where(PeriodClose.status == "closed")).scalar()


def is_month_end(day):
    return day.day == calendar.monthrange(day.year, day.month)[1]


def month_ends(last, months=KEEP_MONTHS):
    """The ``months`` month ends up to ``last`` (itself a month end), oldest first."""
    ends, day = [], last
    for _ in range(months):
        ends.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return ends[::-1]


def frozen(days):
    """The subset of ``days`` whose balances are frozen."""
    days = {d for d in days if isinstance(d, date) and is_month_end(d)}
    if not days:
        return set()
    return set(db.session.execute(select(MonthEndSnapshot.month_end)
                                  .where(MonthEndSnapshot.month_end.in_(sorted(days)))).scalars())


def overdue_loans_at(day):
    """Subquery of the loan ids with an installment due before ``day`` and not paid off by its end."""
    from app.services.reports import common

    rows = common.overdue_rows(day, "late_rows", Installment.loan_id)
    return select(rows.c.loan_id).distinct()


def freeze(day):
    """Write the balances at ``day`` (a locked month end) unless they are written; returns the
    MonthEndSnapshot (flushed, not committed)."""
    from app.services.reports import common, finance

    if not is_month_end(day):
        raise DomainError(f"{day} 不是月末，只有月末余额可以固定")
    lock = lock_date()
    if lock is None or day > lock:
        raise DomainError(f"{day:%Y-%m} 尚未结账，月末余额要在结账后才能固定")
    existing = db.session.get(MonthEndSnapshot, day)
    if existing is not None:
        return existing
    previous = day.replace(day=1) - timedelta(days=1)
    if db.session.get(MonthEndSnapshot, previous) is not None:
        bal = _rolled_forward(previous, day)
    else:
        bal = common.balances([day], nonzero=True, frozen_ok=False)
    late = overdue_loans_at(day).subquery("late")
    flag = bal.c.loan_id.in_(select(late.c.loan_id))
    db.session.execute(insert(LoanMonthBalance).from_select(
        ["month_end", "loan_id", "principal", "overdue"],
        select(literal(day), bal.c.loan_id, bal.c.b0, flag).where(bal.c.b0 != 0)))
    totals = db.session.execute(select(
        func.count(), func.coalesce(func.sum(LoanMonthBalance.principal), 0),
        func.count().filter(LoanMonthBalance.overdue),
        func.coalesce(func.sum(LoanMonthBalance.principal).filter(LoanMonthBalance.overdue), 0))
        .where(LoanMonthBalance.month_end == day)).one()
    finance.freeze_month(day)
    row = MonthEndSnapshot(month_end=day, loans=totals[0], principal=totals[1], overdue_loans=totals[2],
                           overdue_principal=totals[3], created_at=datetime.now())
    db.session.add(row)
    db.session.flush()
    return row


def _rolled_forward(previous, day):
    """Subquery (loan_id, b0): the balances at ``previous`` (frozen) plus the 1301 lines of the
    vouchers dated after it up to ``day``: one month of lines instead of every line since."""
    from app.services.reports import common

    net = (JournalLine.debit - JournalLine.credit).label("amount")
    moves = (select(JournalLine.loan_id.label("loan_id"), net)
             .join(Voucher, Voucher.id == JournalLine.voucher_id)
             .where(Voucher.business_date > previous, Voucher.business_date <= day,
                    JournalLine.account_id.in_(common.principal_account_ids()), JournalLine.loan_id.is_not(None)))
    held = select(LoanMonthBalance.loan_id, LoanMonthBalance.principal.label("amount")).where(
        LoanMonthBalance.month_end == previous)
    both = union_all(held, moves).subquery("both")
    # Rounded to the fen: SQLite sums NUMERIC columns as binary floats.
    total = type_coerce(func.round(func.sum(both.c.amount), 2), common.MONEY)
    return select(both.c.loan_id, total.label("b0")).group_by(both.c.loan_id).subquery("rolled")


def freeze_missing(months=KEEP_MONTHS):
    """Freeze every locked month end of the last ``months`` months not yet frozen; returns
    how many were written (the nightly batch's step 月末余额快照)."""
    lock = lock_date()
    if lock is None:
        return 0
    last = lock if is_month_end(lock) else lock.replace(day=1) - timedelta(days=1)
    wanted = month_ends(last, months)
    done = frozen(wanted)
    written = 0
    for day in wanted:
        if day not in done:
            freeze(day)
            written += 1
    return written


def thaw(after):
    """Delete what is frozen after ``after`` (None: everything): the lock moved back."""
    for model in (LoanMonthBalance, MonthFundFlow, MonthEndSnapshot):
        query = delete(model)
        if after is not None:
            query = query.where(model.month_end > after)
        db.session.execute(query)
