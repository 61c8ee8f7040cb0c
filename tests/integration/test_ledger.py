"""总账 (issue #8 items 1–2): posting and reversing vouchers, the database's one-side check,
balances, the trial balance and the account detail ledger, the finance screens and who may
use them."""
import html
import io
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import g
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.domain.errors import DomainError
from app.domain.identity import complete_id_number
from app.extensions import db
from app.models import (
    AppUser, AuditLog, Customer, FundAccount, JournalLine, LedgerAccount, NumberSequence, Voucher,
)
from app.models.loan import Loan
from app.models.product import LoanProduct
from app.services import ledger
from app.services.ledger import Line

# Every test writes (the chart at least); reset the database afterwards.
pytestmark = pytest.mark.dirty

D = Decimal
BUSINESS_DATE = date(2026, 3, 16)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def finance_views(app):
    """Scaffolding until app/views/__init__.py calls ``app.views.finance.register_views``
    (the lead's step): register the finance views on the session's app the same way and
    grant the role permissions. A no-op once they are registered at start-up."""
    if "VoucherView" in app.blueprints:
        return
    from app.views import finance

    with app.app_context():
        started = app._got_first_request
        app._got_first_request = False  # Flask refuses new blueprints after the first request
        try:
            finance.register_views(app.appbuilder)
        finally:
            app._got_first_request = started
        app.appbuilder.add_permissions(update_perms=True)
        app.appbuilder.sm.sync_roles()
        db.session.commit()
        db.session.remove()


@pytest.fixture(autouse=True)
def chart(app):
    """The seeded chart and fund accounts, and the business date pinned."""
    from app.services import settings

    with app.app_context():
        ledger.seed_chart()
        db.session.commit()
        settings.set_value("business_date", BUSINESS_DATE.isoformat())
        db.session.remove()


@contextmanager
def acting(app, username="finance"):
    with app.app_context():
        user = db.session.execute(select(AppUser).where(AppUser.username == username)).scalar_one()
        g.user = user
        yield user
        db.session.remove()


def fund(name):
    return db.session.execute(select(FundAccount).where(FundAccount.name == name)).scalar_one()


def bank():
    return fund("基本存款账户")


def cash():
    return fund("库存现金")


def capital():
    return fund("股东股金")


def count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def post_capital(user, amount=D("1000000.00"), on=date(2026, 3, 1)):
    return ledger.post("股东缴纳股金", [Line("1002", debit=amount, fund_account=bank()),
                                  Line("4001", credit=amount, fund_account=capital())], user, business_date=on,
                       source=("capital", 1))


def make_loan(user, amount=D("100000.00")):
    """A draft loan row (enough for journal lines to refer to)."""
    from app.services import customers as customer_service

    customer = Customer(kind="person", name="李四", id_number=complete_id_number("11010519850612123"),
                        mobile="13800138000")
    customer.officer = user
    customer_service.prepare(customer, user)
    db.session.add(customer)
    db.session.flush()
    product = db.session.execute(select(LoanProduct).order_by(LoanProduct.id).limit(1)).scalar_one()
    loan = Loan(loan_no=f"DK{BUSINESS_DATE:%Y%m%d}9001", customer_id=customer.id, product_id=product.id,
                amount=amount, term=12, annual_rate=D("12"), method="equal_installment", start_date=BUSINESS_DATE,
                purpose="working_capital", officer_id=user.id, branch_id=customer.branch_id)
    db.session.add(loan)
    db.session.flush()
    return loan


def text_of(response):
    return html.unescape(response.get_data(as_text=True))


# --------------------------------------------------------------------------- posting


def test_seed_chart_is_idempotent_and_has_the_chart(app):
    with app.app_context():
        assert ledger.seed_chart() == 0
        accounts = {a.code: a for a in db.session.execute(select(LedgerAccount)).scalars()}
        assert set(accounts) == {code for code, *_ in ledger.CHART}
        assert accounts["1304"].category == "asset" and accounts["1304"].normal_side == "credit"
        assert accounts["6051"].name == "罚息收入"
        assert accounts["4001"].normal_side == "credit" and accounts["1301"].normal_side == "debit"
        assert {f.name: f.ledger_account.code for f in db.session.execute(select(FundAccount)).scalars()} == {
            "库存现金": "1001", "基本存款账户": "1002", "股东股金": "4001"}


