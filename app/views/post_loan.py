"""风险管理 › 贷后管理 and 违约管理 screens.

View names start with the prefixes the role rules in app/security.py expect: ``PostLoan…``
(tasks, checks, company changes, visits, report: officers and risk reviewers all, managers
read), ``Overdue…`` and ``DueSoon…`` (the installment lists) and ``Default…`` (defaults and
their actions: risk reviewers all, officers and managers read).

Also wired here (imported at app start through register_views): the disbursement hook
(app.services.post_loan registers it on import), the home-page section of the officer's
due and overdue tasks, and two Jinja helpers the loan and customer pages call.
"""
from datetime import date

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterEqualFunction, FilterInFunction
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import or_, select
from wtforms import DateField
from wtforms.validators import InputRequired

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Branch, Customer, Loan
from app.models.post_loan import (
    ACTION_KINDS, CHANGE_TYPES, CHECK_CONCLUSIONS, CHECK_METHODS, COLLATERAL_CONDITIONS, TASK_KINDS,
    TASK_STATUSES, VISIT_METHODS, CompanyChange, DefaultAction, LoanDefault, PostLoanCheck, PostLoanTask,
    PostLoanVisit,
)
from app.services import attachments as attachment_service
from app.services import home, loans, settings
from app.services import loan_defaults as default_service
from app.services import post_loan as service
from app.services.scope import scope_filters, visible_branch_ids
from app.views.base import AppInterface, AppModelView, CheckedModelView, like_term, xlsx_download
from app.views.customers import customer_picker
from app.views.loans import _form_values, _loan_picker
from app.views.widgets import ChoiceField

# -- shared filters ------------------------------------------------------------------------


class LoanLinkedScopeFilter(BaseFilter):
    """Rows of loans the user sees: their branches, or loans granted to them."""

    name = "数据权限"
    arg_name = None

    def apply(self, query, value):
        condition = service.visible_condition(self.model)
        return query if condition is None else query.filter(condition)


class LoanTextFilter(BaseFilter):
    """项目: the loan number (prefix) or the customer's name contains the text typed."""

    name = "包含"
    arg_name = "lnm"

    def apply(self, query, value):
        term = like_term(value)
        return query.filter(self.model.loan_id.in_(
            select(Loan.id).join(Customer, Customer.id == Loan.customer_id)
            .where(or_(Loan.loan_no.like(term.lstrip("%")), Customer.name.like(term)))))


class OpenOverdueFilter(BaseFilter):
    """Open tasks whose due date is before the business date."""

    name = "逾期未完成"
    arg_name = "ood"

    def apply(self, query, value):
        return query.filter(self.model.status == "open", self.model.due_date < settings.business_date())


def _use_loan_text_filter(view):
    """FAB offers no custom search filter per column: the loan column searches by text."""
    by_text = [LoanTextFilter("loan_id", view.datamodel)]
    view._filters.get_search_filters()["loan_id"] = by_text
    view._filters._all_filters["loan_id"] = by_text


def _loan_link(loan):
    return Markup('<a href="{}">{}</a>').format(url_for("LoanView.show", pk=loan.id), loan.loan_no) if loan else ""


def _task_state(value):
    status, due = value
    label = TASK_STATUSES.get(status, status)
    if status == "open" and due < settings.business_date():
        return Markup('<span class="label label-danger">{}</span>').format(_("Overdue"))
    css = {"open": "label-warning", "done": "label-success"}.get(status, "label-default")
    return Markup('<span class="label {}">{}</span>').format(css, label)


def _task_action(value):
    task_id, status = value
    if status != "open":
        return ""
    return Markup('<a class="btn btn-xs btn-primary" href="{}">{}</a>').format(
        url_for("PostLoanCheckView.add", task_id=task_id), _("Record check"))


TASK_LABELS = {
    "loan": _l("Loan"), "loan_id": _l("Loan"), "customer_name": _l("Customer"), "kind": _l("Check type"),
    "kind_label": _l("Check type"), "cause": _l("Cause"), "cause_label": _l("Cause"), "due_date": _l("Check due by"),
    "triggered_on": _l("Opened on"), "officer": _l("Loan officer"), "branch": _l("Branch"), "status": _l("Status"),
    "status_label": _l("Status"), "state": _l("Status"), "reason": _l("Reason"), "completed_on": _l("Completed on"),
    "created_at": _l("Created at"), "action": _l("Action"),
}


