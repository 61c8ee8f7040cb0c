"""日终批处理: the nightly batch, set-based.

``run(as_of)`` brings the portfolio to the state of the business date ``as_of`` and makes it
the business date. Each step is one or a few SQL statements over the whole portfolio (never
a Python loop over loans), so 100,000 loans take seconds:

1. overdue      — installments and loans get their overdue days as of ``as_of``;
2. penalty      — each overdue installment's 罚息/复利 from ``accrued_to`` to ``as_of``, recomputed
                  from scratch (so a daily run rounds exactly like a receipt on that day), and
                  非应计 (non-accrual) past the parameter's days;
3. classify     — each active loan moves to max(automatic floor, approved manual class), with a
                  history row per change (DOMAIN.md §5);
4. provisions   — balance and specific reserve per class, kept per date;
5. post_loan    — a special check for each loan that became overdue (贷后专项检查);
6. credit_lines — customer credit lines past their end date become 已到期;
7. business date.

Every step is idempotent: re-running a date changes nothing. Missed dates are run one by one
in order. On PostgreSQL a run locks the loan table (EXCLUSIVE: reads go on, writes wait), so
a receipt posted meanwhile waits for the day to finish instead of interleaving with it.
"""
import json
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import select

from app.domain.errors import DomainError
from app.domain.money import round_money
from app.extensions import db
from app.models import Installment, Loan, LoanProduct, Setting
from app.models.risk import CLASSES, BatchRun, ClassificationChange, ProvisionSnapshot
from app.services import settings

MAX_CATCH_UP_DAYS = 366
STEP_LABELS = {
    "overdue": "逾期标记", "penalty": "罚息复利计提", "period_fees": "每期费用应收", "classify": "五级分类自动调整",
    "provisions": "拨备计算",
    "post_loan": "贷后专项检查", "credit_lines": "授信到期", "ledger_check": "账务余额核对",
    "month_end": "月末余额快照", "business_date": "营业日期",
}
# Thresholds in rank order: overdue days beyond which a loan is at least that class.
FLOOR_PARAMETERS = (("special_mention", "class_special_mention_days"), ("substandard", "class_substandard_days"),
                    ("doubtful", "class_doubtful_days"), ("loss", "class_loss_days"))
SPECIFIC_PARAMETERS = {"normal": None, "special_mention": "provision_special_mention_pct",
                       "substandard": "provision_substandard_pct", "doubtful": "provision_doubtful_pct",
                       "loss": "provision_loss_pct"}

_inst = Installment.__table__
_loan = Loan.__table__
_product = LoanProduct.__table__


# -- runs --------------------------------------------------------------------------------
def last_success():
    """The latest business date the batch completed, or None."""
    return db.session.execute(select(sa.func.max(BatchRun.as_of)).where(BatchRun.status == "success")).scalar()


def dates_to_run(as_of):
    """Each date from the day after the last successful run up to ``as_of`` (a re-run: just it)."""
    last = last_success()
    if last is None or as_of <= last:
        if last is not None and as_of < last:
            raise DomainError(f"日终批处理已运行到 {last}，不能倒回到 {as_of}；如需重跑，请选择 {last} 或之后的日期", "as_of")
        return [as_of]
    days = (as_of - last).days
    if days > MAX_CATCH_UP_DAYS:
        raise DomainError(f"距上次批处理（{last}）已 {days} 天，一次最多补跑 {MAX_CATCH_UP_DAYS} 天，请分段运行", "as_of")
    return [last + timedelta(days=n) for n in range(1, days + 1)]


def run(as_of=None, user=None, trigger="cli"):
    """Run the batch up to ``as_of`` (default: the calendar date), catching up missed dates.

    Returns the BatchRun rows, one per date. A failed date is recorded and stops the run
    (the DomainError names the date); dates before it stay done.
    """
    as_of = as_of or date.today()
    runs = []
    for day in dates_to_run(as_of):
        runs.append(run_day(day, user, trigger))
    return runs


def run_day(as_of, user=None, trigger="cli"):
    record = BatchRun(as_of=as_of, status="running", trigger=trigger, triggered_by_id=getattr(user, "id", None))
    db.session.add(record)
    db.session.commit()
    record_id, started = record.id, time.perf_counter()
    steps = []
    try:
        _lock()
        for name, step in STEPS:
            began = time.perf_counter()
            count = step(as_of)
            steps.append({"step": name, "label": STEP_LABELS[name], "seconds": round(time.perf_counter() - began, 3),
                          "count": int(count or 0)})
        db.session.commit()
        status, error = "success", None
    except Exception as exc:  # the run is recorded as failed whatever went wrong
        db.session.rollback()
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    settings.clear_cache()
    record = db.session.get(BatchRun, record_id)
    record.status, record.error = status, error
    record.finished_at = datetime.now()
    record.seconds = Decimal(str(round(time.perf_counter() - started, 3)))
    record.steps = json.dumps(steps, ensure_ascii=False)
    db.session.commit()
    if status == "failed":
        raise DomainError(f"{as_of} 日终批处理失败：{error}")
    return record