def test_post_writes_a_numbered_balanced_voucher_with_audit_rows(app):
    with acting(app) as user:
        voucher = post_capital(user, on=BUSINESS_DATE)
        db.session.commit()
        assert voucher.voucher_no == f"PZ{BUSINESS_DATE:%Y%m%d}0001"
        assert voucher.business_date == BUSINESS_DATE and voucher.created_by_id == user.id
        assert (voucher.source_type, voucher.source_id) == ("capital", 1)
        assert [(line.account.code, line.debit, line.credit) for line in voucher.lines] == [
            ("1002", D("1000000.00"), D("0.00")), ("4001", D("0.00"), D("1000000.00"))]
        assert voucher.amount == D("1000000.00")
        second = ledger.post("提取备用金", [Line("1001", debit=D("500.00"), fund_account=cash()),
                                       Line("1002", credit=D("500.00"), fund_account=bank())], user)
        db.session.commit()
        assert second.voucher_no == f"PZ{BUSINESS_DATE:%Y%m%d}0002"
        assert second.business_date == BUSINESS_DATE  # the business date by default
        logged = db.session.execute(select(AuditLog.table_name, func.count()).where(
            AuditLog.action == "insert", AuditLog.table_name.in_(("voucher", "journal_line")))
            .group_by(AuditLog.table_name)).all()
        assert dict(logged) == {"voucher": 2, "journal_line": 4}


def test_unbalanced_voucher_is_refused_naming_both_sums_and_nothing_is_written(app):
    with acting(app) as user:
        before = (count(Voucher), count(JournalLine), count(NumberSequence))
        with pytest.raises(DomainError) as err:
            ledger.post("收息", [Line("1002", debit=D("1000.00"), fund_account=bank()),
                               Line("6011", credit=D("900.00")), Line("6021", credit=D("99.99"))], user)
        assert "借方合计 1,000.00" in err.value.message and "贷方合计 999.99" in err.value.message
        db.session.commit()
        assert (count(Voucher), count(JournalLine), count(NumberSequence)) == before


@pytest.mark.parametrize("debit, credit, expected", [
    (D("100.00"), D("100.00"), "只能记借方或贷方"),
    (D("-100.00"), D("0"), "不能为负数"),
    (D("0"), D("0"), "金额为零"),
    (D("100.001"), D("0"), "超过两位小数"),
])
def test_a_bad_line_is_refused_by_the_service(app, debit, credit, expected):
    with acting(app) as user:
        with pytest.raises(DomainError, match=expected):
            ledger.post("错误分录", [Line("1221", debit=debit, credit=credit), Line("2241", credit=D("100.00"))], user)
        assert count(Voucher) == 0


@pytest.mark.parametrize("debit, credit", [(5, 5), (-5, 0), (0, -5), (0, 0), (-5, 10)])
def test_the_database_refuses_a_line_not_positive_on_exactly_one_side(app, debit, credit):
    with acting(app) as user:
        voucher = ledger.post("正常凭证", [Line("1221", debit=D("1.00")), Line("2241", credit=D("1.00"))], user)
        db.session.commit()
        account_id = voucher.lines[0].account_id
        with pytest.raises(IntegrityError):
            db.session.execute(insert(JournalLine).values(voucher_id=voucher.id, account_id=account_id,
                                                          debit=D(debit), credit=D(credit)))
            db.session.flush()
        db.session.rollback()
        # A good raw line passes the same constraint.
        db.session.execute(insert(JournalLine).values(voucher_id=voucher.id, account_id=account_id, debit=D("1.00"),
                                                      credit=D("0")))
        db.session.rollback()


