"""授信: customer credit lines (application → approval → usage by loans, refusal above the
available amount, a revolving line restored by settlement, expiry) and bank credit lines
(drawdowns within the line and the funding-leverage limit, the dashboard card)."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Bank, Customer, Loan
from app.models.credit_line import BankDrawdown, CreditLine
from app.services import credit_lines, disbursement, repayments
from app.services import workflow as ws

from . import servicing_helpers
from .servicing_helpers import D, capital, finance_user, fund, installment, key, on, repay
from .test_loans import (  # noqa: F401 (business_date: autouse fixture)
    BUSINESS_DATE, acting, business_date, create_loan, form_errors, loan_count, loan_form,
    make_customer, set_setting, submit, text_of,
)

pytestmark = pytest.mark.dirty
END = BUSINESS_DATE + timedelta(days=365)
LINE_APPROVERS = ["risk", "approver"]   # 客户授信审批流程 (app/services/defaults.py WORKFLOWS)


# --------------------------------------------------------------------------- helpers


def new_line(app, customer_id, limit="150000", revolving=True, start=BUSINESS_DATE, end=END, approve=True):
    """A credit line applied for by the officer through the service, approved by default."""
    with acting(app, "officer_a") as user:
        line = credit_lines.create(user, db.session.get(Customer, customer_id), D(limit), start, end,
                                   revolving=revolving)
        line_id = line.id
        if approve:
            credit_lines.submit(line_id, user)
    if approve:
        servicing_helpers.approve(app, "credit_line", line_id, LINE_APPROVERS)
    return line_id


def line_usage(app, line_id):
    with app.app_context():
        usage = credit_lines.usage(db.session.get(CreditLine, line_id))
        return usage.used, usage.available


def line_status(app, line_id):
    with app.app_context():
        return db.session.get(CreditLine, line_id).status


def count(app, model):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def disburse(app, loan_id, on_day=BUSINESS_DATE):
    with app.app_context():
        db.session.get(Loan, loan_id).status = "ready_to_disburse"
        db.session.commit()
        disbursement.disburse(loan_id, finance_user(), fund(), on_day, "工商银行", "张三", "6222020200112233445")


def make_bank(app, name="工商银行"):
    with app.app_context():
        bank = Bank(name=name, branch_name="北京分行", is_active=True)
        db.session.add(bank)
        db.session.commit()
        return bank.id


def new_bank_line(app, bank_id, limit, contract_no="SX-001"):
    from app.models.credit_line import BankCreditLine

    with acting(app, "finance") as user:
        line = BankCreditLine(bank_id=bank_id, contract_no=contract_no, limit_amount=D(limit),
                              start_date=date(2026, 1, 1), end_date=date(2027, 12, 31), annual_rate=D("4.35"))
        credit_lines.save_bank_line(line, user)
        db.session.add(line)
        db.session.commit()
        return line.id


def draw(app, line_id, amount, kind="drawdown", on_day=BUSINESS_DATE):
    with acting(app, "finance") as user:
        return credit_lines.record_entry(line_id, kind, D(amount), on_day, user).id


# --------------------------------------------------------------------------- customer lines


def test_a_credit_line_is_applied_for_and_approved_through_its_workflow(app, login_as):
    customer_id = make_customer(app)
    officer = login_as("officer_a")
    form = {"customer": str(customer_id), "limit_amount": "300000", "start_date": BUSINESS_DATE.isoformat(),
            "end_date": END.isoformat(), "revolving": "y", "remarks": "年度循环授信"}

    # Bad input: an end date before the start is refused under its field, nothing is saved.
    r = officer.post("/creditlineview/add", data=dict(form, end_date="2026-01-01"))
    assert r.status_code == 200 and "授信到期日不能早于起始日" in text_of(r)
    r = officer.post("/creditlineview/add", data=dict(form, limit_amount="20000000"))
    assert "超过单户贷款余额上限 10,000,000.00 元" in text_of(r)
    assert count(app, CreditLine) == 0

    r = officer.post("/creditlineview/add", data=form)
    assert r.status_code == 302, form_errors(r)
    with app.app_context():
        line = db.session.execute(select(CreditLine)).scalar_one()
        line_id, line_no = line.id, line.line_no
        assert line.status == "draft" and line.revolving and line.limit_amount == D("300000.00")
        assert re.fullmatch(r"SX\d{12}", line_no)

    r = officer.post(f"/creditlineview/submit/{line_id}")
    assert r.status_code == 302
    assert line_status(app, line_id) == "in_approval"
    assert "已提交审批" in text_of(officer.get(f"/creditlineview/show/{line_id}"))
    with app.app_context():
        instance = ws.latest_instance("credit_line", line_id)
        assert instance is not None and instance.status == "running"
        instance_id = instance.id

    # 风控审查 then 总经理审批, through the approval panel's endpoint.
    for username in LINE_APPROVERS:
        reviewer = login_as(username)
        with app.app_context():
            step = ws.latest_instance("credit_line", line_id).current_index
        r = reviewer.post(f"/approval/act/{instance_id}", data={"action": "approve", "opinion": "同意",
                                                                 "step_index": str(step)})
        assert r.status_code == 302
    assert line_status(app, line_id) == "active"

    manager = login_as("manager")
    page = text_of(manager.get(f"/creditlineview/show/{line_id}"))
    assert 'id="credit-line-available">300,000.00' in page and "生效" in page
    assert line_no in text_of(manager.get("/creditlineview/list/?_flt_0_customer_id=张三"))
    assert line_no in text_of(manager.get(f"/creditlineview/list/?_flt_1_customer_id={customer_id}"))
    assert line_no not in text_of(manager.get(f"/creditlineview/list/?_flt_1_customer_id={customer_id + 1}"))

    # The customer page shows the customer's lines with their usage ("Loans and credit" tab).
    page = text_of(manager.get(f"/customerview/show/{customer_id}"))
    assert 'id="customer-credit-lines"' in page and line_no in page and "300,000.00" in page


def test_a_credit_line_caps_a_second_loan(app, login_as):
    customer_id = make_customer(app)
    line_id = new_line(app, customer_id, limit="150000", revolving=True)
    officer = login_as("officer_a")

    first = create_loan(app, officer, customer_id, amount="100000", credit_line=str(line_id))
    assert "已提交审批" in submit(officer, first)
    assert line_usage(app, line_id) == (D("100000.00"), D("50000.00"))

    # The second loan above what is left is refused at the form, with the figures; nothing saved.
    before = loan_count(app)
    r = officer.post("/loanview/add", data=loan_form(app, customer_id, amount="60000", credit_line=str(line_id)))
    assert r.status_code == 200
    assert "贷款金额 60,000.00 元超过授信" in text_of(r)
    assert "可用额度 50,000.00 元（授信额度 150,000.00 元，已用 100,000.00 元）" in text_of(r)
    assert loan_count(app) == before

    # What is left is still usable; a draft saved while there was room is refused at
    # submission once another loan took the room.
    second = create_loan(app, officer, customer_id, amount="50000", credit_line=str(line_id))
    third = create_loan(app, officer, customer_id, amount="40000", credit_line=str(line_id))
    assert "已提交审批" in submit(officer, second)
    assert line_usage(app, line_id) == (D("150000.00"), D("0.00"))
    page = submit(officer, third)
    assert "提交失败" in page and "可用额度 0.00 元" in page
    assert loans_status(app, third) == "draft"

    # The loan form's picker offers this customer's lines only.
    other = make_customer(app, name="李四")
    found = officer.get(f"/creditlineview/search?customer={customer_id}").get_json()["results"]
    assert [r["id"] for r in found] == [line_id]
    assert officer.get(f"/creditlineview/search?customer={other}").get_json()["results"] == []

    # Another customer's loan cannot draw on the line.
    r = officer.post("/loanview/add", data=loan_form(app, other, amount="10000", credit_line=str(line_id)))
    assert "属于客户“张三”，不能用于其他客户的贷款" in text_of(r)


def loans_status(app, loan_id):
    with app.app_context():
        return db.session.get(Loan, loan_id).status


def test_approval_checks_the_line_again(app, login_as):
    customer_id = make_customer(app)
    line_id = new_line(app, customer_id, limit="200000")
    officer = login_as("officer_a")
    loan_id = create_loan(app, officer, customer_id, amount="100000", credit_line=str(line_id))
    assert "已提交审批" in submit(officer, loan_id)

    with acting(app, "risk") as user:
        credit_lines.freeze(line_id, user, "客户涉诉，暂停用信")
    with acting(app, "risk") as user:
        instance = ws.latest_instance("loan_application", loan_id)
        with pytest.raises(DomainError, match="当前状态为“冻结”"):
            ws.act(instance.id, user, "approve", "同意")
    assert loans_status(app, loan_id) == "in_approval"

    with acting(app, "risk") as user:
        credit_lines.unfreeze(line_id, user)
    servicing_helpers.approve(app, "loan_application", loan_id, ["risk"])
    assert loans_status(app, loan_id) == "approved"
    # Approved but not paid out: a revolving line counts the full amount.
    assert line_usage(app, line_id) == (D("100000.00"), D("100000.00"))


def test_settlement_restores_a_revolving_line_but_not_a_non_revolving_one(app, login_as):
    capital(app)
    customer_id = make_customer(app)
    revolving = new_line(app, customer_id, limit="300000", revolving=True)
    once = new_line(app, customer_id, limit="300000", revolving=False)
    officer = login_as("officer_a")
    loan_id = create_loan(app, officer, customer_id, amount="100000", annual_rate="12",
                          credit_line=str(revolving))
    disburse(app, loan_id)
    assert line_usage(app, revolving) == (D("100000.00"), D("200000.00"))

    # A repayment gives its principal back (100,000 at 12 %, 等额本息: period 1 principal 7,884.88).
    first = installment(app, loan_id, 1)
    on(app, first.due_date)
    repay(app, loan_id, "8884.88", first.due_date)
    assert line_usage(app, revolving) == (D("92115.12"), D("207884.88"))

    # Settlement restores the whole line.
    day = first.due_date + timedelta(days=10)
    on(app, day)
    with app.app_context():
        repayments.settle(loan_id, day, fund(), finance_user(), key())
    assert loans_status(app, loan_id) == "settled"
    assert line_usage(app, revolving) == (D("0.00"), D("300000.00"))

    # On a non-revolving line a settled loan still counts in full.
    with app.app_context():
        db.session.get(Loan, loan_id).credit_line_id = once
        db.session.commit()
    assert line_usage(app, once) == (D("100000.00"), D("200000.00"))
    with app.app_context():
        rows = credit_lines.loans_of(db.session.get(CreditLine, once))
        assert [(loan.id, left, counted) for loan, left, counted in rows] == [(loan_id, None, D("100000.00"))]


def test_an_expired_line_and_a_loan_outside_its_dates_are_refused(app, login_as):
    customer_id = make_customer(app)
    end = BUSINESS_DATE + timedelta(days=30)
    line_id = new_line(app, customer_id, limit="200000", end=end)
    officer = login_as("officer_a")

    r = officer.post("/loanview/add", data=loan_form(app, customer_id, amount="50000", credit_line=str(line_id),
                                                     start_date=(end + timedelta(days=1)).isoformat()))
    assert "不在授信" in text_of(r) and f"{end:%Y-%m-%d} 内" in text_of(r)

    loan_id = create_loan(app, officer, customer_id, amount="50000", credit_line=str(line_id))
    on(app, end + timedelta(days=1))
    page = submit(officer, loan_id)
    assert "提交失败" in page and f"已于 {end:%Y-%m-%d} 到期" in page
    assert loans_status(app, loan_id) == "draft"
    assert "已到期" in text_of(officer.get(f"/creditlineview/show/{line_id}"))
    assert officer.get(f"/creditlineview/search?customer={customer_id}").get_json()["results"] == []
    with app.app_context():
        assert credit_lines.expire() == 1
        db.session.commit()
    assert line_status(app, line_id) == "expired"


# --------------------------------------------------------------------------- bank lines


def test_bank_drawdowns_are_capped_by_the_line_and_the_funding_leverage(app, login_as):
    set_setting(app, "net_assets", "10000000")
    set_setting(app, "funding_leverage_multiple", "1")
    bank_id = make_bank(app)
    a = new_bank_line(app, bank_id, "8000000", "GH-2026-01")
    b = new_bank_line(app, bank_id, "5000000", "GH-2026-02")

    draw(app, a, "6000000")
    with pytest.raises(DomainError, match="超过该银行授信额度 8,000,000.00 元"):
        draw(app, a, "2500000")
    with pytest.raises(DomainError, match=r"融资杠杆超限：提款后银行及股东借款余额 11,000,000.00 元将超过上限 "
                                          r"10,000,000.00 元.*当前最多可再借 4,000,000.00 元"):
        draw(app, b, "5000000")
    with pytest.raises(DomainError, match="超过该授信的借款余额 0.00 元"):
        draw(app, b, "1", kind="repayment")
    assert count(app, BankDrawdown) == 1

    # On the screen: refused under the amount, nothing recorded; within the limit it is recorded.
    finance = login_as("finance")
    data = {"line": str(b), "kind": "drawdown", "amount": "4500000", "occurred_on": BUSINESS_DATE.isoformat(),
            "due_date": "", "remarks": "流动资金借款"}
    r = finance.post(f"/bankcreditdrawdownview/add?line_id={b}", data=data)
    assert r.status_code == 200 and "融资杠杆超限" in text_of(r)
    assert count(app, BankDrawdown) == 1
    r = finance.post(f"/bankcreditdrawdownview/add?line_id={b}", data=dict(data, amount="4000000"))
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/bankcreditlineview/show/{b}")
    with app.app_context():
        assert credit_lines.bank_balance(b) == D("4000000.00") and credit_lines.bank_balance() == D("10000000.00")

    # A repayment makes room again.
    draw(app, a, "1000000", kind="repayment")
    draw(app, b, "1000000")
    page = text_of(finance.get(f"/bankcreditlineview/show/{b}"))
    assert 'id="bank-line-drawn">5,000,000.00' in page and 'id="bank-line-available">0.00' in page

    # The dashboard card: borrowing, net assets, ratio, limit.
    home = text_of(finance.get("/"))
    assert 'id="funding-borrowing">10,000,000.00' in home
    assert 'id="funding-net-assets">10,000,000.00' in home
    assert 'id="funding-ratio">100.00%' in home and 'id="funding-limit">10,000,000.00' in home
    assert 'id="funding-headroom">0.00' in home
    assert 'id="section-funding-leverage"' not in text_of(login_as("approver").get("/"))


def test_bank_margin_deposits_are_recorded_and_not_recovered_twice(app, login_as):
    """保证金 paid with a drawdown is what the bank holds until a repayment records it back."""
    set_setting(app, "net_assets", "10000000")
    set_setting(app, "funding_leverage_multiple", "1")
    line = new_bank_line(app, make_bank(app), "5000000", "GH-2026-09")
    finance = login_as("finance")
    data = {"line": str(line), "kind": "drawdown", "amount": "2000000", "margin_amount": "200000.00",
            "interest_amount": "", "occurred_on": BUSINESS_DATE.isoformat(), "due_date": "", "remarks": "提款"}
    r = finance.post(f"/bankcreditdrawdownview/add?line_id={line}", data=dict(data, margin_amount="-1"))
    assert r.status_code == 200 and "保证金不能为负数" in text_of(r)
    assert finance.post(f"/bankcreditdrawdownview/add?line_id={line}", data=data).status_code == 302
    back = dict(data, kind="repayment", amount="500000", margin_amount="200000.01", interest_amount="8000")
    r = finance.post(f"/bankcreditdrawdownview/add?line_id={line}", data=back)
    assert "收回保证金 200,000.01 元超过银行尚持有的保证金 200,000.00 元" in text_of(r)
    assert count(app, BankDrawdown) == 1
    r = finance.post(f"/bankcreditdrawdownview/add?line_id={line}", data=dict(back, margin_amount="50000"))
    assert r.status_code == 302
    with app.app_context():
        assert credit_lines.bank_margin_held(line) == D("150000.00")
        assert credit_lines.bank_balance(line) == D("1500000.00")
    page = text_of(finance.get("/bankcreditdrawdownview/list/"))
    assert "200,000.00" in page and "8,000.00" in page


def test_bank_borrowing_is_posted_to_the_ledger(app, login_as):
    """Each bank record posts a voucher on its date against the bank account it names: the
    trial balance's 短期借款 and 存出保证金 equal the register's balance and margin held, the
    bank account's balance moves by exactly the money that went through it."""
    from app.models import FundAccount, LedgerAccount
    from app.services import ledger, period_close

    set_setting(app, "net_assets", "10000000")
    set_setting(app, "funding_leverage_multiple", "1")
    line = new_bank_line(app, make_bank(app), "5000000", "GH-2026-11")
    with app.app_context():
        bank = db.session.execute(select(FundAccount).where(FundAccount.kind == "bank")).scalar_one()
        bank_id = bank.id
    finance = login_as("finance")
    form = {"line": str(line), "kind": "drawdown", "amount": "2000000", "margin_amount": "200000",
            "interest_amount": "", "occurred_on": "2026-03-02", "due_date": "", "fund_account": str(bank_id),
            "remarks": "流动资金借款"}
    # The add form offers the bank account, filled in.
    page = text_of(finance.get(f"/bankcreditdrawdownview/add?line_id={line}"))
    assert "基本存款账户" in page
    assert finance.post(f"/bankcreditdrawdownview/add?line_id={line}", data=form).status_code == 302
    back = dict(form, kind="repayment", amount="500000", margin_amount="50000", interest_amount="8000.50",
                occurred_on="2026-03-10")
    assert finance.post(f"/bankcreditdrawdownview/add?line_id={line}", data=back).status_code == 302

    with app.app_context():
        entries = db.session.execute(select(BankDrawdown).order_by(BankDrawdown.id)).scalars().all()
        assert [e.voucher is not None and e.fund_account_id == bank_id for e in entries] == [True, True]
        drawdown, repayment = entries
        assert drawdown.voucher.business_date == date(2026, 3, 2)
        assert drawdown.voucher.source_type == "bank_drawdown" and drawdown.voucher.source_id == drawdown.id
        lines = {(ln.account.code, ln.debit, ln.credit) for ln in drawdown.voucher.lines}
        assert lines == {("1002", D("2000000.00"), D("0.00")), ("2001", D("0.00"), D("2000000.00")),
                         ("1031", D("200000.00"), D("0.00")), ("1002", D("0.00"), D("200000.00"))}
        lines = {(ln.account.code, ln.debit, ln.credit) for ln in repayment.voucher.lines}
        assert lines == {("2001", D("500000.00"), D("0.00")), ("1002", D("0.00"), D("500000.00")),
                         ("1002", D("50000.00"), D("0.00")), ("1031", D("0.00"), D("50000.00")),
                         ("6603", D("8000.50"), D("0.00")), ("1002", D("0.00"), D("8000.50"))}
        rows = {r.account.code: r for r in ledger.trial_balance(date(2026, 3, 1), date(2026, 3, 31)).rows}
        assert rows["2001"].closing_net == -credit_lines.bank_balance(line) == D("-1500000.00")
        assert rows["1031"].closing_net == credit_lines.bank_margin_held(line) == D("150000.00")
        assert rows["6603"].closing_net == D("8000.50")
        # The bank account: +2,000,000 − 200,000 − 500,000 + 50,000 − 8,000.50.
        assert rows["1002"].closing_net == D("1341999.50")
        assert db.session.get(FundAccount, bank_id).posted_net == D("1341999.50")
        assert db.session.execute(select(LedgerAccount.name).where(LedgerAccount.code == "2001")).scalar() == "短期借款"

    # Nothing is recorded without a bank account when there is more than one to choose from.
    with app.app_context():
        db.session.add(FundAccount(name="一般存款账户", kind="bank", is_active=True,
                                   ledger_account=db.session.get(FundAccount, bank_id).ledger_account))
        db.session.commit()
    with pytest.raises(DomainError, match="请选择该笔借款或还款的银行存款账户"):
        draw(app, line, "100000")
    r = finance.post(f"/bankcreditdrawdownview/add?line_id={line}", data=dict(form, fund_account=""))
    assert r.status_code == 200 and "请选择该笔借款或还款的银行存款账户" in text_of(r)
    assert count(app, BankDrawdown) == 2

    # A date in a closed month is refused and nothing is saved.
    with acting(app, "admin") as admin:
        period_close.close("2026-02", admin)
    r = finance.post(f"/bankcreditdrawdownview/add?line_id={line}",
                     data=dict(form, amount="100000", margin_amount="", occurred_on="2026-02-27"))
    assert r.status_code == 200 and "已结账" in text_of(r), text_of(r)[:3000]
    assert count(app, BankDrawdown) == 2
