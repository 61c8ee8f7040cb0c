"""客户管理 (issue #4) as its users meet it: customers of the three kinds, validation on
the form, data scope, the customer view, materials, blacklist, visits and their
conversion, field investigations, Excel export, the AJAX picker and customer numbers."""
import io
import re
import threading
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from stdnum.cn import uscc

from app.domain.errors import DomainError
from app.extensions import db
from app.models import (
    AppUser, Attachment, BlacklistEntry, Branch, Customer, CustomerVisit, FieldInvestigation, NumberSequence,
    RelatedParty, RelatedPerson, VisitFollowUp,
)

from ..conftest import TEST_PASSWORD
from ..conftest import png_bytes

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(birth="19850101", seq="123", region="110105"):
    """A valid 18-digit ID number (GB 11643 check character) of an adult."""
    first17 = f"{region}{birth}{seq}"
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def make_credit_code(first17):
    return first17 + uscc.calc_check_digit(first17)


# --------------------------------------------------------------------------- helpers


def user_id(app, username):
    with app.app_context():
        return db.session.execute(select(AppUser.id).where(AppUser.username == username)).scalar_one()


def branch_id(app, code):
    with app.app_context():
        return db.session.execute(select(Branch.id).where(Branch.code == code)).scalar_one()


def business_date(app):
    from app.services import settings

    with app.app_context():
        return settings.business_date()


def customer_row(app, **by):
    """The customer's column values (a dict), or None."""
    with app.app_context():
        row = db.session.execute(select(Customer).filter_by(**by)).scalar_one_or_none()
        if row is None:
            return None
        return {c.key: getattr(row, c.key) for c in Customer.__table__.columns}


def count(app, model):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def add_user(app, username, role="LoanOfficer", branch_code="BJ"):
    """A second user of a branch (the baseline has one loan officer per branch)."""
    from app.services.setup import ensure_user

    with app.app_context():
        branch = db.session.execute(select(Branch).where(Branch.code == branch_code)).scalar_one()
        user, _ = ensure_user(username, [role], TEST_PASSWORD, username, "测试", branch=branch)
        return user.id


def person_form(officer_id, **overrides):
    data = {
        "name": "张三", "id_number": make_id("19850615", "131"), "mobile": "13800138000", "phone": "010-65001234",
        "email": "zhangsan@example.com", "address": "北京市朝阳区建国路 88 号", "household_address": "河北省保定市莲池区",
        "education": "bachelor", "marital_status": "married", "spouse_name": "李梅",
        "spouse_id_number": make_id("19870302", "242"), "spouse_mobile": "13900139000", "dependants": "2",
        "family_annual_income": "360000", "owns_house": "y", "house_value": "3500000",
        "employer": "北京星辰科技有限公司", "job_title": "技术总监", "years_employed": "8", "monthly_income": "30000",
        "bank_name": "中国工商银行北京朝阳支行", "bank_account_name": "张三", "bank_account_no": "6222020200112233445",
        "source": "walk_in", "officer": str(officer_id), "status": "active", "remarks": "",
    }
    data.update(overrides)
    return data


def company_form(officer_id, **overrides):
    data = {
        "name": "北京恒达商贸有限公司", "credit_code": make_credit_code("91110105MA01ABC12"),
        "legal_rep_name": "王强", "legal_rep_id_number": make_id("19700808", "015"),
        "registered_capital": "5000000", "founded_on": "2012-03-15", "industry": "F", "address": "北京市朝阳区光华路 9 号",
        "business_scope": "日用百货销售", "employees": "35", "annual_revenue": "12000000", "contact_name": "赵敏",
        "mobile": "13700137000", "source": "referral", "officer": str(officer_id), "status": "active",
    }
    data.update(overrides)
    return data


def sole_trader_form(officer_id, **overrides):
    data = {
        "name": "刘洋", "id_number": make_id("19780920", "057"), "mobile": "13600136000",
        "address": "北京市海淀区中关村大街 1 号", "business_name": "海淀区刘洋便利店",
        "credit_code": make_credit_code("92110108MA00XYK01"), "industry": "F", "business_address": "北京市海淀区学院路 5 号",
        "source": "walk_in", "officer": str(officer_id), "status": "active",
    }
    data.update(overrides)
    return data


def create_person(app, client, officer="officer_a", **overrides):
    """Add a person customer through the form; returns its row."""
    data = person_form(user_id(app, officer), **overrides)
    r = client.post("/customerpersonview/add", data=data)
    assert r.status_code == 302, _errors(r)
    row = customer_row(app, id_number=data["id_number"])
    assert row is not None
    return row


def _errors(response):
    """The form errors and flash messages of a re-rendered page (for assertion messages)."""
    html = response.get_data(as_text=True)
    found = re.findall(r'class="[^"]*(?:help-block|alert)[^"]*"[^>]*>(.*?)</', html, re.S)
    return f"{response.status_code}: " + " | ".join(re.sub(r"\s+", " ", f).strip() for f in found)[:2000]


def field_errors(html, name):
    """The error texts shown under one form field (empty string when none)."""
    match = re.search(rf'name="{name}"(.*?)</td>', html, re.S)
    assert match, f"no field {name}"
    return " ".join(re.sub(r"\s+", " ", e).strip()
                    for e in re.findall(r'class="alert alert-danger">(.*?)</div>', match.group(1), re.S))


