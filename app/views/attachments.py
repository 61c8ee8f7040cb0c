"""附件管理: list, upload and permission-checked download of any record's files."""
import os

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import expose

from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Attachment, DictItem, DictType
from app.services import attachments as attachment_service
from app.services.scope import can_see_branch, scope_filters
from app.views.base import AppInterface, AppModelView


def document_types():
    rows = db.session.execute(
        select(DictItem.code, DictItem.label).join(DictType)
        .where(DictType.code == "document_type", DictItem.is_active.is_(True))
        .order_by(DictItem.sort_order)
    ).all()
    return [(code, label) for code, label in rows]


def _stored_file(pk):
    """(attachment, path on disk) of a file the user may see: 404 if missing, 403 if out of scope."""
    attachment = db.session.get(Attachment, pk)
    if attachment is None:
        abort(404)
    if not can_see_branch(attachment.branch_id):
        abort(403)
    path = attachment_service.path_of(attachment)
    if not os.path.exists(path):
        abort(404)
    return attachment, path


class AttachmentView(AppModelView):
    datamodel = AppInterface(Attachment)
    list_title = _l("Attachments")
    show_title = _l("Attachment")
    base_permissions = ["can_list", "can_show", "can_download", "can_upload", "can_delete"]
    base_filters = scope_filters()
    label_columns = {
        "original_name": _l("File name"), "owner_type": _l("Belongs to"), "owner_id": _l("Record ID"),
        "doc_type": _l("Document type"), "size": _l("Size (bytes)"), "mime_type": _l("File type"),
        "sha256": _l("SHA-256"), "branch": _l("Branch"), "uploaded_by": _l("Uploaded by"),
        "uploaded_at": _l("Uploaded at"), "remarks": _l("Remarks"), "download_link": _l("Download"),
    }
    list_columns = ["original_name", "owner_type", "owner_id", "doc_type", "size", "uploaded_by", "uploaded_at", "download_link"]
    show_columns = ["original_name", "owner_type", "owner_id", "doc_type", "size", "mime_type", "sha256",
                    "branch", "uploaded_by", "uploaded_at", "remarks", "download_link"]
    search_columns = ["original_name", "owner_type", "owner_id", "doc_type", "uploaded_at"]
    order_columns = ["original_name", "uploaded_at", "size"]
    base_order = ("uploaded_at", "desc")

    @expose("/file/<int:pk>")
    @has_access
    @permission_name("download")
    def file(self, pk):
        attachment, path = _stored_file(pk)
        return send_file(path, mimetype=attachment.mime_type, as_attachment=True,
                         download_name=attachment.original_name)

    @expose("/inline/<int:pk>")
    @has_access
    @permission_name("download")
    def inline(self, pk):
        """An image shown in the page (thumbnails); other types are downloaded."""
        attachment, path = _stored_file(pk)
        inline = attachment.mime_type.startswith("image/")
        response = send_file(path, mimetype=attachment.mime_type, as_attachment=not inline,
                             download_name=attachment.original_name)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @expose("/upload", methods=["GET", "POST"])
    @has_access
    @permission_name("upload")
    def upload(self):
        owner_type = request.values.get("owner_type", "")
        owner_id = request.values.get("owner_id", "")
        back = request.values.get("next") or url_for("AttachmentView.list")
        if not back.startswith("/"):
            back = url_for("AttachmentView.list")
        if request.method == "POST":
            upload = request.files.get("file")
            try:
                if upload is None or not upload.filename:
                    raise DomainError(str(_l("Please choose a file to upload.")), "file")
                owner, branch_id = attachment_service.resolve_owner(owner_type, owner_id)
                if not can_see_branch(branch_id):
                    abort(403)
                attachment_service.save(
                    upload.filename, upload.read(), owner_type, owner_id, g.user,
                    doc_type=request.form.get("doc_type"), branch_id=branch_id,
                    remarks=(request.form.get("remarks") or "")[:300] or None)
            except DomainError as exc:
                flash(exc.message, "danger")
            else:
                flash(str(_l("File uploaded.")), "success")
                return redirect(back)
        owners = [(key, label) for key, (label, _m, _b) in attachment_service.OWNERS.items()]
        return self.render_template(
            "microloan/attachment_upload.html", owners=owners, owner_type=owner_type,
            owner_id=owner_id, doc_types=document_types(), next_url=back,
            selected_doc_type=request.values.get("doc_type", ""),
            title=_l("Upload attachment"))

    def pre_delete(self, item):
        if not can_see_branch(item.branch_id):
            raise DomainError(str(_l("You may not delete files of another branch.")))

    def post_delete(self, item):
        path = attachment_service.path_of(item)
        if os.path.exists(path):
            os.remove(path)

