"""项目办理 (issue #5) as its users meet it: drafts within the product's terms, guarantors and
collateral, every pre-submission check (guarantees, LTV, materials, concentration, cost
cap, 4 × LPR warning), the loan page, the queries and Excel export, data scope and
project grants, loan numbers and the product administration."""
import html
import io
import re
import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import g
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.domain.identity import complete_id_number
from app.extensions import db
from app.models import AppUser, Branch, Customer, RelatedParty
from app.models.loan import Loan, LoanGrant
from app.models.product import LoanProduct
from ..conftest import png_bytes

# Every test writes; reset the database afterwards whatever the audit log says.
pytestmark = pytest.mark.dirty

BUSINESS_DATE = date(2026, 3, 16)
DAY = f"{BUSINESS_DATE:%Y%m%d}"
REQUIRED_PERSON_DOCS = ("id_copy", "household_register", "marriage_certificate", "bank_statements")


# --------------------------------------------------------------------------- helpers


def text_of(response):
    return html.unescape(response.get_data(as_text=True))


@contextmanager
def acting(app, username="admin"):
    """An app context whose ``g.user`` is ``username`` (what services expect of a request)."""
    with app.app_context():
        user = db.session.execute(select(AppUser).where(AppUser.username == username)).scalar_one()
        g.user = user
        yield user
        db.session.remove()


def user_id(app, username):
    with app.app_context():
        return db.session.execute(select(AppUser.id).where(AppUser.username == username)).scalar_one()


def product_id(app, code="GRJYD"):
    with app.app_context():
        return db.session.execute(select(LoanProduct.id).where(LoanProduct.code == code)).scalar_one()


def set_setting(app, key, value):
    from app.services import settings

    with app.app_context():
        settings.set_value(key, value)


@pytest.fixture(autouse=True)
def business_date(app):
    """Pin the business date (LPR 3.00 % applies since 2025-05-20, so 4 × LPR = 12 %)."""
    set_setting(app, "business_date", BUSINESS_DATE.isoformat())
    yield BUSINESS_DATE


_ID_SEQ = iter(range(100, 999))


def make_customer(app, name="张三", officer="officer_a", birth="19850612", region="110105", documents=True):
    """A person customer registered by the service (optionally with every required
    document uploaded); returns its id."""
    from app.services import attachments
    from app.services import customers as customer_service

    id_number = complete_id_number(f"{region}{birth}{next(_ID_SEQ):03d}")
    with acting(app, officer) as user:
        customer = Customer(kind="person", name=name, id_number=id_number, mobile="13800138000")
        customer.officer = user
        customer_service.prepare(customer, user)
        db.session.add(customer)
        db.session.commit()
        cid = customer.id
        if documents:
            for doc_type in REQUIRED_PERSON_DOCS:
                attachments.save(f"{doc_type}.png", png_bytes(), "customer", cid, user, doc_type=doc_type)
    return cid


def identifier_of(app, customer_id):
    with app.app_context():
        return db.session.get(Customer, customer_id).id_number


def loan_form(app, customer_id, officer="officer_a", **overrides):
    data = {
        "customer": str(customer_id), "product": str(product_id(app)), "amount": "100000", "term": "12",
        "annual_rate": "10", "method": "equal_installment", "start_date": BUSINESS_DATE.isoformat(),
        "fixed_day": "", "purpose": "working_capital", "guarantee_types": ["unsecured"],
        "officer": str(user_id(app, officer)), "intermediary": "", "remarks": "",
    }
    data.update(overrides)
    return data


def loan_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Loan)).scalar_one()


def latest_loan_id(app):
    with app.app_context():
        return db.session.execute(select(func.max(Loan.id))).scalar_one()


def create_loan(app, client, customer_id, **overrides):
    """Add a draft through the form; returns the new loan's id."""
    before = latest_loan_id(app) or 0
    r = client.post("/loanview/add", data=loan_form(app, customer_id, **overrides))
    assert r.status_code == 302, form_errors(r)
    loan_id = latest_loan_id(app)
    assert loan_id and loan_id > before
    return loan_id


def form_errors(response):
    page = text_of(response)
    found = re.findall(r'class="[^"]*(?:help-block|alert)[^"]*"[^>]*>(.*?)</', page, re.S)
    return [re.sub(r"\s+", " ", x).strip() for x in found if x.strip()] or page[:2000]


def loan_row(app, loan_id):
    """The loan's columns, fees, installments, parts and status history as plain data."""
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        if loan is None:
            return None
        row = {c.key: getattr(loan, c.key) for c in Loan.__table__.columns}
        row["fees"] = [(f.fee_type, f.basis, f.value, f.timing, f.account, f.amount) for f in loan.fees]
        row["installments"] = [(i.seq, i.due_date, i.principal, i.interest, i.total, i.balance)
                               for i in loan.installments]
        row["history"] = [(s.from_status, s.to_status, s.user.username if s.user else None, s.comment)
                          for s in loan.status_changes]
        row["guarantors"] = [(x.name, x.identifier, x.mode, x.guaranteed_amount) for x in loan.guarantors]
        row["collaterals"] = [(x.kind, x.collateral_type, x.name, x.appraised_value, x.ltv_pct)
                              for x in loan.collaterals]
        return row