def material_row(html, doc_type):
    match = re.search(rf'<tr data-doc-type="{doc_type}">(.*?)</tr>', html, re.S)
    assert match, f"no materials row for {doc_type}"
    return match.group(1)


def read_export(response):
    """(header, data rows) of an exported workbook."""
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "客户编号")
    return rows[header_at], [r for r in rows[header_at + 1:] if r and r[0]]


# --------------------------------------------------------------------------- creating customers


def test_officer_creates_person_customer_with_number_branch_and_derived_fields(app, login_as):
    officer = login_as("officer_a")
    row = create_person(app, officer)
    day = business_date(app)
    assert row["customer_no"] == f"KH{day:%Y%m%d}0001"
    assert row["kind"] == "person"
    assert row["branch_id"] == branch_id(app, "BJ")
    assert row["officer_id"] == user_id(app, "officer_a")
    assert row["created_by_id"] == user_id(app, "officer_a")
    assert row["gender"] == "male"  # 17th digit 1
    assert row["birth_date"] == date(1985, 6, 15)
    assert row["status"] == "active" and row["is_blacklisted"] is False
    assert row["mobile"] == "13800138000"
    # The next one gets the next number of the day.
    second = create_person(app, officer, name="李四", id_number=make_id("19900101", "242"), mobile="13811112222",
                           spouse_id_number="", spouse_name="", spouse_mobile="")
    assert second["customer_no"] == f"KH{day:%Y%m%d}0002"
    assert second["gender"] == "female"


def test_mobile_with_country_code_and_spaces_is_normalised(app, login_as):
    row = create_person(app, login_as("officer_a"), mobile="+86 138 0013 8000")
    assert row["mobile"] == "13800138000"


def test_officer_creates_company_customer(app, login_as):
    officer = login_as("officer_a")
    data = company_form(user_id(app, "officer_a"))
    r = officer.post("/customercompanyview/add", data=data)
    assert r.status_code == 302, _errors(r)
    row = customer_row(app, credit_code=data["credit_code"])
    assert row["kind"] == "company" and row["name"] == "北京恒达商贸有限公司"
    assert row["customer_no"] == f"KH{business_date(app):%Y%m%d}0001"
    assert row["branch_id"] == branch_id(app, "BJ")
    assert row["legal_rep_name"] == "王强"
    assert row["id_number"] is None and row["gender"] is None and row["birth_date"] is None


def test_company_needs_credit_code_and_legal_representative(app, login_as):
    officer = login_as("officer_a")
    officer_id = user_id(app, "officer_a")
    for key in ("legal_rep_name", "credit_code", "name"):
        r = officer.post("/customercompanyview/add", data=company_form(officer_id, **{key: ""}))
        assert r.status_code == 200, key
        assert "请填写" in field_errors(r.get_data(as_text=True), key), key
    bad = make_credit_code("91110105MA01ABC12")
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    r = officer.post("/customercompanyview/add", data=company_form(officer_id, credit_code=bad))
    assert r.status_code == 200
    assert "校验位不正确" in field_errors(r.get_data(as_text=True), "credit_code")
    r = officer.post("/customercompanyview/add", data=company_form(officer_id, founded_on="2999-01-01"))
    assert r.status_code == 200
    assert "成立日期不能晚于今天" in field_errors(r.get_data(as_text=True), "founded_on")
    assert count(app, Customer) == 0


def test_officer_creates_sole_trader(app, login_as):
    officer = login_as("officer_a")
    data = sole_trader_form(user_id(app, "officer_a"))
    r = officer.post("/customersoletraderview/add", data=data)
    assert r.status_code == 302, _errors(r)
    row = customer_row(app, id_number=data["id_number"])
    assert row["kind"] == "sole_trader"
    assert row["credit_code"] == data["credit_code"] and row["business_name"] == "海淀区刘洋便利店"
    assert row["gender"] == "male" and row["birth_date"] == date(1978, 9, 20)
    # Each of business name, credit code and ID number is required.
    for key in ("business_name", "credit_code", "id_number", "mobile"):
        fresh = {"id_number": make_id("19800101", "035"), "credit_code": make_credit_code("92110108MA00XYK02")}
        other = sole_trader_form(user_id(app, "officer_a"), **dict(fresh, **{key: ""}))
        r = officer.post("/customersoletraderview/add", data=other)
        assert r.status_code == 200, key
        assert "请填写" in field_errors(r.get_data(as_text=True), key), key
    assert count(app, Customer) == 1


@pytest.mark.parametrize("id_number, message", [
    (make_id("19850615", "131")[:-1] + ("0" if make_id("19850615", "131")[-1] != "0" else "1"), "校验位不正确"),
    (make_id("19850615", "131")[:17], "应为 18 位，现为 17 位"),
    (make_id("19851332", "131"), "出生日期"),
    ("", "请填写"),
    ("11010519850615131A", "格式不正确"),
])
def test_invalid_id_number_re_renders_form_with_chinese_error(app, login_as, id_number, message):
    officer = login_as("officer_a")
    r = officer.post("/customerpersonview/add", data=person_form(user_id(app, "officer_a"), id_number=id_number))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert message in field_errors(html, "id_number")
    assert 'value="张三"' in html  # the user's input stays on the page
    assert count(app, Customer) == 0


