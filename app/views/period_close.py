"""期末结算 screens: the closed months with their reports, the close form (month → preview
of the accrual → confirm), the report page and 反结账 (permission ``can_reopen``: Admin;
the Finance role has every other PeriodClose permission, Manager may read).

The view is named PeriodClose… so the role rules in app/security.py reach it.
"""
from decimal import Decimal, InvalidOperation

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l

from app.domain.errors import DomainError
from app.extensions import db
from app.models.servicing import PeriodClose
from app.services import period_close, settings


def money(value):
    """A report figure (a string such as "533.33") as "533.33" with thousands separators;
    Decimal all the way, never float."""
    if value in (None, ""):
        return ""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


class PeriodCloseView(BaseView):
    route_base = "/periodclose"
    default_view = "list"

    def _can(self, permission):
        return self.appbuilder.sm.has_access(permission, self.__class__.__name__)

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        rows = [(row, period_close.report_of(row)) for row in period_close.periods()]
        return self.render_template("microloan/period_close_list.html", title=_l("Period close"), rows=rows,
                                    suggested=period_close.suggested_period(), today=settings.business_date(),
                                    can_close=self._can("can_close"), can_reopen=self._can("can_reopen"),
                                    money=money)

    @expose("/preview/")
    @has_access
    @permission_name("close")
    def preview(self):
        """The close form: the month's accrual as it would be posted, and the confirmation."""
        period = (request.args.get("period") or "").strip() or period_close.suggested_period()
        accrual, error = None, None
        try:
            accrual = period_close.compute_accrual(period)
            period_close.check_can_close(period)
        except DomainError as exc:
            error = exc
        return self.render_template("microloan/period_close_preview.html", title=_l("Close a month"),
                                    period=period, accrual=accrual, error=error, existing=period_close.get(period),
                                    today=settings.business_date())

    @expose("/close/", methods=["POST"])
    @has_access
    @permission_name("close")
    def close(self):
        period = (request.form.get("period") or "").strip()
        confirm = request.form.get("confirm") in ("1", "y", "on", "true")
        try:
            row = period_close.close(period, g.user, confirm=confirm)
        except DomainError as exc:
            flash(f"未结账：{exc.message}", "danger")
            return redirect(url_for("PeriodCloseView.preview", period=period))
        report = period_close.report_of(row)
        flash(f"{row.period} 已结账，计提利息 {report.get('accrual', {}).get('amount', '0.00')} 元", "success")
        return redirect(url_for("PeriodCloseView.report", pk=row.id))

    @expose("/report/<int:pk>")
    @has_access
    @permission_name("show")
    def report(self, pk):
        row = db.session.get(PeriodClose, pk)
        if row is None:
            abort(404)
        return self.render_template("microloan/period_close_report.html", title=_l("Closing report"), row=row,
                                    report=period_close.report_of(row), can_reopen=self._can("can_reopen"),
                                    money=money)

    @expose("/reopen/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("reopen")
    def reopen(self, pk):
        """反结账 with a reason (GET: the form)."""
        row = db.session.get(PeriodClose, pk)
        if row is None:
            abort(404)
        if request.method == "POST":
            try:
                period_close.reopen(row.id, g.user, request.form.get("reason"))
            except DomainError as exc:
                flash(f"未反结账：{exc.message}", "danger")
                return redirect(url_for("PeriodCloseView.reopen", pk=pk))
            flash(f"{row.period} 已反结账，可以补记该月凭证；补记后请重新结账", "success")
            return redirect(url_for("PeriodCloseView.list"))
        return self.render_template("microloan/period_close_reopen.html", title=_l("Reopen a month"), row=row)


def register_views(appbuilder):
    """期末结算 in the "Finance" menu category (created by app/views/__init__.py)."""
    appbuilder.add_view(PeriodCloseView, "Period close", label=_l("Period close"), icon="fa-lock", category="Finance")
