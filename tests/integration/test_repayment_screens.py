"""收款 screens: 收款登记 form (idempotent double submit, refusal keeps the input), the printable
收款单, 结清 from the page, the receipts list and its export, and the home page's due lists."""
import re
from datetime import date, timedelta
from io import BytesIO

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Loan
from app.models.finance import Voucher
from app.models.servicing import Repayment

from .servicing_helpers import D, active_loan, bank_id, capital, count, due_date, form_key, on, repay
from .servicing_helpers import loan_id  # noqa: F401 (fixture)
from .servicing_helpers import text_of as text
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty


def input_value(page, name):
    match = re.search(rf'name="{name}" id="{name}" value="([^"]*)"', page)
    return match.group(1) if match else None


def test_repayment_page_prefills_what_is_due_and_posts_once(app, loan_id, login_as):
    due = due_date(app, loan_id, 1)
    on(app, due)
    client = login_as("finance")
    page = text(client.get(f"/repayment/loan/{loan_id}?date={due.isoformat()}"))
    assert 'data-seq="1" data-state="due"' in page and "今日到期" in page
    assert input_value(page, "amount") == "8884.88"
    assert input_value(page, "received_on") == due.isoformat()
    assert input_value(page, "payer") == "张三"
    key = form_key(page)
    form = {"received_on": due.isoformat(), "amount": "8,884.88", "fund_account": str(bank_id(app)),
            "payer": "张三", "remarks": "柜台收现", "idempotency_key": key}
    r = client.post(f"/repayment/loan/{loan_id}", data=form)
    assert r.status_code == 302 and "/repayment/receipt/" in r.headers["Location"]
    receipt = text(client.get(r.headers["Location"]))
    assert "已登记收款 8,884.88 元" in receipt
    # The same form again (double click, reload): one receipt, one voucher more than before.
    vouchers = count(app, Voucher)
    r2 = client.post(f"/repayment/loan/{loan_id}", data=form, follow_redirects=True)
    assert "重复提交" in text(r2)
    assert count(app, Repayment) == 1 and count(app, Voucher) == vouchers
    with app.app_context():
        row = db.session.execute(select(Repayment)).scalar_one()
        assert (row.amount, row.payer, row.remarks, row.idempotency_key) == (D("8884.88"), "张三", "柜台收现", key)
    # Nothing due on that date any more: the form offers the next installment.
    page = text(client.get(f"/repayment/loan/{loan_id}?date={due.isoformat()}"))
    assert 'data-seq="1" data-state="paid"' in page
    assert input_value(page, "amount") == "8884.88"   # period 2
    assert form_key(page) != key


def test_refusal_shows_the_form_again_with_the_input_and_changes_nothing(app, loan_id, login_as):
    due = due_date(app, loan_id, 1)
    on(app, due)
    client = login_as("finance")
    key = form_key(text(client.get(f"/repayment/loan/{loan_id}")))
    vouchers = count(app, Voucher)
    r = client.post(f"/repayment/loan/{loan_id}", data={
        "received_on": due.isoformat(), "amount": "50000.00", "fund_account": str(bank_id(app)), "payer": "李四代付",
        "remarks": "备注保留", "idempotency_key": key})
    page = text(r)
    assert r.status_code == 200 and 'id="form-error"' in page and "提前还款" in page
    assert input_value(page, "amount") == "50000.00" and input_value(page, "payer") == "李四代付"
    assert input_value(page, "remarks") == "备注保留" and form_key(page) == key
    # A date after the business date is refused too, under its field.
    r = client.post(f"/repayment/loan/{loan_id}", data={
        "received_on": (due + timedelta(days=1)).isoformat(), "amount": "100", "fund_account": str(bank_id(app)),
        "payer": "张三", "idempotency_key": key})
    assert "不能晚于营业日期" in text(r) and "has-error" in text(r)
    assert count(app, Repayment) == 0 and count(app, Voucher) == vouchers