def test_minor_is_refused(app, login_as):
    day = business_date(app)
    minor = make_id(f"{day.year - 10}0101", "131")
    r = login_as("officer_a").post("/customerpersonview/add", data=person_form(user_id(app, "officer_a"), id_number=minor))
    assert r.status_code == 200
    assert "未满 18 周岁" in field_errors(r.get_data(as_text=True), "id_number")
    assert count(app, Customer) == 0


def test_bad_mobile_is_refused(app, login_as):
    r = login_as("officer_a").post("/customerpersonview/add",
                                   data=person_form(user_id(app, "officer_a"), mobile="12800138000"))
    assert r.status_code == 200
    assert "手机号码“12800138000”格式不正确" in field_errors(r.get_data(as_text=True), "mobile")
    assert count(app, Customer) == 0


def test_duplicate_id_number_names_the_existing_customer(app, login_as):
    officer = login_as("officer_a")
    first = create_person(app, officer)
    r = officer.post("/customerpersonview/add", data=person_form(
        user_id(app, "officer_a"), name="张三丰", mobile="13811112222"))
    assert r.status_code == 200
    errors = field_errors(r.get_data(as_text=True), "id_number")
    assert "已登记为客户“张三”" in errors, errors
    assert first["customer_no"] in errors and "北京分公司" in errors
    assert count(app, Customer) == 1


def test_duplicate_id_number_with_lower_case_x_is_still_a_duplicate(app, login_as):
    officer = login_as("officer_a")
    create_person(app, officer, id_number="11010519491231002X", spouse_id_number="", spouse_name="")
    r = officer.post("/customerpersonview/add", data=person_form(
        user_id(app, "officer_a"), name="张三丰", id_number="11010519491231002x", spouse_id_number="", spouse_name=""))
    assert r.status_code == 200
    assert "已登记为客户“张三”" in r.get_data(as_text=True), _errors(r)
    assert count(app, Customer) == 1


def test_duplicate_credit_code_is_refused(app, login_as):
    officer = login_as("officer_a")
    data = company_form(user_id(app, "officer_a"))
    assert officer.post("/customercompanyview/add", data=data).status_code == 302
    r = officer.post("/customercompanyview/add", data=dict(data, name="另一家公司"))
    assert r.status_code == 200
    errors = field_errors(r.get_data(as_text=True), "credit_code")
    assert "已登记为客户“北京恒达商贸有限公司”" in errors, errors
    assert count(app, Customer) == 1


def test_edit_keeps_number_and_revalidates(app, login_as):
    officer = login_as("officer_a")
    row = create_person(app, officer)
    data = person_form(user_id(app, "officer_a"), mobile="13811119999", job_title="副总经理")
    r = officer.post(f"/customerpersonview/edit/{row['id']}", data=data)
    assert r.status_code == 302, _errors(r)
    edited = customer_row(app, id=row["id"])
    assert edited["mobile"] == "13811119999" and edited["job_title"] == "副总经理"
    assert edited["customer_no"] == row["customer_no"]
    r = officer.post(f"/customerpersonview/edit/{row['id']}", data=dict(data, id_number="110105198506151310"))
    assert r.status_code == 200
    assert "校验位不正确" in r.get_data(as_text=True)
    assert customer_row(app, id=row["id"])["id_number"] == row["id_number"]


# --------------------------------------------------------------------------- data scope


def test_other_branch_cannot_list_show_or_edit(app, login_as):
    row = create_person(app, login_as("officer_a"))
    other = login_as("officer_b")
    assert row["customer_no"] not in other.get("/customerview/list/").get_data(as_text=True)
    assert row["customer_no"] not in other.get("/customerpersonview/list/").get_data(as_text=True)
    assert other.get(f"/customerview/show/{row['id']}").status_code == 404
    assert other.get(f"/customerpersonview/show/{row['id']}").status_code == 404
    assert other.get(f"/customerpersonview/edit/{row['id']}").status_code == 404
    r = other.post(f"/customerpersonview/edit/{row['id']}",
                   data=person_form(user_id(app, "officer_b"), name="篡改"))
    assert r.status_code == 404
    assert customer_row(app, id=row["id"])["name"] == "张三"
    # Their own list works and their own branch's officer is assignable; another branch's is not.
    r = other.post("/customerpersonview/add", data=person_form(
        user_id(app, "officer_a"), id_number=make_id("19800101", "035"), name="跨机构"))
    assert r.status_code == 200
    assert customer_row(app, name="跨机构") is None
    # The owning branch, the admin and the manager (all branches) see it.
    assert row["customer_no"] in login_as("officer_a").get("/customerview/list/").get_data(as_text=True)
    for username in ("admin", "manager"):
        client = login_as(username)
        r = client.get(f"/customerview/show/{row['id']}")
        assert r.status_code == 200, username
        assert "张三" in r.get_data(as_text=True)
        assert row["customer_no"] in client.get("/customerview/list/").get_data(as_text=True)


def test_manager_cannot_edit_customers(app, login_as):
    row = create_person(app, login_as("officer_a"))
    manager = login_as("manager")
    assert manager.get(f"/customerpersonview/edit/{row['id']}").status_code == 403
    assert manager.post("/customerpersonview/add", data=person_form(
        user_id(app, "officer_a"), id_number=make_id("19800101", "035"))).status_code == 403


# --------------------------------------------------------------------------- the customer view


