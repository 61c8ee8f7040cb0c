"""合同模板 (admins: upload, preview, activate; placeholder list) and document generation
from the loan page."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l
from wtforms import FileField

from app.domain.errors import DomainError
from app.extensions import db
from app.models.contract import DOC_TYPES, ContractTemplate, GeneratedDocument
from app.models.loan import Collateral, Guarantor, Loan
from app.services import contracts, loans
from app.services.contract_fields import FIELDS
from app.views.base import AppInterface, CheckedModelView
from app.views.widgets import ChoiceField

DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _download(data, file_name, mimetype=DOCX_MIMETYPE):
    from urllib.parse import quote

    from flask import Response

    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name)}"})


class _FileWidget(BS3TextFieldWidget):
    def __call__(self, field, **kwargs):
        kwargs["type"] = "file"
        kwargs.pop("value", None)
        return super().__call__(field, **kwargs)


class ContractTemplateView(CheckedModelView):
    datamodel = AppInterface(ContractTemplate)
    list_title = _l("Contract templates")
    show_title = add_title = edit_title = _l("Contract template")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_preview", "can_placeholders"]
    label_columns = {"doc_type": _l("Document type"), "doc_type_label": _l("Document type"), "name": _l("Name"),
                     "product": _l("Loan product"), "version": _l("Version"), "is_active": _l("Active"),
                     "builtin_file": _l("Built-in file"), "attachment": _l("Uploaded file"), "remarks": _l("Remarks"),
                     "created_at": _l("Created at"), "template_file": _l("Word template (.docx)")}
    list_columns = ["doc_type_label", "name", "product", "version", "is_active", "created_at"]
    add_columns = edit_columns = ["doc_type", "name", "product", "is_active", "template_file", "remarks"]
    show_columns = ["doc_type_label", "name", "product", "version", "is_active", "builtin_file", "attachment",
                    "remarks", "created_at"]
    search_columns = ["doc_type", "name", "product", "is_active"]
    base_order = ("doc_type", "asc")
    show_template = "microloan/contract_template_show.html"
    description_columns = {
        "product": _l("Leave empty for every product; a template for one product wins over a general one"),
        "template_file": _l("Placeholders such as {{ 借款人 }}; see the placeholder list. Uploading a new file "
                            "makes a new version"),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "doc_type": ChoiceField(_l("Document type"), {k: v[0] for k, v in DOC_TYPES.items()}),
        "template_file": FileField(_l("Word template (.docx)"), widget=_FileWidget()),
    }

    def _upload(self):
        upload = request.files.get("template_file")
        return (upload.filename, upload.read()) if upload is not None and upload.filename else (None, None)

    def check_form(self, form, pk):
        name, data = self._upload()
        if data is not None:
            contracts.check_template(data)
            request.files["template_file"].stream.seek(0)
        elif not pk:
            raise DomainError("请选择要上传的 Word 模板（.docx）", "template_file")

    def pre_add(self, item):
        item.version = contracts.next_template_version(item.doc_type, item.product_id)

    def post_add(self, item):
        name, data = self._upload()
        contracts.store_upload(item, name, data, g.user)
        db.session.commit()

    def pre_update(self, item):
        name, data = self._upload()
        if data is not None:
            item.version = (item.version or 1) + 1
            contracts.store_upload(item, name, data, g.user)

    @expose("/placeholders")
    @has_access
    @permission_name("placeholders")
    def placeholders(self):
        return self.render_template("microloan/contract_placeholders.html", title=_l("Contract placeholders"),
                                    fields=FIELDS)

    @expose("/preview/<int:pk>")
    @has_access
    @permission_name("preview")
    def preview(self, pk):
        """Render against ?loan_no= or the built-in sample data, and download."""
        template = db.session.get(ContractTemplate, pk)
        if template is None:
            abort(404)
        loan = None
        loan_no = (request.args.get("loan_no") or "").strip()
        if loan_no:
            loan = db.session.execute(db.select(Loan).where(Loan.loan_no == loan_no)).scalar_one_or_none()
            if loan is None or not loans.can_see(loan, g.user):
                flash(f"找不到业务编号为 {loan_no} 的项目，或无权查看", "danger")
                return redirect(url_for("ContractTemplateView.show", pk=pk))
        try:
            data = contracts.preview(template, loan)
        except Exception as exc:  # a template that cannot render must say why, not 500
            flash(f"预览失败：{exc}", "danger")
            return redirect(url_for("ContractTemplateView.show", pk=pk))
        return _download(data, f"预览_{template.doc_type_label}_v{template.version}.docx")


class ContractDocumentView(BaseView):
    """Generate a document for a loan on demand, and the optional PDF of a generated one."""

    route_base = "/contracts"

    @expose("/generate/<int:loan_id>", methods=["POST"])
    @has_access
    @permission_name("generate")
    def generate(self, loan_id):
        loan = db.session.get(Loan, loan_id)
        if loan is None or not loans.can_see(loan, g.user):
            abort(404)
        doc_type = request.form.get("doc_type", "")
        try:
            per = DOC_TYPES.get(doc_type, (None, None, "loan"))[2]
            if per == "guarantor":
                for guarantor in db.session.execute(db.select(Guarantor).where(Guarantor.loan_id == loan.id)).scalars():
                    contracts.generate(loan, doc_type, g.user, guarantor=guarantor)
            elif per in ("mortgage", "pledge"):
                for item in db.session.execute(db.select(Collateral).where(
                        Collateral.loan_id == loan.id, Collateral.kind == per)).scalars():
                    contracts.generate(loan, doc_type, g.user, collateral=item)
            else:
                contracts.generate(loan, doc_type, g.user)
            db.session.commit()
            flash(f"已生成{DOC_TYPES[doc_type][0]}", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for("LoanView.show", pk=loan.id) + "#tab-contracts")

    @expose("/pdf/<int:document_id>")
    @has_access
    @permission_name("generate")
    def pdf(self, document_id):
        document = db.session.get(GeneratedDocument, document_id)
        if document is None or not loans.can_see(document.loan, g.user):
            abort(404)
        try:
            with open(contracts.attachments.path_of(document.attachment), "rb") as fh:
                data = contracts.to_pdf(fh.read())
        except DomainError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("LoanView.show", pk=document.loan_id))
        return _download(data, document.attachment.original_name.rsplit(".", 1)[0] + ".pdf", "application/pdf")
