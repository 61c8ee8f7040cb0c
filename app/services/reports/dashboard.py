"""我的首页 dashboard: KPI cards and chart data, per user (data scope) and date.

The cards are ``regulatory.snapshot`` — the 贷款快报 — so the dashboard and the reports show
the same numbers for the same date by construction; the charts reuse ``period_flows`` and
the ledger balances. The home page renders the cards; the charts load their data from
``DashboardView.data`` (JSON) after the page is shown.
"""
from sqlalchemy import and_, case, func, literal, or_, select

from app.extensions import db
from app.models import Branch, Installment, Loan, LoanProduct
from app.models.risk import CLASS_LABELS, CLASSES
from app.domain.bands import GUARANTEE_LABELS
from app.services import settings
from app.services.reports import common, regulatory
from app.services.reports.common import ZERO, money
from app.services.reports.dimensions import guarantee_expr

TREND_MONTHS = 12


def kpis(user, as_of=None):
    """[(label, value text, element id)] for the home page cards, and the snapshot."""
    s = regulatory.snapshot(as_of, user, cards_only=True)

    def yuan(value):
        return f"{value:,.2f}"

    cards = [
        ("贷款余额（元）", yuan(s.balance), "kpi-balance"),
        ("在贷笔数", f"{s.loans:,}", "kpi-loans"),
        ("本月发放（元）", yuan(s.month[0].amount), "kpi-month-disbursed"),
        ("本月收回本金（元）", yuan(s.month[1]), "kpi-month-recovered"),
        ("本年发放（元）", yuan(s.year[0].amount), "kpi-year-disbursed"),
        ("本年收回本金（元）", yuan(s.year[1]), "kpi-year-recovered"),
        ("逾期贷款余额（元）", yuan(s.overdue_balance), "kpi-overdue-balance"),
        ("逾期本息（元）", yuan(s.overdue_amount), "kpi-overdue-amount"),
        ("逾期笔数", f"{s.overdue_loans:,}", "kpi-overdue-count"),
        ("不良率", f"{s.npl_ratio}%", "kpi-npl-ratio"),
        ("拨备覆盖率", f"{s.coverage_ratio}%" if s.coverage_ratio is not None else "—", "kpi-coverage"),
        ("可用资金（元）", yuan(s.funds), "kpi-funds"),
    ]
    return cards, s


def month_windows(as_of, months=TREND_MONTHS):
    """The last ``months`` calendar months up to ``as_of`` (the current one up to as_of)."""
    windows = []
    for back in range(months - 1, -1, -1):
        start = common.add_months(common.month_start(as_of), -back)
        windows.append((start, min(common.month_end(start), as_of)))
    return windows


def charts(user, as_of=None):
    """Every chart's data as plain JSON-able values (amounts as strings of Decimals)."""
    as_of = common.as_of_or_today(as_of)
    windows = month_windows(as_of)
    flows = regulatory.period_flows(windows, user)
    monthly = {"months": [f"{s:%Y-%m}" for s, _ in windows],
               "disbursed": [str(f[0].amount) for f in flows], "recovered": [str(f[1]) for f in flows]}
    breakdown = _balance_breakdown(as_of, user)
    trend = _overdue_trend([e for _, e in windows], user)
    return {"as_of": as_of.isoformat(), "monthly": monthly, **breakdown,
            "overdue_trend": {"months": monthly["months"], "balance": [str(b) for b, _ in trend],
                              "count": [n for _, n in trend]}}


def _balance_breakdown(as_of, user):
    bal = common.balances([as_of], nonzero=True)
    class_expr, class_sub = common.class_at(as_of, "dcls")
    inner = (select(bal.c.b0, Loan.product_id, Loan.branch_id, guarantee_expr().label("g"), class_expr.label("k"))
             .select_from(bal).join(Loan, Loan.id == bal.c.loan_id))
    if class_sub is not None:
        inner = inner.outerjoin(class_sub, class_sub.c.loan_id == Loan.id)
    inner = common.scoped(inner.where(bal.c.b0 != 0), user).subquery("b")
    rows = db.session.execute(select(inner.c.product_id, inner.c.branch_id, inner.c.g, inner.c.k,
                                     func.sum(inner.c.b0), func.count())
                              .group_by(inner.c.product_id, inner.c.branch_id, inner.c.g, inner.c.k)).all()
    products = dict(db.session.execute(select(LoanProduct.id, LoanProduct.name)).all())
    branches = dict(db.session.execute(select(Branch.id, Branch.name)).all())
    sums = {"by_product": {}, "by_branch": {}, "by_guarantee": {}, "by_class": {}}
    for product_id, branch_id, g, k, amount, _n in rows:
        for key, label in (("by_product", products.get(product_id, product_id)),
                           ("by_branch", branches.get(branch_id, branch_id)),
                           ("by_guarantee", GUARANTEE_LABELS.get(g, g)), ("by_class", CLASS_LABELS.get(k, k))):
            sums[key][label] = sums[key].get(label, ZERO) + money(amount)
    order = [CLASS_LABELS[c] for c in CLASSES]
    result = {}
    for key, values in sums.items():
        items = sorted(values.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else -1) \
            if key == "by_class" else sorted(values.items(), key=lambda kv: -kv[1])
        result[key] = [{"name": str(name), "value": str(value)} for name, value in items]
    return result