def test_customer_view_shows_profile_related_and_materials(app, login_as):
    officer = login_as("officer_a")
    row = create_person(app, officer)
    company = company_form(user_id(app, "officer_a"))
    assert officer.post("/customercompanyview/add", data=company).status_code == 302
    company_row = customer_row(app, credit_code=company["credit_code"])

    # A related person added from the customer's page, then back on that page.
    r = officer.post(f"/relatedpersonview/add?_flt_0_customer={row['id']}", data={
        "name": "张父", "relation": "parent", "id_number": make_id("19550505", "013"), "mobile": "13511112222",
        "employer": "退休", "monthly_income": "4000", "is_guarantor_candidate": "y"})
    assert r.status_code == 302, _errors(r)
    assert r.headers["Location"].endswith(f"/customerview/show/{row['id']}")
    with app.app_context():
        person = db.session.execute(select(RelatedPerson)).scalar_one()
        assert person.customer_id == row["id"] and person.is_guarantor_candidate
    # A related party: the person is a shareholder of the company.
    r = officer.post(f"/relatedpartyview/add?_flt_0_customer={row['id']}", data={
        "customer": str(row["id"]), "related_customer": str(company_row["id"]), "relation": "shareholder",
        "remarks": "持股 60%"})
    assert r.status_code == 302, _errors(r)
    with app.app_context():
        link = db.session.execute(select(RelatedParty)).scalar_one()
        assert (link.customer_id, link.related_customer_id) == (row["id"], company_row["id"])
    # The same pair again (either direction) is refused.
    r = officer.post("/relatedpartyview/add", data={
        "customer": str(company_row["id"]), "related_customer": str(row["id"]), "relation": "legal_rep"})
    assert count(app, RelatedParty) == 1

    html = officer.get(f"/customerview/show/{row['id']}").get_data(as_text=True)
    # Profile, family and employment.
    for text in (row["customer_no"], row["id_number"], "1985-06-15", "13800138000", "北京市朝阳区建国路 88 号",
                 "李梅", "13900139000", "360,000.00", "北京星辰科技有限公司", "技术总监", "30,000.00",
                 "6222020200112233445", "北京分公司", "自行上门", "本科", "已婚"):
        assert text in html, text
    # Related persons and parties.
    related = re.search(r'id="related-persons".*?</table>', html, re.S).group(0)
    assert "张父" in related and "13511112222" in related
    parties = re.search(r'id="related-parties".*?</table>', html, re.S).group(0)
    assert "北京恒达商贸有限公司" in parties and "股东" in parties and "持股 60%" in parties
    # The company sees the link too (both directions).
    company_html = officer.get(f"/customerview/show/{company_row['id']}").get_data(as_text=True)
    assert "张三" in re.search(r'id="related-parties".*?</table>', company_html, re.S).group(0)

    # Materials checklist: the ID copy is missing until it is uploaded.
    assert "ml-missing" in material_row(html, "id_copy")
    r = officer.post("/attachmentview/upload", data={
        "owner_type": "customer", "owner_id": str(row["id"]), "doc_type": "id_copy",
        "next": f"/customerview/show/{row['id']}", "file": (io.BytesIO(png_bytes()), "身份证复印件.png")},
        content_type="multipart/form-data")
    assert r.status_code == 302, _errors(r)
    html = officer.get(f"/customerview/show/{row['id']}").get_data(as_text=True)
    id_row = material_row(html, "id_copy")
    assert "ml-received" in id_row and "ml-missing" not in id_row
    assert "身份证复印件.png" in id_row
    assert "测试officer_a" in id_row  # who signed for it
    assert "ml-missing" in material_row(html, "household_register")
    with app.app_context():
        from app.services.customers import missing_materials

        attachment = db.session.execute(select(Attachment)).scalar_one()
        assert attachment.owner_type == "customer" and attachment.branch_id == branch_id(app, "BJ")
        assert "身份证复印件" not in missing_materials(db.session.get(Customer, row["id"]))
        attachment_id = attachment.id
    # The download keeps the Chinese file name.
    r = officer.get(f"/attachmentview/file/{attachment_id}")
    assert r.status_code == 200
    assert r.data == png_bytes()
    disposition = r.headers["Content-Disposition"]
    assert "attachment" in disposition
    assert quote("身份证复印件.png") in disposition
    # Another branch can neither see nor download it.
    assert login_as("officer_b").get(f"/attachmentview/file/{attachment_id}").status_code in (403, 404)


def test_related_person_for_other_branch_customer_is_refused(app, login_as):
    row = create_person(app, login_as("officer_a"))
    other = login_as("officer_b")
    r = other.post("/relatedpersonview/add", data={"customer": str(row["id"]), "name": "外人", "relation": "friend"})
    assert r.status_code == 200
    assert field_errors(r.get_data(as_text=True), "customer")
    # Through the customer-page URL the picker is bypassed; the service still refuses.
    r = other.post(f"/relatedpersonview/add?_flt_0_customer={row['id']}",
                   data={"name": "外人", "relation": "friend"}, follow_redirects=True)
    assert "只能为本机构的客户维护关联人" in r.get_data(as_text=True) or r.status_code == 404
    r = other.post("/relatedpartyview/add", data={
        "customer": str(row["id"]), "related_customer": str(row["id"]), "relation": "other"})
    assert r.status_code == 200
    assert count(app, RelatedPerson) == 0 and count(app, RelatedParty) == 0


