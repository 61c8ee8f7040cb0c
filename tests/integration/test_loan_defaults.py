"""违约管理 (issue #9 §8): 逾期未还款查询 and 将到期还款查询 with hand-computed rows (penalty and
compound interest to the fen as of the business date), filters, data scope and Excel
export; 小额贷款违约 declared by a risk reviewer with its actions, read-only for officers."""
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models.post_loan import DefaultAction, LoanDefault
from app.services import loan_defaults
from app.services.loan_defaults import InstallmentFilters

from .servicing_helpers import active_loan, capital, on
from .test_loans import acting, business_date, text_of  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty
D = Decimal


@pytest.fixture
def two_loans(app, login_as):
    """张三 100,000 from 2026-03-16 and 李四 50,000 from 2026-02-01: 12 %, 12 months 等额本息."""
    capital(app)
    first = active_loan(app, login_as)
    second = active_loan(app, login_as, disbursed_on=date(2026, 2, 1), name="李四", amount="50000")
    return first, second


def rows_of(page):
    return [(r.customer_name, r.seq, r.due_date, r.days, r.principal, r.interest, r.penalty, r.compound)
            for r in page.rows]


def overdue(app, username="officer_a", **filters):
    with acting(app, username) as user:
        return loan_defaults.overdue_installments(InstallmentFilters(**filters), user)


def test_overdue_rows_to_the_fen_with_bands_and_scope(app, two_loans):
    on(app, date(2026, 4, 26))
    page = overdue(app)
    # Penalty rate 12 % × 1.5 = 18 %/yr on 360 days: 7,884.88 × 18 % × 10 / 360 = 39.42 …
    assert rows_of(page) == [
        ("李四", 1, date(2026, 3, 1), 56, D("3942.44"), D("500.00"), D("110.39"), D("14.00")),
        ("李四", 2, date(2026, 4, 1), 25, D("3981.86"), D("460.58"), D("49.77"), D("5.76")),
        ("张三", 1, date(2026, 4, 16), 10, D("7884.88"), D("1000.00"), D("39.42"), D("5.00")),
    ]
    assert page.count == 3 and page.rows[0].total == D("4566.83")
    assert [r.seq for r in overdue(app, band="1-30").rows] == [2, 1]
    assert [(r.customer_name, r.seq) for r in overdue(app, band="31-90").rows] == [("李四", 1)]
    assert overdue(app, band="91-180").count == 0
    assert [r.customer_name for r in overdue(app, q="张").rows] == ["张三"]
    assert overdue(app, due_from=date(2026, 4, 1), due_to=date(2026, 4, 1)).count == 1
    # Another branch's officer sees none of them; the manager sees all of them.
    assert overdue(app, "officer_b").count == 0
    assert overdue(app, "manager").count == 3
    with pytest.raises(Exception, match="逾期天数区间无效"):
        overdue(app, band="bogus")


def test_overdue_screen_pages_and_exports(app, login_as, two_loans):
    on(app, date(2026, 4, 26))
    client = login_as("officer_a")
    page = text_of(client.get("/overdue/?band=1-30"))
    assert "2 " in re.search(r'id="list-count">([^<]*)<', page).group(1)
    assert "39.42" in page and "110.39" not in page
    assert "3 " in re.search(r'id="list-count">([^<]*)<', text_of(login_as("manager").get("/overdue/"))).group(1)
    bad = text_of(client.get("/overdue/?due_from=2026-13-01"))
    assert "应还日期起“2026-13-01”无效" in bad
    response = client.get("/overdue/export?band=1-30")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(values) if row[0] == "业务编号")
    assert values[header][7:13] == ["逾期天数", "本金", "利息", "罚息", "复利", "合计"]
    data = [row for row in values[header + 1:] if row[0] and row[0].startswith("DK")]
    assert [(row[1], row[5], row[7], row[8], row[10], row[11]) for row in data] == [
        ("李四", 2, 25, 3981.86, 49.77, 5.76), ("张三", 1, 10, 7884.88, 39.42, 5.00)]
    assert login_as("archivist").get("/overdue/export").status_code == 403


