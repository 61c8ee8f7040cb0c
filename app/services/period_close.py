"""期末结算 (period close): close a month, accrue the interest earned but not yet received,
write the closing report, and lock the month against posting; 反结账 (reopen) unlocks it.

Rules (one transaction each; nothing lands when a check fails):

* A month "YYYY-MM" can be closed once it has ended by the business date (营业日期 later
  than its last day). Months close in order: when an earlier period has ever been closed,
  the latest earlier month that has any voucher must be closed (locked) first; the very
  first close is free (earlier months are then locked with it).
* Interest accrual (利息计提), one voucher dated the month's last day ``M``, source
  ("period_close", period id), one Dr 1132 应收利息 / Cr 6011 利息收入 pair per loan:
  for every active loan (在贷) and every installment not paid off, the interest
  *recognised* by the end of ``M`` is ``repayments.accrued_interest(loan, item, M + 1)``
  (interest from the installment's start up to M + 1 day, 算头不算尾; the whole
  scheduled interest once the installment is due on or before M + 1, so interest due and
  unpaid at month end is a receivable too), capped at the scheduled interest less any
  waiver. What is already recognised is ``interest_accrued`` (booked to 1132 and not yet
  received) plus ``interest_paid`` (received: credited to 1132 or 6011 by the receipt).
  The difference, when positive, is accrued and added to ``Installment.interest_accrued``.
  A later receipt clears 1132 first for that part (``repayments.cleared_receivable``), so
  every yuan of interest reaches 6011 exactly once, by accrual or by receipt.
  Interest received before a month is closed counts in the month it was received.
* Non-accrual (DOMAIN.md §5): a loan more than 90 days overdue at the month end
  (``repayments.summary(loan, M).overdue_days``) accrues nothing; what was accrued before
  stays on 1132 until received or written off, and its later interest is income when it
  is received (cash basis).
* The closing report (JSON in ``PeriodClose.report``): trial balance totals of the month,
  active loans and outstanding principal at the month end, the interest accrued, the
  month's income by account and the number of vouchers.
* Reopen (反结账): only the latest closed period, with a reason; recorded on the row
  (status "reopened"). The accrual vouchers stay; closing the month again accrues only
  the difference (the rule above is cumulative).

Locking: the lock itself is ``ledger.check_open`` (every posting). On PostgreSQL a close
first locks the active loans (the order every receipt takes: loan, then voucher) and then
the voucher table, so a receipt or posting racing the close either lands before it (and
is in the report) or waits and is then refused if dated in the closed month.
"""
import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload

from app.domain.errors import DomainError
from app.domain.money import ZERO
from app.extensions import db
from app.models import Loan, Voucher
from app.models.servicing import PeriodClose
from app.services import ledger, month_end, repayments, settings

SOURCE_TYPE = "period_close"
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


# -- periods ---------------------------------------------------------------------------
def parse_period(value):
    """"2026-03" → ("2026-03", first day, last day), or a DomainError."""
    raw = (value or "").strip() if isinstance(value, str) else ""
    match = _PERIOD.match(raw)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise DomainError(f"结账月份“{raw}”无效，格式为 YYYY-MM（如 2026-03）", "period")
    year, month = int(match.group(1)), int(match.group(2))
    return raw, date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def period_of(day):
    return f"{day:%Y-%m}"


def get(period):
    return db.session.execute(select(PeriodClose).where(PeriodClose.period == period)).scalar_one_or_none()


def latest_closed():
    return db.session.execute(select(PeriodClose).where(PeriodClose.status == "closed")
                              .order_by(PeriodClose.period_end.desc()).limit(1)).scalar_one_or_none()


def suggested_period(today=None):
    """The month a clerk most likely closes next: the month after the latest closed one,
    else the month before the business date."""
    latest = latest_closed()
    if latest is not None:
        return period_of(latest.period_end + timedelta(days=1))
    today = today or settings.business_date()
    return period_of(today.replace(day=1) - timedelta(days=1))