def test_accounts_and_fund_accounts_are_checked(app):
    with acting(app) as user:
        def attempt(lines):
            with pytest.raises(DomainError) as err:
                ledger.post("检查", lines, user)
            return err.value.message

        assert "科目 9999 不存在" in attempt([Line("9999", debit=D("1")), Line("2241", credit=D("1"))])
        assert "必须指明资金账户" in attempt([Line("1002", debit=D("1")), Line("2241", credit=D("1"))])
        assert "必须指明资金账户" in attempt([Line("2241", debit=D("1")), Line("1001", credit=D("1"))])
        # Capital: the fund account is optional.
        ledger.post("股金", [Line("1002", debit=D("1"), fund_account=bank()), Line("4001", credit=D("1"))], user)
        assert "与分录科目" in attempt([Line("1001", debit=D("1"), fund_account=bank()),
                                     Line("2241", credit=D("1"))])
        other = db.session.execute(select(LedgerAccount).where(LedgerAccount.code == "6301")).scalar_one()
        other.is_active = False
        db.session.flush()
        assert "已停用" in attempt([Line("1221", debit=D("1")), Line("6301", credit=D("1"))])
        with pytest.raises(DomainError, match="请填写凭证摘要"):
            ledger.post("  ", [Line("1221", debit=D("1")), Line("2241", credit=D("1"))], user)
        db.session.rollback()


def test_posting_goes_to_leaf_accounts_and_parents_sum_their_subtree(app):
    with acting(app) as user:
        parent = ledger.get_account("1301")
        loan = make_loan(user)
        ledger.post("放款", [Line(parent, debit=D("100000.00"), loan_id=loan.id),
                           Line("1002", credit=D("100000.00"), fund_account=bank())], user)
        child = LedgerAccount(code="130101", name="贷款本金-正常", category="asset", normal_side="debit",
                              parent=parent, is_active=True)
        db.session.add(child)
        db.session.flush()
        with pytest.raises(DomainError, match="有下级科目，请记入末级科目"):
            ledger.post("放款", [Line("1301", debit=D("1.00"), loan_id=loan.id),
                               Line("1002", credit=D("1.00"), fund_account=bank())], user)
        ledger.post("放款", [Line("130101", debit=D("50000.00"), loan_id=loan.id),
                           Line("1002", credit=D("50000.00"), fund_account=bank())], user)
        assert ledger.account_balance("1301") == D("150000.00")
        assert ledger.account_balance("130101") == D("50000.00")
        assert ledger.loan_principal_outstanding(loan.id) == D("150000.00")
        report = ledger.trial_balance(date(2026, 3, 1), BUSINESS_DATE)
        rows = {r.account.code: r for r in report.rows}
        assert rows["1301"].period_debit == D("150000.00") and rows["130101"].level == 2
        assert not rows["1301"].is_leaf and rows["130101"].is_leaf
        assert report.balanced and report.totals.period_debit == D("150000.00")
        db.session.rollback()


def test_vouchers_cannot_be_edited_or_deleted(app):
    with acting(app) as user:
        voucher = post_capital(user)
        db.session.commit()
        voucher.description = "改过的摘要"
        with pytest.raises(DomainError, match="不能修改"):
            db.session.flush()
        db.session.rollback()
        line = db.session.get(Voucher, voucher.id).lines[0]
        line.debit = D("1.00")
        with pytest.raises(DomainError, match="不能修改"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(Voucher, voucher.id).lines[1])
        with pytest.raises(DomainError, match="不能删除"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(Voucher, voucher.id))  # its lines would be orphaned: refused too
        with pytest.raises(DomainError, match="不能(删除|修改)"):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(Voucher, voucher.id).description == "股东缴纳股金"


# --------------------------------------------------------------------------- reversal


