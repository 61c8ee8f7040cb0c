"""财务报表 and 台账 (issue #11 §5–6) against a hand-built portfolio: the loans and receipts of
reports_portfolio.py plus, through the services,

| date       | what                                                      | bank            | cash    |
|------------|-----------------------------------------------------------|-----------------|---------|
| 2026-03-02 | 提取备用金: bank → cash (ledger voucher, no loan)            | − 50,000.00     | + 50,000|
| 2026-03-06 | L4 (SH) 保证金 collected                                    | + 30,000.00     |         |
| 2026-03-11 | L3 (BJ) 保证金 collected                                    | + 10,000.00     |         |
| 2026-03-16 | L2 (BJ) 保证金 collected                                    | + 20,000.00     |         |
| 2026-03-20 | 管理费用 paid in cash (no loan)                               |                 | − 8,000 |
| 2026-03-21 | L5 (SH) 评审费 collected (0.5 % of 600,000, receivable)       | + 3,000.00      |         |
| 2026-03-25 | L3 退还保证金 4,000 (request approved and executed)          | − 4,000.00      |         |
| 2026-03-31 | L2 结清 with the deposit offset: 70,000 principal + 311.11   | + 51,361.11     |         |
|            | interest (16 days at 10 %) + 1,050 评审费 − 20,000 deposit   |                 |         |

Every GRJYD payout also books its 评审费 (Dr 1221 / Cr 6021, no cash): it nets to nothing.

March 2026 on the bank account (基本存款账户): opening 100,000,000 capital − 560,000 paid out
(L1–L3) + 148,250 received (L1 #1, L2 #1) = 99,588,250.00; in 221,361.11 (receipts 107,000,
deposits 60,000, fee 3,000, settlement 51,361.11); out 1,454,000.00 (payouts L4–L6 1,400,000,
transfer 50,000, deposit returned 4,000); closing 98,355,611.11. Cash: in 50,000, out 8,000.

By kind (bank): 放款 out 1,400,000; 收回本金 in 33,333.33 + 70,000 + 70,000 = 173,333.33;
收回利息 2,500 + 1,166.67 + 311.11 = 3,977.78; 手续费 3,000 + 1,050 = 4,050; 保证金 in 60,000,
out 4,000 + 20,000 (offset) = 24,000; 调整 in −20,000 (the offset: no cash came in for it), out
+50,000 − 20,000 = 30,000 (the transfer, less the offset). Cash: 其他 out 8,000, 调整 in 50,000.

Bank register (not in the ledger): 工商银行 line A1 5,000,000 (2026-01-01 – 12-31, 4.5 %),
drawdown 2,000,000 on 2026-01-10 with 200,000 margin, repayment 500,000 on 2026-03-10 with
15,000 interest and 50,000 margin back; 建设银行 line B1 3,000,000 (2025-06-01 – 2026-05-31),
drawdown 1,000,000 on 2025-07-01 with 100,000 margin, repayment 200,000 on 2026-02-20 with
12,500 interest; line B2 1,000,000 ended 2025-12-31, never drawn.
"""
import io
import itertools
import json
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from flask import g
from sqlalchemy import select, update

from app.extensions import db
from app.models import Customer, FundAccount, Loan
from app.models.customer import Bank
from app.models.loan import LoanFee

from . import reports_portfolio as P
from .servicing_helpers import approve, finance_user, fund, key, on
from .test_loans import acting, text_of

D = Decimal
MARCH = {"start": date(2026, 3, 1), "end": P.AS_OF}
EVIL = "=1+1客户L4"
# The bank register (see _bank_register) is posted against 基本存款账户: before March
# +1,000,000 − 100,000 (B1) + 2,000,000 − 200,000 (A1) − 200,000 − 12,500 (B1) = +2,487,500;
# in March A1's repayment: −500,000 + 50,000 margin back − 15,000 interest.
BANK_OPENING = D("99588250.00") + D("2487500.00")
BANK_CLOSING = D("98355611.11") + D("2487500.00") - D("465000.00")


@pytest.fixture(autouse=True)
def _baseline():
    """Overrides tests/integration/conftest.py: the portfolio is built once for the module."""
    yield


def _cash():
    return db.session.execute(select(FundAccount).where(FundAccount.kind == "cash").order_by(FundAccount.id)
                              ).scalars().first()


def _post(app, day, description, lines):
    from app.services import ledger

    with app.app_context():
        user = finance_user()
        ledger.post(description, lines(ledger), user, business_date=day)
        db.session.commit()


