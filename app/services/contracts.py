"""合同生成: Word templates (docxtpl) filled from a loan, stored as the loan's attachments.

docxtpl handles placeholders that Word splits across runs, table-row loops, headers and
footers; we only choose the template, build the context (contract_fields.py), number the
document and store it. An uploaded template with an unknown placeholder is refused at
upload, with the list of unknown names.
"""
import io
import os
import shutil
import subprocess
import tempfile

from docxtpl import DocxTemplate
from sqlalchemy import func, or_, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.contract import DOC_TYPES, ContractTemplate, GeneratedDocument
from app.services import attachments, settings
from app.services.contract_fields import NAMES, loan_context, sample_context
from app.services.numbering import next_value

TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "contract_templates")


# -- templates -------------------------------------------------------------------------
def check_template(data):
    """Refuse a file that is not a .docx template or uses unknown placeholders."""
    try:
        template = DocxTemplate(io.BytesIO(data))
        names = template.get_undeclared_template_variables()
    except Exception as exc:  # docx/zip/Jinja syntax errors all mean "not a usable template"
        raise DomainError(f"模板无法解析：{exc}。请上传 Word 2007 及以上的 .docx 文件并检查占位符语法", "template_file")
    unknown = sorted(set(names) - NAMES)
    if unknown:
        raise DomainError(f"模板中有未知的占位符：{'、'.join(unknown)}。可用的占位符见“占位符说明”页面", "template_file")


def template_bytes(template):
    if template.attachment_id:
        with open(attachments.path_of(template.attachment), "rb") as fh:
            return fh.read()
    with open(os.path.join(TEMPLATE_DIR, template.builtin_file), "rb") as fh:
        return fh.read()


def store_upload(template, file_name, data, user):
    """Validate an uploaded .docx and attach it to ``template`` (already flushed)."""
    if not file_name.lower().endswith(".docx"):
        raise DomainError("请上传 .docx 格式的 Word 模板", "template_file")
    check_template(data)
    attachment = attachments.save(file_name, data, "contract_template", template.id, user, doc_type="contract",
                                  commit=False)
    template.attachment_id = attachment.id
    template.builtin_file = None


def next_template_version(doc_type, product_id=None):
    """One more than the newest template of this type (for this product, or general)."""
    product_match = (ContractTemplate.product_id == product_id if product_id
                     else ContractTemplate.product_id.is_(None))
    newest = db.session.execute(select(func.max(ContractTemplate.version)).where(
        ContractTemplate.doc_type == doc_type, product_match)).scalar()
    return (newest or 0) + 1


def active_template(doc_type, product_id=None):
    """The newest active template for the type: one limited to the product wins over a general one."""
    rows = db.session.execute(
        select(ContractTemplate).where(
            ContractTemplate.doc_type == doc_type, ContractTemplate.is_active.is_(True),
            or_(ContractTemplate.product_id.is_(None), ContractTemplate.product_id == product_id))
        .order_by(ContractTemplate.product_id.is_(None), ContractTemplate.version.desc(),
                  ContractTemplate.id.desc())).scalars().all()
    if not rows:
        raise DomainError(f"没有启用的“{DOC_TYPES[doc_type][0]}”模板，请管理员在合同模板中上传或启用")
    return rows[0]


def has_template(doc_type, product_id=None):
    try:
        active_template(doc_type, product_id)
    except DomainError:
        return False
    return True


