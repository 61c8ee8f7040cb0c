"""月末余额 (app/services/month_end.py): a closed month's balances are frozen, and every report
and chart that reads a locked month end gives the same figures as it did from the journal.

The hand-built portfolio of reports_portfolio.py (business date 2026-03-31): February is
closed (which locks January and before), the nightly batch freezes the earlier month ends,
and reopening February unfreezes what is no longer locked.
"""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import LoanMonthBalance, MonthEndSnapshot, MonthFundFlow

from . import reports_portfolio as P
from .reports_portfolio import _baseline, portfolio  # noqa: F401  (fixtures)
from .test_loans import acting

D = Decimal
FEB = date(2026, 2, 28)
pytestmark = pytest.mark.dirty


def _figures(app):
    """What the reports and charts show that reads past month ends, per user."""
    from app.services.reports import common, dashboard, finance, regulatory

    found = {}
    periods = [(date(2025, 12, 1), P.AS_OF), (date(2026, 1, 1), FEB), (date(2026, 1, 15), P.AS_OF)]
    for username in ("manager", "finance", "officer_a", "officer_b"):
        with acting(app, username) as user:
            charts = dashboard.charts(user, P.AS_OF)
            table = regulatory.balance_structure(P.AS_OF, user)
            monthly = regulatory.monthly(P.AS_OF, user)
            bal = common.balances([FEB, date(2026, 1, 31), date(2025, 12, 31), P.AS_OF], nonzero=True)
            balances = sorted(db.session.execute(select(bal)).all())
            summaries = [finance.income_summary(finance.Filters(start=a, end=b), user) for a, b in periods]
            summaries.append(finance.income_summary(finance.Filters(start=date(2026, 1, 1), end=P.AS_OF,
                                                                    fund_account_id=2), user))
            found[username] = (charts["overdue_trend"], charts["monthly"], repr(table.sections), repr(monthly),
                               [(row[0], *map(common.money, row[1:])) for row in balances],
                               [(repr(s.funds), repr(s.kinds)) for s in summaries])
    return found


def test_frozen_month_ends_give_the_figures_of_the_journal(app, portfolio):
    from app.services import batch, month_end, period_close

    before = _figures(app)
    with acting(app, "finance") as user:
        assert month_end.lock_date() is None and month_end.freeze_missing() == 0
        with pytest.raises(DomainError, match="尚未结账"):
            month_end.freeze(FEB)
        period_close.close("2026-02", user)
    with acting(app, "finance"):
        snapshot = db.session.get(MonthEndSnapshot, FEB)
        # principal outstanding at 2026-02-28 (reports_portfolio.BALANCES); L1 #2 was due 02-10, unpaid
        assert (snapshot.loans, snapshot.principal) == (3, sum(P.BALANCES[FEB].values()))
        assert (snapshot.overdue_loans, snapshot.overdue_principal) == (1, D("75000.00"))
        rows = {r.loan_id: (r.principal, r.overdue) for r in db.session.execute(select(LoanMonthBalance)).scalars()}
        assert rows == {portfolio[name]: (amount, name == "L1") for name, amount in P.BALANCES[FEB].items()}
        # the batch freezes the month ends the first close locked with it, from February back
        assert batch.freeze_month_ends(P.AS_OF) == month_end.KEEP_MONTHS - 1
        db.session.commit()
        dec = db.session.get(MonthEndSnapshot, date(2025, 12, 31))
        assert (dec.loans, dec.principal, dec.overdue_loans) == (1, D("150000.00"), 0)
        assert db.session.execute(select(func.count()).select_from(MonthEndSnapshot)).scalar() == 24
        assert month_end.freeze_missing() == 0                      # nothing twice
        with pytest.raises(DomainError, match="不是月末"):
            month_end.freeze(date(2026, 2, 27))
        assert month_end.frozen([FEB, date(2026, 3, 31), date(2026, 2, 27)]) == {FEB}
        # February's 收支 of the bank account: L3 paid out (2026-02-10), L2 #1 received (02-15)
        flows = {f.kind: (f.money_in, f.money_out) for f in db.session.execute(
            select(MonthFundFlow).where(MonthFundFlow.month_end == FEB)).scalars()}
        assert flows["all"] == (D("71750.00"), D("200000.00"))
        assert flows["disbursement"] == (0, D("200000.00")) and flows["principal"] == (D("70000.00"), 0)
        assert flows["interest"] == (D("1750.00"), 0)
    after = _figures(app)
    for username in before:
        assert after[username] == before[username], username