def set_loan(app, loan_id, **values):
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        for key, value in values.items():
            setattr(loan, key, value)
        db.session.commit()


def submit(client, loan_id):
    """POST the submit button and follow to the loan page (where the flash shows)."""
    r = client.post(f"/loanview/submit/{loan_id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/loanview/show/{loan_id}")
    page = client.get(r.headers["Location"])
    assert page.status_code == 200
    return text_of(page)


def guarantor_form(app, **overrides):
    data = {"customer": "", "kind": "person", "name": "李四",
            "identifier": complete_id_number(f"11010819800101{next(_ID_SEQ):03d}"),
            "mode": "joint", "guaranteed_amount": "100000", "period_months": "6", "mobile": "13900139000",
            "relationship_to_borrower": "朋友", "remarks": ""}
    data.update(overrides)
    return data


def collateral_form(**overrides):
    data = {"kind": "mortgage", "collateral_type": "house", "name": "朝阳区住宅", "appraised_value": "200000",
            "owner_name": "张三", "owner_relation": "本人", "appraisal_date": "2026-03-01",
            "appraisal_method": "市场比较法", "certificate_no": "京(2020)朝阳区不动产权第0012345号",
            "registry": "北京市朝阳区不动产登记中心", "registration_date": "2026-03-05", "custodian": "",
            "house_address": "北京市朝阳区建国路 1 号", "house_area": "89.5", "co_owners": "",
            "vehicle_plate": "", "vehicle_vin": "", "vehicle_engine_no": "", "remarks": ""}
    data.update(overrides)
    return data


def add_guarantor(client, loan_id, app, **overrides):
    return client.post(f"/guarantorview/add?_flt_0_loan={loan_id}", data=guarantor_form(app, **overrides))


def add_collateral(client, loan_id, **overrides):
    return client.post(f"/collateralview/add?_flt_0_loan={loan_id}", data=collateral_form(**overrides))


# --------------------------------------------------------------------------- drafts