def test_receipt_shows_the_allocation_line_by_line(app, loan_id, login_as):
    """Period 2 paid 10 days late (period 1 on time): 罚息 39.82, 复利 4.61 on the receipt."""
    first = due_date(app, loan_id, 1)
    on(app, first)
    repay(app, loan_id, "8884.88", first)
    late = due_date(app, loan_id, 2) + timedelta(days=10)
    on(app, late)
    client = login_as("finance")
    page = text(client.get(f"/repayment/loan/{loan_id}"))
    assert 'data-seq="2" data-state="overdue"' in page and input_value(page, "amount") == "8929.31"
    assert 'id="sum-charges">39.82 / 4.61<' in page
    r = client.post(f"/repayment/loan/{loan_id}", data={
        "received_on": late.isoformat(), "amount": "8929.31", "fund_account": str(bank_id(app)), "payer": "张三",
        "idempotency_key": form_key(page)}, follow_redirects=True)
    receipt = text(r)
    assert 'id="print-receipt"' in receipt and "@media print" in receipt
    lines = re.findall(r'data-seq="(\d*)" data-component="(\w+)"><td>[^<]*</td><td>([^<]+)</td>'
                       r'<td class="ml-money">([\d,.]+)</td>', receipt)
    assert [(s, c, label, a) for s, c, label, a in lines] == [
        ("2", "penalty", "罚息", "39.82"), ("2", "compound", "复利", "4.61"), ("2", "interest", "利息", "921.15"),
        ("2", "principal", "本金", "7,963.73")]
    assert 'id="receipt-amount">¥8,929.31<' in receipt
    assert "捌仟玖佰贰拾玖元叁角壹分" in receipt
    with app.app_context():
        receipt_row = db.session.execute(select(Repayment).order_by(Repayment.id.desc())).scalars().first()
        voucher_no, voucher_id = receipt_row.voucher.voucher_no, receipt_row.voucher_id
    assert f'href="/voucherview/show/{voucher_id}">{voucher_no}<' in receipt
    # Read-only roles see the receipt but get no form; an officer gets 403.
    manager = login_as("manager")
    assert manager.get(f"/repayment/receipt/{receipt_row.id}").status_code == 200
    assert 'id="repayment-form"' not in text(manager.get(f"/repayment/loan/{loan_id}"))
    assert manager.post(f"/repayment/loan/{loan_id}", data={}).status_code == 403
    assert login_as("officer_a").get(f"/repayment/receipt/{receipt_row.id}").status_code == 403


def test_settlement_from_the_page_closes_the_loan(app, loan_id, login_as):
    day = date(2026, 5, 1)
    first = due_date(app, loan_id, 1)
    on(app, first)
    repay(app, loan_id, "8884.88", first)
    on(app, day)
    client = login_as("finance")
    page = text(client.get(f"/repayment/settle/{loan_id}?date={day.isoformat()}"))
    assert 'id="q-principal">92,115.12<' in page and 'id="q-interest">460.58<' in page
    assert 'id="q-fees">500.00<' in page and 'id="q-total">93,075.70<' in page
    # Another date reloads the quote (one day earlier: 14 days of interest).
    earlier = text(client.get(f"/repayment/settle/{loan_id}?date={(day - timedelta(days=1)).isoformat()}"))
    assert 'id="q-interest">429.87<' in earlier
    key = form_key(page)
    r = client.post(f"/repayment/settle/{loan_id}", data={
        "settled_on": day.isoformat(), "fund_account": str(bank_id(app)), "payer": "张三", "idempotency_key": key})
    assert r.status_code == 302
    receipt = text(client.get(r.headers["Location"]))
    assert "已结清" in receipt and "结清" in receipt and 'id="settlement-documents"' in receipt
    assert re.search(r'href="/attachmentview/file/\d+">结清证明_', receipt)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan.status == "settled" and loan.closed_on == day
        assert db.session.execute(select(Repayment).where(Repayment.kind == "settlement")).scalar_one().amount == \
            D("93075.70")
    # The page now says there is nothing to settle; a second submit posts nothing.
    assert 'id="not-payable"' in text(client.get(f"/repayment/settle/{loan_id}"))
    client.post(f"/repayment/settle/{loan_id}", data={
        "settled_on": day.isoformat(), "fund_account": str(bank_id(app)), "payer": "张三", "idempotency_key": key})
    assert count(app, Repayment) == 2