def test_picker_says_why_another_branchs_customer_is_refused(app, login_as):
    """A forged id of another branch's customer: the picker's own message, not "required"."""
    row = create_person(app, login_as("officer_a"))
    r = login_as("officer_b").post("/relatedpersonview/add", data={
        "customer": str(row["id"]), "name": "外人", "relation": "friend"})
    assert r.status_code == 200
    assert "所选记录不存在或无权访问" in field_errors(r.get_data(as_text=True), "customer")


# --------------------------------------------------------------------------- blacklist


def test_blacklist_flags_blocks_and_lifts(app, login_as):
    officer = login_as("officer_a")
    row = create_person(app, officer)
    assert "黑名单</span>" not in officer.get("/customerview/list/").get_data(as_text=True)
    admin = login_as("admin")
    day = business_date(app)
    r = admin.post("/blacklistentryview/add", data={
        "identifier": row["id_number"], "name": "张三", "reason": "法院失信被执行人，拒不履行判决",
        "source": "court", "listed_on": day.isoformat()})
    assert r.status_code == 302, _errors(r)
    with app.app_context():
        entry = db.session.execute(select(BlacklistEntry)).scalar_one()
        entry_id = entry.id
        assert entry.status == "active" and entry.customer_id == row["id"]
        assert entry.added_by.username == "admin"
    assert customer_row(app, id=row["id"])["is_blacklisted"] is True
    # The red flag in the lists and on the customer view.
    listing = officer.get("/customerview/list/").get_data(as_text=True)
    assert re.search(r'class="ml-blacklisted"[^>]*>张三 <span class="label label-danger">黑名单</span>', listing)
    assert "黑名单</span>" in officer.get("/customerpersonview/list/").get_data(as_text=True)
    page = officer.get(f"/customerview/show/{row['id']}").get_data(as_text=True)
    assert 'id="blacklist-flag"' in page
    assert "法院失信被执行人" in re.search(r'id="blacklist-history".*?</table>', page, re.S).group(0)
    # The loan service's check refuses with the reason.
    with app.app_context():
        from app.services.customers import ensure_not_blacklisted

        customer = db.session.get(Customer, row["id"])
        with pytest.raises(DomainError) as info:
            ensure_not_blacklisted(customer)
        assert "法院失信被执行人" in info.value.message and "张三" in info.value.message
    # Listing the same identifier twice is refused.
    r = admin.post("/blacklistentryview/add", data={
        "identifier": row["id_number"], "name": "张三", "reason": "重复", "listed_on": day.isoformat()})
    assert r.status_code == 200
    assert "已在黑名单中" in r.get_data(as_text=True)
    assert count(app, BlacklistEntry) == 1

    # Lifting needs a reason; then the flag goes and the history stays.
    r = admin.post(f"/blacklistentryview/lift/{entry_id}", data={"lift_reason": ""}, follow_redirects=True)
    assert "请填写解除原因" in r.get_data(as_text=True)
    r = admin.post(f"/blacklistentryview/lift/{entry_id}", data={"lift_reason": "已履行判决，法院撤销失信记录"})
    assert r.status_code == 302
    with app.app_context():
        entry = db.session.get(BlacklistEntry, entry_id)
        assert entry.status == "lifted" and entry.lift_reason == "已履行判决，法院撤销失信记录"
        assert entry.lifted_on == day and entry.lifted_by.username == "admin"
        from app.services.customers import ensure_not_blacklisted

        ensure_not_blacklisted(db.session.get(Customer, row["id"]))  # no longer raises
    assert customer_row(app, id=row["id"])["is_blacklisted"] is False
    assert "黑名单</span>" not in officer.get("/customerview/list/").get_data(as_text=True)
    page = officer.get(f"/customerview/show/{row['id']}").get_data(as_text=True)
    assert 'id="blacklist-flag"' not in page
    history = re.search(r'id="blacklist-history".*?</table>', page, re.S).group(0)
    assert "已解除" in history and "已履行判决" in history
    assert count(app, BlacklistEntry) == 1


def test_blacklisting_before_the_customer_exists_flags_the_new_customer(app, login_as):
    number = make_id("19850615", "131")
    r = login_as("risk").post("/blacklistentryview/add", data={
        "identifier": number, "name": "张三", "reason": "欺诈骗贷", "source": "fraud",
        "listed_on": business_date(app).isoformat()})
    assert r.status_code == 302, _errors(r)
    row = create_person(app, login_as("officer_a"), id_number=number)
    assert row["is_blacklisted"] is True


def test_who_may_blacklist(app, login_as):
    row = create_person(app, login_as("officer_a"))
    data = {"identifier": row["id_number"], "name": "张三", "reason": "逾期未还", "listed_on": business_date(app).isoformat()}
    officer = login_as("officer_a")
    assert officer.post("/blacklistentryview/add", data=data).status_code == 403
    assert officer.get("/blacklistentryview/add").status_code == 403
    assert count(app, BlacklistEntry) == 0
    # Officers may read the list.
    assert officer.get("/blacklistentryview/list/").status_code == 200
    risk = login_as("risk")
    assert risk.post("/blacklistentryview/add", data=data).status_code == 302
    with app.app_context():
        entry = db.session.execute(select(BlacklistEntry)).scalar_one()
        assert entry.added_by.username == "risk"
        entry_id = entry.id
    assert officer.post(f"/blacklistentryview/lift/{entry_id}", data={"lift_reason": "x"}).status_code == 403
    with app.app_context():
        assert db.session.get(BlacklistEntry, entry_id).status == "active"


