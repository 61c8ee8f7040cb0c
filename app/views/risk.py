"""风险管理 screens of the batch and classification (issue #9 §1–3):

- 日终批处理 (BatchView): the runs with their step timings; Admin runs it for a date;
- 五级分类 (ClassificationView): the portfolio by class with a chart, and the parameters;
- 分类调整历史 (ClassificationChangeView): every change, filterable;
- 五级人工评定 (ClassificationAssessmentView): propose a class with reason → approval flow;
- 拨备 (ProvisionView): the provision report for a date; finance books a month end.

View names start with Batch / Classification / Provision so the role rules reach them.
"""
from datetime import date

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Loan
from app.models.risk import CLASS_LABELS, ClassificationAssessment, ClassificationChange
from app.services import batch, classification, loans, provisions, settings
from app.services import workflow as workflow_service
from app.views.base import AppInterface, AppModelView


def _date_arg(value, default=None):
    try:
        return date.fromisoformat((value or "").strip()) if value else default
    except ValueError:
        raise DomainError(f"日期“{value}”格式应为 YYYY-MM-DD", "as_of") from None


class BatchView(BaseView):
    route_base = "/batch"
    default_view = "list"

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        from sqlalchemy import select

        from app.models.risk import BatchRun

        runs = db.session.execute(select(BatchRun).order_by(BatchRun.id.desc()).limit(60)).scalars().all()
        today = settings.business_date()
        return self.render_template(
            "microloan/batch_list.html", title=_l("Nightly batch"), runs=runs, steps=batch.step_seconds,
            today=today, last=batch.last_success(), next_day=date.fromordinal(today.toordinal() + 1),
            can_run=self.appbuilder.sm.has_access("can_run", self.__class__.__name__))

    @expose("/run/", methods=["POST"])
    @has_access
    @permission_name("run")
    def run(self):
        try:
            as_of = _date_arg(request.form.get("as_of"))
            if as_of is None:
                raise DomainError("请选择运行到的营业日期", "as_of")
            runs = batch.run(as_of, user=g.user, trigger="button")
            flash(f"日终批处理完成：{runs[0].as_of} 至 {runs[-1].as_of}，共 {len(runs)} 天，营业日期现为 "
                  f"{settings.business_date()}", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(f"日终批处理未完成：{exc.message}", "danger")
        return redirect(url_for("BatchView.list"))


class ClassificationView(BaseView):
    route_base = "/classification"
    default_view = "portfolio"

    @expose("/portfolio/")
    @has_access
    @permission_name("list")
    def portfolio(self):
        rows, total = classification.portfolio(g.user)
        return self.render_template("microloan/classification_portfolio.html", title=_l("Five-level classification"),
                                    rows=rows, total=total, today=settings.business_date(),
                                    thresholds=[(CLASS_LABELS[code], settings.get(key))
                                                for code, key in batch.FLOOR_PARAMETERS],
                                    can_edit=self.appbuilder.sm.has_access("can_edit", "SettingView"))


CHANGE_LABELS = {
    "loan": _l("Loan"), "changed_on": _l("Date"), "from_label": _l("From"), "to_label": _l("To"),
    "source": _l("Source"), "overdue_days": _l("Overdue days"), "reason": _l("Reason"),
    "from_class": _l("From"), "to_class": _l("To"),
}


class ClassificationChangeView(AppModelView):
    datamodel = AppInterface(ClassificationChange)
    list_title = _l("Classification history")
    base_permissions = ["can_list", "can_show"]
    label_columns = CHANGE_LABELS
    list_columns = ["changed_on", "loan", "from_label", "to_label", "source", "overdue_days", "reason"]
    show_columns = list_columns
    search_columns = ["changed_on", "to_class", "source"]
    order_columns = ["changed_on"]
    base_order = ("id", "desc")
    base_filters = [["loan_id", loans.LoanScopeFilter, None]]


ASSESSMENT_LABELS = {
    "loan": _l("Loan"), "proposed_label": _l("Proposed class"), "floor_label": _l("Automatic floor"),
    "current_class": _l("Class when proposed"), "overdue_days": _l("Overdue days"), "reason": _l("Reason and evidence"),
    "status_label": _l("Status"), "proposed_by": _l("Proposed by"), "proposed_at": _l("Proposed at"),
    "decided_on": _l("Decided on"), "status": _l("Status"), "proposed_class": _l("Proposed class"),
}


class ClassificationAssessmentView(AppModelView):
    datamodel = AppInterface(ClassificationAssessment)
    list_title = _l("Manual classification")
    base_permissions = ["can_list", "can_show", "can_propose"]
    base_filters = [["loan_id", loans.LoanScopeFilter, None]]
    label_columns = ASSESSMENT_LABELS
    list_columns = ["loan", "proposed_label", "floor_label", "overdue_days", "status_label", "proposed_by",
                    "proposed_at"]
    search_columns = ["status", "proposed_class", "proposed_at"]
    order_columns = ["proposed_at"]
    base_order = ("id", "desc")

    def _get(self, pk):
        item = db.session.get(ClassificationAssessment, pk)
        if item is None or not loans.can_see(item.loan, g.user):
            abort(404)
        return item

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self._get(pk)
        return self.render_template("microloan/classification_assessment_show.html", title=_l("Manual classification"),
                                    item=item, labels=ASSESSMENT_LABELS, class_label=CLASS_LABELS.get,
                                    approval=workflow_service.panel("classification", item.id, g.user))

    @expose("/propose/", methods=["GET", "POST"])
    @has_access
    @permission_name("propose")
    def propose(self):
        form = request.form if request.method == "POST" else request.args
        loan = None
        if form.get("loan"):
            try:
                loan = db.session.get(Loan, int(form["loan"]))
            except ValueError:
                loan = None
            if loan is not None and not loans.can_see(loan, g.user):
                loan = None
        if request.method == "POST":
            try:
                item = classification.propose(loan.id if loan else None, form.get("proposed_class"),
                                              form.get("reason"), g.user)
                flash(f"项目 {item.loan.loan_no} 的五级分类评定已提交审批", "success")
                return redirect(url_for("ClassificationAssessmentView.show", pk=item.id))
            except DomainError as exc:
                db.session.rollback()
                flash(f"未提交：{exc.message}", "danger")
        floor = classification.floor_of(loan) if loan is not None else None
        return self.render_template("microloan/classification_propose.html", title=_l("Propose a classification"),
                                    loan=loan, floor=floor, classes=CLASS_LABELS, values=form)


class ProvisionView(BaseView):
    route_base = "/provision"
    default_view = "report"

    @expose("/report/")
    @has_access
    @permission_name("list")
    def report(self):
        dates = provisions.snapshot_dates()
        try:
            as_of = _date_arg(request.args.get("as_of"), dates[0] if dates else settings.business_date())
        except DomainError as exc:
            flash(exc.message, "danger")
            as_of = dates[0] if dates else settings.business_date()
        return self.render_template(
            "microloan/provision_report.html", title=_l("Loan loss provisions"), as_of=as_of, dates=dates,
            result=provisions.report(as_of), labels=CLASS_LABELS, bookings=provisions.bookings(),
            month_end=provisions.last_month_end(),
            can_book=self.appbuilder.sm.has_access("can_book", self.__class__.__name__))

    @expose("/book/", methods=["POST"])
    @has_access
    @permission_name("book")
    def book(self):
        try:
            period_end = _date_arg(request.form.get("period_end"))
            row = provisions.book(period_end, g.user)
            done = f"凭证 {row.voucher.voucher_no}" if row.voucher else "无需调整"
            flash(f"{row.period_end} 拨备已计提：应提 {row.required:,.2f} 元，调整 {row.amount:,.2f} 元（{done}）", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(f"未计提：{exc.message}", "danger")
        return redirect(url_for("ProvisionView.report", as_of=request.form.get("period_end") or None))


def register_views(appbuilder):
    # The loan page's 五级分类 tab reads these (app/templates/microloan/_loan_classification.html).
    current_app.jinja_env.globals.update(classification_history=classification.history,
                                            class_label=lambda code: CLASS_LABELS.get(code, code or ""))
    add = appbuilder.add_view
    add(ClassificationView, "Five-level classification", label=_l("Five-level classification"), icon="fa-signal",
        category="Risk")
    add(ClassificationAssessmentView, "Manual classification", label=_l("Manual classification"), icon="fa-gavel",
        category="Risk")
    add(ClassificationChangeView, "Classification history", label=_l("Classification history"), icon="fa-history",
        category="Risk")
    add(ProvisionView, "Loan loss provisions", label=_l("Loan loss provisions"), icon="fa-umbrella", category="Risk")
    add(BatchView, "Nightly batch", label=_l("Nightly batch"), icon="fa-moon-o", category="Risk")