def test_reverse_once_swaps_the_lines_and_records_the_reason(app):
    with acting(app) as user:
        loan = make_loan(user)
        original = ledger.post("放款", [Line("1301", debit=D("80000.00"), loan_id=loan.id, memo="本金"),
                                      Line("1002", credit=D("80000.00"), fund_account=bank())], user,
                               business_date=date(2026, 3, 10), source=("loan", loan.id))
        db.session.commit()
        with pytest.raises(DomainError, match="请填写冲销原因"):
            ledger.reverse(original, "  ", user)
        reversal = ledger.reverse(original, "金额录错", user)
        db.session.commit()
        assert reversal.reversal_of_id == original.id and reversal.reason == "金额录错"
        assert reversal.business_date == BUSINESS_DATE and reversal.description.startswith(f"冲销 {original.voucher_no}")
        assert (reversal.source_type, reversal.source_id) == ("loan", loan.id)
        assert [(l.account.code, l.debit, l.credit, l.loan_id, l.memo) for l in reversal.lines] == [
            ("1301", D("0.00"), D("80000.00"), loan.id, "本金"), ("1002", D("80000.00"), D("0.00"), None, None)]
        assert reversal.lines[1].fund_account_id == bank().id
        assert db.session.get(Voucher, original.id).reversed_by.id == reversal.id
        assert ledger.loan_principal_outstanding(loan.id) == D("0.00")
        assert ledger.fund_balance(bank()) == D("0.00")
        with pytest.raises(DomainError, match=f"已被凭证 {reversal.voucher_no} 冲销，不能重复冲销"):
            ledger.reverse(original, "再冲一次", user)
        with pytest.raises(DomainError, match="是冲销凭证，不能再冲销"):
            ledger.reverse(reversal, "冲销冲销凭证", user)
        db.session.rollback()
        assert count(Voucher) == 2


def test_the_database_allows_one_reversal_per_voucher(app):
    with acting(app) as user:
        original = post_capital(user)
        ledger.reverse(original, "第一次", user)
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(insert(Voucher).values(
                voucher_no="PZ209901010001", business_date=BUSINESS_DATE, description="x",
                created_at=datetime(2026, 3, 16, 9, 0), reversal_of_id=original.id))
        db.session.rollback()


# --------------------------------------------------------------------------- balances and reports


def _book(user):
    """March: capital 1,000,000; loan 100,000; cash 2,000. April: interest 1,000 received,
    a 600.00 fee, penalty 12.34, provision 1,000, expenses 300 in cash."""
    loan = make_loan(user)
    post_capital(user, on=date(2026, 3, 1))
    ledger.post("放款", [Line("1301", debit=D("100000.00"), loan_id=loan.id),
                       Line("1002", credit=D("100000.00"), fund_account=bank())], user, business_date=date(2026, 3, 5))
    ledger.post("提取备用金", [Line("1001", debit=D("2000.00"), fund_account=cash()),
                          Line("1002", credit=D("2000.00"), fund_account=bank())], user, business_date=date(2026, 3, 20))
    ledger.post("收息及手续费", [Line("1002", debit=D("1612.34"), fund_account=bank()),
                            Line("6011", credit=D("1000.00"), loan_id=loan.id),
                            Line("6021", credit=D("600.00"), loan_id=loan.id),
                            Line("6051", credit=D("12.34"), loan_id=loan.id)], user, business_date=date(2026, 4, 5))
    ledger.post("计提贷款损失准备", [Line("6701", debit=D("1000.00")), Line("1304", credit=D("1000.00"))], user,
                business_date=date(2026, 4, 30))
    ledger.post("办公费", [Line("6602", debit=D("300.00")), Line("1001", credit=D("300.00"), fund_account=cash())],
                user, business_date=date(2026, 4, 10))
    return loan


def test_balances_by_account_fund_and_loan(app):
    with acting(app) as user:
        loan = _book(user)
        db.session.commit()
        assert ledger.account_balance("1002") == D("899612.34")
        assert ledger.account_balance("1002", as_of=date(2026, 3, 4)) == D("1000000.00")
        assert ledger.account_balance("1002", as_of=date(2026, 2, 28)) == D("0.00")
        assert ledger.account_balance("4001") == D("1000000.00")  # credit-normal: positive
        assert ledger.account_balance("1304") == D("1000.00")  # contra asset, credit-normal
        assert ledger.account_balance("6011") == D("1000.00")
        assert ledger.account_balance("6602") == D("300.00")
        assert ledger.fund_balance(bank()) == ledger.account_balance("1002")
        assert ledger.fund_balance(cash()) == D("1700.00")
        assert ledger.fund_balance(cash(), as_of=date(2026, 3, 31)) == D("2000.00")
        assert ledger.fund_balance(capital()) == D("1000000.00")
        assert ledger.fund_balances([bank(), cash(), capital()]) == {
            bank().id: D("899612.34"), cash().id: D("1700.00"), capital().id: D("1000000.00")}
        assert ledger.loan_principal_outstanding(loan.id) == D("100000.00")
        assert ledger.loan_principal_outstanding(loan.id + 1000) == D("0.00")
        assert ledger.totals() == (D("1104912.34"), D("1104912.34"))