def _check_can_close(period, start, end, today):
    if end >= today:
        raise DomainError(f"{period} 尚未结束（营业日期 {today.isoformat()}），月末之后才能结账", "period")
    row = get(period)
    if row is not None and row.status == "closed":
        raise DomainError(f"{period} 已结账", "period")
    latest = latest_closed()
    if latest is not None and latest.period_end > end:
        raise DomainError(f"{latest.period} 已结账，不能再结之前的月份 {period}", "period")
    earlier_closes = db.session.execute(select(func.count()).select_from(PeriodClose)
                                        .where(PeriodClose.period_end < start)).scalar_one()
    last_before = db.session.execute(select(func.max(Voucher.business_date))
                                     .where(Voucher.business_date < start)).scalar()
    if earlier_closes and last_before is not None and ledger.closed_period_of(last_before) is None:
        raise DomainError(f"请先结账 {period_of(last_before)}（该月有凭证尚未结账），月份须按顺序结账", "period")
    return row


def check_can_close(period):
    """Raise the DomainError closing ``period`` now would meet on its dates and order."""
    period, start, end = parse_period(period)
    _check_can_close(period, start, end, settings.business_date())


# -- accrual ---------------------------------------------------------------------------
@dataclass
class AccrualLine:
    loan: Loan
    amount: Decimal
    items: list = field(default_factory=list)   # (installment, amount)


@dataclass
class Accrual:
    """What closing the month accrues: one line per loan, and the loans left out."""

    period: str
    end: date
    lines: list = field(default_factory=list)
    non_accrual: list = field(default_factory=list)   # (loan, overdue days)

    @property
    def total(self):
        return sum((line.amount for line in self.lines), ZERO)


def _active_loans(lock=False):
    query = (select(Loan).where(Loan.status == "active").order_by(Loan.id)
             .options(selectinload(Loan.installments), selectinload(Loan.product), selectinload(Loan.customer)))
    if lock and db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Loan)
    return db.session.execute(query.execution_options(populate_existing=True)).scalars().all()


def installment_accrual(loan, item, end):
    """Interest of ``item`` to recognise at the end of the day ``end`` and not yet
    recognised (accrued or received); never negative."""
    if item.paid_off_on is not None:
        return ZERO
    earned = repayments.accrued_interest(loan, item, end + timedelta(days=1))
    earned = min(earned, item.interest - (item.interest_waived or ZERO))
    recognised = (item.interest_accrued or ZERO) + (item.interest_paid or ZERO)
    return max(ZERO, earned - recognised)


def compute_accrual(period, lock=False):
    """The accrual closing ``period`` would post (nothing is written)."""
    period, _start, end = parse_period(period)
    result = Accrual(period, end)
    non_accrual_days = int(settings.get("non_accrual_days"))   # 非应计 (DOMAIN.md §5), as the batch uses
    for loan in _active_loans(lock):
        if not loan.installments or loan.installments[0].start_date > end:
            continue
        overdue = repayments.summary(loan, end).overdue_days
        if overdue > non_accrual_days:
            result.non_accrual.append((loan, overdue))
            continue
        items = [(item, amount) for item in loan.installments
                 if (amount := installment_accrual(loan, item, end)) > 0]
        if items:
            result.lines.append(AccrualLine(loan, sum((a for _i, a in items), ZERO), items))
    return result


def _post_accrual(accrual, row, user):
    if not accrual.lines:
        return None
    lines = []
    for line in accrual.lines:
        memo = f"计提利息 {line.loan.loan_no} {line.loan.customer.name}"[:200]
        lines += [ledger.Line(ledger.INTEREST_RECEIVABLE, debit=line.amount, loan_id=line.loan.id, memo=memo),
                  ledger.Line(ledger.INTEREST_INCOME, credit=line.amount, loan_id=line.loan.id, memo=memo)]
        for item, amount in line.items:
            item.interest_accrued = (item.interest_accrued or ZERO) + amount
    return ledger.post(f"{accrual.period} 期末计提贷款利息", lines, user, business_date=accrual.end,
                       source=(SOURCE_TYPE, row.id))


# -- report ----------------------------------------------------------------------------
def _s(value):
    return str(Decimal(value).quantize(Decimal("0.01")))