def _deposit(app, loan_id, amount, day):
    from app.services import fees

    on(app, day)
    with app.app_context():
        fee = LoanFee(loan_id=loan_id, fee_type="deposit", basis="fixed", value=D(amount), timing="at_disbursement",
                      account="deposit", amount=D(amount), due_on=day)
        db.session.add(fee)
        db.session.commit()
        fees.collect(fee.id, D(amount), day, fund(), finance_user(), key())


def _bank_register(app):
    from app.models.credit_line import BankCreditLine, BankDrawdown
    from app.services import credit_lines, settings

    with app.app_context():
        settings.set_value("net_assets", "50000000")
        settings.set_value("funding_leverage_multiple", "1")
        user = finance_user()
        a = Bank(name="工商银行", branch_name="城南支行", is_active=True)
        b = Bank(name="建设银行", is_active=True)
        db.session.add_all([a, b])
        db.session.flush()
        lines = {
            "A1": BankCreditLine(bank_id=a.id, contract_no="GSYH-2026-01", limit_amount=D("5000000"),
                                 start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), annual_rate=D("4.5"),
                                 status="active", created_by_id=user.id),
            "B1": BankCreditLine(bank_id=b.id, contract_no="JSYH-2025-07", limit_amount=D("3000000"),
                                 start_date=date(2025, 6, 1), end_date=date(2026, 5, 31), annual_rate=D("5"),
                                 status="active", created_by_id=user.id),
            "B2": BankCreditLine(bank_id=b.id, contract_no="JSYH-2024-01", limit_amount=D("1000000"),
                                 start_date=date(2024, 1, 1), end_date=date(2025, 12, 31), annual_rate=D("5.2"),
                                 status="active", created_by_id=user.id),
        }
        db.session.add_all(lines.values())
        db.session.commit()
        for line, kind, amount, day, margin, interest in (
                ("B1", "drawdown", "1000000", date(2025, 7, 1), "100000", "0"),
                ("A1", "drawdown", "2000000", date(2026, 1, 10), "200000", "0"),
                ("B1", "repayment", "200000", date(2026, 2, 20), "0", "12500"),
                ("A1", "repayment", "500000", date(2026, 3, 10), "50000", "15000")):
            entry = BankDrawdown(bank_credit_line_id=lines[line].id, kind=kind, amount=D(amount), occurred_on=day,
                                 margin_amount=D(margin), interest_amount=D(interest))
            db.session.add(entry)
            credit_lines.record(entry, user)
            db.session.commit()
        return {name: line.id for name, line in lines.items()}, a.id, b.id


def build(app):
    from app.models.servicing import ServicingRequest
    from app.services import fees, repayments, servicing_requests

    ids = P.build(app)
    _post(app, date(2026, 3, 2), "提取备用金", lambda ledger: [
        ledger.Line(None, debit=D("50000"), fund_account=_cash()),
        ledger.Line(None, credit=D("50000"), fund_account=fund())])
    _deposit(app, ids["L4"], "30000", date(2026, 3, 6))
    _deposit(app, ids["L3"], "10000", date(2026, 3, 11))
    _deposit(app, ids["L2"], "20000", date(2026, 3, 16))
    _post(app, date(2026, 3, 20), "支付办公费", lambda ledger: [
        ledger.Line(ledger.ADMIN_EXPENSES, debit=D("8000")), ledger.Line(None, credit=D("8000"), fund_account=_cash())])
    on(app, date(2026, 3, 21))
    with app.app_context():
        fee_id = db.session.execute(select(LoanFee.id).where(LoanFee.loan_id == ids["L5"],
                                                             LoanFee.fee_type == "review_fee")).scalar_one()
        fees.collect(fee_id, D("3000"), date(2026, 3, 21), fund(), finance_user(), key())
    on(app, date(2026, 3, 25))
    with acting(app, "officer_a") as user:
        request = servicing_requests.apply(ServicingRequest(
            kind="deposit_return", loan_id=ids["L3"], amount=D("4000"), reason="客户申请部分退还保证金",
            fund_account_id=fund().id), user)
        request_id = request.id
    approve(app, "deposit_return", request_id)
    with app.app_context():
        servicing_requests.execute(request_id, finance_user(), idempotency_key=key(), fund_account=fund())
    on(app, P.AS_OF)
    with app.app_context():
        repayments.settle(ids["L2"], P.AS_OF, fund(), finance_user(), key(), offset_deposit=True)
        db.session.execute(update(Customer).where(Customer.id == select(Loan.customer_id).where(
            Loan.id == ids["L4"]).scalar_subquery()).values(name=EVIL))
        db.session.commit()
    ids["lines"], ids["bank_a"], ids["bank_b"] = _bank_register(app)
    with app.app_context():
        g.user = None
        db.session.remove()
    return ids


