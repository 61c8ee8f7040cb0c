"""客户导入 (/customers/import/): the template, a 1,000-row import with bad rows, the two
modes, files that are not Excel, the data scope of 客户经理, and who may import."""
import io
import re
import time
from datetime import date, timedelta

import pytest
import xlsxwriter
from openpyxl import load_workbook
from sqlalchemy import func, select
from stdnum.cn import uscc

HEADERS = ["客户类型", "客户名称", "身份证号", "手机号码", "统一社会信用代码", "字号（个体工商户名称）", "法定代表人",
           "法定代表人身份证号", "行业", "地址", "婚姻状况", "学历", "工作单位", "月收入", "客户来源", "客户经理（用户名）",
           "开户银行", "银行户名", "银行账号", "备注"]
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(first17):
    """Complete 17 digits with the GB 11643 check digit (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return first17 + "10X98765432"[total % 11]


def person_id(i):
    """A distinct valid ID number per i: 北京东城, born on a different day from 1960 on."""
    born = date(1960, 1, 1) + timedelta(days=i)
    return id_number(f"110101{born:%Y%m%d}{i % 1000:03d}")


def credit_code(i):
    first17 = f"91110108{i:09d}"
    return first17 + uscc.calc_check_digit(first17)


def row(**cells):
    return [cells.get(h) for h in HEADERS]


def person_row(i, **extra):
    cells = {"客户类型": "个人", "客户名称": f"客户{i}", "身份证号": person_id(i), "手机号码": f"139{i:08d}",
             "学历": "本科", "婚姻状况": "已婚", "客户来源": "自行上门", "月收入": 8000 + i}
    cells.update(extra)
    return row(**cells)


def workbook(rows, headers=HEADERS):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("客户信息")
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header)
    for row_no, values in enumerate(rows, start=1):
        for col, value in enumerate(values or []):
            if value is None:
                continue
            if isinstance(value, (int, float)):
                sheet.write_number(row_no, col, value)
            else:
                sheet.write_string(row_no, col, value)
    book.close()
    return buffer.getvalue()


def upload(client, data, mode="valid_rows", name="客户导入.xlsx"):
    return client.post("/customers/import/", data={"file": (io.BytesIO(data), name), "mode": mode},
                       content_type="multipart/form-data")


def customer_count(app):
    from app.extensions import db
    from app.models import Customer

    with app.app_context():
        count = db.session.execute(select(func.count(Customer.id))).scalar()
        db.session.remove()
    return count


def counts(html):
    found = {key: int(re.search(rf'id="count-{key}">(\d+)<', html).group(1)) for key in ("total", "imported", "failed")}
    return found["total"], found["imported"], found["failed"]


def report_rows(client, html):
    token = re.search(r"/customers/import/report/([A-Za-z0-9_-]+)", html).group(1)
    response = client.get(f"/customers/import/report/{token}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(values) if r and r[0] == "行号")
    assert list(values[header_at][:4]) == ["行号", "列", "值", "错误原因"]
    return token, [r for r in values[header_at + 1:] if r and r[0] is not None]


def existing_customer(app, number, name="老客户"):
    """A customer registered through the service, as the form would."""
    from flask import g

    from app.extensions import db
    from app.models import Customer
    from app.services import customers

    with app.test_request_context():
        admin = app.appbuilder.sm.find_user(username="admin")
        g.user = admin
        customer = Customer(kind="person", name=name, id_number=number, mobile="13700137000")
        customers.prepare(customer, admin)
        db.session.add(customer)
        db.session.commit()
        customer_no = customer.customer_no
        db.session.remove()
    return customer_no


# -- the template ---------------------------------------------------------------------

def test_template_downloads_with_headers_and_instructions(login_as):
    client = login_as("officer_a")
    response = client.get("/customers/import/template")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["客户信息", "填写说明"]
    assert [c.value for c in book["客户信息"][1]] == HEADERS
    text = "\n".join(str(v) for r in book["填写说明"].iter_rows(values_only=True) for v in r if v is not None)
    for expected in ("个体工商户", "本科", "已婚", "自行上门", "C 制造业", "必填", "10,000"):
        assert expected in text
    assert book["客户信息"].data_validations.dataValidation  # drop-downs for the dictionary columns


def test_filled_template_imports(app, login_as):
    client = login_as("officer_a")
    book = load_workbook(io.BytesIO(client.get("/customers/import/template").data))
    sheet = book["客户信息"]
    sheet.append(person_row(1))
    sheet.append(row(**{"客户类型": "企业", "客户名称": "北京示例科技有限公司", "统一社会信用代码": credit_code(1),
                        "法定代表人": "李四", "行业": "制造业", "客户来源": "网络渠道", "开户银行": "工商银行",
                        "银行户名": "北京示例科技有限公司", "银行账号": "6222020200112233445"}))
    sheet.append(row(**{"客户类型": "个体工商户", "客户名称": "王五", "身份证号": person_id(2), "手机号码": "13600136000",
                        "统一社会信用代码": credit_code(2), "字号（个体工商户名称）": "王五小吃店", "行业": "H"}))
    buffer = io.BytesIO()
    book.save(buffer)
    html = upload(client, buffer.getvalue()).get_data(as_text=True)
    assert counts(html) == (3, 3, 0), html

    from app.extensions import db
    from app.models import Customer

    with app.app_context():
        saved = {c.name: c for c in db.session.execute(select(Customer)).scalars()}
        person, company, trader = saved["客户1"], saved["北京示例科技有限公司"], saved["王五"]
        assert person.customer_no.startswith("KH") and person.branch.code == "BJ"
        assert person.officer.username == "officer_a" and person.created_by.username == "officer_a"
        assert (person.education, person.marital_status, person.source) == ("bachelor", "married", "walk_in")
        assert str(person.monthly_income) == "8001.00" and person.gender == "male"
        assert (company.kind, company.industry, company.source, company.legal_rep_name) == \
            ("company", "C", "online", "李四")
        assert company.id_number is None and company.bank_account_no == "6222020200112233445"
        assert (trader.kind, trader.business_name, trader.industry) == ("sole_trader", "王五小吃店", "H")
        db.session.remove()


# -- 1,000 rows with 10 bad ones --------------------------------------------------------

def thousand_rows(app):
    """(rows for the sheet, {Excel row: expected column}) — 1,000 customers, 10 of them bad,
    and one empty row that is skipped."""
    taken = person_id(5000)
    existing_customer(app, taken)
    rows, bad = [], {}
    for i in range(1000):
        if i % 50 == 1:
            values = row(**{"客户类型": "企业", "客户名称": f"企业{i}", "统一社会信用代码": credit_code(i),
                            "法定代表人": f"法人{i}", "行业": "F 批发和零售业", "手机号码": f"137{i:08d}"})
        elif i % 50 == 2:
            values = row(**{"客户类型": "个体工商户", "客户名称": f"经营者{i}", "身份证号": person_id(i),
                            "手机号码": f"136{i:08d}", "统一社会信用代码": credit_code(i),
                            "字号（个体工商户名称）": f"小店{i}", "客户经理（用户名）": "officer_a"})
        else:
            values = person_row(i)
        rows.append(values)
    col = HEADERS.index

    def spoil(i, header, value):
        rows[i][col(header)] = value
        bad[i + 2] = header  # Excel row: header is row 1, before the empty row below

    spoil(10, "身份证号", person_id(10)[:17] + ("0" if person_id(10)[17] != "0" else "1"))  # check digit
    spoil(20, "客户名称", None)  # missing name
    spoil(30, "身份证号", person_id(29))  # same as row 31 (i = 29)
    spoil(40, "身份证号", taken)  # an existing customer
    spoil(60, "手机号码", "1380013800")  # 10 digits
    spoil(70, "客户经理（用户名）", "nobody")  # unknown user
    spoil(80, "学历", "研究生")  # not a dictionary label
    spoil(90, "客户类型", "合伙企业")  # not a customer type
    spoil(151, "法定代表人", None)  # company (i % 50 == 1) without a legal representative
    spoil(200, "月收入", -100)  # negative income
    rows.insert(500, None)  # an empty row, skipped: rows after it move down by one
    bad = {(r if r < 502 else r + 1): h for r, h in bad.items()}
    return rows, bad, taken


@pytest.mark.parametrize("mode", ["valid_rows", "all_or_nothing"])
def test_thousand_rows_with_ten_bad_ones(app, login_as, mode):
    rows, bad, taken = thousand_rows(app)
    before = customer_count(app)
    client = login_as("officer_a")
    started, cpu = time.perf_counter(), time.process_time()
    response = upload(client, workbook(rows), mode=mode)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"\n1,000-row customer import ({mode}): {seconds:.2f} s wall, {cpu:.2f} s CPU")
    html = response.get_data(as_text=True)
    assert response.status_code == 200

    if mode == "valid_rows":
        assert counts(html) == (1000, 990, 10)
        assert customer_count(app) == before + 990
    else:
        assert counts(html) == (1000, 0, 10)
        assert "未导入任何客户" in html
        assert customer_count(app) == before

    token, errors = report_rows(client, html)
    assert {r[0]: r[1] for r in errors} == bad
    reasons = {r[0]: r[3] for r in errors}
    assert "校验位不正确" in reasons[12]
    assert "请填写客户姓名" == reasons[22]
    assert "与本文件第 31 行重复" in reasons[32]
    assert "已登记为客户“老客户”" in reasons[42] and taken in reasons[42]
    assert "格式不正确" in reasons[62]
    assert "“nobody”不存在" in reasons[72]
    assert "研究生" in reasons[82] and "本科" in reasons[82]
    assert "合伙企业" in reasons[92]
    assert "法定代表人" in reasons[153]
    assert "不能为负数" in reasons[202]
    assert 'id="import-errors"' in html and "与本文件第 31 行重复" in html

    # Only the user who ran the import may fetch its report.
    assert login_as("officer_b").get(f"/customers/import/report/{token}").status_code == 404
    assert client.get("/customers/import/report/not-a-token").status_code == 404


def test_all_or_nothing_imports_a_clean_file_and_numbers_stay_unique(app, login_as):
    client = login_as("officer_a")
    html = upload(client, workbook([person_row(i) for i in range(5)]), mode="all_or_nothing").get_data(as_text=True)
    assert counts(html) == (5, 5, 0)
    assert "/customers/import/report/" not in html

    from app.extensions import db
    from app.models import Customer

    with app.app_context():
        numbers = db.session.execute(select(Customer.customer_no)).scalars().all()
        assert len(numbers) == len(set(numbers)) == 5
        db.session.remove()


def test_rolled_back_import_leaves_no_trace(app, login_as):
    """All or nothing: no customer, no number used up, no audit row survives."""
    from app.extensions import db
    from app.models import AuditLog, NumberSequence

    client = login_as("officer_a")
    with app.app_context():
        audit_before = db.session.execute(select(func.count(AuditLog.id)).where(AuditLog.table_name == "customer")).scalar()
        db.session.remove()
    html = upload(client, workbook([person_row(1), person_row(2, 客户名称=None)]), mode="all_or_nothing")
    assert counts(html.get_data(as_text=True)) == (2, 0, 1)
    with app.app_context():
        assert db.session.execute(select(func.count(AuditLog.id)).where(AuditLog.table_name == "customer")).scalar() \
            == audit_before
        assert db.session.execute(select(func.max(NumberSequence.value))).scalar() in (None, 0)
        db.session.remove()
    assert customer_count(app) == 0


def test_too_long_text_is_a_row_error(login_as):
    html = upload(login_as("officer_a"), workbook([person_row(1, 客户名称="张" * 101, 地址="路" * 201)]))
    html = html.get_data(as_text=True)
    assert counts(html) == (1, 0, 1)
    assert "客户名称过长：最多 100 个字，现为 101 个字" in html and "地址过长：最多 200 个字" in html


@pytest.mark.parametrize("income, imported, message", [
    ("12,000元", 1, None), (12000.5, 1, None), ("八千", 0, "月收入“八千”不是有效的数字"),
    ("NaN", 0, "月收入“NaN”不是有效的数字"), ("Infinity", 0, "不是有效的数字"), ("1e20", 0, "过大"),
    (1e17, 0, "过大"), ("-5", 0, "月收入不能为负数"),
])
def test_monthly_income(app, login_as, income, imported, message):
    html = upload(login_as("officer_a"), workbook([person_row(1, 月收入=income)])).get_data(as_text=True)
    assert counts(html)[1] == imported
    if message:
        assert message in html


# -- files that are not imports ---------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"\xef\xbb\xbfname,id_number\n\xe5\xbc\xa0\xe4\xb8\x89,110101199003071234\n", "不是有效的 Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "旧版 Excel（.xls）"),
    (b"PK\x03\x04 broken zip", "无法作为 Excel"),
    (b"", "文件是空的"),
])
def test_non_xlsx_upload_is_refused(app, login_as, data, message):
    client = login_as("officer_a")
    response = upload(client, data, name="客户.xlsx")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="import-result"' not in html
    assert customer_count(app) == 0


def test_workbook_without_header_or_rows_is_refused(login_as):
    client = login_as("officer_a")
    assert "没有找到表头" in upload(client, workbook([["张三", "个人"]], headers=["姓名", "类型"])).get_data(as_text=True)
    assert "没有客户数据" in upload(client, workbook([None, None])).get_data(as_text=True)
    html = client.post("/customers/import/", data={"mode": "valid_rows"},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "Please choose" in html or "请选择" in html


def test_row_cap(app, login_as, monkeypatch):
    from app.services import customer_import

    monkeypatch.setattr(customer_import, "MAX_ROWS", 5)
    client = login_as("officer_a")
    html = upload(client, workbook([person_row(i) for i in range(6)])).get_data(as_text=True)
    assert "文件超过 5 行客户数据" in html
    assert customer_count(app) == 0

    # Blank rows are skipped, but a sheet with a huge tail of formatted blank rows is refused.
    monkeypatch.setattr(customer_import, "MAX_BLANK_ROWS", 3)
    html = upload(client, workbook([person_row(1), None, None, person_row(2)])).get_data(as_text=True)
    assert counts(html) == (2, 2, 0)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("客户信息")
    sheet.write_row(0, 0, HEADERS)
    sheet.write_row(1, 0, person_row(3))
    for blank in range(2, 10):
        sheet.write_blank(blank, 0, None, book.add_format({"border": 1}))
    book.close()
    assert "空行超过 3 行" in upload(client, buffer.getvalue()).get_data(as_text=True)


# -- 客户经理 and the data scope ---------------------------------------------------------

def test_officer_cannot_assign_customers_to_another_branch(app, login_as):
    rows = [person_row(1, **{"客户经理（用户名）": "officer_b"}), person_row(2, **{"客户经理（用户名）": "officer_a"})]
    officer = login_as("officer_a")
    html = upload(officer, workbook(rows)).get_data(as_text=True)
    assert counts(html) == (2, 1, 1)
    assert "客户经理“officer_b”不在您的管辖机构内" in html

    # An administrator sees every branch: the customer lands in 上海分公司 with officer_b.
    admin = login_as("admin")
    html = upload(admin, workbook([person_row(1, **{"客户经理（用户名）": "officer_b"})])).get_data(as_text=True)
    assert counts(html) == (1, 1, 0)

    from app.extensions import db
    from app.models import Customer

    with app.app_context():
        customer = db.session.execute(select(Customer).where(Customer.name == "客户1")).scalar_one()
        assert customer.branch.code == "SH" and customer.officer.username == "officer_b"
        assert customer.created_by.username == "admin"
        db.session.remove()


def test_blacklisted_identifier_is_flagged(app, login_as):
    from app.extensions import db
    from app.models import BlacklistEntry, Customer

    number = person_id(7)
    with app.app_context():
        db.session.add(BlacklistEntry(identifier=number, name="客户7", reason="测试", status="active",
                                      listed_on=date(2024, 1, 1)))
        db.session.commit()
        db.session.remove()
    html = upload(login_as("officer_a"), workbook([person_row(7)])).get_data(as_text=True)
    assert counts(html) == (1, 1, 0)
    with app.app_context():
        assert db.session.execute(select(Customer.is_blacklisted)).scalar_one() is True
        db.session.remove()


# -- who may import ------------------------------------------------------------------------

@pytest.mark.parametrize("username, allowed", [("officer_a", True), ("admin", True), ("finance", False),
                                               ("manager", False), ("risk", False)])
def test_who_may_import(app, login_as, username, allowed):
    client = login_as(username)
    for url in ("/customers/import/", "/customers/import/template"):
        assert client.get(url).status_code == (200 if allowed else 403), url
    response = upload(client, workbook([person_row(1)]))
    assert response.status_code == (200 if allowed else 403)
    assert customer_count(app) == (1 if allowed else 0)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/customers/import/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
