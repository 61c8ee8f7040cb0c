"""报表中心 (issue #11): the regulatory tables against the hand-built portfolio of
reports_portfolio.py. The portfolio is built once for the module: the autouse per-test
reset is replaced here by one reset at the end of the module."""
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from . import reports_portfolio as P
from .reports_portfolio import _baseline, portfolio  # noqa: F401  (fixtures)
from .test_loans import acting, text_of

D = Decimal


def _by_label(rows):
    return {r.label: r for r in rows}


def test_balance_structure_adds_up_and_matches_the_ledger(app, portfolio):
    from app.services import ledger
    from app.services.reports import regulatory

    with acting(app, "admin") as user:
        table = regulatory.balance_structure(P.AS_OF, user)
        assert [f.amount for f in table.total.figures] == [P.TOTAL, D("415000.00"), D("150000.00")]
        assert [f.count for f in table.total.figures] == [6, 3, 1]
        assert table.check() == []
        assert ledger.account_balance(ledger.LOAN_PRINCIPAL, P.AS_OF) == P.TOTAL
        assert ledger.account_balance(ledger.LOAN_PRINCIPAL, date(2026, 2, 28)) == D("415000.00")
        sections = dict(table.sections)
        amount = _by_label(sections["按单笔金额"])
        # 150,000 → < 20万; 200,000 and 210,000 → 20–30万; 300,000 and 500,000 → 30–50万; 600,000 → > 50万
        assert amount["20万元以下"].figures[0].amount == D("75000.00")
        assert amount["20万（含）至30万元"].figures[0].amount == D("236666.67")
        assert amount["20万（含）至30万元"].figures[0].count == 2
        assert amount["30万（含）至50万元（含）"].figures[0].amount == D("800000.00")
        assert amount["50万元以上"].figures[0].amount == D("600000.00")
        term = _by_label(sections["按贷款期限"])
        # 2 → < 3; 3 → 3–6; 6, 12, 12 → 6–12; 24 → > 1 年
        assert (term["3个月以下"].figures[0].amount, term["3个月（含）至6个月"].figures[0].amount) == \
               (D("75000.00"), D("70000.00"))
        assert term["6个月（含）至1年（含）"].figures[0].amount == D("966666.67")
        assert term["6个月（含）至1年（含）"].figures[0].count == 3
        assert term["1年以上"].figures[0].amount == D("600000.00")
        guarantee = _by_label(sections["按担保方式"])
        assert guarantee["抵押贷款"].figures[0].amount == D("166666.67")     # L3: guarantee + mortgage
        assert guarantee["保证贷款"].figures[0].amount == D("570000.00")
        assert guarantee["质押贷款"].figures[0].amount == D("300000.00")
        assert guarantee["信用贷款"].figures[0].amount == D("675000.00")
        assert guarantee["信用贷款"].figures[2].amount == D("150000.00")     # year start: L1 only
        classes = _by_label(sections["按五级分类"])
        assert classes["次级"].figures[0].amount == D("75000.00")
        assert classes["正常"].figures[0].amount == D("1636666.67")
        assert classes["正常"].figures[1].amount == D("415000.00")        # L1 was normal at the end of February
        customer = _by_label(sections["按借款人类型"])
        assert customer["企业法人"].figures[0].amount == D("670000.00")
        assert customer["个体工商户"].figures[0].amount == D("300000.00")
        assert table.total.changes == [P.TOTAL - D("415000"), P.TOTAL - D("150000")]
        assert table.rates.highest == D("18") and table.rates.lowest == D("8")
        weighted = (D("75000") * 12 + D("70000") * 10 + D("166666.67") * 15 + D("300000") * 18 + D("600000") * 8
                    + D("500000") * 12) / P.TOTAL
        assert table.rates.weighted == weighted.quantize(D("0.0001"))


def test_data_scope_officer_sees_own_branch(app, portfolio):
    from app.services.reports import regulatory

    with acting(app, "officer_a") as user:
        table = regulatory.balance_structure(P.AS_OF, user)
        assert table.total.figures[0].amount == D("811666.67")
        assert table.total.figures[0].count == 4
        assert table.check() == []
    with acting(app, "officer_b") as user:
        assert regulatory.balance_structure(P.AS_OF, user).total.figures[0].amount == D("900000.00")
        assert regulatory.disbursement_structure(P.AS_OF, user).total.figures[0].amount == D("900000.00")