@pytest.fixture(scope="module")
def portfolio(app):
    yield from P.built_once(app, build)


def _filters(**kwargs):
    from app.services.reports import finance

    return finance.Filters(**kwargs)


def _client(app, username):
    from tests.conftest import login

    return login(app.test_client(), username)


def _sheet(response):
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def _table(sheet, first_header):
    """(rows above the header, the header, the data rows, the 合计 row or None)."""
    rows = list(sheet.iter_rows(values_only=True))
    at = next(i for i, row in enumerate(rows) if row[0] == first_header)
    body, total = [], None
    for row in rows[at + 1:]:
        if row[0] == "合计":
            total = row
            break
        body.append(row)
    return rows[:at], rows[at], body, total


# -- 收支汇总统计 ------------------------------------------------------------------------------
def test_income_summary_by_kind_and_fund_account(app, portfolio):
    from app.services import ledger
    from app.services.reports import finance

    with acting(app, "admin") as user:
        report = finance.income_summary(_filters(**MARCH), user)
        funds = {f.name: f for f in report.funds}
        bank, cash = funds["基本存款账户"], funds["库存现金"]
        assert (bank.opening, bank.money_in, bank.money_out, bank.closing) == (
            BANK_OPENING, D("271361.11"), D("1969000.00"), BANK_CLOSING)
        assert (cash.opening, cash.money_in, cash.money_out, cash.closing) == (0, D("50000.00"), D("8000.00"),
                                                                              D("42000.00"))
        # the closing balances are the ledger's
        assert bank.closing == ledger.account_balance(ledger.BANK, P.AS_OF)
        assert cash.closing == ledger.account_balance(ledger.CASH, P.AS_OF)
        kinds = {k.key: k for k in report.kinds}
        assert kinds["disbursement"].of(bank.id) == [0, D("1400000.00")]
        assert kinds["principal"].of(bank.id) == [D("173333.33"), 0]
        assert kinds["interest"].of(bank.id) == [D("3977.78"), 0]
        assert kinds["penalty"].of(bank.id) == [0, 0]
        assert kinds["fee"].of(bank.id) == [D("4050.00"), 0]           # the payout fees net to nothing
        assert kinds["deposit"].of(bank.id) == [D("60000.00"), D("24000.00")]
        assert kinds["other"].of(cash.id) == [0, D("8000.00")]
        assert kinds["adjustment"].of(bank.id) == [D("-20000.00"), D("30000.00")]
        assert kinds["adjustment"].of(cash.id) == [D("50000.00"), 0]
        # the bank register: A1's repayment with its margin back and the interest paid
        assert kinds["borrowing"].of(bank.id) == [0, D("500000.00")]
        assert kinds["bank_margin"].of(bank.id) == [D("50000.00"), 0]
        assert kinds["bank_interest"].of(bank.id) == [0, D("15000.00")]
        # both ways the totals are the fund accounts' debits and credits
        assert sum((k.money_in for k in report.kinds), D(0)) == report.total_in == D("321361.11")
        assert sum((k.money_out for k in report.kinds), D(0)) == report.total_out == D("1977000.00")
        for f in report.funds:
            assert sum((k.of(f.id)[0] for k in report.kinds), D(0)) == f.money_in
            assert sum((k.of(f.id)[1] for k in report.kinds), D(0)) == f.money_out
        # one fund account
        only_cash = finance.income_summary(_filters(fund_account_id=cash.id, **MARCH), user)
        assert [f.name for f in only_cash.funds] == ["库存现金"] and only_cash.total_out == D("8000.00")
        # another period: January (capital, L2 payout, L1 #1)
        january = finance.income_summary(_filters(start=date(2026, 1, 1), end=date(2026, 1, 31)), user)
        jan = {k.key: k for k in january.kinds}
        assert jan["other"].money_in == D("100000000.00") and jan["disbursement"].money_out == D("210000.00")
        assert (jan["principal"].money_in, jan["interest"].money_in) == (D("75000.00"), D("1500.00"))
        assert (jan["borrowing"].money_in, jan["bank_margin"].money_out) == (D("2000000.00"), D("200000.00"))
        assert "adjustment" not in jan


