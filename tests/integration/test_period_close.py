"""期末结算: the month-end interest accrual (Dr 1132 / Cr 6011) to the fen, interest counted
once when the borrower later pays, non-accrual after 90 days overdue, the closing report,
the lock on closed months (vouchers, receipts, reversals), closing in order, and 反结账
by an admin only."""
from datetime import date

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Installment, JournalLine, LedgerAccount, Voucher
from app.models.servicing import PeriodClose, Repayment
from app.services import ledger, period_close, repayments

from .servicing_helpers import D, active_loan, capital, finance_user, fund, installment, key, on, repay, text_of
from .servicing_helpers import loan_id  # noqa: F401 (fixture)
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty
APRIL_1 = date(2026, 4, 1)
LOCKED = "2026-03 已结账，不能记账到 {}；请使用本期日期或请管理员反结账"


def close(app, period, username="finance"):
    from app.models import AppUser
    from flask import g

    with app.app_context():
        g.user = db.session.execute(select(AppUser).where(AppUser.username == username)).scalar_one()
        row = period_close.close(period, g.user)
        return row.id


def account_total(app, code, loan_id=None, side="credit"):
    """Σ of one side of an account's lines (optionally of one loan)."""
    with app.app_context():
        column = JournalLine.credit if side == "credit" else JournalLine.debit
        query = (select(func.coalesce(func.sum(column), 0)).join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
                 .where(LedgerAccount.code == code))
        if loan_id is not None:
            query = query.where(JournalLine.loan_id == loan_id)
        return D(db.session.execute(query).scalar()).quantize(D("0.01"))


def balance(app, code):
    with app.app_context():
        return ledger.account_balance(code)


# --------------------------------------------------------------------------- the accrual


def test_closing_march_accrues_interest_from_payout_to_month_end(app, loan_id):
    on(app, APRIL_1)
    with app.app_context():
        preview = period_close.compute_accrual("2026-03")
        assert [(line.loan.id, line.amount) for line in preview.lines] == [(loan_id, D("533.33"))]
    row_id = close(app, "2026-03")
    with app.app_context():
        row = db.session.get(PeriodClose, row_id)
        assert (row.period, row.period_end, row.status, row.closed_by.username) == (
            "2026-03", date(2026, 3, 31), "closed", "finance")
        voucher = row.accrual_voucher
        # 100,000 × 12 % × 16 days (03-16 … 03-31) / 360 = 533.33
        assert voucher.business_date == date(2026, 3, 31)
        assert (voucher.source_type, voucher.source_id) == ("period_close", row.id)
        assert sorted((l.account.code, l.debit, l.credit, l.loan_id) for l in voucher.lines) == [
            ("1132", D("533.33"), D("0"), loan_id), ("6011", D("0"), D("533.33"), loan_id)]
        report = period_close.report_of(row)
        assert report["accrual"]["amount"] == "533.33" and report["accrual"]["loans"] == 1
        assert report["loans"] == {"count": 1, "principal_outstanding": "100000.00"}
        assert report["interest_receivable"] == "533.33"
        income = {i["code"]: i["amount"] for i in report["income"]}
        assert income["6011"] == "533.33"
        assert income.get("6021") == "500.00"   # the 0.5 % review fee, receivable at payout
        assert report["income_total"] == "1033.33"
        assert report["trial_balance"]["balanced"] is True
        march_vouchers = db.session.execute(select(func.count()).select_from(Voucher).where(
            Voucher.business_date >= date(2026, 3, 1), Voucher.business_date <= date(2026, 3, 31))).scalar_one()
        assert report["vouchers"] == march_vouchers == 2   # the payout and the accrual
    assert installment(app, loan_id, 1).interest_accrued == D("533.33")