def test_trial_balance_rows_and_totals_balance(app):
    with acting(app) as user:
        _book(user)
        db.session.commit()
        report = ledger.trial_balance(date(2026, 4, 1), date(2026, 4, 30))
        rows = {r.account.code: r for r in report.rows}
        assert report.balanced
        t = report.totals
        assert (t.opening_debit, t.opening_credit) == (D("1000000.00"), D("1000000.00"))
        assert (t.period_debit, t.period_credit) == (D("2912.34"), D("2912.34"))
        assert (t.closing_debit, t.closing_credit) == (D("1002612.34"), D("1002612.34"))
        assert (rows["1002"].opening_debit, rows["1002"].period_debit, rows["1002"].closing_debit) == (
            D("898000.00"), D("1612.34"), D("899612.34"))
        assert rows["4001"].opening_credit == D("1000000.00") and rows["4001"].closing == D("1000000.00")
        assert rows["1304"].closing_credit == D("1000.00") and rows["1304"].closing == D("1000.00")
        assert rows["1304"].closing_direction == "贷"
        assert rows["1001"].period_credit == D("300.00") and rows["1001"].closing_debit == D("1700.00")
        assert "2203" not in rows  # no figures, left out by default
        full = ledger.trial_balance(date(2026, 4, 1), date(2026, 4, 30), include_zero=True)
        assert {r.account.code for r in full.rows} == {code for code, *_ in ledger.CHART}
        for row in report.rows:
            assert row.closing == ledger.account_balance(row.account, as_of=date(2026, 4, 30))
            assert row.opening == ledger.account_balance(row.account, as_of=date(2026, 3, 31))
        with pytest.raises(DomainError, match="不能晚于结束日期"):
            ledger.trial_balance(date(2026, 5, 1), date(2026, 4, 1))


def test_account_detail_has_a_running_balance(app):
    with acting(app) as user:
        _book(user)
        db.session.commit()
        detail = ledger.account_detail("1002", date(2026, 3, 2), date(2026, 4, 30))
        assert detail.opening == D("1000000.00")
        assert [(r.business_date, r.debit, r.credit, r.balance) for r in detail.rows] == [
            (date(2026, 3, 5), D("0.00"), D("100000.00"), D("900000.00")),
            (date(2026, 3, 20), D("0.00"), D("2000.00"), D("898000.00")),
            (date(2026, 4, 5), D("1612.34"), D("0.00"), D("899612.34")),
        ]
        assert (detail.period_debit, detail.period_credit, detail.closing) == (
            D("1612.34"), D("102000.00"), D("899612.34"))
        credit_side = ledger.account_detail("1304", date(2026, 4, 1), date(2026, 4, 30))
        assert credit_side.rows[0].balance == D("1000.00") and credit_side.closing == D("1000.00")
        assert credit_side.normal_side_label == "贷"


# --------------------------------------------------------------------------- invariants (hypothesis)

LEAVES = [code for code, *_ in ledger.CHART]
FUND_OF = {"1001": "库存现金", "1002": "基本存款账户", "4001": "股东股金"}
START = date(2026, 1, 1)


