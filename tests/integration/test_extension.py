"""展期申请 and 贷款变更: limits, the before-maturity rule, guarantor consent, the count
limit, the regenerated schedule at approval, the reminder list and a rate change."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Loan
from app.models.loan import Guarantor
from app.models.servicing import GuarantorConsent, ScheduleRevision, ServicingRequest
from app.services import servicing_requests

from .servicing_helpers import D, active_loan, capital, on, repay
from .test_loans import acting, business_date, set_setting, text_of  # noqa: F401 (business_date: autouse)
from .test_prepayment import approve, schedule

pytestmark = pytest.mark.dirty
START = date(2026, 3, 16)


@pytest.fixture
def loan_id(app, login_as):
    """100,000 at 12 %, 6 months 等额本息 from 2026-03-16, with one guarantor."""
    capital(app)
    loan = active_loan(app, login_as, term="6")
    with app.app_context():
        db.session.add(Guarantor(loan_id=loan, kind="person", name="李四", identifier="110108198001010011",
                                 mode="joint", guaranteed_amount=D("100000"), period_months=6))
        db.session.commit()
    first = schedule(app, loan)[0]
    on(app, first[2])
    repay(app, loan, str(first[5]), first[2])
    on(app, date(2026, 5, 1))
    return loan


def apply(app, loan_id, periods, rate=None, consent=True, consented_on=date(2026, 4, 28), username="officer_a"):
    from app.services import extension  # noqa: F401 (registers the kind)

    with acting(app, username) as user:
        loan = db.session.get(Loan, loan_id)
        item = ServicingRequest(kind="extension", loan_id=loan_id, reason="客户资金周转困难，申请展期",
                                extension_periods=periods, new_rate=rate)
        for guarantor in loan.guarantors:
            item.consents.append(GuarantorConsent(guarantor_id=guarantor.id, consented=consent,
                                                  consented_on=consented_on if consent else None))
        servicing_requests.apply(item, user)
        return item.id


def extend(app, loan_id, periods, rate=None):
    request_id = apply(app, loan_id, periods, rate)
    approve(app, request_id, "extension", users=("risk", "approver"))
    return request_id


def loan_of(app, loan_id):
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        return loan.extension_count, loan.extended_periods, loan.maturity_date, loan.annual_rate, loan.status


def test_extension_regenerates_the_schedule_at_approval(app, loan_id):
    old = schedule(app, loan_id)
    assert old[-1][2] == date(2026, 9, 16)
    request_id = extend(app, loan_id, 4)
    with app.app_context():
        item = db.session.get(ServicingRequest, request_id)
        assert item.status == "executed" and item.voucher_id is None   # no money moves
        assert item.new_rate == D("12")                                # defaults to the current rate
        loan = db.session.get(Loan, loan_id)
        assert "展期 4 个月" in loan.status_changes[-1].comment and loan.status_changes[-1].to_status == "active"
        assert db.session.execute(select(func.count()).select_from(ScheduleRevision)).scalar() == 1
    count, extended, maturity, rate, status = loan_of(app, loan_id)
    assert (count, extended, maturity, status) == (1, 4, date(2027, 1, 16), "active")
    rows = schedule(app, loan_id)
    # Period 2 (2026-04-16 → 05-16) has begun: it stays; the rest is spread over 4 + 4 periods.
    assert rows[:2] == old[:2]
    assert len(rows) == 10
    assert [r[2] for r in rows[2:]] == [date(2026, m, 16) for m in range(6, 13)] + [date(2027, 1, 16)]
    assert sum(r[3] for r in rows) == D("100000.00") and rows[-1][6] == D("0.00")
    assert rows[3][5] < old[3][5]


def test_extension_limits_and_count(app, loan_id):
    with pytest.raises(DomainError, match="累计不得超过 6 个月"):
        apply(app, loan_id, 7)
    extend(app, loan_id, 4)
    with pytest.raises(DomainError, match="本次最多 2 个月"):
        apply(app, loan_id, 3)
    set_setting(app, "max_extensions", "1")
    with pytest.raises(DomainError, match="最多展期次数 1 次"):
        apply(app, loan_id, 1)
    set_setting(app, "max_extensions", "2")
    extend(app, loan_id, 2)
    assert loan_of(app, loan_id)[:2] == (2, 6)


def test_extension_needs_every_guarantors_consent(app, loan_id):
    with pytest.raises(DomainError, match="李四.*尚未书面同意"):
        apply(app, loan_id, 2, consent=False)
    with pytest.raises(DomainError, match="不能晚于营业日期"):
        apply(app, loan_id, 2, consented_on=date(2026, 6, 1))
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ServicingRequest)).scalar() == 0


def test_extension_must_be_applied_for_before_maturity_and_rate_in_range(app, loan_id):
    with pytest.raises(DomainError, match="利率范围"):
        apply(app, loan_id, 2, rate=D("30"))
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        for item in loan.installments:     # everything paid but the last, so nothing is overdue
            if item.seq < 6:
                item.principal_paid, item.interest_paid, item.paid_off_on = item.principal, item.interest, item.due_date
        db.session.commit()
    on(app, date(2026, 9, 16))
    with pytest.raises(DomainError, match="到期日 2026-09-16 之前申请"):
        apply(app, loan_id, 2)
    on(app, date(2026, 9, 15))
    extend(app, loan_id, 2, rate=D("13"))
    rows = schedule(app, loan_id)
    # The last period has begun: it keeps its interest, its principal moves into two new periods at 13 %.
    assert rows[5][3] == D("0.00") and rows[5][2] == date(2026, 9, 16)
    assert [r[2] for r in rows[6:]] == [date(2026, 10, 16), date(2026, 11, 16)]
    assert sum(r[3] for r in rows) == D("100000.00")
    assert loan_of(app, loan_id)[3] == D("13")


def test_extension_refused_when_overdue(app, loan_id):
    on(app, date(2026, 5, 20))   # period 2 due 2026-05-16 is unpaid
    with pytest.raises(DomainError, match="逾期"):
        apply(app, loan_id, 2)


def test_reminder_lists_loans_maturing_soon_without_an_extension(app, loan_id, login_as):
    client = login_as("officer_a")
    on(app, date(2026, 9, 1))
    page = text_of(client.get("/servicing/extension_reminder/?days=30"))
    with app.app_context():
        loan_no = db.session.get(Loan, loan_id).loan_no
    assert loan_no in page and f"/servicing/extension/{loan_id}" in page
    assert loan_no not in text_of(client.get("/servicing/extension_reminder/?days=10"))
    assert loan_no not in text_of(login_as("officer_b").get("/servicing/extension_reminder/?days=30"))


def test_officer_applies_for_an_extension_through_the_form(app, loan_id, login_as):
    client = login_as("officer_a")
    with app.app_context():
        guarantor_id = db.session.get(Loan, loan_id).guarantors[0].id
    page = client.get(f"/servicing/extension/{loan_id}?extension_periods=2")
    assert page.status_code == 200 and "2026-11-16" in text_of(page)
    missing = client.post(f"/servicing/extension/{loan_id}", data={
        "extension_periods": "2", "new_rate": "12", "reason": "周转", "action": "apply"})
    assert "尚未书面同意" in text_of(missing)
    response = client.post(f"/servicing/extension/{loan_id}", data={
        "extension_periods": "2", "new_rate": "12", "reason": "周转", "action": "apply",
        f"consent_{guarantor_id}": "1", f"consent_on_{guarantor_id}": "2026-04-30"})
    assert response.status_code == 302 and "/servicingrequestview/show/" in response.headers["Location"]


def test_loan_change_of_rate_regenerates_the_schedule_from_the_next_period(app, loan_id, login_as):
    from app.services import loan_change  # noqa: F401

    old = schedule(app, loan_id)
    with acting(app, "officer_a") as user:
        item = ServicingRequest(kind="loan_change", loan_id=loan_id, reason="利率下调", new_rate=D("10"))
        servicing_requests.apply(item, user)
        request_id = item.id
    approve(app, request_id, "loan_change")
    with app.app_context():
        assert db.session.get(ServicingRequest, request_id).status == "executed"
        loan = db.session.get(Loan, loan_id)
        assert loan.annual_rate == D("10") and "年利率 12% → 10%" in loan.status_changes[-1].comment
    rows = schedule(app, loan_id)
    assert rows[:2] == old[:2]
    assert [r[2] for r in rows] == [r[2] for r in old]
    assert sum(r[3] for r in rows) == D("100000.00")
    # 2026-05-16 → 06-16 on the balance after period 2 at 10 % / 12.
    balance = old[1][6]
    assert rows[2][4] == (balance * Decimal("10") / 1200).quantize(Decimal("0.01"))
    with pytest.raises(DomainError, match="相同"):
        with acting(app, "officer_a") as user:
            servicing_requests.apply(ServicingRequest(kind="loan_change", loan_id=loan_id, reason="x",
                                                      new_rate=D("10")), user)


def test_a_weekly_loan_is_extended_by_whole_weeks(app, login_as):
    """按周还款: the extension is entered in days, whole weeks only, counted against the
    original term in days (8 weeks = 56 days ≤ 1 year: at most 56 days in all); the new
    installments keep the weekly rhythm."""
    from app.models import LoanProduct

    from .test_loans import product_id

    capital(app)
    with app.app_context():
        db.session.get(LoanProduct, product_id(app)).period = "week"
        db.session.commit()
    loan = active_loan(app, login_as, term="8")
    old = schedule(app, loan)
    assert len(old) == 8 and all((b[2] - a[2]).days == 7 for a, b in zip(old, old[1:]))
    on(app, START + timedelta(days=3))                       # within the first week, nothing due yet
    with pytest.raises(DomainError, match="7 天的整数倍"):
        apply(app, loan, 10)
    with pytest.raises(DomainError, match="累计不得超过 56 天"):
        apply(app, loan, 63)
    extend(app, loan, 14)
    count, extended, maturity, _rate, status = loan_of(app, loan)
    assert (count, extended, status) == (1, 14, "active") and maturity == old[-1][2] + timedelta(days=14)
    rows = schedule(app, loan)
    assert len(rows) == 10 and all((b[2] - a[2]).days == 7 for a, b in zip(rows, rows[1:]))
    assert sum((r[3] for r in rows), D(0)) == D("100000.00")