def test_officer_creates_a_draft_with_schedule_fees_and_cost(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    assert client.get("/loanview/add").status_code == 200
    loan_id = create_loan(app, client, customer_id, guarantee_types=["mortgage", "guarantee"])
    row = loan_row(app, loan_id)

    assert row["loan_no"] == f"DK{DAY}0001"
    assert row["status"] == "draft"
    assert row["customer_id"] == customer_id
    assert row["officer_id"] == user_id(app, "officer_a") == row["created_by_id"]
    with app.app_context():
        bj = db.session.execute(select(Branch.id).where(Branch.code == "BJ")).scalar_one()
    assert row["branch_id"] == bj
    assert row["amount"] == Decimal("100000.00") and row["term"] == 12
    assert row["guarantee_types"] == "mortgage,guarantee"
    assert row["submitted_at"] is None
    # 12 monthly installments that repay the principal exactly.
    assert [i[0] for i in row["installments"]] == list(range(1, 13))
    assert sum(i[2] for i in row["installments"]) == Decimal("100000.00")
    assert row["installments"][-1][5] == Decimal("0.00")
    assert row["installments"][0][1] == date(2026, 4, 16)
    # Fees copied from the product: GRJYD review fee 0.5 % of 100,000 = 500.00.
    assert row["fees"] == [("review_fee", "percent", Decimal("0.5000"), "at_disbursement", "income",
                            Decimal("500.00"))]
    # Annualised cost: 10 % nominal plus an upfront fee → above 10 %, below 12 %.
    assert row["cost_rate"] is not None and Decimal("10") < row["cost_rate"] < Decimal("12")
    assert row["history"] == [(None, "draft", "officer_a", "新建项目")]

    page = text_of(client.get(f"/loanview/show/{loan_id}"))
    assert f"DK{DAY}0001" in page and "草稿" in page and "张三" in page
    schedule = page.split('id="schedule"')[1].split("</table>")[0]
    assert schedule.count("<tr>") == 1 + 12 + 1  # header, 12 rows, footer
    assert "100,000.00" in schedule
    fees = page.split('id="fees"')[1].split("</table>")[0]
    assert "评审费" in fees and "500.00" in fees
    history = page.split('id="status-history"')[1].split("</table>")[0]
    assert "草稿" in history and "新建项目" in history
    assert str(row["cost_rate"]) in page
    assert "抵押" in page and "保证" in page


def test_editing_a_draft_rebuilds_fees_and_schedule(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id)
    assert client.get(f"/loanview/edit/{loan_id}").status_code == 200
    r = client.post(f"/loanview/edit/{loan_id}", data=loan_form(app, customer_id, amount="200000", term="24"))
    assert r.status_code == 302, form_errors(r)
    row = loan_row(app, loan_id)
    assert row["amount"] == Decimal("200000.00") and row["status"] == "draft"
    assert len(row["installments"]) == 24
    assert sum(i[2] for i in row["installments"]) == Decimal("200000.00")
    assert [f[5] for f in row["fees"]] == [Decimal("1000.00")]
    assert row["loan_no"] == f"DK{DAY}0001"  # the number does not change


@pytest.mark.parametrize("field, value, expected", [
    ("amount", "1000001", ["贷款金额", "超出产品允许范围", "1000000"]),
    ("amount", "9999.99", ["贷款金额", "超出产品允许范围", "10000"]),
    ("annual_rate", "18.5", ["年利率", "超出产品允许范围", "18"]),
    ("annual_rate", "7", ["年利率", "超出产品允许范围", "8"]),
    ("term", "37", ["期限", "超出产品允许范围", "36 个月"]),
    ("method", "bullet", ["不支持该还款方式", "等额本息"]),
])
def test_product_terms_are_enforced_on_the_form(app, login_as, field, value, expected):
    customer_id = make_customer(app, documents=False)
    client = login_as("officer_a")
    r = client.post("/loanview/add", data=loan_form(app, customer_id, **{field: value}))
    assert r.status_code == 200
    page = text_of(r)
    for text in expected:
        assert text in page, (text, form_errors(r))
    assert loan_count(app) == 0


def test_forbidden_purpose_is_refused(app, login_as):
    customer_id = make_customer(app, documents=False)
    client = login_as("officer_a")
    r = client.post("/loanview/add", data=loan_form(app, customer_id, purpose="securities"))
    assert r.status_code == 200
    page = text_of(r)
    assert "证券投资" in page and "禁止类用途" in page
    assert loan_count(app) == 0


def test_unsecured_cannot_be_combined_with_other_guarantees(app, login_as):
    customer_id = make_customer(app, documents=False)
    client = login_as("officer_a")
    r = client.post("/loanview/add", data=loan_form(app, customer_id, guarantee_types=["unsecured", "mortgage"]))
    assert r.status_code == 200 and "信用方式不能与保证、抵押、质押同时选择" in text_of(r)
    assert loan_count(app) == 0


def test_blacklisted_customer_is_refused_with_the_reason(app, login_as):
    from app.services import blacklist

    customer_id = make_customer(app, documents=False)
    with acting(app, "risk") as user:
        blacklist.add(identifier_of(app, customer_id), "张三", "法院失信被执行人（2025）京0105执1234号", user,
                      source="court")
    client = login_as("officer_a")
    r = client.post("/loanview/add", data=loan_form(app, customer_id))
    assert r.status_code == 200
    page = text_of(r)
    assert "不良客户名单" in page and "法院失信被执行人（2025）京0105执1234号" in page
    assert loan_count(app) == 0


def test_customer_blacklisted_after_drafting_cannot_be_submitted(app, login_as):
    from app.services import blacklist

    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id)
    with acting(app, "risk") as user:
        blacklist.add(identifier_of(app, customer_id), "张三", "欺诈骗贷", user, source="fraud")
    page = submit(client, loan_id)
    assert "提交失败" in page and "欺诈骗贷" in page
    assert loan_row(app, loan_id)["status"] == "draft"


def test_officer_cannot_draft_for_another_branchs_customer(app, login_as):
    customer_id = make_customer(app, officer="officer_b", documents=False)
    client = login_as("officer_a")
    r = client.post("/loanview/add", data=loan_form(app, customer_id))
    assert r.status_code == 200 and "所选记录不存在或无权访问" in text_of(r)
    assert loan_count(app) == 0


# --------------------------------------------------------------------------- guarantors, collateral


def test_guarantor_and_collateral_are_recorded_with_the_ltv(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id, guarantee_types=["mortgage", "guarantee"])

    assert client.get(f"/guarantorview/add?_flt_0_loan={loan_id}").status_code == 200
    r = add_guarantor(client, loan_id, app)
    assert r.status_code == 302, form_errors(r)
    assert r.headers["Location"].endswith(f"/loanview/show/{loan_id}")
    assert client.get(f"/collateralview/add?_flt_0_loan={loan_id}").status_code == 200
    r = add_collateral(client, loan_id, appraised_value="120000")
    assert r.status_code == 302, form_errors(r)

    row = loan_row(app, loan_id)
    assert [(g_[0], g_[2], g_[3]) for g_ in row["guarantors"]] == [("李四", "joint", Decimal("100000.00"))]
    assert row["collaterals"] == [("mortgage", "house", "朝阳区住宅", Decimal("120000.00"), Decimal("83.33"))]

    page = text_of(client.get(f"/loanview/show/{loan_id}"))
    assert "李四" in page and "连带责任保证" in page
    collateral = page.split('id="collaterals"')[1].split("</table>")[0]
    assert "朝阳区住宅" in collateral and "120,000.00" in collateral and "83.33" in collateral

    # Editing the loan amount recomputes the LTV.
    r = client.post(f"/loanview/edit/{loan_id}", data=loan_form(
        app, customer_id, amount="60000", guarantee_types=["mortgage", "guarantee"]))
    assert r.status_code == 302, form_errors(r)
    assert loan_row(app, loan_id)["collaterals"][0][4] == Decimal("50.00")