def test_due_soon_lists_the_next_n_days(app, login_as, two_loans):
    on(app, date(2026, 4, 10))
    with acting(app, "officer_a") as user:
        week = loan_defaults.due_soon_installments(InstallmentFilters(), user)
        month = loan_defaults.due_soon_installments(InstallmentFilters(days=30), user)
    assert rows_of(week) == [("张三", 1, date(2026, 4, 16), 6, D("7884.88"), D("1000.00"), D("0"), D("0"))]
    assert rows_of(month) == [
        ("张三", 1, date(2026, 4, 16), 6, D("7884.88"), D("1000.00"), D("0"), D("0")),
        ("李四", 3, date(2026, 5, 1), 21, D("4021.68"), D("420.76"), D("0"), D("0")),
    ]
    client = login_as("officer_a")
    assert "4,021.68" in text_of(client.get("/duesoon/?days=30"))
    assert "天数应在 0 至 366 之间" in text_of(client.get("/duesoon/?days=999"))
    sheet = load_workbook(io.BytesIO(client.get("/duesoon/export?days=30").data)).active
    loans_in_sheet = [row[0].value for row in sheet.iter_rows() if row[0].value and str(row[0].value).startswith("DK")]
    assert len(loans_in_sheet) == 2


def test_default_declared_with_actions_by_a_risk_reviewer(app, login_as, two_loans):
    first, _second = two_loans
    on(app, date(2026, 4, 26))
    risk = login_as("risk")
    data = {"loan": str(first), "declared_on": "2026-04-26", "reason": "连续逾期，借款人失联"}
    assert risk.post("/defaultloanview/add", data=data).status_code == 302
    again = text_of(risk.post("/defaultloanview/add", data=data))
    assert "已认定违约" in again
    with app.app_context():
        default = db.session.execute(select(LoanDefault)).scalar_one()
        default_id = default.id
        assert (default.status, default.declared_by.username) == ("open", "risk")
    for kind, text, outcome in (("call", "电话联系借款人未接通", "无人接听"), ("letter", "寄送催收函", "已签收")):
        response = risk.post(f"/defaultactionview/add?_flt_0_default={default_id}", data={
            "default": str(default_id), "action_on": "2026-04-26", "kind": kind, "description": text,
            "outcome": outcome, "next_step": "上门催收", "next_on": "2026-05-06"})
        assert response.status_code == 302, text_of(response)
    refused = text_of(risk.post(f"/defaultactionview/add?_flt_0_default={default_id}", data={
        "default": str(default_id), "action_on": "2026-04-20", "kind": "visit", "description": "上门"}))
    assert "措施日期不能早于违约认定日期" in refused
    show = text_of(risk.get(f"/defaultloanview/show/{default_id}"))
    assert "电话催收" in show and "催收函" in show and "已签收" in show
    with app.app_context():
        assert [a.kind for a in db.session.execute(select(DefaultAction).order_by(DefaultAction.id)).scalars()] == [
            "call", "letter"]

    officer = login_as("officer_a")
    assert "连续逾期，借款人失联" in text_of(officer.get(f"/defaultloanview/show/{default_id}"))
    assert officer.get("/defaultloanview/add").status_code == 403
    assert officer.post(f"/defaultactionview/add?_flt_0_default={default_id}", data={}).status_code == 403
    assert login_as("officer_b").get(f"/defaultloanview/show/{default_id}").status_code == 404

    sheet = load_workbook(io.BytesIO(officer.get("/defaultloanview/export").data)).active
    row = next(r for r in sheet.iter_rows(values_only=True) if r[0] and str(r[0]).startswith("DK"))
    assert row[1] == "张三" and row[5] == "连续逾期，借款人失联" and row[8] == 2 and "寄送催收函" in row[9]

    closed = risk.post(f"/defaultloanview/resolve/{default_id}",
                       data={"resolved_on": "2026-04-26", "resolution": "借款人结清全部欠款"}, follow_redirects=True)
    assert "已结案" in text_of(closed)
    late = text_of(risk.post(f"/defaultactionview/add?_flt_0_default={default_id}", data={
        "default": str(default_id), "action_on": "2026-04-26", "kind": "call", "description": "再次致电"}))
    assert "违约记录已结案，不能再登记处置措施" in late