def build_report(row, accrual, voucher):
    """The closing report's figures (a dict of strings and numbers, stored as JSON)."""
    _period, start, end = parse_period(row.period)
    trial = ledger.trial_balance(start, end)
    t = trial.totals
    income = []
    for r in trial.rows:
        if r.account.category == "income" and r.is_leaf and (r.period_debit or r.period_credit):
            income.append({"code": r.account.code, "name": r.account.name,
                           "amount": _s(r.period_credit - r.period_debit)})
    principal_account = ledger.get_account(ledger.LOAN_PRINCIPAL)
    active = db.session.execute(select(func.count()).select_from(Loan).where(Loan.status == "active")).scalar_one()
    # Every accrual of the month (a re-close after 反结账 adds a voucher for the difference).
    accrual_ids = db.session.execute(select(Voucher.id).where(
        Voucher.source_type == SOURCE_TYPE, Voucher.source_id == row.id)).scalars().all()
    accrued_total = sum(ledger.voucher_amounts(accrual_ids).values(), ZERO)
    vouchers = db.session.execute(select(func.count()).select_from(Voucher).where(
        Voucher.business_date >= start, Voucher.business_date <= end)).scalar_one()
    return {
        "period": row.period, "start": start.isoformat(), "end": end.isoformat(),
        "trial_balance": {key: _s(getattr(t, key)) for key in (
            "opening_debit", "opening_credit", "period_debit", "period_credit", "closing_debit", "closing_credit")}
        | {"balanced": trial.balanced},
        "loans": {"count": active, "principal_outstanding": _s(ledger.account_balance(principal_account, end))},
        "interest_receivable": _s(ledger.account_balance(ledger.INTEREST_RECEIVABLE, end)),
        "accrual": {"amount": _s(accrual.total), "loans": len(accrual.lines),
                    "voucher_no": voucher.voucher_no if voucher is not None else None,
                    "month_total": _s(accrued_total),
                    "non_accrual": [{"loan_no": loan.loan_no, "overdue_days": days}
                                    for loan, days in accrual.non_accrual]},
        "income": income,
        "income_total": _s(sum((Decimal(i["amount"]) for i in income), ZERO)),
        "vouchers": vouchers,
    }


def report_of(row):
    try:
        return json.loads(row.report) if row.report else {}
    except ValueError:
        return {}


# -- close and reopen ------------------------------------------------------------------
def _lock_ledger():
    """PostgreSQL: the active loans, then the voucher table (see the module docstring)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE voucher IN SHARE ROW EXCLUSIVE MODE"))


def close(period, user, confirm=True):
    """结账: accrue, report and lock ``period`` ("YYYY-MM"); commits. Returns the PeriodClose."""
    try:
        if not confirm:
            raise DomainError("请确认结账：结账后该月及以前的日期不能再记账", "confirm")
        period, start, end = parse_period(period)
        today = settings.business_date()
        _active_loans(lock=True)          # the loans first (the order a receipt takes) …
        _lock_ledger()                    # … then the voucher table
        row = _check_can_close(period, start, end, today)
        if row is None:
            row = PeriodClose(period=period, period_end=end)
            db.session.add(row)
        row.status = "closing"            # not "closed" yet: the accrual is dated in the month
        db.session.flush()
        accrual = compute_accrual(period)
        voucher = _post_accrual(accrual, row, user)
        if voucher is not None:
            row.accrual_voucher_id = voucher.id
        row.status = "closed"
        row.closed_by_id = getattr(user, "id", None)
        row.closed_at = datetime.now()
        db.session.flush()
        month_end.freeze(end)             # the month's balances can no longer change: keep them
        row.report = json.dumps(build_report(row, accrual, voucher), ensure_ascii=False)
        db.session.commit()
        return row
    except Exception:
        db.session.rollback()
        raise


def reopen(period_id, user, reason):
    """反结账 (admins): unlock the latest closed period, with a reason; commits."""
    try:
        reason = (reason or "").strip() if isinstance(reason, str) else ""
        if not reason:
            raise DomainError("请填写反结账原因", "reason")
        if len(reason) > 2000:
            raise DomainError("反结账原因不能超过 2000 字", "reason")
        row = db.session.get(PeriodClose, period_id)
        if row is None:
            raise DomainError("结账记录不存在")
        if row.status != "closed":
            raise DomainError(f"{row.period} 当前状态为“{row.status_label}”，只有已结账的月份可以反结账")
        latest = latest_closed()
        if latest is not None and latest.id != row.id:
            raise DomainError(f"请先反结账 {latest.period}：反结账须从最近结账的月份开始")
        row.status = "reopened"
        row.reopened_by_id = getattr(user, "id", None)
        row.reopened_at = datetime.now()
        row.reopen_reason = reason
        db.session.flush()
        month_end.thaw(month_end.lock_date())     # what is no longer locked is no longer frozen
        db.session.commit()
        return row
    except Exception:
        db.session.rollback()
        raise


def periods(limit=120):
    return db.session.execute(select(PeriodClose).order_by(PeriodClose.period_end.desc()).limit(limit)
                              ).scalars().all()

