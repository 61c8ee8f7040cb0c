"""金融办 / 人行报表: 贷款业务结构表 (balances), 发放贷款结构表 (disbursements), 月度统计表 and
贷款快报, broken down as DOMAIN.md §10 lists.

Each table is one grouped query: an inner select gives one row per loan with its breakdown
codes (dimensions.py) and figures; the outer select groups by every code at once, and the
few resulting groups are rolled up per breakdown here. So every breakdown of a table adds up
to the same total by construction, and the total is the ledger's (1301) for the date.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, or_, select

from app.domain import provisions as provision_rules
from app.extensions import db
from app.models import Customer, Installment, Loan, LoanProduct
from app.models.risk import CLASS_LABELS, CLASSES, NON_PERFORMING
from app.models.servicing import Disbursement, Repayment
from app.services import repayments, settings
from app.services.reports import common
from app.services.reports.common import ZERO, ReportDates, money, pct
from app.services.reports.dimensions import DIMENSIONS  # noqa: F401 (views read it from here)

REGULATORY_DIMENSIONS = ("guarantee", "industry", "purpose", "amount", "term", "class", "customer")
CLASS_LABELS_ORDERED = [(c, CLASS_LABELS[c]) for c in CLASSES]


@dataclass
class Figure:
    amount: Decimal = ZERO
    count: int = 0

    def add(self, amount, count):
        self.amount += money(amount)
        self.count += int(count or 0)


@dataclass
class Rates:
    """最高 / 最低 / 加权平均年利率 (%), weighted by the balance or the amount lent."""

    highest: Decimal = None
    lowest: Decimal = None
    weighted: Decimal = None


@dataclass
class StructureRow:
    code: str
    label: str
    figures: list                 # [Figure] per measure column

    @property
    def changes(self):
        """比上月 / 比年初 增减 (amount): measure 0 minus measures 1 and 2."""
        return [self.figures[0].amount - f.amount for f in self.figures[1:]]


@dataclass
class StructureTable:
    kind: str                     # balance / disbursement
    title: str
    dates: ReportDates
    measures: list                # captions of the measure columns
    total: StructureRow
    sections: list = field(default_factory=list)   # [(caption, [StructureRow])]
    rates: Rates = None

    def check(self):
        """Every breakdown adds up to the total (amount and count, every measure)."""
        problems = []
        for caption, rows in self.sections:
            for n, total in enumerate(self.total.figures):
                amount = sum((r.figures[n].amount for r in rows), ZERO)
                count = sum(r.figures[n].count for r in rows)
                if amount != total.amount or count != total.count:
                    problems.append((caption, n, amount, count))
        return problems


def _inner_columns(include_class):
    return [DIMENSIONS[d].expr.label(f"d_{d}") for d in REGULATORY_DIMENSIONS if d != "class"]


def _rollup(rows, measure_count, class_columns):
    """{dimension: {code: [Figure]}} and the total [Figure] from grouped rows."""
    result = {d: {} for d in REGULATORY_DIMENSIONS}
    total = [Figure() for _ in range(measure_count)]
    measures = range(measure_count)
    plain = [(d, f"d_{d}") for d in REGULATORY_DIMENSIONS if d != "class"]

    def cell_of(d, code):
        code = "" if code is None else str(code)
        found = result[d].get(code)
        if found is None:
            found = result[d][code] = [Figure() for _ in measures]
        return found

    for r in rows:
        m = r._mapping
        # Each row's figures converted once (what Figure.add does), then added to every breakdown.
        values = [(money(m[f"a{n}"]), int(m[f"c{n}"] or 0)) for n in measures]
        targets = [total] + [cell_of(d, m[key]) for d, key in plain]
        for figures in targets:
            for figure, (amount, count) in zip(figures, values):
                figure.amount += amount
                figure.count += count
        if "class" in result:
            for n in measures:
                figure = cell_of("class", m[class_columns[n]])[n]
                figure.amount += values[n][0]
                figure.count += values[n][1]
    return result, total


def _sections(rolled, measure_count, dims=REGULATORY_DIMENSIONS):
    sections = []
    for d in dims:
        dim = DIMENSIONS[d]
        found = rolled[d]
        rows = []
        known = set()
        for code, label in dim.categories():
            known.add(str(code))
            rows.append(StructureRow(str(code), label, found.get(str(code)) or [Figure() for _ in range(measure_count)]))
        for code, figures in sorted(found.items()):
            if code not in known:
                rows.append(StructureRow(code, code or "未分类", figures))
        sections.append((dim.caption, rows))
    return sections


def _rates(highest, lowest, weighted_sum, weight):
    if not weight:
        return Rates()
    return Rates(Decimal(highest).quantize(Decimal("0.0001")), Decimal(lowest).quantize(Decimal("0.0001")),
                 (Decimal(weighted_sum) / Decimal(weight)).quantize(Decimal("0.0001")))


# -- 贷款业务结构表 ----------------------------------------------------------------------------
def balance_structure(as_of=None, user=None):
    """Balances at the end of ``as_of``, of the last month and of the last year, by breakdown."""
    dates = ReportDates(common.as_of_or_today(as_of))
    days = [dates.as_of, dates.last_month_end, dates.prior_year_end]
    bal = common.balances(days, nonzero=True)
    inner_cols = [bal.c.loan_id] + _inner_columns(True) + [bal.c[f"b{n}"] for n in range(3)] + [Loan.annual_rate]
    joins = []
    for n, day in enumerate(days):
        expr, sub = common.class_at(day, f"cls{n}")
        inner_cols.append(expr.label(f"k{n}"))
        if sub is not None:
            joins.append(sub)
    inner = (select(*inner_cols).select_from(bal).join(Loan, Loan.id == bal.c.loan_id)
             .join(Customer, Customer.id == Loan.customer_id).join(LoanProduct, LoanProduct.id == Loan.product_id))
    for sub in joins:
        inner = inner.outerjoin(sub, sub.c.loan_id == Loan.id)
    inner = common.scoped(inner.where(or_(bal.c.b0 != 0, bal.c.b1 != 0, bal.c.b2 != 0)), user).subquery("per_loan")
    group = [inner.c[f"d_{d}"] for d in REGULATORY_DIMENSIONS if d != "class"] + [inner.c[f"k{n}"] for n in range(3)]
    measures = []
    for n in range(3):
        b = inner.c[f"b{n}"]
        measures += [func.coalesce(func.sum(b), 0).label(f"a{n}"),
                     func.count(case((b != 0, literal(1)))).label(f"c{n}")]
    b0 = inner.c.b0
    measures += [func.max(case((b0 > 0, inner.c.annual_rate))).label("hi"),
                 func.min(case((b0 > 0, inner.c.annual_rate))).label("lo"),
                 func.coalesce(func.sum(case((b0 > 0, b0 * inner.c.annual_rate), else_=literal(0))), 0).label("ws")]
    rows = db.session.execute(select(*group, *measures).group_by(*group)).all()
    rolled, total = _rollup(rows, 3, ["k0", "k1", "k2"])
    hi = max((r.hi for r in rows if r.hi is not None), default=None)
    lo = min((r.lo for r in rows if r.lo is not None), default=None)
    ws = sum((Decimal(r.ws or 0) for r in rows), Decimal(0))
    table = StructureTable("balance", "贷款业务结构表", dates, ["本月末余额", "上月末余额", "年初余额"],
                           StructureRow("total", "贷款合计", total), _sections(rolled, 3),
                           _rates(hi, lo, ws, total[0].amount))
    return table


# -- 发放贷款结构表 ----------------------------------------------------------------------------
def disbursement_structure(as_of=None, user=None):
    """Loans paid out this month, last month and this year (to ``as_of``), by breakdown."""
    dates = ReportDates(common.as_of_or_today(as_of))
    windows = [(dates.month_start, dates.as_of), (dates.last_month_start, dates.last_month_end),
               (dates.year_start, dates.as_of)]
    first = min(start for start, _ in windows)
    class_expr, class_sub = common.class_at(dates.as_of, "dcls")
    inner = (select(Disbursement.loan_id, Disbursement.amount.label("amount"), Disbursement.disbursed_on.label("on"),
                    Loan.annual_rate, *_inner_columns(False), class_expr.label("k0"))
             .select_from(Disbursement).join(Loan, Loan.id == Disbursement.loan_id)
             .join(Customer, Customer.id == Loan.customer_id).join(LoanProduct, LoanProduct.id == Loan.product_id)
             .where(Disbursement.disbursed_on >= first, Disbursement.disbursed_on <= dates.as_of))
    if class_sub is not None:
        inner = inner.outerjoin(class_sub, class_sub.c.loan_id == Loan.id)
    inner = common.scoped(inner, user).subquery("per_loan")
    group = [inner.c[f"d_{d}"] for d in REGULATORY_DIMENSIONS if d != "class"] + [inner.c.k0]
    measures = []
    for n, (start, end) in enumerate(windows):
        inside = and_(inner.c.on >= start, inner.c.on <= end)
        measures += [func.coalesce(func.sum(case((inside, inner.c.amount), else_=literal(0))), 0).label(f"a{n}"),
                     func.count(case((inside, literal(1)))).label(f"c{n}")]
    this_month = and_(inner.c.on >= windows[0][0], inner.c.on <= windows[0][1])
    measures += [func.max(case((this_month, inner.c.annual_rate))).label("hi"),
                 func.min(case((this_month, inner.c.annual_rate))).label("lo"),
                 func.coalesce(func.sum(case((this_month, inner.c.amount * inner.c.annual_rate), else_=literal(0))),
                               0).label("ws")]
    rows = db.session.execute(select(*group, *measures).group_by(*group)).all()
    rolled, total = _rollup(rows, 3, ["k0", "k0", "k0"])
    hi = max((r.hi for r in rows if r.hi is not None), default=None)
    lo = min((r.lo for r in rows if r.lo is not None), default=None)
    ws = sum((Decimal(r.ws or 0) for r in rows), Decimal(0))
    return StructureTable("disbursement", "发放贷款结构表", dates, ["本月发放", "上月发放", "本年累计发放"],
                          StructureRow("total", "发放合计", total), _sections(rolled, 3),
                          _rates(hi, lo, ws, total[0].amount))


# -- 月度统计表 ----------------------------------------------------------------------------
@dataclass
class MonthRow:
    month: int
    start: date
    end: date
    opening: Decimal
    disbursed: Figure
    recovered: Decimal
    interest: Decimal
    closing: Decimal
    closing_count: int

    @property
    def other(self):
        """其他增减 (核销、冲正等): what the flows above do not explain, so the row adds up."""
        return self.closing - self.opening - self.disbursed.amount + self.recovered


@dataclass
class MonthlyTable:
    year: int
    as_of: date
    rows: list

    @property
    def totals(self):
        return {"disbursed": sum((r.disbursed.amount for r in self.rows), ZERO),
                "disbursed_count": sum(r.disbursed.count for r in self.rows),
                "recovered": sum((r.recovered for r in self.rows), ZERO),
                "interest": sum((r.interest for r in self.rows), ZERO),
                "other": sum((r.other for r in self.rows), ZERO)}


def monthly(as_of=None, user=None):
    """Month by month for the year of ``as_of`` (the current month up to ``as_of``)."""
    as_of = common.as_of_or_today(as_of)
    months = list(range(1, as_of.month + 1))
    ends = [min(common.month_end(date(as_of.year, m, 1)), as_of) for m in months]
    days = [date(as_of.year, 1, 1) - common.timedelta(days=1)] + ends
    totals = common.balance_totals(days, user)
    flows = period_flows([(date(as_of.year, m, 1), end) for m, end in zip(months, ends)], user)
    rows = []
    for i, m in enumerate(months):
        disbursed, recovered, interest = flows[i]
        (opening, _n), (closing, loans) = totals[days[i]], totals[days[i + 1]]
        rows.append(MonthRow(m, date(as_of.year, m, 1), ends[i], opening, disbursed, recovered, interest,
                             closing, loans))
    return MonthlyTable(as_of.year, as_of, rows)


def _by_month(windows):
    """[(year, month)] of each window when the windows are the consecutive months of one span
    (each inside one calendar month, starting on its first day or the span's, ending on its
    last day or the span's), so grouping by month is exact; else None."""
    keys = []
    for n, (start, end) in enumerate(windows):
        if (start.year, start.month) != (end.year, end.month) or start > end:
            return None
        if n and (start != common.month_start(start) or windows[n - 1][1] != start - timedelta(days=1)):
            return None
        if n < len(windows) - 1 and end != common.month_end(end):
            return None
        keys.append((start.year, start.month))
    return keys


def _flow_rows(query, day, columns, windows, months, count=False):
    """Per window: the sums of ``columns`` (and the row count) over ``query``'s rows with
    ``day`` in the window. By month when the windows are months (a sum or two a row instead
    of one per window and column), else conditional sums per window."""
    if months is not None:
        year, month = func.extract("year", day), func.extract("month", day)
        measures = [func.coalesce(func.sum(c), 0) for c in columns] + ([func.count()] if count else [])
        found = {(int(r[0]), int(r[1])): tuple(r[2:]) for r in db.session.execute(
            query.add_columns(year, month, *measures).group_by(year, month))}
        return [found.get(key, (0,) * len(measures)) for key in months]
    measures = []
    for start, end in windows:
        inside = and_(day >= start, day <= end)
        measures += [func.coalesce(func.sum(case((inside, c), else_=literal(0))), 0) for c in columns]
        if count:
            measures.append(func.count(case((inside, literal(1)))))
    row = db.session.execute(query.add_columns(*measures)).one()
    k = len(columns) + count
    return [tuple(row[n * k:(n + 1) * k]) for n in range(len(windows))]


def period_flows(windows, user=None):
    """[(Figure disbursed, principal recovered, interest received)] per (start, end) window:
    two grouped queries whatever the number of windows."""
    first, last = min(s for s, _ in windows), max(e for _, e in windows)
    months = _by_month(windows)
    # The loan is joined only for a user who sees some branches (the scope is on the loan).
    scope = common.scope_condition(user)
    d_query = select().select_from(Disbursement).where(Disbursement.disbursed_on >= first,
                                                       Disbursement.disbursed_on <= last)
    if scope is not None:
        d_query = d_query.join(Loan, Loan.id == Disbursement.loan_id).where(scope)
    d_rows = _flow_rows(d_query, Disbursement.disbursed_on, [Disbursement.amount], windows, months, count=True)
    # The receipts' own principal and interest totals (the sums of their lines).
    r_query = select().select_from(Repayment).where(
        Repayment.received_on >= first, Repayment.received_on <= last, repayments.standing())
    if scope is not None:
        r_query = r_query.join(Loan, Loan.id == Repayment.loan_id).where(scope)
    r_rows = _flow_rows(r_query, Repayment.received_on, [Repayment.principal_amount, Repayment.interest_amount],
                        windows, months)
    result = []
    for (d_amount, d_count), (principal, interest) in zip(d_rows, r_rows):
        figure = Figure()
        figure.add(d_amount, d_count)
        result.append((figure, money(principal), money(interest)))
    return result


# -- 贷款快报 (and the dashboard's KPI cards) ------------------------------------------------
@dataclass
class Snapshot:
    as_of: date
    balance: Decimal
    loans: int
    customers: int
    month: tuple          # (Figure disbursed, principal recovered, interest received) this month
    year: tuple           # the same, this year to date
    all_time: tuple       # the same, since the first loan
    overdue_loans: int
    overdue_balance: Decimal     # 逾期贷款余额: balance of the loans with an overdue installment
    overdue_principal: Decimal   # 逾期本金 and 逾期利息 unpaid on those installments
    overdue_interest: Decimal
    classes: dict                # code → Figure (balance, count) at as_of
    provisions: object           # app.domain.provisions.Provisions from the balances by class
    rates: Rates
    funds: Decimal               # 可用资金: cash and bank fund accounts at as_of

    @property
    def overdue_amount(self):
        return self.overdue_principal + self.overdue_interest

    @property
    def npl(self):
        return sum((self.classes[c].amount for c in NON_PERFORMING), ZERO)

    @property
    def npl_ratio(self):
        return pct(self.npl, self.balance)

    @property
    def coverage_ratio(self):
        """拨备覆盖率 = the reserve the rules require ÷ non-performing loans (None without NPL)."""
        return self.provisions.coverage_ratio if self.npl else None


def snapshot(as_of=None, user=None, cards_only=False):
    """贷款快报: the one-page summary for a date; the dashboard's cards read the same.
    ``cards_only`` (the dashboard): without the all-time flows and the customer count, the two
    figures the cards do not show and that cost a scan of every receipt ever made."""
    as_of = common.as_of_or_today(as_of)
    dates = ReportDates(as_of)
    bal = common.balances([as_of], nonzero=True)
    class_expr, class_sub = common.class_at(as_of, "qcls")
    late = common.overdue_rows(
        as_of, "late_rows", Installment.loan_id, (Installment.principal - Installment.principal_paid).label("p"),
        (Installment.interest - Installment.interest_paid - Installment.interest_waived).label("i"))
    overdue = (select(late.c.loan_id, func.sum(late.c.p).label("op"), func.sum(late.c.i).label("oi"))
               .group_by(late.c.loan_id).subquery("od"))
    inner = (select(bal.c.loan_id, bal.c.b0, Loan.customer_id, Loan.annual_rate, class_expr.label("k"),
                    overdue.c.op, overdue.c.oi)
             .select_from(bal).join(Loan, Loan.id == bal.c.loan_id).outerjoin(overdue, overdue.c.loan_id == Loan.id))
    if class_sub is not None:
        inner = inner.outerjoin(class_sub, class_sub.c.loan_id == Loan.id)
    inner = common.scoped(inner.where(bal.c.b0 != 0), user).subquery("q")
    rows = db.session.execute(select(
        inner.c.k, func.coalesce(func.sum(inner.c.b0), 0), func.count(),
        func.count(case((inner.c.op.is_not(None), literal(1)))),
        func.coalesce(func.sum(case((inner.c.op.is_not(None), inner.c.b0), else_=literal(0))), 0),
        func.coalesce(func.sum(inner.c.op), 0), func.coalesce(func.sum(inner.c.oi), 0),
        func.max(inner.c.annual_rate), func.min(inner.c.annual_rate),
        func.coalesce(func.sum(inner.c.b0 * inner.c.annual_rate), 0)).group_by(inner.c.k)).all()
    customers = None if cards_only else (
        db.session.execute(select(func.count(func.distinct(inner.c.customer_id)))).scalar() or 0)
    classes = {c: Figure() for c in CLASSES}
    balance, loans_count, od_loans, od_balance, od_p, od_i, ws = ZERO, 0, 0, ZERO, ZERO, ZERO, Decimal(0)
    his, los = [], []
    for k, b, n, odn, odb, op, oi, hi, lo, w in rows:
        classes.setdefault(k, Figure()).add(b, n)
        balance += money(b)
        loans_count += n
        od_loans += odn
        od_balance += money(odb)
        od_p += money(op)
        od_i += money(oi)
        ws += Decimal(w or 0)
        his += [hi] if hi is not None else []
        los += [lo] if lo is not None else []
    windows = [(dates.month_start, as_of), (dates.year_start, as_of)]
    flows = period_flows(windows if cards_only else windows + [(date(1900, 1, 1), as_of)], user)
    flows += [None] * (3 - len(flows))
    rates = {c: settings.get(f"provision_{c}_pct") or 0 for c in CLASSES if c != "normal"}
    provision = provision_rules.compute({c: f.amount for c, f in classes.items()}, rates,
                                        settings.get("provision_general_pct") or 0,
                                        counts={c: f.count for c, f in classes.items()})
    return Snapshot(as_of, balance, loans_count, customers, flows[0], flows[1], flows[2], od_loans, od_balance,
                    od_p, od_i, classes, provision, _rates(max(his, default=None), min(los, default=None), ws, balance),
                    funds_available(as_of))


def funds_available(as_of=None):
    """可用资金: the balances of the cash and bank fund accounts (company-wide, not per branch).
    On or after the last voucher's date, from the fund accounts' stored nets (the same figure,
    kept by the ledger with each posting) instead of summing the journal."""
    from app.models import FundAccount
    from app.services import ledger

    accounts = db.session.execute(select(FundAccount).where(FundAccount.kind.in_(("cash", "bank")))).scalars().all()
    latest = common.last_voucher_date()
    if as_of is None or latest is None or as_of >= latest:
        return sum(ledger.stored_fund_balances(accounts).values(), ZERO)
    return sum(ledger.fund_balances(accounts, as_of).values(), ZERO)


# -- 专项统计报表: pick the breakdowns (one or two) and the measures ---------------------------
SPECIAL_DIMENSIONS = ("guarantee", "industry", "purpose", "amount", "term", "class", "customer", "branch", "product")
SPECIAL_MEASURES = {
    "balance": ("贷款余额（元）", "money"), "loans": ("在贷笔数", "int"),
    "overdue_balance": ("逾期贷款余额（元）", "money"), "overdue_loans": ("逾期笔数", "int"),
    "year_disbursed": ("本年发放（元）", "money"), "year_disbursed_count": ("本年发放笔数", "int"),
}


@dataclass
class SpecialTable:
    as_of: date
    dimensions: list            # [Dimension]
    measures: list              # [code]
    rows: list                  # [(labels tuple, {measure: value})]
    total: dict


def special(as_of=None, user=None, dims=("guarantee",), measures=("balance", "loans")):
    """专项统计: loans with a balance at ``as_of`` or paid out this year, grouped by ``dims``."""
    from app.domain.errors import DomainError

    dims = [d for d in dims if d][:2]
    if not dims or any(d not in SPECIAL_DIMENSIONS for d in dims) or len(set(dims)) != len(dims):
        raise DomainError("请选择一至两个不同的统计维度", "dims")
    measures = [m for m in measures if m in SPECIAL_MEASURES] or ["balance", "loans"]
    as_of = common.as_of_or_today(as_of)
    year_start = date(as_of.year, 1, 1)
    bal = common.balances([as_of])
    paid = (select(Disbursement.loan_id, Disbursement.amount).where(
        Disbursement.disbursed_on >= year_start, Disbursement.disbursed_on <= as_of).subquery("paid"))
    rows = common.overdue_rows(as_of, "late_rows", Installment.loan_id)
    late = select(rows.c.loan_id).group_by(rows.c.loan_id).subquery("late")
    class_expr, class_sub = common.class_at(as_of, "xcls")
    exprs = [(class_expr if d == "class" else DIMENSIONS[d].expr).label(f"d{n}") for n, d in enumerate(dims)]
    inner = (select(Loan.id, func.coalesce(bal.c.b0, 0).label("b"), paid.c.amount.label("paid"),
                    late.c.loan_id.label("late"), *exprs)
             .select_from(Loan).join(Customer, Customer.id == Loan.customer_id)
             .join(LoanProduct, LoanProduct.id == Loan.product_id)
             .outerjoin(bal, bal.c.loan_id == Loan.id).outerjoin(paid, paid.c.loan_id == Loan.id)
             .outerjoin(late, late.c.loan_id == Loan.id)
             .where(or_(and_(bal.c.b0.is_not(None), bal.c.b0 != 0), paid.c.amount.is_not(None))))
    if class_sub is not None:
        inner = inner.outerjoin(class_sub, class_sub.c.loan_id == Loan.id)
    inner = common.scoped(inner, user).subquery("sp")
    live = inner.c.b != 0
    columns = {
        "balance": func.coalesce(func.sum(inner.c.b), 0),
        "loans": func.count(case((live, literal(1)))),
        "overdue_balance": func.coalesce(func.sum(case((live & inner.c.late.is_not(None), inner.c.b),
                                                       else_=literal(0))), 0),
        "overdue_loans": func.count(case((live & inner.c.late.is_not(None), literal(1)))),
        "year_disbursed": func.coalesce(func.sum(inner.c.paid), 0),
        "year_disbursed_count": func.count(inner.c.paid),
    }
    group = [inner.c[f"d{n}"] for n in range(len(dims))]
    found = db.session.execute(select(*group, *[columns[m].label(m) for m in measures]).group_by(*group)).all()
    labels = [dict((str(c), label) for c, label in DIMENSIONS[d].categories()) for d in dims]
    order = [[str(c) for c, _ in DIMENSIONS[d].categories()] for d in dims]
    rows, total = [], {m: (ZERO if SPECIAL_MEASURES[m][1] == "money" else 0) for m in measures}
    for r in found:
        codes = ["" if r[n] is None else str(r[n]) for n in range(len(dims))]
        values = {m: (money(r._mapping[m]) if SPECIAL_MEASURES[m][1] == "money" else int(r._mapping[m]))
                  for m in measures}
        for m in measures:
            total[m] += values[m]
        key = tuple(order[n].index(c) if c in order[n] else len(order[n]) for n, c in enumerate(codes))
        rows.append((key, tuple(labels[n].get(c, c or "未分类") for n, c in enumerate(codes)), values))
    rows.sort(key=lambda item: item[0])
    return SpecialTable(as_of, [DIMENSIONS[d] for d in dims], measures, [(lab, v) for _, lab, v in rows], total)