def test_reopen_unfreezes_what_is_no_longer_locked(app, portfolio):
    from app.services import month_end, period_close

    with acting(app, "admin") as user:
        row = period_close.latest_closed()
        period_close.reopen(row.id, user, "补记二月凭证")
    with acting(app, "admin"):
        assert month_end.lock_date() is None
        assert db.session.execute(select(func.count()).select_from(MonthEndSnapshot)).scalar() == 0
        assert db.session.execute(select(func.count()).select_from(LoanMonthBalance)).scalar() == 0


def test_rolled_forward_equals_computed_from_the_journal(app, portfolio):
    """A month end frozen from the month before plus that month's lines equals the same month
    end computed from the stored balances and every later line."""
    from app.services import month_end, period_close

    with acting(app, "finance") as user:
        period_close.close("2026-02", user)          # again, after the reopen
    with acting(app, "finance"):
        month_end.thaw(None)
        month_end.freeze(date(2026, 1, 31))             # from the journal
        month_end.freeze(FEB)                           # rolled forward from January
        rolled = sorted((r.loan_id, r.principal, r.overdue) for r in db.session.execute(
            select(LoanMonthBalance).where(LoanMonthBalance.month_end == FEB)).scalars())
        month_end.thaw(date(2026, 1, 31))
        db.session.flush()
        month_end.thaw(None)
        month_end.freeze(FEB)                           # from the journal
        direct = sorted((r.loan_id, r.principal, r.overdue) for r in db.session.execute(
            select(LoanMonthBalance).where(LoanMonthBalance.month_end == FEB)).scalars())
        db.session.rollback()
    assert rolled == direct and len(direct) == 3


@pytest.mark.parametrize("username", ["manager", "officer_b"])
def test_monthly_flows_grouped_by_month_equal_the_per_window_sums(app, portfolio, monkeypatch, username):
    """period_flows groups by month when its windows are months (the dashboard, 月度统计表):
    the same figures as one conditional sum per window."""
    from app.services.reports import dashboard, regulatory

    windows = dashboard.month_windows(P.AS_OF)
    assert regulatory._by_month(windows) is not None
    assert regulatory._by_month([(date(2026, 3, 1), P.AS_OF), (date(2026, 1, 1), P.AS_OF)]) is None
    with acting(app, username) as user:
        by_month = regulatory.period_flows(windows, user)
        monkeypatch.setattr(regulatory, "_by_month", lambda windows: None)
        per_window = regulatory.period_flows(windows, user)
    assert by_month == per_window
    assert sum((f[0].amount for f in by_month), D(0)) > 0


def test_reports_read_the_frozen_rows(app, portfolio):
    """The readers take a frozen month end from the snapshot, not from the journal: a value
    changed in the snapshot (inside a transaction rolled back) shows in the figures."""
    from app.services import month_end, period_close
    from app.services.reports import common, dashboard, finance

    with acting(app, "finance") as user:
        if month_end.lock_date() is None:
            period_close.close("2026-02", user)
    with acting(app, "manager") as user:
        month_end.freeze_missing()
        db.session.flush()
        before = common.balance_totals([FEB], user)[FEB]
        snapshot = db.session.get(MonthEndSnapshot, FEB)
        snapshot.principal += 1
        snapshot.loans += 10
        snapshot.overdue_principal += 2
        row = db.session.execute(select(LoanMonthBalance).where(LoanMonthBalance.month_end == FEB,
                                                                 LoanMonthBalance.loan_id == portfolio["L2"])).scalar_one()
        row.principal += 3
        flow = db.session.execute(select(MonthFundFlow).where(MonthFundFlow.month_end == FEB,
                                                              MonthFundFlow.kind == "all")).scalar_one()
        flow.money_in += 4
        db.session.flush()
        assert common.balance_totals([FEB], user)[FEB] == (before[0] + 1, before[1] + 10)
        trend = dashboard.charts(user, P.AS_OF)["overdue_trend"]
        assert D(trend["balance"][trend["months"].index("2026-02")]) == D("75002.00")
        bal = common.balances([FEB], loan_ids=[portfolio["L2"]], nonzero=True)
        assert common.money(db.session.execute(select(bal.c.b0)).scalar()) == D("140003.00")
        summary = finance.income_summary(finance.Filters(start=date(2026, 2, 1), end=FEB), user)
        assert sum((f.money_in for f in summary.funds), D(0)) == D("71754.00")
        db.session.rollback()