def test_disbursement_structure(app, portfolio):
    from app.services.reports import regulatory

    with acting(app, "admin") as user:
        table = regulatory.disbursement_structure(P.AS_OF, user)
        assert [(f.amount, f.count) for f in table.total.figures] == [
            (D("1400000.00"), 3), (D("200000.00"), 1), (D("1810000.00"), 5)]
        assert table.check() == []
        amount = _by_label(dict(table.sections)["按单笔金额"])
        assert amount["30万（含）至50万元（含）"].figures[0].amount == D("800000.00")
        assert amount["20万（含）至30万元"].figures[1].amount == D("200000.00")   # L3 in February
        assert table.rates.highest == D("18") and table.rates.lowest == D("8")
        assert table.rates.weighted == ((D("300000") * 18 + D("600000") * 8 + D("500000") * 12)
                                        / D("1400000")).quantize(D("0.0001"))


def test_monthly_table_adds_up(app, portfolio):
    from app.services.reports import regulatory

    with acting(app, "admin") as user:
        table = regulatory.monthly(P.AS_OF, user)
        rows = {r.month: r for r in table.rows}
        assert [r.opening for r in table.rows] == [D("150000.00"), D("285000.00"), D("415000.00")]
        assert rows[1].disbursed.amount == D("210000.00") and rows[1].recovered == D("75000.00")
        assert rows[1].interest == D("1500.00")
        assert rows[2].recovered == D("70000.00") and rows[2].interest == D("1750.00")
        assert rows[3].disbursed.amount == D("1400000.00") and rows[3].disbursed.count == 3
        assert rows[3].recovered == D("103333.33") and rows[3].interest == D("3666.67")
        assert rows[3].closing == P.TOTAL and rows[3].closing_count == 6
        for r in table.rows:
            assert r.other == 0
            assert r.opening + r.disbursed.amount - r.recovered == r.closing
        assert table.totals["disbursed"] == D("1810000.00")
        assert table.totals["recovered"] == D("248333.33")


def test_flash_report_snapshot(app, portfolio):
    from app.services.reports import regulatory

    with acting(app, "admin") as user:
        s = regulatory.snapshot(P.AS_OF, user)
        assert (s.balance, s.loans, s.customers) == (P.TOTAL, 6, 6)
        assert s.month[0].amount == D("1400000.00") and s.month[1] == D("103333.33")
        assert s.year[0].amount == D("1810000.00") and s.year[1] == D("248333.33")
        assert s.all_time[0].amount == D("1960000.00") and s.all_time[0].count == 6
        assert (s.overdue_loans, s.overdue_balance) == (1, D("75000.00"))
        assert (s.overdue_principal, s.overdue_interest) == (D("75000.00"), D("750.00"))
        assert s.npl == D("75000.00")
        assert s.npl_ratio == (D("75000") * 100 / P.TOTAL).quantize(D("0.01"))
        # specific: 25 % × 75,000 = 18,750; general: 1 % × 1,711,666.67 = 17,116.67
        assert s.provisions.required == D("35866.67")
        assert s.coverage_ratio == (D("35866.67") * 100 / D("75000")).quantize(D("0.01"))
        # capital 100,000,000 − 1,960,000 paid out + receipts 255,250.00
        assert s.funds == D("100000000") - D("1960000") + D("255250.00")


# -- 小贷业务报表 -----------------------------------------------------------------------------
def test_loan_ledger_page_totals_equal_the_ledger(app, portfolio):
    from app.services.reports import business

    with acting(app, "admin") as user:
        page = business.page("ledger", business.Filters(as_of=P.AS_OF), user, 1, 4)
        assert page.total_rows == 6 and page.pages == 2 and len(page.rows) == 4
        assert page.totals["balance"] == P.TOTAL
        assert page.totals["amount"] == D("1960000.00")
        assert page.totals["principal_paid"] == D("248333.33")
        assert page.totals["overdue_principal"] == D("75000.00")
        assert page.totals["interest_receivable"] == D("750.00")
        first = dict(zip([f.key for f in page.report.fields], page.rows[0]))
        assert first["customer"] == "客户L1" and first["balance"] == D("75000.00") and first["class"] == "次级"
        assert first["overdue_days"] == 49 and first["maturity"] == date(2026, 2, 10)
        assert first["guarantee"] == "信用" and first["method"] == "等额本金"
        # filters: a branch, a keyword, the disbursement dates
        assert business.page("ledger", business.Filters(as_of=P.AS_OF, keyword="客户L4"), user).total_rows == 1
        march = business.page("ledger", business.Filters(as_of=P.AS_OF, start=date(2026, 3, 1), end=P.AS_OF), user)
        assert march.total_rows == 3 and march.totals["amount"] == D("1400000.00")
    with acting(app, "officer_b") as user:
        page = business.page("ledger", business.Filters(as_of=P.AS_OF), user)
        assert page.total_rows == 2 and page.totals["balance"] == D("900000.00")