def test_interest_accrued_then_paid_counts_once(app, loan_id):
    on(app, APRIL_1)
    close(app, "2026-03")
    first = installment(app, loan_id, 1)
    assert (first.interest, first.total) == (D("1000.00"), D("8884.88"))
    on(app, first.due_date)
    receipt_id = repay(app, loan_id, "8884.88", first.due_date)
    with app.app_context():
        receipt = db.session.get(Repayment, receipt_id)
        assert sorted((l.account.code, l.debit, l.credit) for l in receipt.voucher.lines) == [
            ("1002", D("8884.88"), D("0")), ("1132", D("0"), D("533.33")), ("1301", D("0"), D("7884.88")),
            ("6011", D("0"), D("466.67"))]
    assert account_total(app, "6011", loan_id) == D("1000.00")     # the installment's interest, once
    assert balance(app, "1132") == D("0.00")
    assert installment(app, loan_id, 1).interest_accrued == D("0.00")
    # April: period 2 (balance 92,115.12) from 04-16 to 05-01 = 15 days → 460.58.
    on(app, date(2026, 5, 1))
    close(app, "2026-04")
    assert installment(app, loan_id, 2).interest_accrued == D("460.58")
    assert account_total(app, "6011", loan_id) == D("1460.58")
    assert balance(app, "1132") == D("460.58")


def test_due_and_unpaid_interest_is_accrued_and_non_accrual_after_90_days(app, login_as):
    capital(app)
    late_id = active_loan(app, login_as, disbursed_on=date(2025, 12, 1), name="王五")  # never pays
    on(app, APRIL_1)
    with app.app_context():
        items = db.session.execute(select(Installment).where(Installment.loan_id == late_id)
                                   .order_by(Installment.seq)).scalars().all()
        # Due 01-01, 02-01, 03-01 and 04-01: all interest earned by the end of March.
        expected = sum((i.interest for i in items if i.due_date <= APRIL_1), D("0"))
        assert len([i for i in items if i.due_date <= APRIL_1]) == 4
    close(app, "2026-03")   # 89 days overdue on 03-31: still accrues
    assert account_total(app, "1132", late_id, side="debit") == expected
    on(app, date(2026, 5, 1))
    row_id = close(app, "2026-04")   # 119 days overdue on 04-30: non-accrual
    with app.app_context():
        row = db.session.get(PeriodClose, row_id)
        assert row.accrual_voucher_id is None
        report = period_close.report_of(row)
        assert report["accrual"]["amount"] == "0.00"
        assert report["accrual"]["non_accrual"] == [
            {"loan_no": db.session.get(Installment, items[0].id).loan.loan_no, "overdue_days": 119}]
    assert account_total(app, "1132", late_id, side="debit") == expected


# --------------------------------------------------------------------------- the lock


def test_nothing_can_be_posted_into_a_closed_month(app, loan_id):
    on(app, APRIL_1)
    close(app, "2026-03")
    with app.app_context():
        user = finance_user()
        bank = fund()
        before = db.session.execute(select(func.count()).select_from(Voucher)).scalar_one()
        lines = [ledger.Line(bank.ledger_account, debit=D("10.00"), fund_account=bank),
                 ledger.Line("6301", credit=D("10.00"))]
        for day in (date(2026, 3, 31), date(2026, 1, 15)):
            with pytest.raises(DomainError) as caught:
                ledger.post("补记", lines, user, business_date=day)
            assert caught.value.message == LOCKED.format(day.isoformat())
            db.session.rollback()
        original = db.session.execute(select(Voucher).order_by(Voucher.id)).scalars().first()
        with pytest.raises(DomainError, match="2026-03 已结账，不能记账到 2026-03-20"):
            ledger.reverse(original, "冲销", user, business_date=date(2026, 3, 20))
        db.session.rollback()
        assert db.session.execute(select(func.count()).select_from(Voucher)).scalar_one() == before
        ledger.post("四月补记", lines, user, business_date=APRIL_1)   # the open month is fine
        db.session.rollback()
        with pytest.raises(DomainError, match="2026-03 已结账，不能再结之前的月份 2026-02"):
            period_close.close("2026-02", user)
    # A receipt dated in the closed month goes through ledger.post: refused, nothing saved.
    with app.app_context():
        with pytest.raises(DomainError, match=LOCKED.format("2026-03-31")):
            repayments.post_repayment(loan_id, D("1000.00"), date(2026, 3, 31), fund(), finance_user(), key())
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Repayment)).scalar_one() == 0
        assert db.session.execute(select(func.count()).select_from(Voucher)).scalar_one() == before
    first = installment(app, loan_id, 1)
    assert (first.interest_paid, first.principal_paid, first.interest_accrued) == (D("0"), D("0"), D("533.33"))