def _lock():
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("LOCK TABLE loan IN EXCLUSIVE MODE"))


def step_seconds(record):
    return json.loads(record.steps or "[]")


# -- SQL helpers -------------------------------------------------------------------------
def _is_pg():
    return db.session.get_bind().dialect.name == "postgresql"


def days_between(as_of, column):
    """SQL for (as_of − column) in days, on PostgreSQL and SQLite."""
    if _is_pg():
        return sa.cast(sa.literal(as_of, sa.Date) - column, sa.Integer)
    return sa.cast(sa.func.julianday(sa.literal(as_of.isoformat())) - sa.func.julianday(column), sa.Integer)


def _number(value):
    """A parameter as a SQL literal (SQLite stores Numeric as REAL; PostgreSQL keeps it exact)."""
    return sa.literal(Decimal(value), sa.Numeric(18, 8)) if _is_pg() else sa.literal(float(value))


def _active_loans():
    return select(_loan.c.id).where(_loan.c.status == "active")


def _unpaid_overdue(as_of):
    return sa.and_(_inst.c.paid_off_on.is_(None), _inst.c.due_date < as_of, _inst.c.loan_id.in_(_active_loans()))


# -- steps -------------------------------------------------------------------------------
def mark_overdue(as_of):
    # Rows no longer overdue (paid off, or back within a rewritten schedule) can only belong
    # to loans overdue at the last run, so the reset reads those loans' rows, not the table.
    was_overdue = select(_loan.c.id).where(_loan.c.overdue_days > 0)
    changed = db.session.execute(
        sa.update(_inst).where(_inst.c.loan_id.in_(was_overdue),
                               sa.or_(_inst.c.paid_off_on.is_not(None), _inst.c.due_date >= as_of),
                               sa.or_(_inst.c.overdue_days != 0, _inst.c.penalty_pending != 0,
                                      _inst.c.compound_pending != 0))
        .values(overdue_days=0, penalty_pending=0, compound_pending=0)).rowcount
    days = days_between(as_of, _inst.c.due_date)
    changed += db.session.execute(
        sa.update(_inst).where(_unpaid_overdue(as_of), _inst.c.overdue_days != days).values(overdue_days=days)
    ).rowcount
    oldest = (select(_inst.c.loan_id, sa.func.min(_inst.c.due_date).label("due"))
              .where(_inst.c.paid_off_on.is_(None), _inst.c.due_date < as_of).group_by(_inst.c.loan_id).subquery())
    loan_days = days_between(as_of, oldest.c.due)
    changed += db.session.execute(
        sa.update(_loan).where(_loan.c.id == oldest.c.loan_id, _loan.c.status == "active",
                               _loan.c.overdue_days != loan_days).values(overdue_days=loan_days)).rowcount
    # NOT EXISTS, not NOT IN: PostgreSQL plans it as an anti-join instead of a subplan per loan.
    still = sa.exists().where(_inst.c.loan_id == _loan.c.id, _inst.c.paid_off_on.is_(None),
                              _inst.c.due_date < as_of)
    changed += db.session.execute(
        sa.update(_loan).where(_loan.c.overdue_days > 0, sa.or_(_loan.c.status != "active", ~still))
        .values(overdue_days=0)).rowcount
    non_accrual = _loan.c.overdue_days > int(settings.get("non_accrual_days"))
    db.session.execute(sa.update(_loan).where(_loan.c.status == "active", _loan.c.non_accrual != non_accrual)
                       .values(non_accrual=non_accrual))
    return changed


def accrue_penalty(as_of):
    """罚息 = unpaid principal × rate × (1 + markup) × days / basis; 复利 the same on unpaid interest
    (DOMAIN.md §3), days counted from the last crystallisation (or the due date)."""
    rate = _loan.c.annual_rate * (1 + _product.c.penalty_markup_pct / 100) / 100
    days = days_between(as_of, sa.func.coalesce(_inst.c.accrued_to, _inst.c.due_date))
    principal = _inst.c.principal - _inst.c.principal_paid
    interest = _inst.c.interest - _inst.c.interest_paid - _inst.c.interest_waived

    def charge(base):
        return sa.case((sa.and_(base > 0, days > 0), sa.func.round(base * rate * days / _product.c.day_basis, 2)),
                       else_=0)

    count = db.session.execute(
        sa.update(_inst).where(
            _inst.c.loan_id == _loan.c.id, _loan.c.product_id == _product.c.id, _loan.c.status == "active",
            _inst.c.paid_off_on.is_(None), _inst.c.due_date < as_of,
            days_between(as_of, _inst.c.due_date) > _product.c.grace_days,
        ).values(penalty_pending=charge(principal), compound_pending=charge(interest), pending_as_of=as_of)
    ).rowcount
    return count   # rows no longer overdue were cleared by mark_overdue


def _rank(column):
    return sa.case(*[(column == code, rank) for rank, code in enumerate(CLASSES)], else_=0)