@st.composite
def vouchers(draw):
    """A balanced voucher: random debits, their total split into random credits."""
    debits = draw(st.lists(st.integers(min_value=1, max_value=10**11), min_size=1, max_size=3))
    total = sum(debits)
    cuts = draw(st.lists(st.integers(min_value=1, max_value=total - 1), max_size=2)) if total > 1 else []
    bounds = [0, *sorted(set(cuts)), total]
    credits = [b - a for a, b in zip(bounds, bounds[1:])]
    accounts = draw(st.lists(st.sampled_from(LEAVES), min_size=len(debits) + len(credits),
                             max_size=len(debits) + len(credits)))
    day = START + timedelta(days=draw(st.integers(min_value=0, max_value=90)))
    sides = [("debit", c) for c in debits] + [("credit", c) for c in credits]
    return day, [(code, side, D(cents) / 100) for code, (side, cents) in zip(accounts, sides)]


@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(vouchers(), min_size=1, max_size=6),
       period=st.tuples(st.integers(min_value=0, max_value=90), st.integers(min_value=0, max_value=60)))
def test_random_balanced_vouchers_keep_the_ledger_balanced(app, batch, period):
    start = START + timedelta(days=period[0])
    end = start + timedelta(days=period[1])
    with acting(app) as user:
        # A fresh ledger per example (bulk deletes bypass the no-delete listeners).
        db.session.execute(delete(JournalLine))
        db.session.execute(delete(Voucher))
        funds = {code: fund(name) for code, name in FUND_OF.items()}
        expected_net = {}
        expected_period = [D("0"), D("0")]
        for day, lines in batch:
            ledger.post("随机凭证", [
                Line(code, debit=amount if side == "debit" else D("0"), credit=amount if side == "credit" else D("0"),
                     fund_account=funds.get(code)) for code, side, amount in lines], user, business_date=day)
            for code, side, amount in lines:
                if day <= end:
                    expected_net[code] = expected_net.get(code, D("0")) + (amount if side == "debit" else -amount)
                if start <= day <= end:
                    expected_period[0 if side == "debit" else 1] += amount
        db.session.commit()

        debit, credit = ledger.totals()
        assert debit == credit
        report = ledger.trial_balance(start, end)
        assert report.balanced
        assert [report.totals.period_debit, report.totals.period_credit] == expected_period
        closing = {r.account.code: r.closing_net for r in report.rows}
        assert {c: n for c, n in closing.items() if n} == {c: n for c, n in expected_net.items() if n}
        for code, name in FUND_OF.items():
            assert ledger.fund_balance(funds[code]) == ledger.account_balance(code)


# --------------------------------------------------------------------------- screens and access


def _voucher_id(app):
    with acting(app) as user:
        _book(user)
        voucher = post_capital(user, amount=D("5000.00"), on=BUSINESS_DATE)
        db.session.commit()
        return voucher.id