def test_income_summary_respects_scope_and_branch(app, portfolio):
    from app.services.reports import finance

    with acting(app, "officer_b") as user:        # 上海: L4 and L5 only, no company-wide movements
        report = finance.income_summary(_filters(**MARCH), user)
        assert report.scoped and (report.total_in, report.total_out) == (D("33000.00"), D("900000.00"))
        kinds = {k.key: k for k in report.kinds}
        assert kinds["disbursement"].money_out == D("900000.00") and kinds["deposit"].money_in == D("30000.00")
        assert kinds["fee"].money_in == D("3000.00") and "adjustment" not in kinds
        assert report.opening == 0
    with acting(app, "officer_a") as user:        # 北京: L1, L2, L3, L6
        report = finance.income_summary(_filters(**MARCH), user)
        assert (report.total_in, report.total_out) == (D("188361.11"), D("504000.00"))
        assert report.opening == 0           # a partial view: balances run from the period's start
    with acting(app, "finance") as user:       # head office: every loan and the company's own movements
        report = finance.income_summary(_filters(**MARCH), user)
        assert not report.scoped and (report.total_in, report.total_out) == (D("321361.11"), D("1977000.00"))
    with acting(app, "admin") as user:
        sh = db.session.execute(select(Loan.branch_id).where(Loan.id == portfolio["L4"])).scalar_one()
        report = finance.income_summary(_filters(branch_id=sh, **MARCH), user)
        assert (report.total_in, report.total_out) == (D("33000.00"), D("900000.00"))


# -- 收支明细 ----------------------------------------------------------------------------------
def test_income_detail_rows_and_running_balance(app, portfolio):
    from app.services.reports import finance

    with acting(app, "admin") as user:
        page = finance.income_detail(_filters(**MARCH), user, 1, 100)
        assert page.total_rows == 17          # 14 of the loans and the company, 3 of A1's bank repayment
        assert (page.totals[8], page.totals[9]) == (D("321361.11"), D("1977000.00"))
        cash_rows = [r for r in page.rows if r[0] == "库存现金"]
        bank_rows = [r for r in page.rows if r[0] == "基本存款账户"]
        assert [r[10] for r in cash_rows] == [D("50000.00"), D("42000.00")]
        assert bank_rows[-1][10] == BANK_CLOSING
        first = bank_rows[0]       # 3/2 transfer out of the opening balance
        assert first[1] == date(2026, 3, 2) and first[9] == D("50000.00") and first[10] == BANK_OPENING - 50000
        for before, row in itertools.pairwise(bank_rows):
            assert row[10] == before[10] + (row[8] or 0) - (row[9] or 0)
        settle = bank_rows[-1]
        assert settle[6] == "结清" and settle[8] == D("51361.11") and settle[3].startswith("HK")
        kinds = {r[6] for r in bank_rows}
        assert {"放款", "还款", "保证金收取", "费用收取", "退还保证金", "其他", "银行借款"} <= kinds
        bank_loan = sorted((r[8] or 0, r[9] or 0) for r in bank_rows if r[6] == "银行借款")
        assert bank_loan == [(0, D("15000.00")), (0, D("500000.00")), (D("50000.00"), 0)]
        ret = next(r for r in bank_rows if r[6] == "退还保证金")
        assert ret[9] == D("4000.00") and ret[4] and ret[5] == "客户L3" and ret[3]    # the request number
        # paging: the second page carries the balance on
        second = finance.income_detail(_filters(**MARCH), user, 2, 5)
        assert second.rows[0][10] == page.rows[5][10]
    with acting(app, "officer_b") as user:
        page = finance.income_detail(_filters(**MARCH), user)
        loans_seen = {r[4] for r in page.rows}
        names = dict(db.session.execute(select(Loan.id, Loan.loan_no)).all())
        assert loans_seen == {names[portfolio["L4"]], names[portfolio["L5"]]}
        assert page.total_rows == 4 and page.rows[-1][10] == D("33000.00") - D("900000.00")


