"""What every report shares: its dates, the data scope and the principal balances.

贷款余额 (principal outstanding) of a loan at the end of a date is the balance of its journal
lines on 1301 贷款本金 (and sub-accounts) in vouchers dated on or before it: the ledger is the
book of record, so a report's total is the trial balance's 1301 figure, write-offs and
reversals included, for any past date. One grouped scan gives every loan's balance at
several dates at once (a conditional sum per date); when a date is on or after the last
voucher's date the voucher join is skipped.

The five-level class at a past date comes from the classification history (the latest
change on or before it); at or after the latest change it is the loan's current class.
"""
import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Date, Numeric, String, and_, case, func, literal, or_, select, type_coerce, union_all

from app.extensions import db
from app.models import JournalLine, Loan, Voucher
from app.models.risk import ClassificationChange
from app.services import ledger, loans, settings

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MONEY = Numeric(18, 2)


def money(value):
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return value.quantize(CENT)


def converter(field):
    """How a report field's value becomes a cell: a code through its labels, money to the fen,
    else None (as it is). Chosen once per field by a big export, not per cell."""
    if field.label_map is not None:
        get = field.label_map.get
        return lambda value: get(value, value)
    if field.column.kind == "money":
        return money
    return None


def cell(field, value):
    """A report field's value as a cell (see ``converter``)."""
    convert = converter(field)
    return value if convert is None else convert(value)


def pct(part, whole, places="0.01"):
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(places)) if whole else ZERO


def month_start(day):
    return date(day.year, day.month, 1)


def month_end(day):
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class ReportDates:
    """本期 = the month of ``as_of`` up to ``as_of``; 上月 = the whole previous month;
    年初 = the end of the previous year (its balance is the year's opening balance)."""

    as_of: date

    @property
    def month_start(self):
        return month_start(self.as_of)

    @property
    def last_month_end(self):
        return self.month_start - timedelta(days=1)

    @property
    def last_month_start(self):
        return month_start(self.last_month_end)

    @property
    def year_start(self):
        return date(self.as_of.year, 1, 1)

    @property
    def prior_year_end(self):
        return self.year_start - timedelta(days=1)

    def params(self):
        return [("统计日期", self.as_of.isoformat()),
                ("本月", f"{self.month_start} 至 {self.as_of}"),
                ("上月", f"{self.last_month_start} 至 {self.last_month_end}"),
                ("年初", f"{self.prior_year_end}（上年末）")]


def as_of_or_today(value=None):
    return value or settings.business_date()


def scope_condition(user):
    """The loans the user may see (None: every loan)."""
    return loans.visible_condition(user)


def scoped(query, user):
    condition = scope_condition(user)
    return query if condition is None else query.where(condition)


def principal_account_ids():
    return ledger.subtree_ids(ledger.get_account(ledger.LOAN_PRINCIPAL))


def last_voucher_date():
    return db.session.execute(select(func.max(Voucher.business_date))).scalar()


def balances(dates, loan_ids=None, name="bal", nonzero=False, frozen_ok=True, materialize=False):
    """Subquery (loan_id, b0, b1, …): each loan's principal outstanding at the end of each date.

    ``nonzero``: the caller ignores loans whose balances are zero at every date. Then the
    balances start from the loans' stored ``principal_balance`` (kept by the ledger in each
    posting's transaction, checked against the journal each night) and take off what was
    posted after each date: only the lines after the earliest such date are read, none when
    every date is on or after the last voucher's. A locked month end (``month_end``: frozen
    at period close) is read from its frozen balances instead (``frozen_ok``). ``materialize``:
    a CTE computed once (for a ``loan_ids`` set the planner cannot estimate, which it would
    otherwise recompute per row of a nested loop).
    """
    latest = last_voucher_date()
    if nonzero:
        frozen = set()
        if frozen_ok and latest is not None:
            from app.services import month_end

            frozen = month_end.frozen(day for day in dates if day < latest)
        query = _balances_from_stored(dates, latest, loan_ids, frozen, name)
        return materialized(query, name) if materialize else query.subquery(name)
    net = JournalLine.debit - JournalLine.credit
    columns = [JournalLine.loan_id.label("loan_id")]
    join = False
    for n, day in enumerate(dates):
        if latest is None or day >= latest:
            expr = func.sum(net)
        else:
            join = True
            expr = func.sum(case((Voucher.business_date <= day, net), else_=literal(0)))
        columns.append(type_coerce(func.coalesce(expr, 0), MONEY).label(f"b{n}"))
    query = (select(*columns).where(JournalLine.account_id.in_(principal_account_ids()),
                                    JournalLine.loan_id.is_not(None)).group_by(JournalLine.loan_id))
    if join:
        query = query.join(Voucher, Voucher.id == JournalLine.voucher_id)
        query = query.where(Voucher.business_date <= max(dates))
    if loan_ids is not None:
        query = query.where(JournalLine.loan_id.in_(loan_ids))
    return query.subquery(name)


