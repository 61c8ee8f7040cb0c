"""Contracts from Word templates: upload checks, product filter, generation, numbering,
versions kept, downloads within scope."""
import io
from urllib.parse import quote

import pytest
from docx import Document
from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, GeneratedDocument, Loan
from app.models.contract import ContractTemplate

from .test_loans import create_loan, make_customer, product_id

pytestmark = pytest.mark.dirty


def docx_with(*paragraphs, table_loop=False, header=None):
    """A small .docx whose paragraphs are the given texts (placeholders included)."""
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table_loop:
        table = document.add_table(rows=4, cols=3)
        table.rows[0].cells[0].text = "期次"
        table.rows[1].cells[0].text = "{%tr for r in 还款计划 %}"
        table.rows[2].cells[0].text = "{{ r.期次 }}"
        table.rows[2].cells[1].text = "{{ r.本金 }}"
        table.rows[2].cells[2].text = "{{ r.利息 }}"
        table.rows[3].cells[0].text = "{%tr endfor %}"
    if header:
        document.sections[0].header.paragraphs[0].text = header
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def text_of_docx(data):
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    parts += [p.text for s in document.sections for p in s.header.paragraphs]
    return "\n".join(parts)


def upload(client, data, doc_type="loan_contract", name="借款合同（新）", product=None, file_name="借款合同.docx"):
    form = {"doc_type": doc_type, "name": name, "is_active": "y",
            "template_file": (io.BytesIO(data), file_name)}
    if product:
        form["product"] = str(product)
    return client.post("/contracttemplateview/add", data=form, content_type="multipart/form-data",
                       follow_redirects=True)


def approved_loan(app, client):
    customer_id = make_customer(app)
    loan_id = create_loan(app, client, customer_id, guarantee_types=["unsecured"])
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        loan.status = "approved"
        db.session.commit()
    return loan_id


def generate(app, loan_id, doc_type="loan_contract", username="officer_a"):
    from app.services import contracts

    with app.app_context():
        g.user = db.session.execute(select(AppUser).where(AppUser.username == username)).scalar_one()
        document = contracts.generate(db.session.get(Loan, loan_id), doc_type, g.user)
        db.session.commit()
        with open(contracts.attachments.path_of(document.attachment), "rb") as fh:
            return document.id, document.contract_no, document.attachment_id, fh.read()


def test_unknown_placeholders_are_refused_at_upload(app, login_as):
    admin = login_as("admin")
    r = upload(admin, docx_with("借款人：{{ 借款人 }}", "担保：{{ 不存在的字段 }} {{ 另一个 }}"))
    page = r.get_data(as_text=True)
    assert "模板中有未知的占位符" in page and "不存在的字段" in page and "另一个" in page
    with app.app_context():
        assert db.session.execute(select(ContractTemplate).where(
            ContractTemplate.name == "借款合同（新）")).first() is None


def test_a_template_that_is_not_docx_is_refused(app, login_as):
    r = upload(login_as("admin"), b"not a word file", file_name="x.docx")
    assert "模板无法解析" in r.get_data(as_text=True)


def test_uploaded_template_fills_every_field_and_the_schedule(app, login_as):
    admin = login_as("admin")
    r = upload(admin, docx_with("借款人：{{ 借款人 }}，金额：{{ 贷款金额 }}（{{ 贷款金额大写 }}）",
                                "编号：{{ 合同编号 }}", table_loop=True, header="{{ 贷款人 }}"),
               product=product_id(app))
    assert r.status_code == 200
    officer = login_as("officer_a")
    loan_id = approved_loan(app, officer)
    _doc_id, contract_no, _att, data = generate(app, loan_id)
    text = text_of_docx(data)
    assert "借款人：张三" in text
    assert "100,000.00" in text and "壹拾万元整" in text
    assert f"编号：{contract_no}" in text and contract_no.startswith("HT2026")
    assert "示例小额贷款有限公司" in text  # header
    with app.app_context():
        rows = db.session.get(Loan, loan_id).installments
        assert len(rows) == 12
        for row in rows:
            assert f"{row.principal:,.2f}" in text
    assert "{{" not in text and "{%" not in text


def test_product_template_wins_and_regenerating_keeps_the_earlier_version(app, login_as):
    admin = login_as("admin")
    upload(admin, docx_with("通用模板 {{ 借款人 }}"), name="通用")
    upload(admin, docx_with("专用模板 {{ 借款人 }}"), name="专用", product=product_id(app))
    officer = login_as("officer_a")
    loan_id = approved_loan(app, officer)
    first = generate(app, loan_id)
    second = generate(app, loan_id)
    assert "专用模板 张三" in text_of_docx(first[3])
    assert first[1] != second[1]  # a new contract number each time
    with app.app_context():
        kept = db.session.execute(select(GeneratedDocument).where(GeneratedDocument.loan_id == loan_id)).scalars().all()
        assert len(kept) == 2


def test_another_branch_cannot_download_a_contract(app, login_as):
    admin = login_as("admin")
    upload(admin, docx_with("{{ 借款人 }}"))
    officer = login_as("officer_a")
    loan_id = approved_loan(app, officer)
    _doc, _no, attachment_id, _data = generate(app, loan_id)
    r = officer.get(f"/attachmentview/file/{attachment_id}")
    assert r.status_code == 200
    assert quote("借款合同") in r.headers["Content-Disposition"]  # the Chinese file name, UTF-8 encoded
    assert login_as("officer_b").get(f"/attachmentview/file/{attachment_id}").status_code == 403


def test_generate_from_the_loan_page_and_preview(app, login_as):
    admin = login_as("admin")
    upload(admin, docx_with("{{ 借款人 }} {{ 合同编号 }}"))
    officer = login_as("officer_a")
    loan_id = approved_loan(app, officer)
    r = officer.post(f"/contracts/generate/{loan_id}", data={"doc_type": "loan_contract"}, follow_redirects=True)
    assert "已生成借款合同" in r.get_data(as_text=True)
    page = officer.get(f"/loanview/show/{loan_id}").get_data(as_text=True)
    assert "借款合同_" in page and 'id="documents"' in page
    with app.app_context():
        template = db.session.execute(select(ContractTemplate).where(
            ContractTemplate.attachment_id.isnot(None))).scalars().first()
        loan_no = db.session.get(Loan, loan_id).loan_no
    sample = admin.get(f"/contracttemplateview/preview/{template.id}")
    assert sample.status_code == 200 and "张伟" in text_of_docx(sample.data)
    real = admin.get(f"/contracttemplateview/preview/{template.id}?loan_no={loan_no}")
    assert "张三" in text_of_docx(real.data)
    assert officer.get("/contracttemplateview/placeholders").status_code == 200
    assert officer.post("/contracttemplateview/add", data={}).status_code == 403


def test_contract_numbers_are_sequential_and_distinct(app, login_as):
    admin = login_as("admin")
    upload(admin, docx_with("{{ 合同编号 }}"))
    loan_id = approved_loan(app, login_as("officer_a"))
    numbers = [generate(app, loan_id)[1] for _ in range(3)]
    assert len(set(numbers)) == 3
    assert [int(n[-5:]) for n in numbers] == sorted(int(n[-5:]) for n in numbers)