def test_receipts_list_search_and_export(app, loan_id, login_as):
    first = due_date(app, loan_id, 1)
    on(app, first)
    repay(app, loan_id, "8884.88", first)
    with app.app_context():
        loan_no = db.session.get(Loan, loan_id).loan_no
    client = login_as("finance")
    page = text(client.get("/repaymentlistview/list/"))
    assert loan_no in page and "8,884.88" in page
    assert loan_no in text(client.get("/repaymentlistview/list/?_flt_0_loan_id=张三"))
    assert loan_no not in text(client.get("/repaymentlistview/list/?_flt_0_loan_id=无此人"))
    assert loan_no in text(client.get("/repaymentlistview/list/?_flt_0_kind=正常还款"))
    r = client.get("/repaymentlistview/export?_flt_0_loan_id=张三")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    from openpyxl import load_workbook

    sheet = load_workbook(BytesIO(r.data)).active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert loan_no in values
    # Another branch's officer cannot reach receipts at all; a manager sees the list.
    assert login_as("manager").get("/repaymentlistview/list/").status_code == 200
    assert login_as("officer_b").get("/repaymentlistview/list/").status_code == 403


def test_home_lists_today_and_overdue_installments(app, login_as):
    capital(app)
    late_loan = active_loan(app, login_as, name="王五")                               # from 2026-03-16
    on(app, date(2026, 3, 26))
    due_loan = active_loan(app, login_as, disbursed_on=date(2026, 3, 26), name="赵六",
                           start_date="2026-03-26")                                     # first due 2026-04-26
    on(app, date(2026, 4, 26))   # 王五's period 1 (due 04-16) is 10 days overdue; 赵六's is due today
    with app.app_context():
        late_no = db.session.get(Loan, late_loan).loan_no
        due_no = db.session.get(Loan, due_loan).loan_no
    page = text(login_as("finance").get("/"))
    today = page.split('id="section-due-today"')[1].split('id="section-due-overdue"')[0]
    overdue = page.split('id="section-due-overdue"')[1].split('id="section-due-upcoming"')[0]
    assert f'href="/repayment/loan/{due_loan}?date=2026-04-26">{due_no}<' in today and "赵六" in today
    assert "8,884.88" in today and late_no not in today
    assert f'href="/repayment/loan/{late_loan}?date=2026-04-26">{late_no}<' in overdue and "王五" in overdue
    # 7,884.88 principal × 18 % × 10 / 360 = 39.42 罚息; 1,000.00 × 18 % × 10 / 360 = 5.00 复利.
    assert "8,929.30" in overdue and "<td>10</td>" in overdue
    assert 'id="section-due-today-count">1<' in page and 'id="section-due-overdue-count">1<' in page
    # Data scope: the Shanghai officer sees neither loan.
    other = text(login_as("officer_b").get("/"))
    assert late_no not in other and due_no not in other
    # The officer of the loans sees them, linked to the loan page (no access to the repayment desk).
    mine = text(login_as("officer_a").get("/"))
    assert f'href="/loanview/show/{late_loan}">{late_no}<' in mine


def test_home_due_lists_take_a_fixed_number_of_queries(app, login_as):
    """However many loans there are: the counts, the first rows' ids of each list that has rows
    (one query each, walked in the list's order and stopped at the limit), their details."""
    from sqlalchemy import event

    from app.services import home

    capital(app)
    for name in ("甲", "乙", "丙"):
        active_loan(app, login_as, name=name)
    on(app, date(2026, 6, 20))
    with app.test_request_context():
        from flask import g

        from .servicing_helpers import finance_user

        user = finance_user()
        g.user = user
        home.due_lists(user)     # warm the scope and settings caches
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            lists = home.due_lists(user)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    with_rows = sum(1 for number in lists.counts.values() if number)
    assert len(statements) == 2 + with_rows, statements   # counts, each list's first ids, their details
    assert lists.counts["overdue"] == 9 and len(lists.rows["overdue"]) == 9
    assert home.DUE_KINDS == ("today", "overdue", "upcoming")
    assert [r.due_date for r in lists.rows["overdue"]] == sorted(r.due_date for r in lists.rows["overdue"])