def test_blacklist_identifier_is_validated(app, login_as):
    r = login_as("admin").post("/blacklistentryview/add", data={
        "identifier": "110105198506151310", "name": "某人", "reason": "x", "listed_on": business_date(app).isoformat()})
    assert r.status_code == 200
    assert "校验位不正确" in r.get_data(as_text=True)
    assert count(app, BlacklistEntry) == 0


# --------------------------------------------------------------------------- visits


def visit_form(app, officer="officer_a", **overrides):
    data = {"name": "王五", "kind": "person", "mobile": "13912345678", "id_number": make_id("19820404", "071"),
            "purpose": "working_capital", "amount_wanted": "200000", "visited_on": business_date(app).isoformat(),
            "officer": str(user_id(app, officer)), "notes": "经营超市，需要备货资金"}
    data.update(overrides)
    return data


def register_visit(app, client, **overrides):
    r = client.post("/customervisitview/add", data=visit_form(app, **overrides))
    assert r.status_code == 302, _errors(r)
    with app.app_context():
        return db.session.execute(select(CustomerVisit.id).order_by(CustomerVisit.id.desc())).scalars().first()


def visit_status(app, visit_id):
    with app.app_context():
        return db.session.get(CustomerVisit, visit_id).status


def test_visit_intake_follow_up_and_conversion(app, login_as):
    admin = login_as("admin")
    visit_id = register_visit(app, admin)
    with app.app_context():
        visit = db.session.get(CustomerVisit, visit_id)
        assert visit.status == "new" and visit.branch_id == branch_id(app, "BJ")
        assert visit.intake_by_id == user_id(app, "admin") and visit.officer_id == user_id(app, "officer_a")
    officer = login_as("officer_a")
    assert "王五" in officer.get("/customervisitview/list/").get_data(as_text=True)
    assert "王五" not in login_as("officer_b").get("/customervisitview/list/").get_data(as_text=True)

    # Follow-up from the visit's page.
    day = business_date(app)
    r = officer.post(f"/visitfollowupview/add?_flt_0_visit={visit_id}", data={
        "followed_on": day.isoformat(), "method": "phone", "content": "电话沟通，客户下周来提交资料",
        "next_step": "收集营业执照和流水", "next_date": (day + timedelta(days=7)).isoformat()})
    assert r.status_code == 302, _errors(r)
    assert r.headers["Location"].endswith(f"/customervisitview/show/{visit_id}")
    with app.app_context():
        follow_up = db.session.execute(select(VisitFollowUp)).scalar_one()
        assert follow_up.visit_id == visit_id and follow_up.user.username == "officer_a"
    assert visit_status(app, visit_id) == "following"
    assert "电话沟通" in officer.get(f"/customervisitview/show/{visit_id}").get_data(as_text=True)

    # Another officer of the branch asks for 建档: it waits for the visit's officer.
    colleague_id = add_user(app, "officer_a2")
    colleague = login_as("officer_a2")
    r = colleague.post(f"/customervisitview/convert/{visit_id}")
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/customervisitview/show/{visit_id}")
    with app.app_context():
        visit = db.session.get(CustomerVisit, visit_id)
        assert visit.status == "pending_conversion" and visit.conversion_requested_by_id == colleague_id
    # Meanwhile the form with this visit is refused.
    page = colleague.get(f"/customerpersonview/add?visit_id={visit_id}").get_data(as_text=True)
    assert "建档申请尚未经客户经理同意" in page
    form = person_form(user_id(app, "officer_a"), name="王五", mobile="13912345678",
                       id_number=make_id("19820404", "071"), spouse_id_number="", spouse_name="")
    colleague.post(f"/customerpersonview/add?visit_id={visit_id}", data=form)
    assert count(app, Customer) == 0

    # The visit's officer approves and lands on the prefilled form.
    r = officer.post(f"/customervisitview/convert/{visit_id}")
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/customerpersonview/add?visit_id={visit_id}")
    with app.app_context():
        visit = db.session.get(CustomerVisit, visit_id)
        assert visit.status == "approved" and visit.conversion_approved_by_id == user_id(app, "officer_a")
    page = officer.get(f"/customerpersonview/add?visit_id={visit_id}").get_data(as_text=True)
    assert 'value="王五"' in page and 'value="13912345678"' in page
    assert make_id("19820404", "071") in page

    r = officer.post(f"/customerpersonview/add?visit_id={visit_id}", data=form)
    assert r.status_code == 302, _errors(r)
    row = customer_row(app, name="王五")
    assert row is not None
    with app.app_context():
        visit = db.session.get(CustomerVisit, visit_id)
        assert visit.status == "converted" and visit.customer_id == row["id"]
    # The customer view lists the visit with its follow-up.
    page = officer.get(f"/customerview/show/{row['id']}").get_data(as_text=True)
    assert "电话沟通，客户下周来提交资料" in page
    # A converted visit takes no more follow-ups.
    r = officer.post(f"/visitfollowupview/add?_flt_0_visit={visit_id}", data={
        "followed_on": day.isoformat(), "method": "phone", "content": "再次联系"})
    assert count(app, VisitFollowUp) == 1


