"""待办财务单据: loans waiting for payout, approved requests waiting for execution and fees
receivable, each with its count and a link to where finance acts; who may open it."""
from datetime import datetime

import pytest
from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, Loan
from app.models.servicing import ServicingRequest
from app.services import finance_todo

from .servicing_helpers import active_loan, capital, text_of
from .test_loans import create_loan, make_customer
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty


@pytest.fixture
def todo_data(app, login_as):
    """A loan ready for payout, an active loan (its review fee receivable) and an approved
    prepayment request on it."""
    capital(app)
    active_id = active_loan(app, login_as)
    ready_id = create_loan(app, login_as("officer_a"), make_customer(app, name="李四"))
    with app.app_context():
        db.session.get(Loan, ready_id).status = "ready_to_disburse"
        finance = db.session.execute(select(AppUser).where(AppUser.username == "finance")).scalar_one()
        request = ServicingRequest(request_no="SQ202603160099", kind="prepayment", loan_id=active_id,
                                   status="approved", reason="客户提前还款", amount=20000,
                                   created_by_id=finance.id, decided_at=datetime(2026, 3, 16, 10, 0))
        db.session.add(request)
        db.session.commit()
        return {"ready": ready_id, "active": active_id, "request": request.id}


def test_sections_list_what_waits_for_finance(app, todo_data):
    with app.app_context():
        g.user = db.session.execute(select(AppUser).where(AppUser.username == "finance")).scalar_one()
        sections = {s.id: s for s in finance_todo.sections(g.user)}
        assert [row[0] for row in sections["ready_to_disburse"].rows] == [todo_data["ready"]]
        assert sections["ready_to_disburse"].count == 1
        assert [row[0].id for row in sections["approved_requests"].rows] == [todo_data["request"]]
        fees = sections["fees_due"].rows
        assert sections["fees_due"].count == 1 and fees[0][0].loan_id == todo_data["active"]
        assert fees[0][0].outstanding == fees[0][0].amount > 0
        # The count beyond the first rows comes from its own query.
        assert finance_todo.ready_to_disburse(g.user, limit=0).count == 1


def test_finance_opens_the_page_with_links_others_may_not(app, login_as, todo_data):
    page = text_of(login_as("finance").get("/finance/todo"))
    assert f'/disbursement/pay/{todo_data["ready"]}' in page
    assert f'/servicingrequestview/show/{todo_data["request"]}' in page
    assert "SQ202603160099" in page and "提前还本申请" in page
    assert f'/loanview/show/{todo_data["active"]}' in page and "评审费" in page
    assert 'id="count-ready_to_disburse">1<' in page
    for username in ("manager", "officer_a", "approver"):
        assert login_as(username).get("/finance/todo").status_code == 403
    assert login_as("admin").get("/finance/todo").status_code == 200


def test_officer_scope_is_applied(app, todo_data):
    with app.app_context():
        officer_b = db.session.execute(select(AppUser).where(AppUser.username == "officer_b")).scalar_one()
        g.user = officer_b   # Shanghai: the Beijing loans are out of scope
        sections = {s.id: s for s in finance_todo.sections(officer_b)}
        assert all(s.count == 0 and not s.rows for s in sections.values())