# -- 贷后检查任务 ----------------------------------------------------------------------------

class PostLoanTaskView(AppModelView):
    """贷后检查任务: every task in scope, filtered by officer, branch, kind, status and due date."""

    datamodel = AppInterface(PostLoanTask)
    list_title = _l("Post-loan check tasks")
    show_title = _l("Post-loan check task")
    base_permissions = ["can_list", "can_show", "can_cancel"]
    label_columns = TASK_LABELS
    list_columns = ["loan", "customer_name", "kind_label", "due_date", "state", "officer", "branch", "completed_on",
                    "action"]
    search_columns = ["loan_id", "kind", "status", "cause", "due_date", "officer", "branch"]
    order_columns = ["due_date", "completed_on"]
    base_order = ("due_date", "asc")
    formatters_columns = {"state": _task_state, "action": _task_action, "loan": _loan_link,
                          "completed_on": lambda value: value or ""}
    show_template = "microloan/post_loan_task_show.html"
    extra_filters = []

    def __init__(self, **kwargs):
        self.base_filters = [["id", LoanLinkedScopeFilter, None]] + self.extra_filters
        super().__init__(**kwargs)
        _use_loan_text_filter(self)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        task = self.datamodel.get(pk, self._base_filters)
        if task is None:
            abort(404)
        return self.render_template(self.show_template, title=self.show_title, task=task,
                                    as_of=settings.business_date())

    @expose("/cancel/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("cancel")
    def cancel(self, pk):
        try:
            service.cancel_task(pk, g.user, request.form.get("reason"))
            flash(_("The task was cancelled."), "success")
        except DomainError as exc:
            flash(exc.message, "danger")
        return redirect(url_for("PostLoanTaskView.show", pk=pk))


class PostLoanTaskMineView(PostLoanTaskView):
    """我的贷后任务: the current user's open tasks."""

    list_title = _l("My post-loan tasks")
    base_permissions = ["can_list"]
    extra_filters = [["officer_id", FilterEqualFunction, lambda: g.user.id], ["status", FilterEqual, "open"]]


class PostLoanTaskOverdueView(PostLoanTaskView):
    """逾期贷后任务: open tasks past their due date."""

    list_title = _l("Overdue post-loan tasks")
    base_permissions = ["can_list"]
    extra_filters = [["id", OpenOverdueFilter, None]]


# -- 贷后检查记录 ----------------------------------------------------------------------------
CHECK_LABELS = {
    "loan": _l("Loan"), "loan_id": _l("Loan"), "task": _l("Task"), "kind_label": _l("Check type"),
    "checked_on": _l("Check date"), "method": _l("Method"), "method_label": _l("Method"),
    "business_operation": _l("Business operation"), "use_of_funds": _l("Use of funds"),
    "collateral_condition": _l("Collateral condition"), "collateral_label": _l("Collateral condition"),
    "collateral_notes": _l("Collateral notes"), "repayment_ability": _l("Repayment ability"),
    "risk_signals": _l("Risk signals"), "conclusion": _l("Conclusion"), "conclusion_label": _l("Conclusion"),
    "next_actions": _l("Next actions"), "checker": _l("Checked by"), "branch": _l("Branch"),
    "collateral_flagged_on": _l("Collateral flagged on"), "created_at": _l("Created at"),
}


def _parse_date(raw, field, label):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DomainError(f"{label}“{raw}”无效，格式为 YYYY-MM-DD", field) from None


class PostLoanCheckView(AppModelView):
    """贷后检查记录: record a check (completing a task, or ad hoc) with photos and documents."""

    datamodel = AppInterface(PostLoanCheck)
    list_title = _l("Post-loan checks")
    show_title = _l("Post-loan check")
    add_title = _l("Record a post-loan check")
    base_permissions = ["can_list", "can_show", "can_add", "can_flag"]
    label_columns = CHECK_LABELS
    list_columns = ["loan", "checked_on", "kind_label", "method_label", "conclusion_label", "collateral_label",
                    "checker", "branch"]
    search_columns = ["loan_id", "checked_on", "method", "conclusion", "collateral_condition", "checker", "branch"]
    order_columns = ["checked_on"]
    base_order = ("checked_on", "desc")
    formatters_columns = {"loan": _loan_link}

    def __init__(self, **kwargs):
        self.base_filters = [["id", LoanLinkedScopeFilter, None]]
        super().__init__(**kwargs)
        _use_loan_text_filter(self)

    def _form_page(self, values, task, loan, error=None):
        return self.render_template(
            "microloan/post_loan_check_form.html", title=self.add_title, values=values, task=task, loan=loan,
            error=error, methods=CHECK_METHODS, conclusions=CHECK_CONCLUSIONS, conditions=COLLATERAL_CONDITIONS)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        form = request.form if request.method == "POST" else request.args
        task_id = form.get("task_id", type=int)
        task = db.session.get(PostLoanTask, task_id) if task_id else None
        if task is not None and not loans.can_see(task.loan, g.user):
            abort(404)
        loan_id = task.loan_id if task else form.get("loan_id", type=int)
        loan = db.session.get(Loan, loan_id) if loan_id else None
        if loan is not None and not loans.can_see(loan, g.user):
            loan = None
        values = {key: form.get(key, "") for key in (
            "checked_on", "method", "business_operation", "use_of_funds", "collateral_condition", "collateral_notes",
            "repayment_ability", "risk_signals", "conclusion", "next_actions")}
        if request.method == "GET":
            values.update(checked_on=settings.business_date().isoformat(), method="onsite", conclusion="normal",
                          collateral_condition="normal" if loan is not None and loan.collaterals else "na")
            return self._form_page(values, task, loan)
        try:
            data = dict(values, task_id=task.id if task else None, loan_id=loan.id if loan else None,
                        checked_on=_parse_date(values["checked_on"], "checked_on", "检查日期"))
            files = [(f.filename, f.read()) for f in request.files.getlist("files") if f and f.filename]
            check = service.record_check(data, files, g.user)
        except DomainError as exc:
            return self._form_page(values, task, loan, error=exc), 422
        flash(_("The post-loan check was saved."), "success")
        return redirect(url_for("PostLoanCheckView.show", pk=check.id))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        check = self.datamodel.get(pk, self._base_filters)
        if check is None:
            abort(404)
        return self.render_template("microloan/post_loan_check_show.html", title=self.show_title, check=check,
                                    files=attachment_service.for_owner(service.ATTACHMENT_OWNER, check.id))

    @expose("/flag/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("flag")
    def flag(self, pk):
        check = self.datamodel.get(pk, self._base_filters)
        if check is None:
            abort(404)
        try:
            task = service.flag_collateral(check.id, g.user)
            flash(_("Collateral flagged: a special check is due on %(date)s.", date=task.due_date), "warning")
        except DomainError as exc:
            flash(exc.message, "danger")
        return redirect(url_for("PostLoanCheckView.show", pk=pk))


# -- 企业信息变动 -----------------------------------------------------------------------------
CHANGE_LABELS = {
    "customer": _l("Customer"), "change_type": _l("Change type"), "change_type_label": _l("Change type"),
    "changed_on": _l("Change date"), "old_value": _l("Before"), "new_value": _l("After"), "source": _l("Source"),
    "is_flagged": _l("Risk flag"), "flag_label": _l("Risk flag"), "remarks": _l("Remarks"), "branch": _l("Branch"),
    "recorded_by": _l("Recorded by"), "created_at": _l("Created at"),
}


class PostLoanCompanyChangeView(CheckedModelView):
    """企业信息变动情况: legal representative, shareholders, address, litigation …"""

    datamodel = AppInterface(CompanyChange)
    list_title = _l("Company changes")
    show_title = add_title = edit_title = _l("Company change")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    label_columns = CHANGE_LABELS
    list_columns = ["customer", "change_type_label", "changed_on", "old_value", "new_value", "source", "flag_label",
                    "recorded_by"]
    add_columns = edit_columns = ["customer", "change_type", "changed_on", "old_value", "new_value", "source",
                                  "is_flagged", "remarks"]
    show_columns = ["customer", "change_type_label", "changed_on", "old_value", "new_value", "source", "flag_label",
                    "remarks", "branch", "recorded_by", "created_at"]
    search_columns = ["change_type", "changed_on", "is_flagged", "source", "branch"]
    order_columns = ["changed_on"]
    base_order = ("changed_on", "desc")
    description_columns = {"is_flagged": _l("Litigation is always flagged.")}
    extra_filters = []

    def __init__(self, **kwargs):
        self.base_filters = scope_filters() + self.extra_filters
        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "customer": customer_picker(_l("Customer")),
            "change_type": ChoiceField(_l("Change type"), CHANGE_TYPES),
            "changed_on": DateField(_l("Change date"), validators=[InputRequired(message="请填写变动日期")]),
        }
        super().__init__(**kwargs)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            form.changed_on.data = settings.business_date()
            customer_id = request.args.get("customer_id", type=int)
            customer = db.session.get(Customer, customer_id) if customer_id else None
            if customer is not None and loans.can_see_branch(customer.branch_id):
                form.customer.data = customer
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def check_form(self, form, pk):
        service.check_company_change(_form_values(self, CompanyChange, form, pk), g.user)

    def pre_add(self, item):
        service.check_company_change(item, g.user)

    pre_update = pre_add


class PostLoanFlaggedChangeView(PostLoanCompanyChangeView):
    """Flagged company changes only (风险预警)."""

    list_title = _l("Flagged company changes")
    base_permissions = ["can_list", "can_show"]
    extra_filters = [["is_flagged", FilterEqual, True]]


# -- 贷后回访 -------------------------------------------------------------------------------
class PostLoanVisitView(CheckedModelView):
    """贷后回访: a light record of each visit or call after disbursement."""

    datamodel = AppInterface(PostLoanVisit)
    list_title = _l("Post-loan visits")
    show_title = add_title = edit_title = _l("Post-loan visit")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    label_columns = {"loan": _l("Loan"), "loan_id": _l("Loan"), "visited_on": _l("Visit date"),
                     "person_visited": _l("Person visited"), "method": _l("Method"), "method_label": _l("Method"),
                     "content": _l("Content"), "result": _l("Result"), "visitor": _l("Visited by"),
                     "branch": _l("Branch"), "created_at": _l("Created at")}
    list_columns = ["loan", "visited_on", "person_visited", "method_label", "content", "result", "visitor"]
    add_columns = edit_columns = ["loan", "visited_on", "person_visited", "method", "content", "result"]
    show_columns = ["loan", "visited_on", "person_visited", "method_label", "content", "result", "visitor", "branch",
                    "created_at"]
    search_columns = ["loan_id", "visited_on", "method", "visitor", "branch"]
    order_columns = ["visited_on"]
    base_order = ("visited_on", "desc")
    formatters_columns = {"loan": _loan_link}

    def __init__(self, **kwargs):
        self.base_filters = [["id", LoanLinkedScopeFilter, None]]
        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "loan": _loan_picker(), "method": ChoiceField(_l("Method"), VISIT_METHODS),
            "visited_on": DateField(_l("Visit date"), validators=[InputRequired(message="请填写回访日期")]),
        }
        super().__init__(**kwargs)
        _use_loan_text_filter(self)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            form.visited_on.data = settings.business_date()
            loan_id = request.args.get("loan_id", type=int) or request.args.get("_flt_0_loan", type=int)
            loan = db.session.get(Loan, loan_id) if loan_id else None
            if loan is not None and loans.can_see(loan, g.user):
                form.loan.data = loan
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def check_form(self, form, pk):
        service.check_visit(_form_values(self, PostLoanVisit, form, pk), g.user)

    def pre_add(self, item):
        service.check_visit(item, g.user)

    pre_update = pre_add