def _overdue_trend(ends, user):
    """[(逾期贷款余额, 逾期笔数)] at the end of each date: loans with an installment due before
    the date and not paid off by it, weighted by their principal balance at that date. A
    locked month end is read from its frozen balances (app.services.month_end)."""
    from app.services import month_end

    frozen = month_end.frozen(ends)
    figures = _frozen_overdue(sorted(frozen), user) if frozen else {}
    live = [day for day in ends if day not in frozen]
    if live:
        figures.update(zip(live, _live_overdue(live, user)))
    return [figures[day] for day in ends]


def _frozen_overdue(days, user):
    from app.models import LoanMonthBalance as M, MonthEndSnapshot

    if common.scope_condition(user) is None:       # every loan: the totals kept with the snapshot
        rows = db.session.execute(select(MonthEndSnapshot.month_end, MonthEndSnapshot.overdue_principal,
                                         MonthEndSnapshot.overdue_loans).where(MonthEndSnapshot.month_end.in_(days)))
    else:
        rows = db.session.execute(common.scoped(
            select(M.month_end, func.coalesce(func.sum(M.principal), 0), func.count())
            .join(Loan, Loan.id == M.loan_id).where(M.overdue, M.month_end.in_(days)), user).group_by(M.month_end))
    figures = {day: (ZERO, 0) for day in days}
    figures.update({day: (money(amount), int(count)) for day, amount, count in rows})
    return figures


def _live_overdue(ends, user):
    bal = common.balances(ends, nonzero=True)
    first, last = min(ends), max(ends)
    # Overdue at a date inside (due date, paid off): unpaid ones, or paid late after the first
    # date; on or after the business date only unpaid ones (the partial index, in a CTE of its own).
    unpaid = Installment.paid_off_on.is_(None)
    if first < settings.business_date():
        unpaid = or_(unpaid, and_(Installment.paid_off_on > first, Installment.paid_off_on > Installment.due_date))
    rows = common.materialized(select(Installment.loan_id, Installment.due_date, Installment.paid_off_on)
                               .where(Installment.due_date < last, unpaid), "late_rows")
    flags = []
    for n, day in enumerate(ends):
        hit = (rows.c.due_date < day) & or_(rows.c.paid_off_on.is_(None), rows.c.paid_off_on > day)
        flags.append(func.max(case((hit, literal(1)), else_=literal(0))).label(f"l{n}"))
    late = select(rows.c.loan_id, *flags).group_by(rows.c.loan_id).subquery("late")
    inner = common.scoped(select(bal, *[late.c[f"l{n}"] for n in range(len(ends))]).join(
        Loan, Loan.id == bal.c.loan_id).join(late, late.c.loan_id == Loan.id), user).subquery("t")
    cols = []
    for n in range(len(ends)):
        hit = (inner.c[f"l{n}"] == 1) & (inner.c[f"b{n}"] != 0)
        cols += [func.coalesce(func.sum(case((hit, inner.c[f"b{n}"]), else_=literal(0))), 0),
                 func.count(case((hit, literal(1))))]
    row = db.session.execute(select(*cols)).one()
    return [(money(row[2 * n]), int(row[2 * n + 1])) for n in range(len(ends))]


def section(user):
    """The home page section (registered by app/views/reports.py) for users who may open the dashboard."""
    from flask import current_app, url_for
    from flask_babel import gettext

    if not getattr(user, "is_authenticated", False) or not current_app.appbuilder.sm.has_access(
            "can_list", "DashboardView"):
        return None
    cards, snap = kpis(user)
    return {"id": "dashboard", "title": gettext("Business overview as of %(day)s", day=snap.as_of.isoformat()),
            "headers": [], "rows": [], "kpis": cards, "link": url_for("DashboardView.list"),
            "template": "microloan/dashboard_charts.html",
            "empty": gettext("Figures as of the business date, computed as the reports compute them."),
            "data_url": url_for("DashboardView.data")}