def test_guarantor_and_collateral_rules(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id, guarantee_types=["mortgage", "guarantee"])

    # The part views check in pre_add: FAB flashes the DomainError and returns to the loan page.
    cases = [
        (add_guarantor, {"identifier": identifier_of(app, customer_id)}, "借款人本人不能作为保证人"),
        (add_guarantor, {"identifier": "110105198506121230"}, "保证人身份证号"),
        (add_guarantor, {"guaranteed_amount": "0"}, "担保金额必须大于 0"),
        (add_collateral, {"house_address": ""}, "房产须填写房屋坐落地址"),
        (add_collateral, {"kind": "pledge", "collateral_type": "deposit_receipt", "custodian": ""},
         "质押物须填写保管人"),
        (add_collateral, {"appraised_value": "0"}, "评估价值必须大于 0"),
        (add_collateral, {"collateral_type": "vehicle", "vehicle_plate": ""}, "车辆须填写车牌号"),
    ]
    for add, overrides, message in cases:
        args = (client, loan_id, app) if add is add_guarantor else (client, loan_id)
        r = add(*args, **overrides)
        page = text_of(client.get(r.headers["Location"])) if r.status_code == 302 else text_of(r)
        assert message in page, (message, r.status_code)

    row = loan_row(app, loan_id)
    assert row["guarantors"] == [] and row["collaterals"] == []


def test_officer_of_another_branch_cannot_add_parts(app, login_as):
    customer_id = make_customer(app)
    loan_id = create_loan(app, login_as("officer_a"), customer_id, guarantee_types=["guarantee"])
    other = login_as("officer_b")
    r = add_guarantor(other, loan_id, app)
    # The form is shown again with the reason (input kept), or access is refused outright.
    assert r.status_code in (200, 302, 403, 404)
    if r.status_code == 200:
        assert "只有项目的客户经理或被授权办理的用户可以修改" in text_of(r)
    r = add_collateral(other, loan_id)
    assert r.status_code in (200, 302, 403, 404)
    row = loan_row(app, loan_id)
    assert row["guarantors"] == [] and row["collaterals"] == []


# --------------------------------------------------------------------------- submit checks


def test_submit_refuses_guarantee_without_a_guarantor(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id, guarantee_types=["guarantee"])
    page = submit(client, loan_id)
    assert "提交失败：担保方式含“保证”，请至少添加一名保证人" in page
    row = loan_row(app, loan_id)
    assert row["status"] == "draft" and row["submitted_at"] is None
    assert [h[1] for h in row["history"]] == ["draft"]


def test_submit_refuses_mortgage_without_collateral(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id, guarantee_types=["mortgage"])
    page = submit(client, loan_id)
    assert "担保方式含“抵押”，请至少添加一项抵押物" in page
    assert loan_row(app, loan_id)["status"] == "draft"


def test_submit_refuses_an_ltv_above_the_product_limit(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id, guarantee_types=["mortgage"])
    r = add_collateral(client, loan_id, appraised_value="120000")
    assert r.status_code == 302, form_errors(r)
    page = submit(client, loan_id)
    # GRJYD: house at most 70 % → 120,000 secures 84,000 < 100,000.
    assert "提交失败：抵押率超限" in page
    assert "100,000.00" in page and "120,000.00" in page and "84,000.00" in page and "83.33%" in page
    assert loan_row(app, loan_id)["status"] == "draft"

    # A second house brings the capacity to 84,000 + 21,000 = 105,000: now it passes.
    r = add_collateral(client, loan_id, name="海淀区车位", appraised_value="30000")
    assert r.status_code == 302, form_errors(r)
    page = submit(client, loan_id)
    assert "已提交审批" in page
    assert loan_row(app, loan_id)["status"] == "in_approval"


def test_submit_refuses_missing_materials_and_names_them(app, login_as):
    from app.services import attachments

    customer_id = make_customer(app, documents=False)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id)
    page = submit(client, loan_id)
    assert "提交失败：客户资料不全，缺少：身份证复印件、户口簿、婚姻证明、银行流水" in page
    with acting(app, "officer_a") as user:
        for doc_type in REQUIRED_PERSON_DOCS[:3]:
            attachments.save(f"{doc_type}.png", png_bytes(), "customer", customer_id, user, doc_type=doc_type)
    page = submit(client, loan_id)
    assert "客户资料不全，缺少：银行流水" in page and "户口簿" not in page.split("缺少：")[1][:20]
    assert loan_row(app, loan_id)["status"] == "draft"


def test_submit_refuses_above_the_single_borrower_limit(app, login_as):
    customer_id = make_customer(app)
    set_setting(app, "net_assets", "500000")
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id)
    page = submit(client, loan_id)
    # 10 % of 500,000 = 50,000 < 100,000.
    assert "提交失败：超过单户集中度限额" in page
    assert "100,000.00" in page and "500,000.00" in page and "50,000.00" in page
    assert loan_row(app, loan_id)["status"] == "draft"


