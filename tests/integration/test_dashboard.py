"""我的首页 dashboard (issue #11): the KPI cards and chart data equal the reports' figures for
the same date, within the data scope; the home page shows the section to those allowed."""
from decimal import Decimal


from . import reports_portfolio as P
from .reports_portfolio import _baseline, portfolio  # noqa: F401  (fixtures)
from .test_loans import acting, text_of

D = Decimal


def _client(app, username):
    from tests.conftest import login

    return login(app.test_client(), username)


def test_cards_equal_the_reports(app, portfolio):
    from app.services.reports import business, dashboard, regulatory

    for username in ("admin", "officer_a"):
        with acting(app, username) as user:
            cards, snap = dashboard.kpis(user, P.AS_OF)
            values = {kpi_id: value for _, value, kpi_id in cards}
            table = regulatory.balance_structure(P.AS_OF, user)
            ledger_page = business.page("ledger", business.Filters(as_of=P.AS_OF), user)
            assert snap.balance == table.total.figures[0].amount == ledger_page.totals["balance"]
            assert values["kpi-balance"] == f"{table.total.figures[0].amount:,.2f}"
            assert values["kpi-loans"] == str(table.total.figures[0].count)
            flows = regulatory.disbursement_structure(P.AS_OF, user)
            assert values["kpi-month-disbursed"] == f"{flows.total.figures[0].amount:,.2f}"
            assert values["kpi-year-disbursed"] == f"{flows.total.figures[2].amount:,.2f}"
            monthly = regulatory.monthly(P.AS_OF, user)
            assert values["kpi-month-recovered"] == f"{monthly.rows[-1].recovered:,.2f}"
            assert values["kpi-year-recovered"] == f"{monthly.totals['recovered']:,.2f}"
            classes = dict(table.sections)["按五级分类"]
            npl = sum((r.figures[0].amount for r in classes if r.code in ("substandard", "doubtful", "loss")), D(0))
            assert snap.npl == npl
    with acting(app, "admin") as user:
        values = {kpi_id: value for _, value, kpi_id in dashboard.kpis(user, P.AS_OF)[0]}
        assert values["kpi-balance"] == "1,711,666.67"
        assert values["kpi-overdue-count"] == "1" and values["kpi-overdue-balance"] == "75,000.00"
        assert values["kpi-npl-ratio"] == "4.38%"
        assert values["kpi-coverage"] == "47.82%"       # 35,866.67 / 75,000
        assert values["kpi-funds"] == "98,295,250.00"


def test_chart_data(app, portfolio):
    client = _client(app, "manager")
    data = client.get(f"/dashboard/data/?as_of={P.AS_OF}").get_json()
    assert data["monthly"]["months"][-3:] == ["2026-01", "2026-02", "2026-03"]
    assert data["monthly"]["months"][0] == "2025-04" and len(data["monthly"]["months"]) == 12
    assert [D(x) for x in data["monthly"]["disbursed"][-4:]] == [D("150000"), D("210000"), D("200000"), D("1400000")]
    assert [D(x) for x in data["monthly"]["recovered"][-3:]] == [D("75000"), D("70000"), D("103333.33")]
    by_class = {r["name"]: D(r["value"]) for r in data["by_class"]}
    assert by_class == {"正常": D("1636666.67"), "次级": D("75000.00")}
    assert sum(D(r["value"]) for r in data["by_branch"]) == P.TOTAL
    assert {r["name"]: D(r["value"]) for r in data["by_guarantee"]}["质押贷款"] == D("300000.00")
    assert sum(D(r["value"]) for r in data["by_product"]) == P.TOTAL
    # L1's second installment (due 2026-02-10) is unpaid: overdue at the end of February and March
    assert [D(x) for x in data["overdue_trend"]["balance"][-3:]] == [D("0"), D("75000.00"), D("75000.00")]
    assert data["overdue_trend"]["count"][-3:] == [0, 1, 1]
    scoped = _client(app, "admin").get(f"/dashboard/data/?as_of={P.AS_OF}").get_json()
    assert scoped["by_class"] == data["by_class"]


def test_home_page_section(app, portfolio):
    page = text_of(_client(app, "manager").get("/"))
    assert 'id="section-dashboard"' in page and 'id="kpi-balance">1,711,666.67<' in page
    assert "js/echarts.min.js" in page and "/dashboard/data/" in page
    page = text_of(_client(app, "archivist").get("/"))
    assert 'id="section-dashboard"' not in page
    r = _client(app, "manager").get("/dashboard/list/")
    assert r.status_code == 200 and 'id="kpi-npl-ratio">4.38%<' in text_of(r)