def test_admin_conversion_is_approved_at_once(app, login_as):
    admin = login_as("admin")
    visit_id = register_visit(app, admin)
    r = admin.post(f"/customervisitview/convert/{visit_id}")
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/customerpersonview/add?visit_id={visit_id}")
    assert visit_status(app, visit_id) == "approved"


def test_customer_from_unapproved_visit_is_refused(app, login_as):
    officer = login_as("officer_a")
    visit_id = register_visit(app, officer)
    assert visit_status(app, visit_id) == "new"
    form = person_form(user_id(app, "officer_a"), name="王五", mobile="13912345678",
                       id_number=make_id("19820404", "071"), spouse_id_number="", spouse_name="")
    r = officer.post(f"/customerpersonview/add?visit_id={visit_id}", data=form, follow_redirects=True)
    assert "建档申请尚未经客户经理同意" in r.get_data(as_text=True)
    assert count(app, Customer) == 0
    assert visit_status(app, visit_id) == "new"
    # Another branch's visit id is not found at all.
    assert login_as("officer_b").get(f"/customerpersonview/add?visit_id={visit_id}").status_code == 404


def test_visit_validation(app, login_as):
    officer = login_as("officer_a")
    future = (business_date(app) + timedelta(days=1)).isoformat()
    for overrides, message in (({"mobile": "1391234567"}, "格式不正确"), ({"visited_on": future}, "来访日期不能晚于今天"),
                               ({"amount_wanted": "0"}, "意向金额应大于 0")):
        r = officer.post("/customervisitview/add", data=visit_form(app, **overrides), follow_redirects=True)
        assert message in r.get_data(as_text=True), overrides
    # Another branch's officer cannot be assigned (not among the choices).
    r = officer.post("/customervisitview/add", data=visit_form(app, officer="officer_b"))
    assert r.status_code == 200
    assert count(app, CustomerVisit) == 0


# --------------------------------------------------------------------------- field investigation


def investigation_form(app, customer_id, first="officer_a", second="officer_a2", **overrides):
    data = {"customer": str(customer_id), "investigated_on": business_date(app).isoformat(),
            "investigator1": str(user_id(app, first)), "investigator2": str(user_id(app, second)),
            "place": "北京市朝阳区建国路 88 号经营场所", "findings": "经营正常，库存充足，与申报一致",
            "conclusion": "pass", "opinion": "建议准入"}
    data.update(overrides)
    return data


def test_field_investigation_needs_two_people_and_shows_photos(app, login_as):
    officer = login_as("officer_a")
    row = create_person(app, officer)
    add_user(app, "officer_a2")
    r = officer.post(f"/fieldinvestigationview/add?_flt_0_customer={row['id']}",
                     data=investigation_form(app, row["id"], second="officer_a"), follow_redirects=True)
    assert "两名调查人不能是同一人" in r.get_data(as_text=True)
    assert count(app, FieldInvestigation) == 0

    r = officer.post("/fieldinvestigationview/add", data=investigation_form(app, row["id"]))
    assert r.status_code == 302, _errors(r)
    with app.app_context():
        inv = db.session.execute(select(FieldInvestigation)).scalar_one()
        assert inv.branch_id == branch_id(app, "BJ") and inv.customer_id == row["id"]
        assert {inv.investigator1.username, inv.investigator2.username} == {"officer_a", "officer_a2"}
        inv_id = inv.id

    r = officer.post("/attachmentview/upload", data={
        "owner_type": "investigation", "owner_id": str(inv_id), "doc_type": "photo",
        "next": f"/fieldinvestigationview/show/{inv_id}", "file": (io.BytesIO(png_bytes()), "现场照片.png")},
        content_type="multipart/form-data")
    assert r.status_code == 302, _errors(r)
    assert r.headers["Location"].endswith(f"/fieldinvestigationview/show/{inv_id}")
    with app.app_context():
        photo = db.session.execute(select(Attachment).where(Attachment.owner_type == "investigation")).scalar_one()
        assert photo.owner_id == inv_id and photo.branch_id == branch_id(app, "BJ")
        photo_id = photo.id
    thumb = f'<img src="/attachmentview/inline/{photo_id}"'
    page = officer.get(f"/fieldinvestigationview/show/{inv_id}").get_data(as_text=True)
    assert thumb in page and "现场照片.png" in page
    page = officer.get(f"/customerview/show/{row['id']}").get_data(as_text=True)
    assert thumb in page and "经营正常，库存充足" in page
    r = officer.get(f"/attachmentview/inline/{photo_id}")
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data == png_bytes()
    # Another branch sees neither the investigation nor the photo.
    other = login_as("officer_b")
    assert other.get(f"/fieldinvestigationview/show/{inv_id}").status_code == 404
    assert other.get(f"/attachmentview/inline/{photo_id}").status_code in (403, 404)


def test_field_investigation_date_not_in_future(app, login_as):
    officer = login_as("officer_a")
    row = create_person(app, officer)
    add_user(app, "officer_a2")
    future = (business_date(app) + timedelta(days=1)).isoformat()
    officer.post("/fieldinvestigationview/add", data=investigation_form(app, row["id"], investigated_on=future))
    assert count(app, FieldInvestigation) == 0


# --------------------------------------------------------------------------- export and search