# -- 未归还客户保证金统计 -----------------------------------------------------------------------
def test_customer_deposits(app, portfolio):
    from app.services.reports import finance

    with acting(app, "admin") as user:
        page = finance.customer_deposits(_filters(as_of=P.AS_OF), user)
        by_customer = {r[1]: r for r in page.rows}
        assert set(by_customer) == {"客户L3", EVIL}                   # L2's deposit went into its settlement
        assert by_customer["客户L3"][7:] == [D("10000.00"), D("4000.00"), D("0.00"), D("6000.00")]
        assert by_customer[EVIL][7:] == [D("30000.00"), D("0.00"), D("0.00"), D("30000.00")]
        assert by_customer[EVIL][5] == date(2026, 3, 6)
        assert [page.totals[i] for i in (7, 8, 9, 10)] == [D("40000.00"), D("4000.00"), D("0.00"), D("36000.00")]
        every = finance.customer_deposits(_filters(as_of=P.AS_OF, show_all=True), user)
        l2 = next(r for r in every.rows if r[1] == "客户L2")
        assert l2[7:] == [D("20000.00"), D("0.00"), D("20000.00"), D("0.00")] and l2[4] == "已结清"
        assert every.totals[10] == D("36000.00") == finance.ledger.account_balance("2203", P.AS_OF)
        earlier = finance.customer_deposits(_filters(as_of=date(2026, 3, 20)), user)
        assert earlier.total_rows == 3 and earlier.totals[10] == D("60000.00")
    with acting(app, "officer_a") as user:
        page = finance.customer_deposits(_filters(as_of=P.AS_OF), user)
        assert [r[1] for r in page.rows] == ["客户L3"] and page.totals[10] == D("6000.00")


# -- 资金分布 ----------------------------------------------------------------------------------
def test_fund_distribution_equals_the_ledger(app, portfolio):
    from app.services import ledger
    from app.services.reports import finance, regulatory

    with acting(app, "admin"):
        report = finance.fund_distribution(P.AS_OF)
        rows = {r.name: r for r in report.rows}
        assert rows["基本存款账户"].balance == BANK_CLOSING and rows["库存现金"].balance == D("42000.00")
        assert report.available == BANK_CLOSING + 42000 == regulatory.funds_available(P.AS_OF)
        assert (rows["库存现金"].share, rows["基本存款账户"].share) == (D("0.04"), D("99.96"))
        checks = {c.code: c for c in report.checks}
        assert checks["1001"].funds == checks["1001"].ledger == D("42000.00")
        assert checks["1002"].funds == checks["1002"].ledger == ledger.account_balance("1002", P.AS_OF)
        # the capital was posted to 4001 without naming the capital fund account
        assert checks["4001"].difference == D("100000000.00") and rows["股东股金"].balance == 0
        assert report.chart() == [{"name": "库存现金", "value": "42000.00"},
                                  {"name": "基本存款账户", "value": str(BANK_CLOSING)}]
        february = finance.fund_distribution(date(2026, 2, 28))
        assert february.available == BANK_OPENING
        trial = ledger.trial_balance(date(2026, 3, 1), P.AS_OF)
        closing = {r.account.code: r.closing for r in trial.rows}
        assert closing["1001"] + closing["1002"] == report.available


# -- 项目收付流水账 -----------------------------------------------------------------------------
def test_project_journal_of_one_loan(app, portfolio):
    from app.services.reports import finance

    with acting(app, "admin") as user:
        page = finance.project_journal(_filters(loan_id=portfolio["L2"]), user)
        head = [c.header for c in page.columns]
        at = {h: i for i, h in enumerate(head)}
        assert [r[at["日期"]] for r in page.rows] == [date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15),
                                                      date(2026, 3, 16), date(2026, 3, 31)]
        assert [r[at["本金余额"]] for r in page.rows] == [D("210000.00"), D("140000.00"), D("70000.00"),
                                                        D("70000.00"), D("0.00")]
        payout, settle = page.rows[0], page.rows[-1]
        assert payout[at["支出"]] == D("210000.00") and payout[at["其中：本金"]] == D("-210000.00")
        assert payout[at["手续费"]] is None                      # the fee booked at payout is no cash
        assert settle[at["收入"]] == D("51361.11") and settle[at["利息"]] == D("311.11")
        assert (settle[at["手续费"]], settle[at["保证金"]]) == (D("1050.00"), D("-20000.00"))
        parts = [at[label] for label in ("其中：本金", "利息", "罚息", "手续费", "保证金", "其他")]
        for row in page.rows:
            assert (row[at["收入"]] or 0) - (row[at["支出"]] or 0) == sum((row[i] or 0) for i in parts)
        assert (page.totals[at["收入"]], page.totals[at["支出"]]) == (D("214277.78"), D("210000.00"))


