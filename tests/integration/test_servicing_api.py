"""收款 REST API: /api/v1/loans/<id>/repayments, /payoff and /schedule (DOMAIN.md §3–§4 figures)."""
import uuid
from datetime import date, timedelta

import pytest

from app.extensions import db
from app.models import Loan
from app.models.finance import Voucher
from app.models.servicing import Repayment

from ..conftest import TEST_PASSWORD
from .servicing_helpers import bank_id, count, due_date, on, repay
from .servicing_helpers import loan_id  # noqa: F401 (fixture)
from .test_loans import business_date  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.dirty


def token(app, username):
    r = app.test_client().post("/api/v1/security/login", json={
        "username": username, "password": TEST_PASSWORD, "provider": "db", "refresh": False})
    assert r.status_code == 200, r.get_data(as_text=True)
    return {"Authorization": f"Bearer {r.get_json()['access_token']}"}


def test_post_then_replay_with_the_same_key(app, loan_id):
    due = due_date(app, loan_id, 1)
    on(app, due)
    client, headers = app.test_client(), token(app, "finance")
    body = {"amount": "8884.88", "date": due.isoformat(), "fund_account_id": bank_id(app),
            "idempotency_key": uuid.uuid4().hex, "payer": "张三"}
    r = client.post(f"/api/v1/loans/{loan_id}/repayments", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    assert data["amount"] == "8884.88" and data["received_on"] == due.isoformat() and data["replayed"] is False
    assert data["receipt_no"].startswith("HK") and data["voucher_no"]
    assert [(line["seq"], line["component"], line["amount"]) for line in data["lines"]] == [
        (1, "interest", "1000.00"), (1, "principal", "7884.88")]
    assert data["totals"] == {"principal": "7884.88", "interest": "1000.00", "penalty": "0.00", "compound": "0.00"}
    vouchers = count(app, Voucher)
    again = client.post(f"/api/v1/loans/{loan_id}/repayments", json=body, headers=headers)
    assert again.status_code == 200
    assert {k: v for k, v in again.get_json().items() if k != "replayed"} == \
        {k: v for k, v in data.items() if k != "replayed"}
    assert count(app, Repayment) == 1 and count(app, Voucher) == vouchers
    listed = client.get(f"/api/v1/loans/{loan_id}/repayments", headers=headers).get_json()
    assert [r["receipt_no"] for r in listed["result"]] == [data["receipt_no"]]


def test_late_payment_penalty_through_the_api(app, loan_id):
    """Period 2 (7,963.73 + 921.15) paid 10 days late: 罚息 39.82, 复利 4.61."""
    first = due_date(app, loan_id, 1)
    on(app, first)
    repay(app, loan_id, "8884.88", first)
    late = due_date(app, loan_id, 2) + timedelta(days=10)
    on(app, late)
    client, headers = app.test_client(), token(app, "finance")
    schedule = client.get(f"/api/v1/loans/{loan_id}/schedule", headers=headers).get_json()
    one, two = schedule["installments"][:2]
    assert one["scheduled"] == {"principal": "7884.88", "interest": "1000.00", "total": "8884.88"}
    assert one["paid"]["total"] == "8884.88" and one["outstanding"]["total"] == "0.00" and one["state"] == "paid"
    assert two["outstanding"] == {"principal": "7963.73", "interest": "921.15", "penalty": "39.82",
                                  "compound": "4.61", "total": "8929.31"}
    assert two["overdue_days"] == 10 and two["state"] == "overdue" and two["state_label"] == "逾期"
    r = client.post(f"/api/v1/loans/{loan_id}/repayments", headers=headers, json={
        "amount": 8929.31, "date": late.isoformat(), "fund_account_id": bank_id(app), "idempotency_key": "api-2"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["totals"] == {"principal": "7963.73", "interest": "921.15", "penalty": "39.82",
                                      "compound": "4.61"}


def test_payoff_quote(app, loan_id):
    first = due_date(app, loan_id, 1)
    on(app, first)
    repay(app, loan_id, "8884.88", first)
    on(app, date(2026, 5, 1))
    client, headers = app.test_client(), token(app, "manager")   # read permission is enough
    quote = client.get(f"/api/v1/loans/{loan_id}/payoff?date=2026-05-01", headers=headers).get_json()
    assert (quote["principal"], quote["interest"], quote["penalty"], quote["compound"], quote["fees"]) == (
        "92115.12", "460.58", "0.00", "0.00", "500.00")
    assert quote["early"] is True and quote["as_of"] == "2026-05-01"
    assert quote["total"] == "93075.70"
    r = client.get(f"/api/v1/loans/{loan_id}/payoff?date=2026-13-01", headers=headers)
    assert r.status_code == 422 and r.get_json()["field"] == "date"


def test_refusals_are_422_with_message_and_field(app, loan_id):
    due = due_date(app, loan_id, 1)
    on(app, due)
    client, headers = app.test_client(), token(app, "finance")
    url = f"/api/v1/loans/{loan_id}/repayments"
    base = {"amount": "100.00", "date": due.isoformat(), "fund_account_id": bank_id(app),
            "idempotency_key": uuid.uuid4().hex}
    cases = [
        (dict(base, amount="20000.00"), "amount", "提前还款"),
        (dict(base, amount="1.001"), "amount", "两位小数"),
        (dict(base, amount="abc"), "amount", "无效"),
        (dict(base, date=(due + timedelta(days=1)).isoformat()), "date", "营业日期"),
        (dict(base, date="16/04/2026"), "date", "YYYY-MM-DD"),
        (dict(base, fund_account_id=None), "fund_account_id", "现金或银行账户"),
        (dict(base, idempotency_key=""), "idempotency_key", "幂等键"),
    ]
    for body, field, words in cases:
        r = client.post(url, json=body, headers=headers)
        assert r.status_code == 422, (body, r.get_json())
        assert r.get_json()["field"] == field and words in r.get_json()["message"], r.get_json()
    assert client.post(url, data="not json", headers=dict(headers, **{"Content-Type": "application/json"})
                       ).status_code == 422
    assert count(app, Repayment) == 0


def test_permissions_and_scope(app, loan_id):
    due = due_date(app, loan_id, 1)
    on(app, due)
    client = app.test_client()
    url = f"/api/v1/loans/{loan_id}/repayments"
    body = {"amount": "100.00", "date": due.isoformat(), "fund_account_id": bank_id(app),
            "idempotency_key": uuid.uuid4().hex}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=token(app, "officer_a")).status_code == 403
    assert client.get(f"/api/v1/loans/{loan_id}/schedule", headers=token(app, "officer_a")).status_code == 403
    assert client.post(url, json=body, headers=token(app, "manager")).status_code == 403
    assert client.get(f"/api/v1/loans/{loan_id}/schedule", headers=token(app, "risk")).status_code == 200
    assert client.get("/api/v1/loans/999999/schedule", headers=token(app, "finance")).status_code == 404
    # The loan/ resource of loan_api.py is still there beside loans/.
    assert client.get(f"/api/v1/loan/{loan_id}", headers=token(app, "finance")).status_code == 200
    assert count(app, Repayment) == 0
    with app.app_context():
        assert db.session.get(Loan, loan_id).status == "active"