def _three_customers(app, login_as):
    officer_a = login_as("officer_a")
    zhang = create_person(app, officer_a)
    li = create_person(app, officer_a, name="李四", id_number=make_id("19900101", "242"), mobile="13811112222",
                       spouse_id_number="", spouse_name="", spouse_mobile="")
    sh = create_person(app, login_as("officer_b"), officer="officer_b", name="张小明",
                       id_number=make_id("19750707", "079", "310115"), mobile="13722223333",
                       spouse_id_number="", spouse_name="", spouse_mobile="", address="上海市浦东新区世纪大道 1 号")
    assert sh["branch_id"] == branch_id(app, "SH")
    return zhang, li, sh


def test_finance_exports_customers_to_excel(app, login_as):
    zhang, li, sh = _three_customers(app, login_as)
    finance = login_as("finance")
    r = finance.get("/customerview/export")
    header, rows = read_export(r)
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    assert header[:5] == ["客户编号", "客户名称", "客户类型", "身份证号/统一社会信用代码", "手机号码"]
    by_no = {row[0]: row for row in rows}
    assert set(by_no) == {zhang["customer_no"], li["customer_no"], sh["customer_no"]}
    row = by_no[zhang["customer_no"]]
    assert row[1] == "张三" and row[2] == "个人" and row[3] == zhang["id_number"] and row[4] == "13800138000"
    assert row[6] == "自行上门" and row[7] == "测试officer_a" and row[8] == "北京分公司" and row[9] == "正常"
    assert by_no[sh["customer_no"]][8] == "上海分公司"

    # The list's filter applies: name starts with 张 (FAB filter 0 of a string column).
    _header, rows = read_export(finance.get("/customerview/export?_flt_0_name=张"))
    assert {row[0] for row in rows} == {zhang["customer_no"], sh["customer_no"]}
    _header, rows = read_export(finance.get("/customerview/export?_flt_0_name=李"))
    assert [row[1] for row in rows] == ["李四"]
    # The export link on the list carries the filters.
    listing = finance.get("/customerview/list/?_flt_0_name=李").get_data(as_text=True)
    assert "/customerview/export?_flt_0_name=" in listing


def test_export_respects_data_scope(app, login_as):
    zhang, li, sh = _three_customers(app, login_as)
    _header, rows = read_export(login_as("officer_b").get("/customerview/export"))
    assert [row[0] for row in rows] == [sh["customer_no"]]
    _header, rows = read_export(login_as("officer_a").get("/customerview/export?_flt_0_name=张"))
    assert [row[0] for row in rows] == [zhang["customer_no"]]


def test_ajax_search_stays_in_scope(app, login_as):
    zhang, li, sh = _three_customers(app, login_as)
    r = login_as("officer_a").get("/customerview/search?q=张")
    assert r.status_code == 200 and r.is_json
    results = r.get_json()["results"]
    assert [item["id"] for item in results] == [zhang["id"]]
    assert zhang["customer_no"] in results[0]["text"]
    results = login_as("officer_b").get("/customerview/search?q=张").get_json()["results"]
    assert [item["id"] for item in results] == [sh["id"]]
    # By ID number prefix, customer number and mobile.
    officer = login_as("officer_a")
    assert [i["id"] for i in officer.get(f"/customerview/search?q={li['id_number'][:10]}").get_json()["results"]] == [li["id"]]
    assert [i["id"] for i in officer.get(f"/customerview/search?q={li['customer_no']}").get_json()["results"]] == [li["id"]]
    assert [i["id"] for i in officer.get("/customerview/search?q=1381111").get_json()["results"]] == [li["id"]]
    assert officer.get(f"/customerview/search?q={sh['id_number'][:10]}").get_json()["results"] == []
    assert officer.get("/customerview/search?q=").get_json()["results"] == []
    # The admin sees both branches.
    ids = {i["id"] for i in login_as("admin").get("/customerview/search?q=张").get_json()["results"]}
    assert ids == {zhang["id"], sh["id"]}


# --------------------------------------------------------------------------- numbering


@pytest.mark.dirty
def test_next_number_is_unique_across_threads(app):
    """Several clerks saving at once never get the same number (separate sessions)."""
    from app.services.numbering import next_number

    day = date(2026, 11, 28)
    threads, per_thread = 6, 5
    barrier = threading.Barrier(threads)
    results, errors = [], []
    lock = threading.Lock()

    def work():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                for _ in range(per_thread):
                    number = next_number("TT", day)
                    db.session.commit()
                    with lock:
                        results.append(number)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001
            with lock:
                errors.append(repr(exc))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors
    assert len(results) == threads * per_thread
    assert sorted(results) == [f"TT20261128{n:04d}" for n in range(1, threads * per_thread + 1)]
    with app.app_context():
        row = db.session.execute(select(NumberSequence).where(NumberSequence.prefix == "TT")).scalar_one()
        assert row.value == threads * per_thread


@pytest.mark.dirty
def test_next_number_restarts_each_day_and_rolls_back_with_the_transaction(app):
    from app.services.numbering import next_number

    with app.app_context():
        assert next_number("TU", date(2026, 11, 28)) == "TU202611280001"
        assert next_number("TU", date(2026, 11, 28)) == "TU202611280002"
        assert next_number("TU", date(2026, 11, 29)) == "TU202611290001"
        db.session.commit()
        next_number("TU", date(2026, 11, 28))
        db.session.rollback()  # a failed save gives its number back
        assert next_number("TU", date(2026, 11, 28)) == "TU202611280003"
        db.session.commit()