def test_project_journal_of_all_loans(app, portfolio):
    from app.services.reports import finance

    with acting(app, "admin") as user:
        page = finance.project_journal(_filters(**MARCH), user)
        at = {c.header: i for i, c in enumerate(page.columns)}
        assert page.total_rows == 11
        assert (page.totals[at["收入"]], page.totals[at["支出"]]) == (D("221361.11"), D("1404000.00"))
        l3 = [r for r in page.rows if r[at["客户名称"]] == "客户L3"]
        # L3's balance carries over from before March: 200,000 − 33,333.33
        assert l3[0][at["本金余额"]] == D("166666.67") and l3[-1][at["业务类型"]] == "退还保证金"
        small = finance.project_journal(_filters(**MARCH), user, 2, 4)
        assert small.rows[0] == page.rows[4]
    with acting(app, "officer_b") as user:
        page = finance.project_journal(_filters(**MARCH), user)
        assert {r[2] for r in page.rows} == {EVIL, "客户L5"}
        assert finance.project_journal(_filters(loan_id=portfolio["L2"], **MARCH), user).total_rows == 0


def test_loan_picker(app, portfolio):
    from app.models import GeneratedDocument
    from app.services.reports import finance

    with acting(app, "admin") as user:
        loan_no = db.session.get(Loan, portfolio["L3"]).loan_no
        assert [r.id for r in finance.find_loans(loan_no, user)] == [portfolio["L3"]]
        contract = db.session.execute(select(GeneratedDocument.contract_no).where(       # the 借据 of the payout
            GeneratedDocument.loan_id == portfolio["L5"])).scalars().first()
        assert contract and [r.id for r in finance.find_loans(contract, user)] == [portfolio["L5"]]
        assert len(finance.find_loans("客户L", user)) == 6          # paid out only: not L7
    with acting(app, "officer_b") as user:
        assert finance.find_loans(loan_no, user) == []                    # another branch's loan
    client = _client(app, "finance")
    r = client.get(f"/reports/finance/journal/?q={loan_no}")
    page = text_of(r)
    assert r.status_code == 200 and "166,666.67" in page and "客户L3" in page
    r = client.get("/reports/finance/journal/?q=客户L")
    assert 'id="loan-candidates"' in text_of(r)
    data = json.loads(client.get("/reports/finance/lookup/?q=客户L").data)
    assert len(data["results"]) == 6
    officer = _client(app, "officer_b")
    assert officer.get(f"/reports/finance/journal/?loan_id={portfolio['L3']}").status_code == 404
    assert json.loads(officer.get(f"/reports/finance/lookup/?q={loan_no}").data)["results"] == []


# -- bank ledgers ----------------------------------------------------------------------------
def test_bank_credit_statistics(app, portfolio):
    from app.services.reports import finance

    with acting(app, "admin"):
        report = finance.bank_credit(_filters(as_of=P.AS_OF))
        rows = {r.contract_no: r for r in report.rows}
        a1, b1, b2 = rows["GSYH-2026-01"], rows["JSYH-2025-07"], rows["JSYH-2024-01"]
        assert (a1.drawn, a1.repaid, a1.balance, a1.available, a1.days_left, a1.margin_held) == (
            D("2000000.00"), D("500000.00"), D("1500000.00"), D("3500000.00"), 275, D("150000.00"))
        assert (b1.balance, b1.available, b1.days_left) == (D("800000.00"), D("2200000.00"), 61)
        assert (b2.status_label, b2.available) == ("已到期", 0)
        assert [report.total(n) for n in ("limit", "drawn", "repaid", "balance", "available", "margin_held")] == [
            D("9000000.00"), D("3000000.00"), D("700000.00"), D("2300000.00"), D("5700000.00"), D("250000.00")]
        groups = {g.bank: g for g in report.groups}
        assert groups["建设银行"].total("limit") == D("4000000.00") and len(groups["建设银行"].rows) == 2
        before = finance.bank_credit(_filters(as_of=date(2025, 12, 31)))
        assert [r.contract_no for r in before.rows] == ["JSYH-2024-01", "JSYH-2025-07"]


def test_bank_margins(app, portfolio):
    from app.services.reports import finance

    with acting(app, "admin"):
        report = finance.bank_margins(_filters(as_of=P.AS_OF))
        assert [(r.bank, r.margin_paid, r.margin_back, r.margin_held) for r in report.rows] == [
            ("工商银行城南支行", D("200000.00"), D("50000.00"), D("150000.00")),
            ("建设银行", D("100000.00"), D("0.00"), D("100000.00"))]
        assert report.total("margin_held") == D("250000.00")
        assert finance.margin_cells(report.rows[0])[-1] == D("10.00")          # 150,000 of 1,500,000
        assert finance.bank_margins(_filters(as_of=date(2026, 3, 9))).total("margin_held") == D("300000.00")
        assert finance.bank_margins(_filters(as_of=date(2025, 12, 31))).total("margin_held") == D("100000.00")
        only_b = finance.bank_margins(_filters(as_of=P.AS_OF, bank_id=portfolio["bank_b"]))
        assert [r.bank for r in only_b.rows] == ["建设银行"]


