"""客户导入: download the template, upload a filled one, see what went wrong.

The error report is kept as a file under ``UPLOAD_FOLDER/import_reports/`` named
``<user id>_<random token>.xlsx``: only the user who ran the import can fetch it (any
worker process can serve it), and reports older than a week are swept on the next import.
"""
import os
import re
import secrets
import time
from datetime import datetime

from flask import abort, current_app, flash, g, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l

from app.domain.errors import DomainError
from app.services import customer_import
from app.services.customer_import import MAX_ROWS
from app.views.base import xlsx_download

REPORT_FOLDER = "import_reports"
REPORT_DAYS = 7
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SHOWN_ERRORS = 200  # the page shows the first ones; the report has them all


def _report_folder():
    folder = os.path.join(current_app.config["UPLOAD_FOLDER"], REPORT_FOLDER)
    os.makedirs(folder, exist_ok=True)
    return folder


def _report_path(user_id, token):
    return os.path.join(_report_folder(), f"{int(user_id)}_{token}.xlsx")


def _sweep_old_reports(folder):
    limit = time.time() - REPORT_DAYS * 86400
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        try:
            if name.endswith(".xlsx") and os.path.getmtime(path) < limit:
                os.remove(path)
        except OSError:  # another worker removed it first
            pass


def save_report(result, user_id):
    """Write the error report and return its token."""
    folder = _report_folder()
    _sweep_old_reports(folder)
    token = secrets.token_urlsafe(24)
    path = _report_path(user_id, token)
    temporary = path + ".part"
    with open(temporary, "wb") as handle:
        handle.write(customer_import.error_report_workbook(result))
    os.replace(temporary, path)
    return token


class CustomerImportView(BaseView):
    route_base = "/customers/import"
    default_view = "index"

    @expose("/", methods=["GET", "POST"])
    @has_access
    @permission_name("import")
    def index(self):
        result, report_token = None, None
        mode = request.form.get("mode", "valid_rows")
        if request.method == "POST":
            upload = request.files.get("file")
            try:
                if upload is None or not upload.filename:
                    raise DomainError(str(_l("Please choose the filled-in template (.xlsx) to import.")), "file")
                result = customer_import.import_customers(upload.read(), g.user,
                                                          all_or_nothing=mode == "all_or_nothing")
            except DomainError as exc:
                flash(exc.message, "danger")
            else:
                result.file_name = upload.filename
                if result.errors:
                    report_token = save_report(result, g.user.id)
        return self.render_template(
            "microloan/customer_import.html", title=_l("Import customers"), result=result,
            report_token=report_token, mode=mode, max_rows=MAX_ROWS,
            shown_errors=result.errors[:SHOWN_ERRORS] if result else [])

    @expose("/template")
    @has_access
    @permission_name("import")
    def template(self):
        return xlsx_download(customer_import.template_workbook(), "客户导入模板.xlsx")

    @expose("/report/<token>")
    @has_access
    @permission_name("import")
    def report(self, token):
        if not _TOKEN.match(token or ""):
            abort(404)
        path = _report_path(g.user.id, token)
        if not os.path.exists(path):
            abort(404)  # not this user's report, or swept
        with open(path, "rb") as handle:
            data = handle.read()
        stamp = datetime.fromtimestamp(os.path.getmtime(path))
        return xlsx_download(data, f"客户导入错误报告_{stamp:%Y%m%d%H%M}.xlsx")