def test_submitted_loans_of_the_borrower_count_towards_the_limit(app, login_as):
    customer_id = make_customer(app)
    set_setting(app, "net_assets", "1500000")  # single limit 150,000
    client = login_as("officer_a")
    first = create_loan(app, client, customer_id)
    assert "已提交审批" in submit(client, first)
    second = create_loan(app, client, customer_id, amount="60000")
    page = submit(client, second)
    assert "超过单户集中度限额" in page and "160,000.00" in page and "150,000.00" in page
    assert loan_row(app, second)["status"] == "draft"
    # A draft does not count: the second loan of 50,000 fits exactly.
    set_loan(app, second, amount=Decimal("50000"))
    assert "已提交审批" in submit(client, second)


def test_related_parties_count_in_the_15_pct_limit(app, login_as):
    company_owner = make_customer(app, name="王五")
    spouse = make_customer(app, name="赵六", birth="19870302")
    set_setting(app, "net_assets", "1000000")  # single 100,000, group 150,000
    client = login_as("officer_a")
    first = create_loan(app, client, company_owner)
    assert "已提交审批" in submit(client, first)
    with app.app_context():
        db.session.add(RelatedParty(customer_id=spouse, related_customer_id=company_owner, relation="spouse"))
        db.session.commit()
    second = create_loan(app, client, spouse, amount="60000")
    page = submit(client, second)
    # 60,000 alone is within 100,000, but with the related 100,000 it makes 160,000 > 150,000.
    assert "提交失败：超过关联方集中度限额" in page
    assert "160,000.00" in page and "150,000.00" in page and "15%" in page
    assert loan_row(app, second)["status"] == "draft"
    set_loan(app, second, amount=Decimal("50000"))
    assert "已提交审批" in submit(client, second)


def test_submit_refuses_a_cost_above_the_cap(app, login_as):
    customer_id = make_customer(app)
    set_setting(app, "rate_cap_pct", "10")
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id)
    cost = loan_row(app, loan_id)["cost_rate"]
    assert cost > 10
    page = submit(client, loan_id)
    assert "提交失败：综合年化成本" in page and f"{cost}%" in page and "超过上限 10%" in page
    assert loan_row(app, loan_id)["status"] == "draft"


def test_a_loan_meeting_every_rule_is_submitted_once_and_then_frozen(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id, guarantee_types=["mortgage", "guarantee"])
    assert add_guarantor(client, loan_id, app).status_code == 302
    assert add_collateral(client, loan_id, appraised_value="200000").status_code == 302

    page = submit(client, loan_id)
    assert f"项目 DK{DAY}0001 已提交审批" in page
    assert "审批中" in page
    row = loan_row(app, loan_id)
    assert row["status"] == "in_approval" and row["submitted_at"] is not None
    assert row["warnings"] is None
    assert [(h[0], h[1], h[2]) for h in row["history"]] == [
        (None, "draft", "officer_a"), ("draft", "in_approval", "officer_a")]
    history = page.split('id="status-history"')[1].split("</table>")[0]
    assert "审批中" in history and "提交审批" in history
    # Neither the submit nor the edit button is offered any more.
    assert 'id="loan-submit"' not in page and 'id="loan-edit"' not in page

    # A second submit is refused.
    page = submit(client, loan_id)
    assert "提交失败" in page and "当前状态为“审批中”，不能提交" in page
    assert len(loan_row(app, loan_id)["history"]) == 2

    # Editing is refused and changes nothing.
    r = client.get(f"/loanview/edit/{loan_id}")
    assert r.status_code == 302 and f"/loanview/show/{loan_id}" in r.headers["Location"]
    r = client.post(f"/loanview/edit/{loan_id}", data=loan_form(
        app, customer_id, amount="150000", guarantee_types=["mortgage", "guarantee"]), follow_redirects=True)
    assert r.status_code in (200, 302, 403, 404)
    assert "不能修改" in text_of(r) or r.status_code in (403, 404)
    after = loan_row(app, loan_id)
    assert after["amount"] == Decimal("100000.00") and after["status"] == "in_approval"
    assert after["version"] == row["version"]

    # So are new guarantors and collateral.
    for add in (lambda: add_guarantor(client, loan_id, app, name="钱七"),
                lambda: add_collateral(client, loan_id, name="第二套住宅")):
        r = add()
        assert r.status_code == 200  # the form again, with the reason
        assert "当前状态为“审批中”，担保和费用不能再修改" in text_of(r)
    after = loan_row(app, loan_id)
    assert len(after["guarantors"]) == 1 and len(after["collaterals"]) == 1


def test_cost_above_four_times_lpr_is_submitted_with_a_warning(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id, annual_rate="12")
    cost = loan_row(app, loan_id)["cost_rate"]
    assert Decimal("12") < cost < Decimal("24")
    page = submit(client, loan_id)
    assert "已提交审批" in page
    row = loan_row(app, loan_id)
    assert row["status"] == "in_approval"
    assert row["warnings"] and "LPR" in row["warnings"] and "12.00%" in row["warnings"]
    assert f"{cost}%" in row["warnings"] and "4 倍" in row["warnings"]
    assert "提示：" in page and row["warnings"] in page
    assert "提示" in row["history"][-1][3] and row["warnings"] in row["history"][-1][3]