def test_bank_cooperation(app, portfolio):
    from app.services.reports import finance

    with acting(app, "admin"):
        march = {r.bank: r for r in finance.bank_cooperation(_filters(**MARCH)).rows}
        a, b = march["工商银行城南支行"], march["建设银行"]
        assert (a.lines, a.limit, a.drawn, a.repaid, a.interest, a.balance, a.margin_held, a.available) == (
            1, D("5000000.00"), 0, D("500000.00"), D("15000.00"), D("1500000.00"), D("150000.00"), D("3500000.00"))
        assert (b.lines, b.limit, b.repaid, b.interest, b.balance, b.margin_held) == (
            1, D("3000000.00"), 0, 0, D("800000.00"), D("100000.00"))
        quarter = finance.bank_cooperation(_filters(start=date(2026, 1, 1), end=P.AS_OF))
        assert (quarter.total("drawn"), quarter.total("drawdowns"), quarter.total("repaid"),
                quarter.total("interest")) == (D("2000000.00"), 1, D("700000.00"), D("27500.00"))


# -- screens, print, Excel, access -------------------------------------------------------------
SCREENS = [
    "/reports/finance/list/", "/reports/finance/summary/?start=2026-03-01&end=2026-03-31",
    "/reports/finance/detail/?start=2026-03-01&end=2026-03-31&print=1", "/reports/finance/deposits/",
    "/reports/finance/journal/?start=2026-03-01&end=2026-03-31", "/reports/funds/list/?as_of=2026-03-31",
    "/reports/banks/list/", "/reports/banks/credit/?as_of=2026-03-31&print=1", "/reports/banks/margins/",
    "/reports/banks/cooperation/?start=2026-03-01&end=2026-03-31",
]


@pytest.mark.parametrize("url", SCREENS)
def test_screens_render_for_finance(app, portfolio, url):
    r = _client(app, "finance").get(url)
    assert r.status_code == 200, url
    page = text_of(r)
    if "summary" in url:
        assert "321,361.11" in page and "1,977,000.00" in page and "调整" in page and "银行借款/还款" in page
    if "funds" in url:
        assert "echarts.min.js" in page and "100,420,111.11" in page and 'nonce="' in page
    if "print=1" in url:
        assert "A4 landscape" in page and "navbar" not in page
    if url.startswith("/reports/finance/list/"):
        assert "/reports/loans/table/ledger/" in page          # 小贷业务台账 is the existing loan ledger


def test_access_by_role(app, portfolio):
    for url in ("/reports/finance/summary/", "/reports/funds/list/", "/reports/banks/credit/",
                "/reports/finance/detail/export/"):
        assert _client(app, "archivist").get(url).status_code == 403, url
        assert _client(app, "manager").get(url).status_code == 200, url
    anonymous = app.test_client().get("/reports/finance/summary/")
    assert anonymous.status_code == 302 and "/login/" in anonymous.headers["Location"]


def test_bad_dates_are_a_message(app, portfolio):
    client = _client(app, "finance")
    r = client.get("/reports/finance/summary/?start=2026-04-01&end=2026-03-01")
    assert r.status_code == 302 and r.headers["Location"].endswith("/reports/finance/summary/")
    assert client.get("/reports/finance/detail/?start=2026-13-01").status_code == 302


def test_summary_export(app, portfolio):
    sheet = _sheet(_client(app, "finance").get("/reports/finance/summary/export/?start=2026-03-01&end=2026-03-31"))
    assert sheet["A1"].value == "收支汇总统计"
    top, header, body, total = _table(sheet, "业务类型")
    assert any("期间：2026-03-01 至 2026-03-31" in (row[0] or "") for row in top)
    assert header[:4] == ("业务类型", "收入合计", "支出合计", "收支净额")
    assert "基本存款账户 收入" in header and "库存现金 支出" in header
    assert [row[0] for row in body][:3] == ["放款", "收回本金", "收回利息"] and body[-1][0].startswith("调整")
    assert sum(D(str(row[1] or 0)) for row in body) == D("321361.11")
    assert sum(D(str(row[2] or 0)) for row in body) == D("1977000.00")
    assert isinstance(body[1][1], float)                                   # money is a number
    assert str(total[1]).startswith("=SUM(") and str(total[2]).startswith("=SUM(")
    assert sheet.freeze_panes is not None and sheet.auto_filter.ref


