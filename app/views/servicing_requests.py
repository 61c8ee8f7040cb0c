"""贷后业务申请 screens shared by every kind: the list (filter by kind, status, loan), the
request page with its approval panel, and 执行 (finance posts an approved request).

Each kind's apply form lives with its kind (app/views/servicing_*.py) and calls
``app.services.servicing_requests.apply``. View names start with "Servicing" so the role
rules in app/security.py reach them (officers apply, finance executes, managers read).
"""
import uuid
from datetime import date

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l

from app.domain.errors import DomainError
from app.extensions import db
from app.models.servicing import REQUEST_KINDS, REQUEST_STATUSES, ServicingRequest
from app.services import ledger, loans, settings
from app.services import servicing_requests as service
from app.services import workflow as workflow_service
from app.views.base import AppInterface, AppModelView
from app.views.servicing_common import posted_fund_account, receiving_accounts

LABELS = {
    "request_no": _l("Request no."), "kind": _l("Request type"), "kind_label": _l("Request type"),
    "loan": _l("Loan"), "status": _l("Status"), "status_label": _l("Status"), "reason": _l("Reason"),
    "amount": _l("Amount (yuan)"), "effective_on": _l("Effective date"), "keep_mode_label": _l("Prepayment mode"),
    "transfer_source_label": _l("Transfer from"),
    "extension_periods": _l("Extension periods"), "new_rate": _l("New annual rate (%)"),
    "new_officer": _l("New loan officer"), "new_fixed_day": _l("New fixed repayment day"),
    "guarantor": _l("Guarantor"), "loan_fee": _l("Fee"), "target_voucher": _l("Voucher to reverse"),
    "fund_account": _l("Fund account"), "voucher": _l("Voucher"), "repayment": _l("Receipt"), "created_by": _l("Applicant"),
    "created_at": _l("Applied at"), "executed_at": _l("Executed at"), "executed_by": _l("Executed by"),
}


class ServicingRequestView(AppModelView):
    """贷后业务申请: every prepayment, extension and adjustment request."""

    datamodel = AppInterface(ServicingRequest)
    list_title = _l("Servicing requests")
    show_title = _l("Servicing request")
    base_permissions = ["can_list", "can_show", "can_execute", "can_cancel"]
    label_columns = LABELS
    list_columns = ["request_no", "kind_label", "loan", "amount", "status_label", "created_by", "created_at"]
    search_columns = ["request_no", "kind", "status", "created_at"]
    order_columns = ["request_no", "created_at"]
    base_order = ("id", "desc")

    def _get(self, pk):
        item = db.session.get(ServicingRequest, pk)
        if item is None or (item.loan is not None and not loans.can_see(item.loan, g.user)):
            abort(404)
        return item

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self._get(pk)
        return self.render_template(
            "microloan/servicing_request_show.html", title=_l("Servicing request"), item=item, labels=LABELS,
            approval=workflow_service.panel(item.kind, item.id, g.user), accounts=receiving_accounts(),
            today=settings.business_date(), key=uuid.uuid4().hex,
            can_execute=self.appbuilder.sm.has_access("can_execute", self.__class__.__name__))

    @expose("/execute/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("execute")
    def execute(self, pk):
        item = self._get(pk)
        form = request.form
        try:
            options = {"idempotency_key": form.get("idempotency_key") or None}
            if form.get("fund_account"):
                options["fund_account"] = posted_fund_account(form)
            if form.get("on"):
                try:
                    options["on"] = date.fromisoformat(form["on"])
                except ValueError:
                    raise DomainError("执行日期格式应为 YYYY-MM-DD", "on") from None
            service.execute(item.id, g.user, **options)
            flash(f"申请 {item.request_no} 已执行", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(f"未执行：{exc.message}", "danger")
        return redirect(url_for("ServicingRequestView.show", pk=pk))

    @expose("/cancel/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("cancel")
    def cancel(self, pk):
        item = self._get(pk)
        try:
            service.cancel(item.id, g.user)
            flash(f"申请 {item.request_no} 已撤销", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for("ServicingRequestView.show", pk=pk))


def kind_choices():
    return [(code, label) for code, label in REQUEST_KINDS.items() if code in service.KINDS]


__all__ = ["ServicingRequestView", "kind_choices", "LABELS", "REQUEST_STATUSES", "ledger"]