def test_finance_views_the_trial_balance_and_exports_it(app, login_as):
    _voucher_id(app)
    client = login_as("finance")
    r = client.get("/ledger/trial_balance?start=2026-04-01&end=2026-04-30")
    assert r.status_code == 200
    page = text_of(r)
    assert 'id="trial-balance-table"' in page and "1,005,000.00" in page and "904,612.34" in page
    assert "/ledger/account/" in page and "alert-success" in page
    r = client.get("/ledger/trial_balance?start=2026-04-01&end=2026-04-30&export=xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "试算平衡表"
    totals = next(row for row in values if row[0] == "合计")
    assert totals[2:8] == [1005000, 1005000, 2912.34, 2912.34, 1007612.34, 1007612.34]
    bank_row = next(row for row in values if row[0] == "1002")
    assert bank_row[1] == "银行存款" and bank_row[6] == 904612.34
    r = client.get("/ledger/trial_balance?start=2026-04-31")
    assert r.status_code == 200 and "日期格式不对" in text_of(r)


def test_account_detail_page_and_export(app, login_as):
    _voucher_id(app)
    with app.app_context():
        account_id = ledger.get_account("1002").id
    client = login_as("manager")
    r = client.get(f"/ledger/account/{account_id}?start=2026-03-01&end=2026-04-30")
    assert r.status_code == 200
    page = text_of(r)
    assert "904,612.34" in page and "PZ20260305" in page
    r = client.get(f"/ledger/account/{account_id}?start=2026-03-01&end=2026-04-30&export=xlsx")
    values = [[c.value for c in row] for row in load_workbook(io.BytesIO(r.data)).active.iter_rows()]
    assert next(row for row in values if row[2] == "期末余额")[8] == 904612.34
    assert client.get("/ledger/account/999999").status_code == 404


def test_voucher_list_show_and_export(app, login_as):
    voucher_id = _voucher_id(app)
    client = login_as("finance")
    r = client.get("/voucherview/list/")
    assert r.status_code == 200 and "PZ20260316" in text_of(r) and "5,000.00" in text_of(r)
    r = client.get(f"/voucherview/show/{voucher_id}")
    page = text_of(r)
    assert r.status_code == 200 and "股东缴纳股金" in page and "1002 银行存款" in page and "4001" in page
    r = client.get("/voucherview/list/?_flt_0_voucher_no=PZ20260316")
    assert "PZ202603160001" in text_of(r) and "PZ202603010001" not in text_of(r)
    r = client.get("/voucherview/export?_flt_0_voucher_no=PZ20260316")
    assert r.status_code == 200
    values = [[c.value for c in row] for row in load_workbook(io.BytesIO(r.data)).active.iter_rows()]
    lines = [row for row in values if row[0] == "PZ202603160001"]
    assert [(row[3], row[6], row[7]) for row in lines] == [("1002", 5000, None), ("4001", None, 5000)]
    assert not any(row[0] == "PZ202603010001" for row in values)


def test_finance_applies_for_a_reversal_with_a_reason_manager_may_not(app, login_as):
    """The reversal goes through approval (test_voucher_reversal.py has the whole story)."""
    from app.models.servicing import ServicingRequest
    from app.services import workflow

    with acting(app) as user:   # a manual voucher (no business source): reversed through approval
        voucher_id = ledger.post("股东缴纳股金", [Line("1002", debit=D("5000.00"), fund_account=bank()),
                                            Line("4001", credit=D("5000.00"), fund_account=capital())],
                                 user, business_date=BUSINESS_DATE).id
        db.session.commit()
    manager = login_as("manager")
    assert manager.get("/voucherview/list/").status_code == 200
    r = manager.get(f"/voucherview/show/{voucher_id}")
    assert r.status_code == 200 and "/voucherview/action/reverse/" not in text_of(r)
    assert manager.get("/ledger/trial_balance").status_code == 200
    assert manager.get(f"/voucherview/reverse/{voucher_id}").status_code == 403
    assert manager.post(f"/voucherview/reverse/{voucher_id}", data={"reason": "试试"}).status_code == 403
    finance = login_as("finance")
    assert f"/voucherview/action/reverse/{voucher_id}" in text_of(finance.get(f"/voucherview/show/{voucher_id}"))
    r = finance.post(f"/voucherview/action/reverse/{voucher_id}")  # the show page's button opens the form
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/voucherview/reverse/{voucher_id}")
    assert finance.get(f"/voucherview/reverse/{voucher_id}").status_code == 200
    r = finance.post(f"/voucherview/reverse/{voucher_id}", data={"reason": ""})
    assert r.status_code == 200 and "请填写冲销原因" in text_of(r)
    r = finance.post(f"/voucherview/reverse/{voucher_id}", data={"reason": "重复入账"})
    assert r.status_code == 302 and "/servicingrequestview/show/" in r.headers["Location"]
    with acting(app, "approver") as approver:
        assert db.session.execute(select(Voucher).where(Voucher.reversal_of_id == voucher_id)).first() is None
        request_id = db.session.execute(select(ServicingRequest.id)).scalar_one()
        workflow.act(workflow.latest_instance("voucher_reversal", request_id).id, approver, "approve", "同意")
    with app.app_context():
        reversal = db.session.execute(select(Voucher).where(Voucher.reversal_of_id == voucher_id)).scalar_one()
        assert reversal.reason == "重复入账"
        assert reversal.created_by.username == "approver"   # posted when the approver approved
    r = finance.post(f"/voucherview/reverse/{voucher_id}", data={"reason": "再来"}, follow_redirects=True)
    assert "不能重复冲销" in text_of(r)


def test_officer_cannot_see_the_ledger(app, login_as):
    voucher_id = _voucher_id(app)
    officer = login_as("officer_a")
    for url in ("/voucherview/list/", f"/voucherview/show/{voucher_id}", "/voucherview/export",
                "/ledger/trial_balance", "/fundaccountview/list/", "/ledgeraccountview/list/"):
        assert officer.get(url).status_code == 403, url
    assert officer.post(f"/voucherview/reverse/{voucher_id}", data={"reason": "x"}).status_code == 403


def test_fund_account_list_shows_balances_with_one_query(app, login_as):
    _voucher_id(app)
    client = login_as("finance")
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        r = client.get("/fundaccountview/list/")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    page = text_of(r)
    assert r.status_code == 200
    assert "904,612.34" in page and "1,700.00" in page and "1,005,000.00" in page
    assert len([s for s in statements if "journal_line" in s]) == 1


def test_fund_account_form_rules(app, login_as):
    client = login_as("finance")
    with app.app_context():
        bank_account = ledger.get_account("1002").id
        income = ledger.get_account("6011").id
    r = client.post("/fundaccountview/add", data={"name": "工行一般户", "kind": "bank",
                                                  "ledger_account": str(income), "is_active": "y"})
    assert r.status_code == 200 and "不符" in text_of(r)
    r = client.post("/fundaccountview/add", data={"name": "工行一般户", "kind": "bank",
                                                  "ledger_account": str(bank_account), "is_active": "y"})
    assert r.status_code == 200 and "银行账户请填写账号" in text_of(r)
    r = client.post("/fundaccountview/add", data={"name": "工行一般户", "kind": "bank", "bank_name": "工商银行",
                                                  "account_no": "6222000011112222", "ledger_account": str(bank_account),
                                                  "is_active": "y"})
    assert r.status_code == 302
    with app.app_context():
        assert fund("工行一般户").ledger_account.code == "1002"


def test_admin_maintains_the_chart(app, login_as):
    with app.app_context():
        loans = ledger.get_account("1301").id
    admin = login_as("admin")
    r = admin.post("/ledgeraccountview/add", data={"code": "2301", "name": "错误下级", "category": "asset",
                                                   "normal_side": "debit", "parent": str(loans), "is_active": "y"})
    assert r.status_code == 200 and "必须以上级科目代码 1301 开头" in text_of(r)
    r = admin.post("/ledgeraccountview/add", data={"code": "1001", "name": "重复", "category": "asset",
                                                   "normal_side": "debit", "is_active": "y"})
    assert r.status_code == 200 and "已被“库存现金”使用" in text_of(r)
    with app.app_context():
        bank_account = ledger.get_account("1002").id
    r = admin.post("/ledgeraccountview/add", data={"code": "100201", "name": "工行", "category": "asset",
                                                   "normal_side": "debit", "parent": str(bank_account), "is_active": "y"})
    assert r.status_code == 200 and "已对应资金账户“基本存款账户”，不能增加下级科目" in text_of(r)
    r = admin.post("/ledgeraccountview/add", data={"code": "130101", "name": "贷款本金-正常", "category": "asset",
                                                   "normal_side": "debit", "parent": str(loans), "is_active": "y"})
    assert r.status_code == 302
    with acting(app) as user:
        post_capital(user)
        db.session.commit()
        account_id = ledger.get_account("4001").id
    r = admin.post(f"/ledgeraccountview/edit/{account_id}", data={"code": "4001", "name": "实收资本",
                                                                   "category": "equity", "normal_side": "credit"})
    assert r.status_code == 200 and "余额为零后才能停用" in text_of(r)
    r = admin.post(f"/ledgeraccountview/edit/{account_id}", data={"code": "4002", "name": "实收资本",
                                                                   "category": "equity", "normal_side": "credit",
                                                                   "is_active": "y"})
    assert r.status_code == 200 and "不能修改科目代码" in text_of(r)
    manager = login_as("manager")
    assert manager.get("/ledgeraccountview/list/").status_code == 200
    assert manager.get("/ledgeraccountview/add").status_code == 403