def test_close_rules_dates_order_and_confirmation(app, loan_id):
    with app.app_context():
        user = finance_user()
        with pytest.raises(DomainError, match="2026-03 尚未结束"):   # business date 2026-03-16
            period_close.close("2026-03", user)
        with pytest.raises(DomainError, match="结账月份“2026-13”无效"):
            period_close.close("2026-13", user)
    on(app, APRIL_1)
    with app.app_context():
        user = finance_user()
        with pytest.raises(DomainError, match="请确认结账"):
            period_close.close("2026-03", user, confirm=False)
        # Capital 2026-01-01, a February voucher, the payout in March.
        bank = fund()
        ledger.post("二月利息", [ledger.Line(bank.ledger_account, debit=D("5.00"), fund_account=bank),
                              ledger.Line("6301", credit=D("5.00"))], user, business_date=date(2026, 2, 10))
        db.session.commit()
    close(app, "2026-01")   # the first close is free
    with app.app_context():
        with pytest.raises(DomainError, match="请先结账 2026-02"):
            period_close.close("2026-03", finance_user())
    close(app, "2026-02")
    close(app, "2026-03")
    with app.app_context():
        with pytest.raises(DomainError, match="2026-03 已结账"):
            period_close.close("2026-03", finance_user())


def test_reopen_needs_an_admin_and_a_reason_and_reclosing_accrues_the_difference(app, loan_id, login_as):
    on(app, APRIL_1)
    row_id = close(app, "2026-03")
    finance = login_as("finance")
    assert finance.get(f"/periodclose/reopen/{row_id}").status_code == 403
    assert finance.post(f"/periodclose/reopen/{row_id}", data={"reason": "补记"}).status_code == 403
    admin = login_as("admin")
    assert admin.get(f"/periodclose/reopen/{row_id}").status_code == 200
    r = admin.post(f"/periodclose/reopen/{row_id}", data={"reason": "  "}, follow_redirects=True)
    assert "请填写反结账原因" in text_of(r)
    with app.app_context():
        assert db.session.get(PeriodClose, row_id).status == "closed"
    r = admin.post(f"/periodclose/reopen/{row_id}", data={"reason": "补记三月手续费"})
    assert r.status_code == 302
    with app.app_context():
        row = db.session.get(PeriodClose, row_id)
        assert (row.status, row.reopened_by.username, row.reopen_reason) == ("reopened", "admin", "补记三月手续费")
        assert row.reopened_at is not None and row.accrual_voucher_id is not None   # the accrual stays
        user = finance_user()
        bank = fund()
        ledger.post("补记", [ledger.Line(bank.ledger_account, debit=D("10.00"), fund_account=bank),
                           ledger.Line("6301", credit=D("10.00"))], user, business_date=date(2026, 3, 31))
        db.session.commit()
    close(app, "2026-03")   # again: nothing more earned, nothing accrued twice
    assert account_total(app, "1132", side="debit") == D("533.33")
    with app.app_context():
        row = db.session.get(PeriodClose, row_id)
        report = period_close.report_of(row)
        assert row.status == "closed" and report["accrual"]["amount"] == "0.00"
        assert report["accrual"]["month_total"] == "533.33"
        assert {i["code"]: i["amount"] for i in report["income"]}["6301"] == "10.00"
    # Only the latest closed month can be reopened.
    on(app, date(2026, 5, 1))
    close(app, "2026-04")
    with app.app_context():
        with pytest.raises(DomainError, match="请先反结账 2026-04"):
            period_close.reopen(row_id, finance_user(), "改三月")


# --------------------------------------------------------------------------- the screens