def render(template, context):
    document = DocxTemplate(io.BytesIO(template_bytes(template)))
    document.render(context, autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def preview(template, loan=None):
    """Render against a loan or the built-in sample data (admins check before activating)."""
    context = loan_context(loan, contract_no="（预览）") if loan is not None else sample_context()
    return render(template, context)


# -- numbering and generation ----------------------------------------------------------
def next_contract_no():
    """From the parameter contract_no_pattern, e.g. HT{year}{seq:05d} → HT202600001."""
    pattern = settings.get("contract_no_pattern") or "HT{year}{seq:05d}"
    year = settings.business_date().year
    try:
        return pattern.format(year=year, seq=next_value("contract", str(year)))
    except (KeyError, ValueError, IndexError):
        raise DomainError(f"合同编号格式“{pattern}”无效，只能使用 {{year}} 和 {{seq}}，如 HT{{year}}{{seq:05d}}")


def generate(loan, doc_type, user, guarantor=None, collateral=None, settled_on=None):
    """One document for the loan (and the guarantor or collateral it is about); caller commits."""
    if doc_type not in DOC_TYPES:
        raise DomainError(f"未知的文书类型“{doc_type}”")
    template = active_template(doc_type, loan.product_id)
    contract_no = next_contract_no()
    data = render(template, loan_context(loan, contract_no, guarantor, collateral, settled_on))
    label = DOC_TYPES[doc_type][0]
    about = f"_{guarantor.name}" if guarantor is not None else (f"_{collateral.name}" if collateral is not None else "")
    name = f"{label}_{loan.loan_no}{about}_{contract_no}.docx".replace("/", "／")
    attachment = attachments.save(name, data, "loan", loan.id, user, doc_type="contract", branch_id=loan.branch_id,
                                  commit=False)
    document = GeneratedDocument(
        loan_id=loan.id, doc_type=doc_type, template_id=template.id, template_version=template.version,
        contract_no=contract_no, guarantor_id=getattr(guarantor, "id", None),
        collateral_id=getattr(collateral, "id", None), attachment_id=attachment.id, created_by_id=getattr(user, "id", None))
    db.session.add(document)
    db.session.flush()
    return document


def generate_stage(loan, stage, user):
    """Every document due at ``stage`` (approval, disbursement, settlement). A type with no
    active template is skipped (an admin may not use it); anything else that fails raises."""
    documents = []
    for doc_type, (_label, _file, per, when) in DOC_TYPES.items():
        if when != stage or not has_template(doc_type, loan.product_id):
            continue
        if per == "loan":
            documents.append(generate(loan, doc_type, user))
        elif per == "guarantor":
            documents += [generate(loan, doc_type, user, guarantor=g) for g in loan.guarantors]
        else:
            documents += [generate(loan, doc_type, user, collateral=c) for c in loan.collaterals if c.kind == per]
    return documents


def documents_of(loan):
    return db.session.execute(select(GeneratedDocument).where(GeneratedDocument.loan_id == loan.id)
                              .order_by(GeneratedDocument.id.desc())).scalars().all()


# -- optional PDF ----------------------------------------------------------------------
def pdf_available():
    return shutil.which("soffice") is not None or shutil.which("libreoffice") is not None


def to_pdf(docx_bytes):
    """PDF through LibreOffice when installed; DomainError otherwise."""
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        raise DomainError("服务器未安装 LibreOffice，无法转换 PDF；请下载 Word 文件")
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "document.docx")
        with open(source, "wb") as fh:
            fh.write(docx_bytes)
        subprocess.run([binary, "--headless", "--convert-to", "pdf", "--outdir", folder, source], check=True,
                       timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(folder, "document.pdf"), "rb") as fh:
            return fh.read()


# -- seed ------------------------------------------------------------------------------
def seed_builtin_templates():
    """One active built-in template per document type that has none (init)."""
    have = set(db.session.execute(select(ContractTemplate.doc_type)).scalars())
    for doc_type, (label, file_name, _per, _when) in DOC_TYPES.items():
        if doc_type in have or not os.path.exists(os.path.join(TEMPLATE_DIR, file_name)):
            continue
        db.session.add(ContractTemplate(doc_type=doc_type, name=f"{label}（系统默认）", version=1, is_active=True,
                                        builtin_file=file_name))


def _register_attachment_owner():
    attachments.register_owner("contract_template", "合同模板", ContractTemplate, lambda template: None)


_register_attachment_owner()