def test_list_reports(app, portfolio):
    from app.services.reports import business

    with acting(app, "admin") as user:
        recoveries = business.page("recoveries", business.Filters(start=date(2026, 3, 1), end=P.AS_OF), user)
        assert recoveries.total_rows == 2
        assert recoveries.totals["principal"] == D("103333.33") and recoveries.totals["interest"] == D("3666.67")
        assert recoveries.totals["amount"] == D("107000.00")
        interest = business.page("interest_received", business.Filters(start=date(2026, 1, 1), end=P.AS_OF), user)
        assert interest.total_rows == 3 and interest.totals["interest"] == D("6916.67")
        assert interest.totals["receipts"] == 4
        undisbursed = business.page("undisbursed", business.Filters(), user)
        assert undisbursed.total_rows == 1 and undisbursed.totals["amount"] == D("120000.00")
        unrecovered = business.page("unrecovered", business.Filters(as_of=P.AS_OF), user)
        assert unrecovered.total_rows == 6 and unrecovered.totals["balance"] == P.TOTAL
        paid_out = business.page("disbursements", business.Filters(start=date(2026, 1, 1), end=P.AS_OF), user)
        assert paid_out.total_rows == 5 and paid_out.totals["amount"] == D("1810000.00")
        receivable = business.page("interest_receivable", business.Filters(as_of=P.AS_OF), user)
        assert receivable.total_rows == 1 and receivable.totals["interest_receivable"] == D("750.00")
        assert receivable.totals["charges"] > 0          # 罚息 and 复利 from the nightly batch
        stats = {r.branch: r for r in business.loan_statistics(P.AS_OF, user)}
        assert stats["北京分公司"].balance == D("811666.67") and stats["北京分公司"].npl == D("75000.00")
        assert stats["上海分公司"].disbursed == D("900000.00") and stats["上海分公司"].loans == 2
        assert sum(r.balance for r in stats.values()) == P.TOTAL
        assert sum(r.recovered for r in stats.values()) == D("103333.33")


def test_loan_ledger_export(app, portfolio):
    client = _client(app, "finance")
    r = client.get(f"/reports/loans/table/ledger/export/?as_of={P.AS_OF}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert sheet["A1"].value == "小额贷款台账"
    rows = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(rows) if row[0] == "业务编号")
    header = rows[header_at]
    assert header[:3] == ("业务编号", "客户名称", "借款人类型")
    data = rows[header_at + 1:header_at + 7]
    balance = header.index("本金余额（元）")
    assert sum(D(str(row[balance])) for row in data) == P.TOTAL
    assert isinstance(data[0][header.index("放款日期")], datetime)          # a real date, not text
    assert data[0][header.index("客户名称")] == "客户L1"
    total = rows[header_at + 7]
    assert total[0] == "合计" and total[balance].startswith("=SUM(")
    assert sheet.freeze_panes is not None and sheet.auto_filter.ref


def test_structure_export_adds_up(app, portfolio):
    client = _client(app, "manager")
    r = client.get(f"/reports/regulatory/structure/balance/export/?as_of={P.AS_OF}")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "贷款业务结构表"
    header_at = next(i for i, row in enumerate(rows) if row[0] == "项目")
    assert rows[header_at][1] == "本月末余额（元）"
    total = next(row for row in rows if row[0] == "贷款合计")
    assert D(str(total[1])) == P.TOTAL and total[2] == 6
    # every section: its category rows add up to the total; its 小计 row is a SUM formula
    sections, current = [], None
    for row in rows[header_at + 1:]:
        if row[0] and row[1] is None and row[0].startswith("按"):
            current = []
            sections.append(current)
        elif row[0] == "小计":
            assert str(row[1]).startswith("=SUM(")
            current = None
        elif current is not None:
            current.append(row)
    assert len(sections) == 7
    for rows_of in sections:
        assert sum(D(str(r[1] or 0)) for r in rows_of) == P.TOTAL
        assert sum(int(r[2] or 0) for r in rows_of) == 6


def _client(app, username):
    from tests.conftest import login

    return login(app.test_client(), username)