def test_finance_closes_through_the_screens_manager_reads(app, loan_id, login_as):
    on(app, APRIL_1)
    finance = login_as("finance")
    page = text_of(finance.get("/periodclose/list/"))
    assert 'value="2026-03"' in page   # the suggested month
    page = text_of(finance.get("/periodclose/preview/?period=2026-03"))
    assert "533.33" in page and 'id="period-close-confirm"' in page
    r = finance.post("/periodclose/close/", data={"period": "2026-03"})   # not confirmed
    assert r.status_code == 302
    with app.app_context():
        assert period_close.get("2026-03") is None
    r = finance.post("/periodclose/close/", data={"period": "2026-03", "confirm": "1"})
    assert r.status_code == 302 and "/periodclose/report/" in r.headers["Location"]
    report_page = text_of(finance.get(r.headers["Location"]))
    assert "533.33" in report_page and "100,000.00" in report_page and "已结账" in report_page
    assert 'id="reopen-link"' not in report_page   # finance may not reopen
    page = text_of(finance.get("/periodclose/list/"))
    assert 'id="period-2026-03"' in page and "533.33" in page and 'value="2026-04"' in page
    manager = login_as("manager")
    assert manager.get("/periodclose/list/").status_code == 200
    assert manager.get(r.headers["Location"]).status_code == 200
    assert manager.get("/periodclose/preview/").status_code == 403
    assert manager.post("/periodclose/close/", data={"period": "2026-04", "confirm": "1"}).status_code == 403
    assert login_as("officer_a").get("/periodclose/list/").status_code == 403
    admin_page = text_of(login_as("admin").get(r.headers["Location"]))
    assert 'id="reopen-link"' in admin_page


# --------------------------------------------------------------------------- racing the close (PostgreSQL)


def test_postings_racing_the_close_land_before_it_or_are_refused(postgres, login_as, monkeypatch):
    """A posting in flight when the close starts is waited for and counted in the report; a
    receipt and a voucher dated in the month that arrive while the close runs wait for it
    and are then refused (the loan rows and the voucher table are locked by the close)."""
    import threading
    import time

    app = postgres
    capital(app)
    loan_id = active_loan(app, login_as)
    on(app, APRIL_1)

    def manual(day, amount="10.00"):
        user, bank = finance_user(), fund()
        return ledger.post("往来款", [ledger.Line(bank.ledger_account, debit=D(amount), fund_account=bank),
                                   ledger.Line("2241", credit=D(amount))], user, business_date=day)

    # 1. A voucher flushed but not committed when the close starts.
    in_flight = app.app_context()
    in_flight.push()
    try:
        manual(date(2026, 3, 30))
        done = {}

        def closer():
            with app.app_context():
                done["row"] = period_close.close("2026-03", finance_user()).id

        thread = threading.Thread(target=closer)
        thread.start()
        time.sleep(0.8)
        assert thread.is_alive()   # waiting for the posting's lock on the voucher table
        db.session.commit()
    finally:
        in_flight.pop()
    thread.join(20)
    with app.app_context():
        row = db.session.get(PeriodClose, done["row"])
        assert period_close.report_of(row)["vouchers"] == 3   # payout, the racing voucher, the accrual
        period_close.reopen(row.id, finance_user(), "测试重来")

    # 2. A receipt and a voucher dated in the month while the close is running.
    started, go = threading.Event(), threading.Event()
    original = period_close.compute_accrual

    def slow_accrual(*args, **kwargs):
        started.set()
        go.wait(20)
        return original(*args, **kwargs)

    monkeypatch.setattr(period_close, "compute_accrual", slow_accrual)
    results = {}

    def run(name, work):
        try:
            with app.app_context():
                results[name] = work()
                db.session.commit()
        except DomainError as exc:
            results[name] = exc.message

    closing = threading.Thread(target=run, args=("close", lambda: period_close.close("2026-03", finance_user()).id))
    closing.start()
    assert started.wait(20)
    def receipt():
        return repayments.post_repayment(loan_id, D("1000.00"), date(2026, 3, 31), fund(), finance_user(), key()).id

    racers = [threading.Thread(target=run, args=("receipt", receipt)),
              threading.Thread(target=run, args=("voucher", lambda: manual(date(2026, 3, 31)).id))]
    for racer in racers:
        racer.start()
    time.sleep(0.8)
    assert all(racer.is_alive() for racer in racers)   # both wait for the close
    go.set()
    for thread in [closing] + racers:
        thread.join(20)
    assert isinstance(results["close"], int)
    assert results["receipt"] == LOCKED.format("2026-03-31")
    assert results["voucher"] == LOCKED.format("2026-03-31")
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Repayment)).scalar_one() == 0
        assert ledger.account_balance("1132") == D("533.33")
