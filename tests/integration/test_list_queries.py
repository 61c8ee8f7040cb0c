"""List pages at scale (issue #13): a page costs a fixed number of SQL statements whatever
its size (the relations a list shows are loaded with the page, never one query per row), and
the record count of a big list is capped and estimated on PostgreSQL (AppInterface)."""
from datetime import date

import pytest
from flask import g
from sqlalchemy import event, select

from app.extensions import db
from app.services.generator import generate

pytestmark = pytest.mark.dirty

AS_OF = date(2026, 11, 30)
# (url, FAB view name, user): the main lists, each as a user who may open it.
PAGES = [
    ("/customerview/list/", "CustomerView", "admin"),
    ("/customerview/list/", "CustomerView", "manager"),
    ("/customerpersonview/list/", "CustomerPersonView", "admin"),
    ("/loanview/list/", "LoanView", "admin"),
    ("/loanview/list/", "LoanView", "risk"),
    ("/loanhistoryview/list/", "LoanHistoryView", "manager"),
    ("/repaymentlistview/list/", "RepaymentListView", "finance"),
    ("/voucherview/list/", "VoucherView", "finance"),
    ("/voucherlineview/list/", "VoucherLineView", "finance"),
    ("/guarantorview/list/", "GuarantorView", "admin"),
    ("/collateralview/list/", "CollateralView", "admin"),
    ("/loanfeeview/list/", "LoanFeeView", "admin"),
    ("/classificationchangeview/list/", "ClassificationChangeView", "risk"),
    ("/postloantaskview/list/", "PostLoanTaskView", "admin"),
]


class Statements:
    """Counts the SQL statements sent while it is open."""

    def __init__(self, app):
        self.count = 0
        with app.app_context():
            self.engine = db.engine

    def _count(self, *args, **kwargs):
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


@pytest.fixture
def portfolio(app):
    with app.app_context():
        generate(customers=70, loans=110, seed=3, as_of=AS_OF)
        db.session.remove()
    return app


def _statements(app, client, url):
    client.get(url)   # warm: per-process caches (menus, permissions) are not the page's cost
    with Statements(app) as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count, response.get_data(as_text=True)


def test_list_pages_cost_the_same_number_of_statements_for_any_page_size(portfolio, login_as):
    clients = {}
    failures = []
    for url, view, user in PAGES:
        client = clients.get(user) or clients.setdefault(user, login_as(user))
        small, _ = _statements(portfolio, client, f"{url}?psize_{view}=3")
        large, _ = _statements(portfolio, client, f"{url}?psize_{view}=60")
        if small != large:
            failures.append(f"{url} as {user}: {small} statements for 3 rows, {large} for 60")
    assert failures == []


def test_installment_lists_cost_the_same_for_any_page_size(portfolio):
    from app.models import AppUser
    from app.services import loan_defaults

    with portfolio.test_request_context():
        g.user = db.session.execute(select(AppUser).where(AppUser.username == "admin")).scalar_one()
        counts = {}
        for size in (2, 40):
            for name, page in (("overdue", loan_defaults.overdue_installments),
                               ("due_soon", loan_defaults.due_soon_installments)):
                filters = loan_defaults.InstallmentFilters(days=60 if name == "due_soon" else None)
                page(filters, g.user, as_of=AS_OF, page_size=size)      # warm
                with Statements(portfolio) as counter:
                    result = page(filters, g.user, as_of=AS_OF, page_size=size)
                counts[(name, size)] = counter.count
                assert len(result.rows) == min(size, result.count)
        assert counts[("overdue", 2)] == counts[("overdue", 40)]
        assert counts[("due_soon", 2)] == counts[("due_soon", 40)]
        assert loan_defaults.overdue_installments(loan_defaults.InstallmentFilters(), g.user, as_of=AS_OF).count > 0


def test_big_counts_are_estimated_on_postgresql(portfolio, login_as):
    from app.views.base import EstimatedCount
    from app.views.finance import VoucherLineView

    client = login_as("finance")
    with portfolio.app_context():
        lines = db.session.execute(select(db.func.count()).select_from(db.metadata.tables["journal_line"])).scalar()
        dialect = db.engine.dialect.name
    datamodel = VoucherLineView.datamodel
    before = datamodel.estimate_above
    datamodel.estimate_above = 50
    try:
        html = client.get("/voucherlineview/list/").get_data(as_text=True)
    finally:
        datamodel.estimate_above = before
    if dialect == "postgresql":
        assert "约" in html or "approx." in html    # translations/pending/perf.tsv: approx. → 约
    else:
        assert f"{lines}" in html     # SQLite: no planner estimate, the exact count
    assert str(EstimatedCount(1234567)).endswith("1,234,567") and EstimatedCount(5) + 1 == 6
    # Under the threshold every count is exact.
    html = client.get("/voucherlineview/list/").get_data(as_text=True)
    assert f"{lines}" in html


def test_sqlite_walks_the_receipts_and_the_overdue_list_in_their_own_order(portfolio, login_as):
    """At 100,000 loans SQLite otherwise collects and sorts every row in scope before taking a
    page (收款单 0.76 s, 逾期未还款查询 0.47 s; bench/run.py --sqlite): the page's query must
    walk the list's order — receipts newest first by id, installments by the unpaid-due-date
    index — and stop at the page."""
    with portfolio.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            pytest.skip("SQLite's query plans (PostgreSQL's planner chooses for itself)")
    for user, url, table, first_step in (
            ("finance", "/repaymentlistview/list/", "repayment", "SCAN repayment"),
            ("manager", "/repaymentlistview/list/", "repayment", "SCAN repayment"),
            ("risk", "/overdue/", "installment", "SEARCH installment USING INDEX ix_installment_unpaid_due_date"),
            ("manager", "/overdue/", "installment", "SEARCH installment USING INDEX ix_installment_unpaid_due_date")):
        client = login_as(user)
        sent = []

        def seen(conn, cursor, statement, parameters, context, executemany):
            sent.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", seen)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        pages = [(s, p) for s, p in sent if s.startswith(f"SELECT {table}.id") and "LIMIT" in s]
        assert len(pages) == 1, (user, url, [s[:80] for s, _p in sent])
        statement, parameters = pages[0]
        with portfolio.app_context():
            plan = [row[3] for row in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters).all()]
        assert plan[0].startswith(first_step), (user, url, plan)
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, (user, url, plan)
