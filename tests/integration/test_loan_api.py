"""REST APIs for loan products and loans (/api/v1/loan_product/, /api/v1/loan/; issue #5).

The same rules as the screens: drafts are checked against their product by the service
and a refusal is a 422 in Chinese naming the field, with nothing saved; another branch's
loan is a 404 and never listed; submit runs every pre-submission check; read-only roles
read and change nothing; products are read by officers and maintained by administrators.
"""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import g
from sqlalchemy import func, select

from app.domain.identity import complete_id_number
from app.extensions import db
from app.models import AppUser, Customer
from app.models.loan import Loan
from app.models.product import LoanProduct

from ..conftest import png_bytes

pytestmark = pytest.mark.dirty

BUSINESS_DATE = date(2026, 3, 16)
DAY = f"{BUSINESS_DATE:%Y%m%d}"
REQUIRED_PERSON_DOCS = ("id_copy", "household_register", "marriage_certificate", "bank_statements")
_ID_SEQ = iter(range(100, 999))


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def business_date(app):
    """Pin the business date (LPR 3.00 % applies since 2025-05-20, so 4 × LPR = 12 %)."""
    from app.services import settings

    with app.app_context():
        settings.set_value("business_date", BUSINESS_DATE.isoformat())
    yield BUSINESS_DATE


def acting_user(username):
    user = db.session.execute(select(AppUser).where(AppUser.username == username)).scalar_one()
    g.user = user
    return user


def make_customer(app, name="张三", officer="officer_a", documents=True):
    """A person customer with (optionally) every required document; returns its id."""
    from app.services import attachments
    from app.services import customers as customer_service

    with app.app_context():
        user = acting_user(officer)
        customer = Customer(kind="person", name=name, mobile="13800138000",
                            id_number=complete_id_number(f"11010519850612{next(_ID_SEQ):03d}"))
        customer.officer = user
        customer_service.prepare(customer, user)
        db.session.add(customer)
        db.session.commit()
        cid = customer.id
        if documents:
            for doc_type in REQUIRED_PERSON_DOCS:
                attachments.save(f"{doc_type}.png", png_bytes(), "customer", cid, user, doc_type=doc_type)
        db.session.remove()
    return cid


def ids(app, model, **where):
    with app.app_context():
        query = select(model.id)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return db.session.execute(query).scalar_one()


def draft(app, customer_id, **overrides):
    data = {"customer": customer_id, "product": ids(app, LoanProduct, code="GRJYD"), "amount": "100000",
            "term": 12, "annual_rate": "10", "method": "equal_installment",
            "start_date": BUSINESS_DATE.isoformat(), "purpose": "working_capital", "guarantee_types": "unsecured"}
    data.update(overrides)
    return data