# --------------------------------------------------------------------------- queries, scope, grants


def test_query_lists_filter_by_officer_and_status(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    draft = create_loan(app, client, customer_id)
    returned = create_loan(app, client, customer_id, amount="20000")
    settled = create_loan(app, client, customer_id, amount="30000")
    set_loan(app, returned, status="returned")
    set_loan(app, settled, status="settled")
    numbers = {k: loan_row(app, v)["loan_no"] for k, v in
               (("draft", draft), ("returned", returned), ("settled", settled))}

    mine = text_of(client.get("/loanmineview/list/"))
    assert all(n in mine for n in numbers.values())
    returned_page = text_of(client.get("/loanreturnedview/list/"))
    assert numbers["returned"] in returned_page
    assert numbers["draft"] not in returned_page and numbers["settled"] not in returned_page
    history_page = text_of(client.get("/loanhistoryview/list/"))
    assert numbers["settled"] in history_page
    assert numbers["draft"] not in history_page and numbers["returned"] not in history_page

    other = login_as("officer_b")
    for url in ("/loanmineview/list/", "/loanview/list/", "/loanreturnedview/list/", "/loanhistoryview/list/"):
        page = text_of(other.get(url))
        assert not any(n in page for n in numbers.values()), url
    # Head office management sees every branch.
    all_page = text_of(login_as("manager").get("/loanview/list/"))
    assert all(n in all_page for n in numbers.values())


def test_export_is_an_xlsx_within_scope(app, login_as):
    mine = make_customer(app)
    theirs = make_customer(app, name="孙八", officer="officer_b")
    a_loan = loan_row(app, create_loan(app, login_as("officer_a"), mine))["loan_no"]
    b_loan = loan_row(app, create_loan(app, login_as("officer_b"), theirs, officer="officer_b"))["loan_no"]

    r = login_as("officer_a").get("/loanview/export")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(r.data))
    cells = [c for row in book.active.iter_rows(values_only=True) for c in row if c is not None]
    assert a_loan in cells and b_loan not in cells
    assert "业务编号" in cells and any(str(c).startswith("张三") for c in cells)
    money = [c for row in book.active.iter_rows(values_only=True) for c in row if isinstance(c, (int, float))]
    assert 100000 in money

    r = login_as("manager").get("/loanview/export")
    cells = [c for row in load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True) for c in row]
    assert a_loan in cells and b_loan in cells


def test_other_branch_sees_a_loan_only_through_a_live_grant(app, login_as):
    customer_id = make_customer(app)
    owner = login_as("officer_a")
    loan_id = create_loan(app, owner, customer_id)
    loan_no = loan_row(app, loan_id)["loan_no"]
    other = login_as("officer_b")
    assert other.get(f"/loanview/show/{loan_id}").status_code == 404
    assert loan_no not in text_of(other.get("/loanview/list/"))

    # A grant that has already expired is refused.
    b_id = user_id(app, "officer_b")
    r = owner.post("/loangrantview/add", data={"loan": str(loan_id), "user": str(b_id), "level": "view",
                                                "expires_on": (BUSINESS_DATE - timedelta(days=1)).isoformat()},
                   follow_redirects=True)
    assert "授权到期日不能早于营业日期" in text_of(r)
    # officer_b cannot grant themselves access (the loan is not theirs to pick).
    r = other.post("/loangrantview/add", data={"loan": str(loan_id), "user": str(b_id), "level": "view",
                                                "expires_on": (BUSINESS_DATE + timedelta(days=30)).isoformat()},
                   follow_redirects=True)
    assert "所选记录不存在或无权访问" in text_of(r)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(LoanGrant)).scalar_one() == 0

    r = owner.post("/loangrantview/add", data={"loan": str(loan_id), "user": str(b_id), "level": "view",
                                                "expires_on": (BUSINESS_DATE + timedelta(days=30)).isoformat()})
    assert r.status_code == 302, form_errors(r)
    with app.app_context():
        grant = db.session.execute(select(LoanGrant)).scalar_one()
        assert (grant.loan_id, grant.user_id, grant.level) == (loan_id, b_id, "view")
        assert grant.granted_by_id == user_id(app, "officer_a")

    page = other.get(f"/loanview/show/{loan_id}")
    assert page.status_code == 200 and loan_no in text_of(page)
    assert loan_no in text_of(other.get("/loanview/list/"))
    # A view grant does not allow handling: submit is refused.
    page = submit(other, loan_id)
    assert "只有项目的客户经理或被授权办理的用户可以提交" in page
    assert loan_row(app, loan_id)["status"] == "draft"

    # Once the grant's day has passed (business date beyond it), the access is gone.
    with app.app_context():
        grant = db.session.execute(select(LoanGrant)).scalar_one()
        grant.expires_on = BUSINESS_DATE - timedelta(days=1)
        db.session.commit()
    assert other.get(f"/loanview/show/{loan_id}").status_code == 404
    assert loan_no not in text_of(other.get("/loanview/list/"))