@pytest.mark.parametrize("url", [
    "/reports/regulatory/list/", "/reports/regulatory/structure/balance/?as_of=2026-03-31",
    "/reports/regulatory/structure/disbursement/?as_of=2026-03-31&print=1", "/reports/regulatory/monthly/",
    "/reports/regulatory/flash/", "/reports/loans/list/", "/reports/loans/table/ledger/?print=1",
    "/reports/loans/table/recoveries/?start=2026-01-01", "/reports/loans/statistics/", "/dashboard/list/",
])
def test_screens_render(app, portfolio, url):
    client = _client(app, "manager")
    r = client.get(url)
    assert r.status_code == 200, url
    page = text_of(r)
    assert "Traceback" not in page
    if "structure/balance" in url:
        assert "1,711,666.67" in page and "按五级分类" in page
    if "print=1" in url:
        assert "A4 landscape" in page and "navbar" not in page


def test_officer_screens_respect_scope(app, portfolio):
    from app.services.reports import business

    client = _client(app, "approver")
    assert client.get("/reports/loans/table/ledger/").status_code == 200
    r = _client(app, "archivist").get("/reports/loans/table/ledger/")
    assert r.status_code == 403
    assert "ledger" in business.REPORTS


def test_big_export_goes_to_the_background(app, portfolio, monkeypatch):
    from app.services.reports import exports

    monkeypatch.setattr(exports, "threshold", lambda: 3)
    monkeypatch.setitem(app.config, "REDIS_URL", None)   # the job runs in-process (no worker here)
    import os

    from sqlalchemy import select

    from app.extensions import db
    from app.models import AppUser

    client = _client(app, "finance")
    with app.app_context():
        user_id = db.session.execute(select(AppUser.id).where(AppUser.username == "finance")).scalar_one()
        folder = exports.export_dir(user_id)
        before = set(os.listdir(folder))      # other tests' exports of the same user
    r = client.get(f"/reports/loans/table/ledger/export/?as_of={P.AS_OF}")
    assert r.status_code == 302
    files = [f for f in set(os.listdir(folder)) - before if f.endswith(".xlsx")]
    assert len(files) == 1
    token = files[0][:-5]
    r = client.get(f"/reports/loans/download/{token}")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert sheet["A1"].value == "小额贷款台账"
    with app.app_context():
        from app.models.messages import Message

        message = db.session.execute(select(Message).where(Message.link == f"/reports/loans/download/{token}")).scalar()
        assert message is not None and "小额贷款台账" in message.subject
    # another user cannot fetch it
    assert _client(app, "manager").get(f"/reports/loans/download/{token}").status_code == 404


def test_special_report(app, portfolio):
    from app.domain.errors import DomainError
    from app.services.reports import regulatory

    with acting(app, "admin") as user:
        table = regulatory.special(P.AS_OF, user, ["branch", "guarantee"],
                                   ["balance", "loans", "overdue_balance", "year_disbursed", "year_disbursed_count"])
        rows = {labels: values for labels, values in table.rows}
        assert rows[("北京分公司", "保证贷款")]["balance"] == D("570000.00")
        assert rows[("北京分公司", "信用贷款")]["overdue_balance"] == D("75000.00")
        assert rows[("上海分公司", "质押贷款")]["year_disbursed_count"] == 1
        assert table.total["balance"] == P.TOTAL and table.total["loans"] == 6
        assert table.total["year_disbursed"] == D("1810000.00")
        with pytest.raises(DomainError):
            regulatory.special(P.AS_OF, user, ["branch", "branch"])
    client = _client(app, "manager")
    r = client.get(f"/reports/regulatory/special/?as_of={P.AS_OF}&dim1=class&m=balance&m=loans")
    assert r.status_code == 200 and "1,636,666.67" in text_of(r)
    r = client.get(f"/reports/regulatory/special/export/?as_of={P.AS_OF}&dim1=class&m=balance")
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    values = [row for row in sheet.iter_rows(values_only=True) if row[0] in ("正常", "次级")]
    assert sum(D(str(v[1])) for v in values) == P.TOTAL


def test_big_lists_sum_on_request(app, portfolio, monkeypatch):
    from app.services.reports import business

    monkeypatch.setattr(business, "TOTALS_ROWS_LIMIT", 3)
    client = _client(app, "manager")
    page = text_of(client.get(f"/reports/loans/table/ledger/?as_of={P.AS_OF}"))
    assert 'id="report-totals-link"' in page and 'id="report-totals"' not in page
    page = text_of(client.get(f"/reports/loans/table/ledger/?as_of={P.AS_OF}&totals=1"))
    assert 'id="report-totals"' in page and "1,711,666.67" in page
