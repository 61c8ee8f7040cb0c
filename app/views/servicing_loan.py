"""Apply forms of the loan-changing servicing kinds — 提前还本申请, 展期申请, 贷款变更 — and
the 展期提醒 list (loans maturing soon with no extension under way).

Each form shows the loan's current figures, can preview the regenerated schedule without
saving, and submits through ``app.services.servicing_requests.apply``; on success it
redirects to the request page (ServicingRequestView.show) with its approval panel. View
names start with "Servicing" so the role rules in app/security.py reach them: officers
hold ``can_apply_*`` (and ``can_list`` for the reminder), finance everything, risk and
managers read.
"""
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser
from app.models.servicing import KEEP_MODES, GuarantorConsent, ServicingRequest
from app.services import extension as extension_service
from app.services import loan_change as loan_change_service
from app.services import repayments, settings
from app.services import prepayment as prepayment_service
from app.services import servicing_requests
from app.views.servicing_common import money, visible_loan

REMINDER_DAYS = 30


def _date(raw, field, label):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DomainError(f"{label}“{raw}”无效，格式为 YYYY-MM-DD", field) from None


def _decimal(raw, field, label):
    raw = (raw or "").replace(",", "").replace("，", "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise DomainError(f"{label}“{raw}”无效", field) from None
    if not value.is_finite():
        raise DomainError(f"{label}“{raw}”无效", field)
    return value


def _int(raw, field, label):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError(f"{label}“{raw}”应为整数", field) from None


def officers(loan):
    """Active loan officers a loan can be handed to (same visible scope as the loan)."""
    rows = db.session.execute(select(AppUser).where(AppUser.active.is_(True)).order_by(AppUser.username)).scalars()
    return [u for u in rows if any(r.name == "LoanOfficer" for r in u.roles) and u.id != loan.officer_id]


class ServicingApplyView(BaseView):
    """提前还本申请, 展期申请 and 贷款变更 for one loan."""

    route_base = "/servicing"
    default_view = "prepayment"

    def _page(self, template, loan, title, values, error=None, **extra):
        return self.render_template(
            template, title=title, loan=loan, summary=repayments.summary(loan), values=values, error=error,
            money=money, today=settings.business_date(), **extra)

    def _submit(self, item, user):
        try:
            servicing_requests.apply(item, user)
        except DomainError:
            db.session.rollback()
            raise
        flash(f"已提交{item.kind_label} {item.request_no}，等待审批", "success")
        return redirect(url_for("ServicingRequestView.show", pk=item.id))

    # -- 提前还本申请 --------------------------------------------------------------------
    @expose("/prepayment/<int:loan_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("apply_prepayment")
    def prepayment(self, loan_id):
        loan = visible_loan(loan_id)
        form = request.form if request.method == "POST" else request.args
        values = {"amount": form.get("amount", ""), "effective_on": form.get("effective_on")
                  or settings.business_date().isoformat(), "keep_mode": form.get("keep_mode", "term"),
                  "reason": form.get("reason", "")}
        plan, error = None, None
        try:
            amount = _decimal(values["amount"], "amount", "提前还本金额")
            on = _date(values["effective_on"], "effective_on", "提前还本日期")
            if request.method == "POST" and form.get("action") != "preview":
                item = ServicingRequest(kind=prepayment_service.KIND, loan_id=loan.id, loan=loan, amount=amount,
                                        effective_on=on, keep_mode=values["keep_mode"], reason=values["reason"])
                return self._submit(item, g.user)
            if amount is not None:
                plan = prepayment_service.plan(loan, amount, on, values["keep_mode"])
        except DomainError as exc:
            db.session.rollback()
            loan = visible_loan(loan_id)
            error = exc
        return self._page("microloan/servicing_apply_prepayment.html", loan, _l("Apply for prepayment"), values,
                          error, plan=plan, keep_modes=KEEP_MODES)

    # -- 展期申请 ------------------------------------------------------------------------
    @expose("/extension/<int:loan_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("apply_extension")
    def extension(self, loan_id):
        loan = visible_loan(loan_id)
        form = request.form if request.method == "POST" else request.args
        values = {"extension_periods": form.get("extension_periods", ""),
                  "new_rate": form.get("new_rate") or f"{Decimal(loan.annual_rate).normalize():f}",
                  "reason": form.get("reason", "")}
        consents = {g_.id: {"consented": bool(form.get(f"consent_{g_.id}")),
                            "on": form.get(f"consent_on_{g_.id}", ""), "remarks": form.get(f"consent_remarks_{g_.id}", "")}
                    for g_ in loan.guarantors}
        plan, error = None, None
        unit = extension_service.unit_of(loan)
        try:
            periods = _int(values["extension_periods"], "extension_periods", "展期期限")
            rate = _decimal(values["new_rate"], "new_rate", "展期利率")
            if request.method == "POST" and form.get("action") != "preview":
                item = ServicingRequest(kind=extension_service.KIND, loan_id=loan.id, loan=loan,
                                        extension_periods=periods, new_rate=rate, reason=values["reason"])
                for guarantor in loan.guarantors:
                    given = consents[guarantor.id]
                    item.consents.append(GuarantorConsent(
                        guarantor_id=guarantor.id, guarantor=guarantor, consented=given["consented"],
                        consented_on=_date(given["on"], "consents", f"保证人“{guarantor.name}”同意日期"),
                        remarks=(given["remarks"] or "").strip()[:300] or None))
                return self._submit(item, g.user)
            if periods:
                if periods < 1:
                    raise DomainError("展期期限必须大于 0", "extension_periods")
                rate = extension_service.check_rate(loan, rate if rate is not None else loan.annual_rate)
                plan = extension_service.preview(loan, periods, rate)
        except DomainError as exc:
            db.session.rollback()
            loan = visible_loan(loan_id)
            error = exc
        return self._page("microloan/servicing_apply_extension.html", loan, _l("Apply for an extension"), values,
                          error, plan=plan, consents=consents, unit=unit,
                          limit=extension_service.rules.extension_limit(extension_service.original_length(loan), unit),
                          max_count=settings.get("max_extensions", 2))

    # -- 贷款变更 ------------------------------------------------------------------------
    @expose("/loan_change/<int:loan_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("apply_loan_change")
    def loan_change(self, loan_id):
        loan = visible_loan(loan_id)
        form = request.form if request.method == "POST" else request.args
        values = {key: form.get(key, "") for key in ("new_rate", "new_officer", "new_fixed_day", "reason")}
        plan, error = None, None
        try:
            rate = _decimal(values["new_rate"], "new_rate", "新利率")
            officer_id = _int(values["new_officer"], "new_officer", "新客户经理")
            day = _int(values["new_fixed_day"], "new_fixed_day", "新固定还款日")
            if request.method == "POST" and form.get("action") != "preview":
                item = ServicingRequest(kind=loan_change_service.KIND, loan_id=loan.id, loan=loan, new_rate=rate,
                                        new_officer_id=officer_id, new_fixed_day=day, reason=values["reason"])
                return self._submit(item, g.user)
            if rate is not None or day is not None:
                if rate is not None:
                    rate = extension_service.check_rate(loan, rate)
                plan = loan_change_service.preview(loan, rate, day)
        except DomainError as exc:
            db.session.rollback()
            loan = visible_loan(loan_id)
            error = exc
        return self._page("microloan/servicing_apply_loan_change.html", loan, _l("Apply for a loan change"), values,
                          error, plan=plan, officers=officers(loan))


class ServicingExtensionReminderView(BaseView):
    """展期提醒: active loans maturing within N days (``?days=``, default 30) with no
    extension request in approval or approved."""

    route_base = "/servicing/extension_reminder"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("list")
    def index(self):
        days = request.args.get("days", type=int)
        if days is None or not 0 <= days <= 366:
            days = REMINDER_DAYS
        rows = extension_service.reminder_rows(g.user, days)
        return self.render_template(
            "microloan/extension_reminder.html", title=_l("Extension reminders"), rows=rows, days=days,
            money=money, today=settings.business_date(),
            can_apply=self.appbuilder.sm.has_access("can_apply_extension", "ServicingApplyView"))


def register_views(appbuilder):
    """Called once from app/views/__init__.py."""
    appbuilder.add_view(ServicingExtensionReminderView, "Extension reminders", label=_l("Extension reminders"),
                        icon="fa-clock-o", category="Loans")
    appbuilder.add_view_no_menu(ServicingApplyView)