def test_handle_grant_lets_the_grantee_submit(app, login_as):
    customer_id = make_customer(app)
    owner = login_as("officer_a")
    loan_id = create_loan(app, owner, customer_id)
    r = owner.post("/loangrantview/add", data={"loan": str(loan_id), "user": str(user_id(app, "officer_b")),
                                                "level": "handle",
                                                "expires_on": (BUSINESS_DATE + timedelta(days=7)).isoformat()})
    assert r.status_code == 302, form_errors(r)
    page = submit(login_as("officer_b"), loan_id)
    assert "已提交审批" in page
    row = loan_row(app, loan_id)
    assert row["status"] == "in_approval" and row["history"][-1][2] == "officer_b"


# --------------------------------------------------------------------------- numbers


def test_loan_numbers_are_distinct_and_sequential(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    first = loan_row(app, create_loan(app, client, customer_id))["loan_no"]
    second = loan_row(app, create_loan(app, client, customer_id, amount="20000"))["loan_no"]
    assert (first, second) == (f"DK{DAY}0001", f"DK{DAY}0002")
    # A refused form does not use up a number.
    r = client.post("/loanview/add", data=loan_form(app, customer_id, amount="1"))
    assert r.status_code == 200
    third = loan_row(app, create_loan(app, client, customer_id, amount="30000"))["loan_no"]
    assert third == f"DK{DAY}0003"


def test_next_number_blocks_a_concurrent_transaction_on_postgres(postgres):
    """Two transactions: the second waits on the first's row lock and gets the next number."""
    from app.services.numbering import next_number

    app = postgres
    day = date(2026, 11, 28)
    first_taken, first_committed = threading.Event(), threading.Event()
    results, errors, timeline = {}, [], []

    def first():
        try:
            with app.app_context():
                results["first"] = next_number("PGT", day)
                first_taken.set()
                time.sleep(0.5)
                timeline.append("first-commit")
                db.session.commit()
                first_committed.set()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
            first_taken.set()

    def second():
        try:
            with app.app_context():
                first_taken.wait(timeout=10)
                number = next_number("PGT", day)
                timeline.append("second-got")
                results["second"] = number
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    workers = [threading.Thread(target=first), threading.Thread(target=second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert not errors, errors
    assert results == {"first": "PGT202611280001", "second": "PGT202611280002"}
    assert timeline == ["first-commit", "second-got"]


# --------------------------------------------------------------------------- products


def product_form(**overrides):
    data = {"code": "TESTP", "name": "测试产品", "methods": ["equal_installment"], "period": "month",
            "min_amount": "10000", "max_amount": "500000", "min_term": "3", "max_term": "24", "min_rate": "8",
            "max_rate": "18", "day_basis": "360", "rounding": "HALF_UP", "penalty_markup_pct": "50",
            "grace_days": "0", "allocation_order": "penalty,compound,interest,principal",
            "fixed_day_allowed": "y", "is_enabled": "y", "description": ""}
    data.update(overrides)
    return data


def product_exists(app, code):
    with app.app_context():
        return db.session.execute(select(LoanProduct).where(LoanProduct.code == code)).scalar_one_or_none() is not None


@pytest.mark.parametrize("overrides, message", [
    ({"min_amount": "500000", "max_amount": "100000"}, "金额下限"),
    ({"min_term": "24", "max_term": "3"}, "期限下限"),
    ({"min_rate": "18", "max_rate": "8"}, "年利率下限"),
    ({"penalty_markup_pct": "60"}, "罚息上浮比例应在 30% 至 50% 之间"),
    ({"penalty_markup_pct": "20"}, "罚息上浮比例应在 30% 至 50% 之间"),
    ({"max_rate": "40"}, "年利率上限不能超过 36%"),
])
def test_product_admin_refuses_bad_terms(app, login_as, overrides, message):
    client = login_as("admin")
    r = client.post("/loanproductview/add", data=product_form(**overrides))
    assert r.status_code == 200
    assert message in text_of(r), form_errors(r)
    assert not product_exists(app, "TESTP")


def test_product_admin_adds_a_valid_product(app, login_as):
    client = login_as("admin")
    r = client.post("/loanproductview/add", data=product_form())
    assert r.status_code == 302, form_errors(r)
    with app.app_context():
        product = db.session.execute(select(LoanProduct).where(LoanProduct.code == "TESTP")).scalar_one()
        assert product.methods == "equal_installment" and product.max_amount == Decimal("500000.00")
        assert product.penalty_markup_pct == Decimal("50") and product.is_enabled


def test_officer_lists_products_but_cannot_change_them(app, login_as):
    client = login_as("officer_a")
    page = client.get("/loanproductview/list/")
    assert page.status_code == 200
    assert "个人经营贷" in text_of(page) and "企业流动资金贷" in text_of(page) and "短期过桥贷" in text_of(page)
    assert client.get("/loanproductview/add").status_code == 403
    r = client.post("/loanproductview/add", data=product_form())
    assert r.status_code == 403
    assert not product_exists(app, "TESTP")
    pid = product_id(app)
    assert client.post(f"/loanproductview/edit/{pid}", data=product_form(code="GRJYD", name="个人经营贷",
                                                                          max_amount="9000000")).status_code == 403
    with app.app_context():
        assert db.session.get(LoanProduct, pid).max_amount == Decimal("1000000.00")


def test_disabled_product_cannot_be_chosen(app, login_as):
    customer_id = make_customer(app, documents=False)
    with app.app_context():
        product = db.session.get(LoanProduct, product_id(app))
        product.is_enabled = False
        db.session.commit()
    client = login_as("officer_a")
    r = client.post("/loanview/add", data=loan_form(app, customer_id))
    assert r.status_code == 200
    assert loan_count(app) == 0


# --------------------------------------------------------------------------- the other seeded products


def test_company_working_capital_product_requires_a_guarantee_and_charges_a_fixed_fee(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    base = dict(product=str(product_id(app, "QYLDZJ")), amount="200000", term="6", annual_rate="12",
                method="monthly_interest")
    r = client.post("/loanview/add", data=loan_form(app, customer_id, **base))
    assert r.status_code == 200 and "要求提供担保，不能选择信用方式" in text_of(r)
    assert loan_count(app) == 0
    loan_id = create_loan(app, client, customer_id, guarantee_types=["guarantee"], **base)
    row = loan_row(app, loan_id)
    assert [f[5] for f in row["fees"]] == [Decimal("2000.00")]
    assert len(row["installments"]) == 6
    # Interest only until the last period: 200,000 × 1 % = 2,000.00 a month.
    assert [i[3] for i in row["installments"]] == [Decimal("2000.00")] * 6
    assert [i[2] for i in row["installments"]] == [Decimal("0.00")] * 5 + [Decimal("200000.00")]


def test_bridge_product_counts_days(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id, product=str(product_id(app, "DQQGD")), amount="100000",
                          term="30", annual_rate="12", method="bullet", guarantee_types=["guarantee"])
    row = loan_row(app, loan_id)
    # One payment after 30 days: 100,000 × 12 % × 30 / 360 = 1,000.00; service fee 0.3 % = 300.00.
    assert row["installments"] == [(1, BUSINESS_DATE + timedelta(days=30), Decimal("100000.00"),
                                    Decimal("1000.00"), Decimal("101000.00"), Decimal("0.00"))]
    assert [f[5] for f in row["fees"]] == [Decimal("300.00")]
    r = client.post("/loanview/add", data=loan_form(
        app, customer_id, product=str(product_id(app, "DQQGD")), amount="100000", term="181", annual_rate="12",
        method="bullet", guarantee_types=["guarantee"]))
    assert r.status_code == 200 and "181 天" in text_of(r) and "超出产品允许范围" in text_of(r)


def test_changing_the_product_of_a_draft_takes_the_new_products_fees(app, login_as):
    customer_id = make_customer(app)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, customer_id, amount="200000", guarantee_types=["guarantee"])
    assert [f[0:2] + (f[5],) for f in loan_row(app, loan_id)["fees"]] == [
        ("review_fee", "percent", Decimal("1000.00"))]
    r = client.post(f"/loanview/edit/{loan_id}", data=loan_form(
        app, customer_id, product=str(product_id(app, "QYLDZJ")), amount="200000", term="6", annual_rate="12",
        method="monthly_interest", guarantee_types=["guarantee"]))
    assert r.status_code == 302, form_errors(r)
    row = loan_row(app, loan_id)
    assert row["product_id"] == product_id(app, "QYLDZJ")
    # QYLDZJ charges a fixed 2,000 review fee, not GRJYD's 0.5 %.
    assert [f[0:2] + (f[5],) for f in row["fees"]] == [("review_fee", "fixed", Decimal("2000.00"))]


def test_loans_are_searched_by_customer_name_without_a_customer_drop_down(app, login_as):
    client = login_as("officer_a")
    create_loan(app, client, make_customer(app, name="张三"))
    found = text_of(client.get("/loanview/list/?_flt_0_customer_id=张"))
    assert f"DK{DAY}0001" in found
    assert f"DK{DAY}0001" not in text_of(client.get("/loanview/list/?_flt_0_customer_id=李四"))
    page = client.get("/loanview/list/").get_data(as_text=True)
    assert "张三（KH" in page  # the row shows the customer …
    assert not re.search(r"<option[^>]*>\s*张三（KH", page)  # … but no search drop-down lists customers


def test_part_forms_pick_the_loan_by_search_not_from_a_list_of_all_loans(app, login_as):
    client = login_as("officer_a")
    create_loan(app, client, make_customer(app))
    for url in ("/guarantorview/add", "/collateralview/add", "/loanfeeview/add", "/loangrantview/add"):
        page = client.get(url).get_data(as_text=True)
        assert "ml-ajax-picker" in page, url
        assert not re.search(r"<option[^>]*>\s*DK", page), url