# -- 贷后调查报告 ----------------------------------------------------------------------------
class PostLoanReportView(BaseView):
    """贷后调查报告: pick a loan and download its report as a Word document."""

    route_base = "/postloan/report"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("list")
    def index(self):
        return self.render_template("microloan/post_loan_report.html", title=_l("Post-loan investigation report"))

    @expose("/download")
    @has_access
    @permission_name("download")
    def download(self):
        from urllib.parse import quote

        from flask import Response

        loan_id = request.args.get("loan_id", type=int)
        loan = db.session.get(Loan, loan_id) if loan_id else None
        if loan is None or not loans.can_see(loan, g.user):
            flash(_("Please choose a loan."), "danger")
            return redirect(url_for("PostLoanReportView.index"))
        try:
            data, name = service.report_docx(loan.id, g.user)
        except DomainError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("PostLoanReportView.index"))
        return Response(data, mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


# -- 逾期未还款查询 / 将到期还款查询 ------------------------------------------------------------
def _branches():
    ids = visible_branch_ids()
    query = select(Branch).order_by(Branch.id)
    if ids is not None:
        query = query.where(Branch.id.in_(ids))
    return db.session.execute(query).scalars().all()


def _officers():
    ids = visible_branch_ids()
    # EXISTS per user (ix_loan_officer_id), not a DISTINCT over every loan.
    query = select(AppUser).where(select(Loan.id).where(Loan.officer_id == AppUser.id).exists()).order_by(
        AppUser.username)
    if ids is not None:
        query = query.where(AppUser.branch_id.in_(ids))
    return db.session.execute(query).scalars().all()


def _filters_from_request(args):
    filters = default_service.InstallmentFilters(
        branch_id=args.get("branch_id", type=int), officer_id=args.get("officer_id", type=int),
        band=args.get("band") or None, q=(args.get("q") or "").strip() or None)
    filters.due_from = _parse_date(args.get("due_from"), "due_from", "应还日期起")
    filters.due_to = _parse_date(args.get("due_to"), "due_to", "应还日期止")
    raw_days = (args.get("days") or "").strip()
    if raw_days:
        try:
            filters.days = int(raw_days)
        except ValueError:
            raise DomainError(f"天数“{raw_days}”应为整数", "days") from None
    return filters


class _InstallmentListView(BaseView):
    default_view = "index"
    template = None
    title = None
    overdue = True

    def _page(self, filters, page):
        raise NotImplementedError

    def _workbook(self, filters):
        raise NotImplementedError

    @expose("/")
    @has_access
    @permission_name("list")
    def index(self):
        error = None
        try:
            filters = _filters_from_request(request.args)
            result = self._page(filters, request.args.get("page", 0, type=int))
        except DomainError as exc:
            error = exc.message
            filters = default_service.InstallmentFilters()
            result = self._page(filters, 0)
        args = {k: v for k, v in request.args.items() if k != "page"}
        return self.render_template(
            self.template, title=self.title, result=result, filters=filters, error=error, args=args,
            branches=_branches(), officers=_officers(), bands=default_service.OVERDUE_BANDS,
            endpoint=self.__class__.__name__)

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        try:
            filters = _filters_from_request(request.args)
            content, name = self._workbook(filters)
        except DomainError as exc:
            flash(exc.message, "danger")
            return redirect(url_for(f"{self.__class__.__name__}.index"))
        return xlsx_download(content, f"{name}_{settings.business_date():%Y%m%d}.xlsx")


class OverdueInstallmentView(_InstallmentListView):
    """逾期未还款查询."""

    route_base = "/overdue"
    template = "microloan/default_overdue.html"
    title = _l("Overdue installment query")

    def _page(self, filters, page):
        return default_service.overdue_installments(filters, g.user, page=page)

    def _workbook(self, filters):
        return default_service.overdue_workbook(filters, g.user), "逾期未还款查询"


class DueSoonInstallmentView(_InstallmentListView):
    """将到期还款查询."""

    route_base = "/duesoon"
    template = "microloan/default_due_soon.html"
    title = _l("Installments due soon")
    overdue = False

    def _page(self, filters, page):
        return default_service.due_soon_installments(filters, g.user, page=page)

    def _workbook(self, filters):
        return default_service.due_soon_workbook(filters, g.user), "将到期还款查询"


# -- 小额贷款违约 ------------------------------------------------------------------------------
DEFAULT_LABELS = {
    "loan": _l("Loan"), "loan_id": _l("Loan"), "customer_name": _l("Customer"), "officer": _l("Loan officer"),
    "declared_on": _l("Declared on"), "reason": _l("Reason"), "declared_by": _l("Declared by"),
    "status": _l("Status"), "status_label": _l("Status"), "resolved_on": _l("Resolved on"),
    "resolution": _l("Resolution"), "branch": _l("Branch"), "created_at": _l("Created at"),
}


class DefaultLoanView(CheckedModelView):
    """小额贷款违约: loans declared in default and the actions taken (risk reviewers edit)."""

    datamodel = AppInterface(LoanDefault)
    list_title = _l("Loans in default")
    show_title = add_title = edit_title = _l("Loan in default")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_export", "can_resolve"]
    label_columns = DEFAULT_LABELS
    list_columns = ["loan", "customer_name", "officer", "branch", "declared_on", "reason", "declared_by",
                    "status_label"]
    add_columns = ["loan", "declared_on", "reason"]
    edit_columns = ["declared_on", "reason"]
    search_columns = ["loan_id", "status", "declared_on", "declared_by", "branch"]
    order_columns = ["declared_on"]
    base_order = ("declared_on", "desc")
    formatters_columns = {"loan": _loan_link}
    list_template = "microloan/list.html"

    def __init__(self, **kwargs):
        self.base_filters = [["id", LoanLinkedScopeFilter, None]]
        self.extra_args = {"list_tools": [(_l("Export to Excel"), "DefaultLoanView.export", "can_export",
                                           "DefaultLoanView", True)]}
        self.add_form_extra_fields = {
            "loan": _loan_picker(),
            "declared_on": DateField(_l("Declared on"), validators=[InputRequired(message="请填写认定日期")])}
        self.edit_form_extra_fields = {
            "declared_on": DateField(_l("Declared on"), validators=[InputRequired(message="请填写认定日期")])}
        super().__init__(**kwargs)
        _use_loan_text_filter(self)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            form.declared_on.data = settings.business_date()
            loan_id = request.args.get("loan_id", type=int)
            loan = db.session.get(Loan, loan_id) if loan_id else None
            if loan is not None and loans.can_see(loan, g.user):
                form.loan.data = loan
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def check_form(self, form, pk):
        with db.session.no_autoflush:
            default_service.check_declaration(_form_values(self, LoanDefault, form, pk), g.user)

    def pre_add(self, item):
        default_service.check_declaration(item, g.user)

    pre_update = pre_add

    def post_add_redirect(self):
        return redirect(url_for("DefaultLoanView.list"))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        return self.render_template("microloan/default_show.html", title=self.show_title, item=item,
                                    today=settings.business_date())

    @expose("/resolve/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("resolve")
    def resolve(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        try:
            default_service.resolve(item.id, _parse_date(request.form.get("resolved_on"), "resolved_on", "结案日期"),
                                    request.form.get("resolution"), g.user)
            flash(_("The default was closed."), "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for("DefaultLoanView.show", pk=pk))

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        from flask_appbuilder.urltools import get_filter_args

        get_filter_args(self._filters, disallow_if_not_in_search=False)
        joined = self._filters.get_joined_filters(self._base_filters)
        _count, rows = self.datamodel.query(joined, "declared_on", "desc")
        content = default_service.defaults_workbook(rows)
        return xlsx_download(content, f"小额贷款违约_{settings.business_date():%Y%m%d}.xlsx")


def _visible_default_ids():
    # Not only the open ones: a closed default is refused by the service with its reason
    # (a hidden field's "not a valid choice" would not show on the page).
    query = select(LoanDefault.id)
    condition = service.visible_condition(LoanDefault)
    return query.where(condition) if condition is not None else query


class DefaultActionView(CheckedModelView):
    """违约处置措施: calls, letters, visits and legal steps, with outcome and next step."""

    datamodel = AppInterface(DefaultAction)
    list_title = _l("Default actions")
    show_title = add_title = edit_title = _l("Default action")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    label_columns = {"default": _l("Loan in default"), "action_on": _l("Date"), "kind": _l("Action type"),
                     "kind_label": _l("Action type"), "description": _l("Description"), "outcome": _l("Outcome"),
                     "next_step": _l("Next step"), "next_on": _l("Next step date"), "recorded_by": _l("Recorded by"),
                     "created_at": _l("Created at")}
    list_columns = ["default", "action_on", "kind_label", "description", "outcome", "next_step", "next_on",
                    "recorded_by"]
    add_columns = edit_columns = ["default", "action_on", "kind", "description", "outcome", "next_step", "next_on"]
    show_columns = ["default", "action_on", "kind_label", "description", "outcome", "next_step", "next_on",
                    "recorded_by", "created_at"]
    search_columns = ["action_on", "kind", "next_on"]
    base_order = ("action_on", "desc")
    base_filters = [["default_id", FilterInFunction, lambda: select(LoanDefault.id).where(
        service.visible_condition(LoanDefault) if service.visible_condition(LoanDefault) is not None else True)]]
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "default": [["id", FilterInFunction, _visible_default_ids]]}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": ChoiceField(_l("Action type"), ACTION_KINDS),
        "action_on": DateField(_l("Date"), validators=[InputRequired(message="请填写措施日期")]),
    }

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            form.action_on.data = settings.business_date()
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def check_form(self, form, pk):
        values = _form_values(self, DefaultAction, form, pk)
        with db.session.no_autoflush:
            default_service.check_action(values, g.user)

    def pre_add(self, item):
        default_service.check_action(item, g.user)

    pre_update = pre_add

    def post_add_redirect(self):
        default_id = request.args.get("_flt_0_default", type=int)
        return redirect(url_for("DefaultLoanView.show", pk=default_id) if default_id else self.get_redirect())

    post_edit_redirect = post_add_redirect


# -- home page and the loan / customer pages -----------------------------------------------
@home.register_section
def _post_loan_section(user):
    """Home: the officer's open post-loan tasks that are overdue or due within the next days."""
    if user is None or not user.is_authenticated:
        return None
    if not current_sm().has_access("can_list", "PostLoanTaskView"):
        return None
    as_of = settings.business_date()
    rows, count = service.my_due_tasks(user, as_of, days=home.upcoming_days())
    if not count:
        return None

    def state(due):
        if due < as_of:
            return Markup('<span class="label label-danger">{}</span>').format(_("Overdue"))
        return _("Due in %(days)s days", days=(due - as_of).days)

    return {"id": "post-loan-tasks", "title": _("My post-loan check tasks"), "count": count,
            "headers": [_("Loan number"), _("Customer"), _("Check type"), _("Due date"), _("Status"), ""],
            "rows": [[Markup('<a href="{}">{}</a>').format(url_for("LoanView.show", pk=r.loan_id), r.loan_no),
                      r.customer_name, TASK_KINDS.get(r.kind, r.kind), r.due_date.isoformat(), state(r.due_date),
                      Markup('<a href="{}">{}</a>').format(url_for("PostLoanCheckView.add", task_id=r.id),
                                                            _("Record check"))] for r in rows],
            "link": url_for("PostLoanTaskMineView.list"), "empty": ""}


def current_sm():
    from flask import current_app

    return current_app.appbuilder.sm


def post_loan_of(loan):
    """Jinja helper for the loan page's 贷后检查 tab (None where the user may not list tasks)."""
    if loan.status not in service.VISITED_STATUSES or not current_sm().has_access("can_list", "PostLoanTaskView"):
        return None
    return service.loan_overview(loan)


def company_change_flags(customer):
    """Jinja helper for the customer page: the customer's flagged company changes."""
    if customer.kind not in service.COMPANY_KINDS:
        return []
    return service.flagged_changes(customer)


def register_views(appbuilder):
    """Add this module's views and menu entries (category "Risk")."""
    add = appbuilder.add_view
    add(PostLoanTaskView, "Post-loan check tasks", label=_l("Post-loan check tasks"), icon="fa-tasks", category="Risk")
    add(PostLoanTaskMineView, "My post-loan tasks", label=_l("My post-loan tasks"), icon="fa-user",
        category="Risk")
    add(PostLoanTaskOverdueView, "Overdue post-loan tasks", label=_l("Overdue post-loan tasks"),
        icon="fa-exclamation-triangle", category="Risk")
    add(PostLoanCheckView, "Post-loan checks", label=_l("Post-loan checks"), icon="fa-search", category="Risk")
    add(PostLoanVisitView, "Post-loan visits", label=_l("Post-loan visits"), icon="fa-comments", category="Risk")
    add(PostLoanCompanyChangeView, "Company changes", label=_l("Company changes"), icon="fa-building",
        category="Risk")
    add(PostLoanFlaggedChangeView, "Flagged company changes", label=_l("Flagged company changes"), icon="fa-flag",
        category="Risk")
    add(PostLoanReportView, "Post-loan investigation report", label=_l("Post-loan investigation report"),
        icon="fa-file-word-o", category="Risk")
    add(OverdueInstallmentView, "Overdue installments", label=_l("Overdue installment query"), icon="fa-clock-o",
        category="Risk")
    add(DueSoonInstallmentView, "Installments due soon", label=_l("Installments due soon"), icon="fa-calendar",
        category="Risk")
    add(DefaultLoanView, "Loans in default", label=_l("Loans in default"), icon="fa-gavel", category="Risk")
    appbuilder.add_view_no_menu(DefaultActionView)
    from flask import current_app

    # The loan and customer pages call these (guarded by "is defined").
    current_app.jinja_env.globals.update(post_loan_of=post_loan_of, company_change_flags=company_change_flags)