def create(client, app, customer_id, **overrides):
    response = client.post("/api/v1/loan/", json=draft(app, customer_id, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def loan_count(app):
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(Loan)).scalar_one()
        db.session.remove()
    return count


def loan_status(app, loan_id):
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        result = (loan.status, loan.amount, [s.to_status for s in loan.status_changes])
        db.session.remove()
    return result


def add_guarantor(app, loan_id):
    from app.models.loan import Guarantor

    with app.app_context():
        db.session.add(Guarantor(loan_id=loan_id, kind="person", name="李四", mode="joint",
                                 identifier=complete_id_number(f"11010819800101{next(_ID_SEQ):03d}"),
                                 guaranteed_amount=Decimal("100000"), period_months=6))
        db.session.commit()
        db.session.remove()


# --------------------------------------------------------------------------- drafts


def test_officer_creates_a_draft_by_api(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    response = client.post("/api/v1/loan/", json=draft(app, customer_id, guarantee_types="mortgage, guarantee"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    loan = body["result"]
    assert loan["id"] == body["id"]
    assert loan["loan_no"] == f"DK{DAY}0001"
    assert loan["status"] == "draft" and loan["status_label"] == "草稿"
    assert loan["customer"] == {"id": customer_id, "name": "张三"}
    assert loan["product"]["name"] == "个人经营贷"
    assert loan["officer"]["username"] == "officer_a"  # the caller by default
    assert loan["branch"]["name"] == "北京分公司"
    assert loan["guarantee_types"] == "mortgage,guarantee"
    # Money is exact: strings, never floats.
    assert loan["amount"] == "100000.00" and loan["annual_rate"] == "10.00000000"
    assert isinstance(loan["cost_rate"], str) and Decimal("10") < Decimal(loan["cost_rate"]) < Decimal("12")
    installments = loan["installments"]
    assert [row["seq"] for row in installments] == list(range(1, 13))
    assert installments[0]["due_date"] == "2026-04-16"
    assert all(isinstance(row[key], str) for row in installments
               for key in ("principal", "interest", "total", "balance"))
    assert sum(Decimal(row["principal"]) for row in installments) == Decimal("100000.00")
    assert installments[-1]["balance"] == "0.00"
    assert [(f["fee_type"], f["basis"], f["value"], f["amount"]) for f in loan["fees"]] == [
        ("review_fee", "percent", "0.5000", "500.00")]
    assert loan["guarantors"] == [] and loan["collaterals"] == []

    shown = client.get(f"/api/v1/loan/{body['id']}").get_json()["result"]
    assert shown == loan
    listed = client.get("/api/v1/loan/").get_json()
    assert listed["count"] == 1 and listed["result"][0]["loan_no"] == f"DK{DAY}0001"
    assert listed["result"][0]["amount"] == "100000.00"


@pytest.mark.parametrize("field, value, expected", [
    ("amount", "1000001", ["贷款金额", "超出产品允许范围", "1000000"]),
    ("amount", "9999.99", ["贷款金额", "超出产品允许范围", "10000"]),
    ("amount", "100000.005", ["最多保留 2 位小数"]),  # refused, not rounded to 100000.00
    ("term", 37, ["期限", "超出产品允许范围", "36 个月"]),
    ("annual_rate", "18.5", ["年利率", "超出产品允许范围", "18"]),
    ("method", "bullet", ["不支持该还款方式", "等额本息"]),
    ("purpose", "securities", ["证券投资", "禁止类用途"]),
    ("guarantee_types", "unsecured,mortgage", ["信用方式不能与保证、抵押、质押同时选择"]),
])
def test_terms_outside_the_product_are_a_422_in_chinese(app, login_as, field, value, expected):
    customer_id = make_customer(app, documents=False)
    client = login_as("officer_a")
    response = client.post("/api/v1/loan/", json=draft(app, customer_id, **{field: value}))
    assert response.status_code == 422
    message = response.get_json()["message"]
    assert list(message) == [field]
    for text in expected:
        assert text in message[field][0], message
    assert loan_count(app) == 0


def test_computed_fields_cannot_be_posted(app, login_as):
    customer_id = make_customer(app, documents=False)
    client = login_as("officer_a")
    response = client.post("/api/v1/loan/", json=draft(app, customer_id, loan_no="DK1", status="in_approval"))
    assert response.status_code == 422
    assert set(response.get_json()["message"]) == {"loan_no", "status"}
    assert loan_count(app) == 0


def test_officer_and_customer_must_be_in_the_callers_branches(app, login_as):
    mine = make_customer(app, documents=False)
    theirs = make_customer(app, name="王五", officer="officer_b", documents=False)
    client = login_as("officer_a")
    response = client.post("/api/v1/loan/", json=draft(app, theirs))
    assert response.status_code == 422
    assert response.get_json()["message"] == {"customer": ["只能为本机构的客户办理贷款"]}
    response = client.post("/api/v1/loan/", json=draft(app, mine, officer=ids(app, AppUser, username="officer_b")))
    assert response.status_code == 422
    assert "不属于您的管辖机构" in response.get_json()["message"]["officer"][0]
    assert loan_count(app) == 0


def test_editing_a_draft_rebuilds_it(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create(client, app, customer_id)
    response = client.put(f"/api/v1/loan/{loan_id}", json={"amount": "200000", "term": 24})
    assert response.status_code == 200, response.get_json()
    loan = response.get_json()["result"]
    assert loan["amount"] == "200000.00" and len(loan["installments"]) == 24
    assert loan["loan_no"] == f"DK{DAY}0001" and loan["status"] == "draft"
    assert [f["amount"] for f in loan["fees"]] == ["1000.00"]

    # Another product brings its own fees (QYLDZJ: a fixed 2,000 review fee, guarantee required).
    response = client.put(f"/api/v1/loan/{loan_id}", json={
        "product": ids(app, LoanProduct, code="QYLDZJ"), "method": "monthly_interest", "guarantee_types": "guarantee"})
    assert response.status_code == 200, response.get_json()
    loan = response.get_json()["result"]
    assert [(f["basis"], f["value"], f["amount"]) for f in loan["fees"]] == [("fixed", "2000.0000", "2000.00")]

    # A refused edit changes nothing.
    response = client.put(f"/api/v1/loan/{loan_id}", json={"amount": "1"})
    assert response.status_code == 422 and "amount" in response.get_json()["message"]
    assert loan_status(app, loan_id)[1] == Decimal("200000.00")


# --------------------------------------------------------------------------- scope


def test_another_branch_neither_sees_nor_touches_the_loan(app, login_as):
    customer_id = make_customer(app)
    loan_id = create(login_as("officer_a"), app, customer_id)
    other = login_as("officer_b")
    assert other.get(f"/api/v1/loan/{loan_id}").status_code == 404
    assert other.put(f"/api/v1/loan/{loan_id}", json={"amount": "200000"}).status_code == 404
    assert other.post(f"/api/v1/loan/{loan_id}/submit").status_code == 404
    assert other.get("/api/v1/loan/").get_json()["count"] == 0
    assert loan_status(app, loan_id) == ("draft", Decimal("100000.00"), ["draft"])


def test_a_view_grant_shows_the_loan_but_does_not_let_handle_it(app, login_as):
    from app.services import loans

    customer_id = make_customer(app)
    loan_id = create(login_as("officer_a"), app, customer_id)
    with app.app_context():
        admin = acting_user("admin")
        grantee = db.session.execute(select(AppUser).where(AppUser.username == "officer_b")).scalar_one()
        loans.grant(db.session.get(Loan, loan_id), grantee, "view", BUSINESS_DATE + timedelta(days=30), admin)
        db.session.remove()
    other = login_as("officer_b")
    assert other.get(f"/api/v1/loan/{loan_id}").status_code == 200
    assert other.get("/api/v1/loan/").get_json()["count"] == 1
    assert other.put(f"/api/v1/loan/{loan_id}", json={"amount": "200000"}).status_code == 403
    assert other.post(f"/api/v1/loan/{loan_id}/submit").status_code == 403
    assert loan_status(app, loan_id) == ("draft", Decimal("100000.00"), ["draft"])


def test_manager_reads_but_cannot_write(app, login_as):
    customer_id = make_customer(app)
    loan_id = create(login_as("officer_a"), app, customer_id)
    manager = login_as("manager")
    assert manager.get(f"/api/v1/loan/{loan_id}").get_json()["result"]["loan_no"] == f"DK{DAY}0001"
    assert manager.get("/api/v1/loan/").get_json()["count"] == 1
    assert manager.post("/api/v1/loan/", json=draft(app, customer_id)).status_code == 403
    assert manager.put(f"/api/v1/loan/{loan_id}", json={"amount": "200000"}).status_code == 403
    assert manager.post(f"/api/v1/loan/{loan_id}/submit").status_code == 403
    assert manager.delete(f"/api/v1/loan/{loan_id}").status_code == 405
    assert loan_count(app) == 1 and loan_status(app, loan_id)[0] == "draft"


# --------------------------------------------------------------------------- submit


def test_submit_without_a_guarantor_is_refused(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create(client, app, customer_id, guarantee_types="guarantee")
    response = client.post(f"/api/v1/loan/{loan_id}/submit")
    assert response.status_code == 422
    assert response.get_json()["message"] == {"guarantors": ["担保方式含“保证”，请至少添加一名保证人"]}
    assert loan_status(app, loan_id) == ("draft", Decimal("100000.00"), ["draft"])


def test_a_loan_meeting_every_rule_is_submitted_then_frozen(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create(client, app, customer_id, guarantee_types="guarantee")
    add_guarantor(app, loan_id)
    response = client.post(f"/api/v1/loan/{loan_id}/submit")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "in_approval", "warning": None}
    assert loan_status(app, loan_id) == ("in_approval", Decimal("100000.00"), ["draft", "in_approval"])
    shown = client.get(f"/api/v1/loan/{loan_id}").get_json()["result"]
    assert shown["status_label"] == "审批中" and shown["submitted_at"]
    assert [g_["name"] for g_ in shown["guarantors"]] == ["李四"]

    response = client.put(f"/api/v1/loan/{loan_id}", json={"amount": "150000"})
    assert response.status_code == 422
    assert "当前状态为“审批中”，不能修改" in response.get_json()["message"]["_schema"][0]
    response = client.post(f"/api/v1/loan/{loan_id}/submit")
    assert response.status_code == 422
    assert "当前状态为“审批中”，不能提交" in response.get_json()["message"]["_schema"][0]
    assert loan_status(app, loan_id) == ("in_approval", Decimal("100000.00"), ["draft", "in_approval"])


def test_submit_returns_the_lpr_warning(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create(client, app, customer_id, annual_rate="12")
    response = client.post(f"/api/v1/loan/{loan_id}/submit")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "in_approval" and "LPR" in body["warning"] and "4 倍" in body["warning"]


# --------------------------------------------------------------------------- products


def product(**overrides):
    data = {"code": "TESTP", "name": "测试产品", "methods": "equal_installment", "period": "month",
            "min_amount": "10000", "max_amount": "500000", "min_term": 3, "max_term": 24, "min_rate": "8",
            "max_rate": "18", "day_basis": 360, "rounding": "HALF_UP", "penalty_markup_pct": "50", "grace_days": 3,
            "allocation_order": "penalty,compound,interest,principal", "is_enabled": True}
    data.update(overrides)
    return data


def product_exists(app, code="TESTP"):
    with app.app_context():
        found = db.session.execute(select(LoanProduct.id).where(LoanProduct.code == code)).first() is not None
        db.session.remove()
    return found


def test_officer_reads_products_but_cannot_change_them(app, login_as):
    client = login_as("officer_a")
    listed = client.get("/api/v1/loan_product/")
    assert listed.status_code == 200
    rows = {row["code"]: row for row in listed.get_json()["result"]}
    assert set(rows) >= {"GRJYD", "QYLDZJ", "DQQGD"}
    assert rows["GRJYD"]["max_amount"] == "1000000.00" and rows["GRJYD"]["is_enabled"] is True
    pid = rows["GRJYD"]["id"]
    shown = client.get(f"/api/v1/loan_product/{pid}").get_json()["result"]
    assert [(f["fee_type"], f["basis"], f["value"]) for f in shown["fees"]] == [("review_fee", "percent", "0.5000")]
    assert {x["collateral_type"]: x["max_ltv_pct"] for x in shown["ltv_limits"]} == {
        "house": "70.0000", "vehicle": "50.0000"}

    assert client.post("/api/v1/loan_product/", json=product()).status_code == 403
    assert client.put(f"/api/v1/loan_product/{pid}", json={"max_amount": "9000000"}).status_code == 403
    assert client.delete(f"/api/v1/loan_product/{pid}").status_code == 405
    assert not product_exists(app)
    assert client.get(f"/api/v1/loan_product/{pid}").get_json()["result"]["max_amount"] == "1000000.00"


@pytest.mark.parametrize("overrides, field, message", [
    ({"min_amount": "500000", "max_amount": "100000"}, "max_amount", "金额下限 500000 不能大于上限 100000"),
    ({"min_rate": "18", "max_rate": "8"}, "max_rate", "年利率下限"),
    ({"penalty_markup_pct": "60"}, "penalty_markup_pct", "罚息上浮比例应在 30% 至 50% 之间"),
    ({"methods": "equal_installment,weekly"}, "methods", "未知的还款方式：weekly"),
    ({"max_amount": "1e20"}, "max_amount", "数值过大"),
    ({"rounding": "BANKERS"}, "rounding", "舍入方式“BANKERS”无效"),
    ({"code": "GRJYD"}, "code", "产品代码“GRJYD”已被其他产品使用"),
])
def test_admin_product_rules_are_a_422(app, login_as, overrides, field, message):
    client = login_as("admin")
    response = client.post("/api/v1/loan_product/", json=product(**overrides))
    assert response.status_code == 422
    body = response.get_json()["message"]
    assert list(body) == [field] and message in body[field][0], body
    assert not product_exists(app, "TESTP")


def test_admin_adds_and_disables_a_product(app, login_as):
    client = login_as("admin")
    # Left out: the column defaults (penalty markup 50 %, grace 0 days, rounding, order).
    data = product()
    for key in ("penalty_markup_pct", "grace_days", "rounding", "allocation_order", "is_enabled"):
        del data[key]
    response = client.post("/api/v1/loan_product/", json=data)
    assert response.status_code == 201, response.get_json()
    pid = response.get_json()["id"]
    shown = client.get(f"/api/v1/loan_product/{pid}").get_json()["result"]
    assert shown["penalty_markup_pct"] == "50.0000" and shown["grace_days"] == 0 and shown["is_enabled"] is True
    response = client.put(f"/api/v1/loan_product/{pid}", json={"is_enabled": False})
    assert response.status_code == 200, response.get_json()
    shown = client.get(f"/api/v1/loan_product/{pid}").get_json()["result"]
    assert shown["is_enabled"] is False and shown["max_amount"] == "500000.00" and shown["fees"] == []
    # A disabled product cannot be chosen for a loan.
    customer_id = make_customer(app, documents=False)
    response = login_as("officer_a").post("/api/v1/loan/", json=draft(app, customer_id, product=pid))
    assert response.status_code == 422 and "已停用" in response.get_json()["message"]["product"][0]