def floor_rank(overdue_days):
    """SQL: the automatic floor's rank for a loan overdue ``overdue_days`` days."""
    whens = [(overdue_days > int(settings.get(key)), CLASSES.index(code))
             for code, key in reversed(FLOOR_PARAMETERS)]
    return sa.case(*whens, else_=0)


def floor_class(overdue_days):
    """Python twin of floor_rank, for forms and messages."""
    for code, key in reversed(FLOOR_PARAMETERS):
        if overdue_days > int(settings.get(key)):
            return code
    return "normal"


def classify(as_of):
    floor = floor_rank(_loan.c.overdue_days)
    manual = _rank(_loan.c.manual_class)
    target_rank = sa.case((floor >= manual, floor), else_=manual)
    target = sa.case(*[(target_rank == rank, code) for rank, code in enumerate(CLASSES)], else_="normal")
    moving = sa.and_(_loan.c.status == "active", _loan.c.classification != target)
    reason = sa.literal("逾期 ") + sa.cast(_loan.c.overdue_days, sa.String) + sa.literal(" 天，按阈值自动调整")
    history = ClassificationChange.__table__
    db.session.execute(sa.insert(history).from_select(
        ["loan_id", "changed_on", "from_class", "to_class", "source", "overdue_days", "reason", "created_at"],
        select(_loan.c.id, sa.literal(as_of, sa.Date), _loan.c.classification, target, sa.literal("auto"),
               _loan.c.overdue_days, reason, sa.literal(datetime.now(), sa.DateTime)).where(moving)))
    return db.session.execute(sa.update(_loan).where(moving).values(classification=target)).rowcount


def specific_pct(code):
    key = SPECIFIC_PARAMETERS[code]
    return Decimal(settings.get(key)) if key else Decimal("0")


def compute_provisions(as_of):
    """Balance (unpaid principal of active loans) and specific reserve per class, for ``as_of``."""
    snapshot = ProvisionSnapshot.__table__
    db.session.execute(sa.delete(snapshot).where(snapshot.c.as_of == as_of))
    balance = sa.func.coalesce(sa.func.sum(_inst.c.principal - _inst.c.principal_paid), 0)
    rows = db.session.execute(
        select(_loan.c.classification, sa.func.count(sa.distinct(_loan.c.id)), balance)
        .select_from(_loan.join(_inst, _inst.c.loan_id == _loan.c.id))
        .where(_loan.c.status == "active", _inst.c.paid_off_on.is_(None))
        .group_by(_loan.c.classification)).all()
    by_class = {code: (count, Decimal(str(amount))) for code, count, amount in rows}
    values = []
    for code in CLASSES:
        count, amount = by_class.get(code, (0, Decimal("0")))
        pct = specific_pct(code)
        values.append({"as_of": as_of, "loan_class": code, "loan_count": count, "balance": round_money(amount),
                       "specific_pct": pct, "specific": round_money(amount * pct / 100)})
    db.session.execute(sa.insert(snapshot), values)
    return sum(v["loan_count"] for v in values)


def expire_credit_lines(as_of):
    from app.services import credit_lines

    return credit_lines.expire(as_of)


def special_checks(as_of):
    from app.services import post_loan

    return post_loan.schedule_special_checks(as_of)


def advance_business_date(as_of):
    """The run's date becomes the business date (never moved backwards)."""
    if as_of < settings.business_date() and settings.get("business_date"):
        return 0
    row = db.session.execute(select(Setting).where(Setting.key == "business_date")).scalar_one()
    row.value = as_of.isoformat()
    return 1


def check_stored_balances(as_of):
    """The stored loan and fund-account balances (what the dashboard reads) must equal the
    journal's: a difference stops the batch, and is shown on its page, until it is explained
    (``flask batch rebuild-balances`` resets them from the journal)."""
    from app.services import ledger

    ledger._apply_moves(db.session)     # this transaction's own postings, if any, first
    differences = ledger.balance_differences()
    if differences:
        listed = "；".join(f"{'项目' if kind == 'loan' else '资金账户'} #{oid} 存量 {stored} ≠ 分录 {journal}"
                          for kind, oid, stored, journal in differences[:5])
        raise DomainError(f"账务余额核对不符（{len(differences)} 处）：{listed}")
    return 0


def freeze_month_ends(as_of):
    """月末余额快照: the locked month ends of the last two years whose balances are not yet
    frozen (app.services.month_end); returns how many were written."""
    from app.services import month_end

    return month_end.freeze_missing()


def period_fees(as_of):
    """每期费用应收: the per-period fees of the installments due today become receivable."""
    from app.services import fees
    from app.services.setup import ensure_system_user

    return fees.recognize_period_fees(as_of, ensure_system_user())


STEPS = [("overdue", mark_overdue), ("penalty", accrue_penalty), ("period_fees", period_fees),
         ("classify", classify),
         ("provisions", compute_provisions), ("post_loan", special_checks), ("credit_lines", expire_credit_lines),
         ("ledger_check", check_stored_balances), ("month_end", freeze_month_ends),
         ("business_date", advance_business_date)]