def _balances_from_stored(dates, latest, loan_ids, frozen=frozenset(), name="bal"):
    past = {day for day in dates if latest is not None and day < latest and day not in frozen}
    query = select(Loan.id.label("loan_id"))
    found = [Loan.principal_balance != 0]
    later = None
    held = {}
    if past:
        net = JournalLine.debit - JournalLine.credit
        moved = [func.sum(case((Voucher.business_date > day, net), else_=literal(0))).label(f"m{n}")
                 for n, day in enumerate(dates) if day in past]
        later = (select(JournalLine.loan_id, *moved).join(Voucher, Voucher.id == JournalLine.voucher_id)
                 .where(Voucher.business_date > min(past), JournalLine.account_id.in_(principal_account_ids()),
                        JournalLine.loan_id.is_not(None))
                 .group_by(JournalLine.loan_id).subquery(name + "_later"))
        query = query.outerjoin(later, later.c.loan_id == Loan.id)
        found.append(later.c.loan_id.is_not(None))
    if frozen:
        # One row per (month_end, loan) (its primary key): joined per date, nothing to group.
        from sqlalchemy.orm import aliased

        from app.models import LoanMonthBalance

        for n, day in enumerate(dates):
            if day in frozen:
                held[n] = aliased(LoanMonthBalance, name=f"{name}_f{n}")
                query = query.outerjoin(held[n], and_(held[n].loan_id == Loan.id,
                                                      held[n].month_end == type_coerce(day, Date)))
                found.append(held[n].loan_id.is_not(None))
    columns = []
    for n, day in enumerate(dates):
        if day in frozen:
            value = func.coalesce(held[n].principal, 0)
        elif day in past:
            # Rounded to the fen: SQLite subtracts NUMERIC columns as binary floats.
            value = func.round(Loan.principal_balance - func.coalesce(later.c[f"m{n}"], 0), 2)
        else:
            value = Loan.principal_balance
        columns.append(type_coerce(value, MONEY).label(f"b{n}"))
    query = query.add_columns(*columns).where(or_(*found))
    if loan_ids is not None:
        query = query.where(Loan.id.in_(loan_ids))
    return query


def balance_totals(days, user):
    """{day: (principal outstanding, loans with a balance)} over the loans the user sees. A
    locked month end reads its frozen totals (every loan) or frozen rows (some branches); the
    other days one grouped scan of ``balances``."""
    from app.models import LoanMonthBalance as M, MonthEndSnapshot
    from app.services import month_end

    frozen = sorted(month_end.frozen(days))
    found = {}
    if frozen and scope_condition(user) is None:
        found.update({d: (money(p), int(n)) for d, p, n in db.session.execute(
            select(MonthEndSnapshot.month_end, MonthEndSnapshot.principal, MonthEndSnapshot.loans)
            .where(MonthEndSnapshot.month_end.in_(frozen)))})
    elif frozen:
        found.update({d: (money(p), int(n)) for d, p, n in db.session.execute(scoped(
            select(M.month_end, func.coalesce(func.sum(M.principal), 0), func.count())
            .join(Loan, Loan.id == M.loan_id).where(M.month_end.in_(frozen)), user).group_by(M.month_end))})
        found.update({d: (ZERO, 0) for d in frozen if d not in found})
    live = [d for d in days if d not in found]
    if live:
        bal = balances(live, nonzero=True, frozen_ok=False)
        sub = scoped(select(bal).join(Loan, Loan.id == bal.c.loan_id), user).subquery("scoped")
        cols = []
        for n in range(len(live)):
            b = sub.c[f"b{n}"]
            cols += [func.coalesce(func.sum(b), 0), func.count(case((b != 0, literal(1))))]
        row = db.session.execute(select(*cols)).one()
        found.update({d: (money(row[2 * n]), int(row[2 * n + 1])) for n, d in enumerate(live)})
    return found


def class_at(day, name="cls"):
    """(expression, subquery or None): the class of ``Loan`` at the end of ``day``. With a
    subquery, the caller outer-joins it on ``subquery.c.loan_id == Loan.id``."""
    latest = db.session.execute(select(func.max(ClassificationChange.changed_on))).scalar()
    if latest is None or day >= latest:
        return Loan.classification, None
    ranked = (select(ClassificationChange.loan_id, ClassificationChange.to_class,
                     func.row_number().over(partition_by=ClassificationChange.loan_id,
                                            order_by=(ClassificationChange.changed_on.desc(),
                                                      ClassificationChange.id.desc())).label("rn"))
              .where(ClassificationChange.changed_on <= day)).subquery(name + "_r")
    latest_class = select(ranked.c.loan_id, ranked.c.to_class).where(ranked.c.rn == 1).subquery(name)
    return type_coerce(func.coalesce(latest_class.c.to_class, "normal"), String), latest_class


def overdue_rows(day, name, *columns):
    """CTE (computed once, see ``materialized``) of ``columns`` of the installments due before
    ``day`` and not paid off by its end. For a past day, the two disjoint halves each from its
    partial index: unpaid and due (ix_installment_unpaid_due_date), and paid off after the day,
    so late (ix_installment_paid_late); as one OR the planner misjudges the rows and reads the
    whole table (1.9 s at 100,000 loans)."""
    from app.models import Installment

    due = Installment.due_date < type_coerce(day, Date)
    query = select(*columns).where(due, Installment.paid_off_on.is_(None))
    if day < settings.business_date():
        query = union_all(query, select(*columns).where(
            due, Installment.paid_off_on > type_coerce(day, Date), Installment.paid_off_on > Installment.due_date))
    return materialized(query, name)


def between(column, start, end):
    return and_(column >= type_coerce(start, Date), column <= type_coerce(end, Date))


def materialized(query, name):
    """``query`` as a CTE that PostgreSQL computes once, on its own. The planner misjudges
    "unpaid and due before a date" (it multiplies the two conditions' selectivities: 260,000
    rows expected, 12,000 found at 100,000 loans); inlined, or grouped by loan, it walks every
    installment through the loan_id index instead of the partial index
    ix_installment_unpaid_due_date (550 ms → 25 ms). Select the rows here, group outside."""
    return query.cte(name).prefix_with("MATERIALIZED", dialect="postgresql")
