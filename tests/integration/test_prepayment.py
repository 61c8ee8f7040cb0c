"""提前还本申请: apply → 风控审查 approves → finance executes on the effective date; the
receipt, the balanced voucher, the regenerated schedule both ways, and the refusals."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Loan
from app.models.finance import Voucher
from app.models.servicing import Repayment, ScheduleRevision, ServicingRequest
from app.services import ledger, servicing_requests

from . import servicing_helpers
from .servicing_helpers import D, active_loan, capital, finance_user, fund, key, on, repay
from .test_loans import acting, business_date, text_of  # noqa: F401 (business_date: autouse fixture)

pytestmark = pytest.mark.dirty
START = date(2026, 3, 16)          # 100,000 at 12 %, 12 months 等额本息 (8,884.88 a month)
DAY = date(2026, 5, 1)             # 15 days into period 2 (opening balance 92,115.12)


@pytest.fixture
def loan_id(app, login_as):
    capital(app)
    loan = active_loan(app, login_as)
    on(app, date(2026, 4, 16))
    repay(app, loan, "8884.88", date(2026, 4, 16))
    on(app, DAY)
    return loan


def apply(app, loan_id, amount="20000.00", effective_on=DAY, keep_mode="term", username="officer_a"):
    from app.services import prepayment  # noqa: F401 (registers the kind)

    with acting(app, username) as user:
        item = ServicingRequest(kind="prepayment", loan_id=loan_id, reason="客户经营回款，提前归还部分本金",
                                amount=D(amount), effective_on=effective_on, keep_mode=keep_mode)
        servicing_requests.apply(item, user)
        return item.id


def approve(app, request_id, kind="prepayment", users=("risk",)):
    servicing_helpers.approve(app, kind, request_id, users)


def execute(app, request_id, when=None, idempotency_key=None):
    with app.app_context():
        user = finance_user()
        options = {"fund_account": fund(), "idempotency_key": idempotency_key or key()}
        if when:
            options["on"] = when
        servicing_requests.execute(request_id, user, **options)


def schedule(app, loan_id):
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        return [(i.seq, i.start_date, i.due_date, i.principal, i.interest, i.total, i.balance, i.paid_off_on)
                for i in loan.installments]


def check_books(app, loan_id):
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        outstanding = sum((i.principal - i.principal_paid for i in loan.installments), Decimal("0"))
        assert ledger.loan_principal_outstanding(loan_id) == outstanding
        debit, credit = ledger.totals()
        assert debit == credit
        return outstanding


def test_keep_term_prepayment_cuts_the_period_and_lowers_the_installments(app, loan_id):
    old = schedule(app, loan_id)
    request_id = apply(app, loan_id)
    approve(app, request_id)
    with app.app_context():
        assert db.session.get(ServicingRequest, request_id).status == "approved"
    execute(app, request_id)
    with app.app_context():
        item = db.session.get(ServicingRequest, request_id)
        assert item.status == "executed" and item.repayment_id and item.voucher_id
        receipt = db.session.get(Repayment, item.repayment_id)
        assert receipt.kind == "prepayment" and receipt.received_on == DAY
        # Interest on the whole balance 92,115.12 × 12 % × 15 / 360 = 460.58, only to the day.
        assert receipt.total_of("interest") == D("460.58") and receipt.total_of("principal") == D("20000.00")
        assert receipt.amount == D("20460.58")
        lines = sorted((line.account.code, line.debit, line.credit) for line in item.voucher.lines)
        assert lines == [("1002", D("20460.58"), D("0")), ("1301", D("0"), D("20000.00")),
                         ("6011", D("0"), D("460.58"))]
        assert db.session.execute(select(func.count()).select_from(ScheduleRevision)
                                  .where(ScheduleRevision.loan_id == loan_id)).scalar() == 1
    rows = schedule(app, loan_id)
    # Period 1 paid, period 2 cut at the prepayment day and paid off by the receipt.
    assert rows[0] == old[0]
    assert rows[1][1:5] == (date(2026, 4, 16), DAY, D("20000.00"), D("460.58")) and rows[1][7] == DAY
    new = rows[2:]
    assert len(new) == 11                                    # the same 11 remaining periods
    assert [r[2] for r in new] == [r[2] for r in old[1:]]    # on the same due dates
    assert new[0][1] == DAY
    assert sum(r[3] for r in new) == D("72115.12")           # Σ principal = the remaining balance
    assert new[-1][6] == D("0.00")
    assert all(r[5] < D("8884.88") for r in new[1:])          # lower installments
    assert check_books(app, loan_id) == D("72115.12")


def test_keep_installment_prepayment_shortens_the_term(app, loan_id):
    old = schedule(app, loan_id)
    request_id = apply(app, loan_id, keep_mode="installment")
    approve(app, request_id)
    execute(app, request_id, when=DAY)
    new = schedule(app, loan_id)[2:]
    assert len(new) < 11
    assert [r[2] for r in new] == [r[2] for r in old[1:1 + len(new)]]
    assert sum(r[3] for r in new) == D("72115.12")
    regular = [r[5] for r in new[1:-1]]
    assert regular and max(regular) <= D("8884.88")
    check_books(app, loan_id)


def test_refused_when_overdue_or_amount_too_big(app, loan_id):
    from app.services import prepayment  # noqa: F401

    with pytest.raises(DomainError, match="结清"):
        apply(app, loan_id, amount="92115.12")
    with pytest.raises(DomainError, match="两位小数"):
        apply(app, loan_id, amount="100.001")
    with pytest.raises(DomainError, match="不能早于营业日期"):
        apply(app, loan_id, effective_on=date(2026, 4, 30))
    on(app, date(2026, 5, 20))      # period 2 (due 2026-05-16) is now overdue
    with pytest.raises(DomainError, match="逾期"):
        apply(app, loan_id, effective_on=date(2026, 5, 20))
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ServicingRequest)).scalar() == 0


def test_execution_on_another_date_is_refused_and_posts_nothing(app, loan_id):
    request_id = apply(app, loan_id)
    approve(app, request_id)
    with app.app_context():
        vouchers = db.session.execute(select(func.count()).select_from(Voucher)).scalar()
    with pytest.raises(DomainError, match="提前还本日"):
        execute(app, request_id, when=date(2026, 4, 30))
    with app.app_context():
        assert db.session.get(ServicingRequest, request_id).status == "approved"
        assert db.session.execute(select(func.count()).select_from(Voucher)).scalar() == vouchers
    execute(app, request_id)
    with app.app_context():
        assert db.session.get(ServicingRequest, request_id).status == "executed"


def test_future_effective_date_waits_for_the_day(app, loan_id):
    request_id = apply(app, loan_id, effective_on=date(2026, 5, 10))
    approve(app, request_id)
    with pytest.raises(DomainError, match="不能晚于营业日期"):
        execute(app, request_id)
    on(app, date(2026, 5, 10))
    execute(app, request_id)
    with app.app_context():
        item = db.session.get(ServicingRequest, request_id)
        assert item.status == "executed"
        # 24 days of interest on 92,115.12: 736.92.
        assert db.session.get(Repayment, item.repayment_id).total_of("interest") == D("736.92")


def test_officer_applies_through_the_form_with_a_preview(app, loan_id, login_as):
    client = login_as("officer_a")
    too_big = client.post(f"/servicing/prepayment/{loan_id}", data={
        "amount": "200000", "effective_on": DAY.isoformat(), "keep_mode": "term", "reason": "x", "action": "apply"})
    assert too_big.status_code == 200 and "归还全部本金请办理结清" in text_of(too_big)
    page = client.get(f"/servicing/prepayment/{loan_id}?amount=20000&effective_on={DAY}&keep_mode=term")
    assert page.status_code == 200
    text = text_of(page)
    assert "460.58" in text and "prepayment-schedule" in text
    response = client.post(f"/servicing/prepayment/{loan_id}", data={
        "amount": "20,000.00", "effective_on": DAY.isoformat(), "keep_mode": "term", "reason": "部分提前还款",
        "action": "apply"})
    assert response.status_code == 302 and "/servicingrequestview/show/" in response.headers["Location"]
    bad = client.post(f"/servicing/prepayment/{loan_id}", data={
        "amount": "200000", "effective_on": DAY.isoformat(), "keep_mode": "term", "reason": "x", "action": "apply"})
    assert bad.status_code == 200 and "已有办理中的提前还本申请" in text_of(bad)
    assert login_as("approver").get(f"/servicing/prepayment/{loan_id}").status_code == 403