def test_detail_export_writes_user_text_as_text(app, portfolio):
    sheet = _sheet(_client(app, "finance").get("/reports/finance/detail/export/?start=2026-03-01&end=2026-03-31"))
    _top, header, body, total = _table(sheet, "资金账户")
    assert header == ("资金账户", "日期", "凭证号", "单据号", "业务编号", "客户/往来单位", "业务类型", "摘要", "收入", "支出",
                      "余额")
    openings = [row for row in body if row[7] == "期初余额"]
    assert [(row[0], row[10]) for row in openings] == [("库存现金", 0), ("基本存款账户", float(BANK_OPENING))]
    assert len(body) == 17 + 2 and isinstance(body[1][1], datetime)
    # the customer named "=1+1客户L4" is a text cell, not a formula
    evil = [c for row in sheet.iter_rows() for c in row if c.value == EVIL]
    assert evil and all(c.data_type == "s" for c in evil)
    assert str(total[8]).startswith("=SUM(") and str(total[9]).startswith("=SUM(")


def test_other_exports(app, portfolio):
    client = _client(app, "finance")
    sheet = _sheet(client.get("/reports/finance/deposits/export/?as_of=2026-03-31"))
    _top, header, body, total = _table(sheet, "业务编号")
    assert header[-1] == "保证金余额"
    assert sum(D(str(row[-1])) for row in body) == D("36000.00")
    assert any(c.value == EVIL and c.data_type == "s" for row in sheet.iter_rows() for c in row)
    sheet = _sheet(client.get("/reports/funds/export/?as_of=2026-03-31"))
    _top, header, body, total = _table(sheet, "资金账户")
    assert sum(D(str(row[5])) for row in body) == BANK_CLOSING + 42000
    sheet = _sheet(client.get(f"/reports/finance/journal/export/?loan_id={portfolio['L2']}"))
    _top, header, body, total = _table(sheet, "日期")
    assert len(body) == 5 and body[-1][-1] == 0
    sheet = _sheet(client.get("/reports/banks/credit/export/?as_of=2026-03-31"))
    _top, header, body, total = _table(sheet, "银行")
    assert str(total[header.index("借款余额")]).startswith("=SUM(")
    assert sum(D(str(row[header.index("借款余额")] or 0)) for row in body) == D("2300000.00")
    sheet = _sheet(client.get("/reports/banks/margins/export/?as_of=2026-03-31"))
    _top, header, body, total = _table(sheet, "银行")
    assert sum(D(str(row[header.index("未收回保证金")])) for row in body) == D("250000.00")
    sheet = _sheet(client.get("/reports/banks/cooperation/export/?start=2026-03-01&end=2026-03-31"))
    _top, header, body, total = _table(sheet, "银行")
    assert sum(D(str(row[header.index("本期支付利息")] or 0)) for row in body) == D("15000.00")


@pytest.mark.parametrize("path, title, first_header", [
    ("/reports/finance/detail/export/?start=2026-03-01&end=2026-03-31", "收支明细", "资金账户"),
    ("/reports/finance/deposits/export/?as_of=2026-03-31", "未归还客户保证金统计", "业务编号"),
    ("/reports/finance/journal/export/?start=2026-03-01&end=2026-03-31", "项目收付流水账", "日期"),
])
def test_big_finance_exports_go_to_the_background(app, portfolio, monkeypatch, path, title, first_header):
    """Over the threshold the export is a job: the same workbook arrives as a link in the
    user's messages, and only that user can download it."""
    from app.models.messages import Message
    from app.services.reports import exports

    client = _client(app, "finance")
    direct = _table(_sheet(client.get(path)), first_header)
    monkeypatch.setattr(exports, "threshold", lambda: 1)
    monkeypatch.setitem(app.config, "REDIS_URL", None)    # the job runs in-process (no worker here)
    response = client.get(path)
    assert response.status_code == 302 and "/export/" not in response.headers["Location"]
    with app.app_context():
        message = db.session.execute(select(Message).where(Message.link.like("/reports/loans/download/%"))
                                     .order_by(Message.id.desc())).scalars().first()
        assert message is not None and title in message.subject
    queued = _table(_sheet(client.get(message.link)), first_header)
    assert queued[1:] == direct[1:]                       # header, rows and totals as downloaded directly
    assert _client(app, "manager").get(message.link).status_code == 404     # another user's file
