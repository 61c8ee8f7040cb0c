"""授信 screens: customer credit lines (application, approval panel, usage, loans on the line,
freeze / close) under 风险管理, and the bank credit lines granted to us with their drawdowns
and repayments under 财务管理.

View names follow the role rules in app/security.py: ``CreditLine…View`` (officers apply,
risk reviewers decide and manage, managers and approvers read), ``BankCredit…View``
(finance records, officers and managers read).
"""
from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import or_, select
from wtforms import BooleanField, DateField
from wtforms.validators import InputRequired, Optional

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Bank, Customer, LoanProduct
from app.models.credit_line import BANK_ENTRY_KINDS, BANK_LINE_STATUSES, BankCreditLine, BankDrawdown, CreditLine
from app.services import credit_lines as service
from app.services import home, settings
from app.services import workflow as workflow_service
from app.services.scope import can_see_branch, scope_filters
from app.views.base import AppInterface, CheckedModelView, like_term
from app.views.widgets import AjaxModelField, ChoiceField, MoneyField


def _money(value):
    return "" if value is None else f"{value:,.2f}"


def _fmt_dt(value):
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _end_date(value):
    """An end date in the past is marked: the line has expired (已到期)."""
    if value is None:
        return ""
    return f"{value:%Y-%m-%d}（已到期）" if value < settings.business_date() else f"{value:%Y-%m-%d}"


# -- the loan form's picker: the chosen customer's usable lines only -------------------------
class CreditLinePickerWidget:
    """A select that searches ``CreditLineView.search`` with the customer chosen in the same
    form (``#customer``), so it offers that customer's usable lines and nothing else."""

    def __call__(self, field, **kwargs):
        current = field.data
        option = Markup('<option value="{}" selected>{}</option>').format(current.id, str(current)) if current else ""
        select = Markup('<select id="{id}" name="{name}" class="form-control ml-credit-line-picker" data-url="{url}" '
                        'data-placeholder="{ph}" style="width:100%"><option value=""></option>{opt}</select>').format(
            id=field.id, name=field.name, url=url_for("CreditLineView.search"),
            ph=str(_l("Optional: a credit line of this customer")), opt=option)
        return select   # app/static/js/microloan.js wires it to the customer field


class CreditLineField(AjaxModelField):
    """An optional AJAX picker of credit lines with the widget above."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, model=CreditLine, endpoint="CreditLineView.search",
                         allowed=lambda line: can_see_branch(line.branch_id), **kwargs)
        self.widget = CreditLinePickerWidget()


def credit_line_picker(label=None):
    """The loan form's 授信 field (optional): a line of the loan's customer, in scope."""
    return CreditLineField(label or _l("Credit line"), validators=[Optional()])


# -- customer credit lines --------------------------------------------------------------------
class CustomerNameFilter(BaseFilter):
    """Lines whose customer's name, number or ID contains the text typed."""

    name = "包含"
    arg_name = "cnm"

    def apply(self, query, value):
        term = like_term(value)
        return query.filter(CreditLine.customer_id.in_(select(Customer.id).where(or_(
            Customer.name.like(term), Customer.customer_no.like(term), Customer.id_number.like(term),
            Customer.credit_code.like(term)))))


class CustomerIdFilter(BaseFilter):
    """The customer page's link: the lines of one customer (by id)."""

    name = "客户编号（内部）"
    arg_name = "cid"

    def apply(self, query, value):
        try:
            return query.filter(CreditLine.customer_id == int(value[0] if isinstance(value, (list, tuple)) else value))
        except (TypeError, ValueError):
            return query


def _enabled_products():
    return select(LoanProduct.id).where(LoanProduct.is_enabled.is_(True))


LINE_LABELS = {
    "line_no": _l("Credit line no."), "customer": _l("Customer"), "customer_id": _l("Customer"),
    "branch": _l("Branch"), "limit_amount": _l("Credit limit (yuan)"), "start_date": _l("Line start date"),
    "end_date": _l("Line end date"), "revolving": _l("Revolving"), "kind_label": _l("Line type"),
    "status": _l("Status"), "status_label": _l("Status"), "products": _l("Products (none: any)"),
    "product_label": _l("Products"), "remarks": _l("Remarks"), "status_reason": _l("Freeze / close reason"),
    "created_by": _l("Applicant"), "created_at": _l("Applied at"), "submitted_at": _l("Submitted at"),
    "decided_at": _l("Decided at"),
}


class CreditLineView(CheckedModelView):
    """客户授信: applications, approval, usage and the loans drawing on each line."""

    datamodel = AppInterface(CreditLine)
    list_title = _l("Customer credit lines")
    show_title = _l("Customer credit line")
    add_title = _l("Apply for a credit line")
    edit_title = _l("Edit credit line application")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_submit", "can_manage"]
    base_filters = scope_filters()
    label_columns = LINE_LABELS
    list_columns = ["line_no", "customer", "limit_amount", "start_date", "end_date", "kind_label", "status_label",
                    "branch", "created_at"]
    add_columns = edit_columns = ["customer", "limit_amount", "start_date", "end_date", "revolving", "products",
                                  "remarks"]
    search_columns = ["line_no", "customer_id", "status", "revolving", "limit_amount", "start_date", "end_date",
                      "created_at"]
    order_columns = ["line_no", "limit_amount", "start_date", "end_date", "created_at"]
    base_order = ("created_at", "desc")
    list_template = "microloan/list.html"
    formatters_columns = {"limit_amount": _money, "created_at": _fmt_dt, "end_date": _end_date}
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "products": [["id", FilterInFunction, _enabled_products]]}

    def __init__(self, **kwargs):
        fields = {
            "customer": AjaxModelField(
                _l("Customer"), validators=[InputRequired(message="请选择授信客户")], model=Customer,
                endpoint="CustomerView.search", placeholder=_l("Type a name, ID number or mobile"),
                allowed=lambda customer: can_see_branch(customer.branch_id)),
            "limit_amount": MoneyField(_l("Credit limit (yuan)")),
            "start_date": DateField(_l("Line start date"), validators=[InputRequired(message="请填写授信起始日")]),
            "end_date": DateField(_l("Line end date"), validators=[InputRequired(message="请填写授信到期日")]),
            "revolving": BooleanField(_l("Revolving"), default=True,
                                      description=_l("Repaid principal becomes available again")),
        }
        self.add_form_extra_fields = self.edit_form_extra_fields = fields
        super().__init__(**kwargs)
        # The customer column is searched by name (a drop-down would load every customer).
        by_customer = [CustomerNameFilter("customer_id", self.datamodel), CustomerIdFilter("customer_id", self.datamodel)]
        self._filters.get_search_filters()["customer_id"] = by_customer
        self._filters._all_filters["customer_id"] = by_customer

    # -- forms: checked by the service with the input kept, then again on save ---------------
    def check_form(self, form, pk):
        existing = None
        if pk:
            existing = self.datamodel.get(pk, self._base_filters)
            if existing is None:
                raise DomainError("授信不存在或无权访问")
            if not existing.is_editable:
                raise DomainError(f"授信当前状态为“{existing.status_label}”，不能修改")
        with db.session.no_autoflush:
            line = CreditLine(customer=form.customer.data, limit_amount=form.limit_amount.data,
                              start_date=form.start_date.data, end_date=form.end_date.data,
                              revolving=bool(form.revolving.data))
            line.products = list(form.products.data or [])
            try:
                service.check_line(line)
            finally:
                if line in db.session:
                    db.session.expunge(line)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            today = settings.business_date()
            form.start_date.data = form.start_date.data or today
            if form.end_date.data is None:
                try:
                    form.end_date.data = today.replace(year=today.year + 1)
                except ValueError:  # 29 February
                    form.end_date.data = today.replace(year=today.year + 1, day=28)
            customer_id = request.args.get("customer_id", type=int)
            if customer_id:
                customer = db.session.get(Customer, customer_id)
                if customer is not None and can_see_branch(customer.branch_id):
                    form.customer.data = customer
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def pre_add(self, item):
        service.save_draft(item, g.user)

    def pre_update(self, item):
        service.save_draft(item, g.user)

    def pre_delete(self, item):
        service.delete_check(item)

    def post_add_redirect(self):
        return redirect(url_for("CreditLineView.list"))

    def _get_line(self, pk):
        line = self.datamodel.get(pk, self._base_filters)
        if line is None:
            abort(404)
        return line

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        line = self._get_line(pk)
        if not line.is_editable:
            flash(f"授信 {line.line_no} 当前状态为“{line.status_label}”，不能修改", "warning")
            return redirect(url_for("CreditLineView.show", pk=line.id))
        return super().edit(pk)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        line = self._get_line(pk)
        sm = self.appbuilder.sm
        name = self.__class__.__name__
        return self.render_template(
            "microloan/credit_line_show.html", title=_l("Customer credit line"), line=line, labels=LINE_LABELS,
            status_label=service.effective_status_label(line), usage=service.usage(line),
            loans=service.loans_of(line), approval=workflow_service.panel("credit_line", line.id, g.user),
            can_edit=line.is_editable and sm.has_access("can_edit", name),
            can_submit=line.is_editable and sm.has_access("can_submit", name),
            can_manage=sm.has_access("can_manage", name), can_add_loan=sm.has_access("can_add", "LoanView"))

    @expose("/submit/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("submit")
    def submit(self, pk):
        line = self._get_line(pk)
        try:
            service.submit(line.id, g.user, request.form.get("opinion") or None)
            flash(f"授信 {line.line_no} 已提交审批", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(f"提交失败：{exc.message}", "danger")
        return redirect(url_for("CreditLineView.show", pk=pk))

    @expose("/manage/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("manage")
    def manage(self, pk):
        """冻结 / 解冻 / 关闭 with a reason."""
        line = self._get_line(pk)
        actions = {"freeze": (service.freeze, "已冻结"), "unfreeze": (service.unfreeze, "已解冻"),
                   "close": (service.close, "已关闭")}
        action = actions.get(request.form.get("action", ""))
        if action is None:
            abort(400)
        try:
            action[0](line.id, g.user, request.form.get("reason"))
            flash(f"授信 {line.line_no} {action[1]}", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for("CreditLineView.show", pk=pk))

    @expose("/search")
    @has_access
    @permission_name("list")
    def search(self):
        """The loan form's picker: usable lines of the customer given (``customer``)."""
        customer_id = request.args.get("customer", type=int)
        if not customer_id:
            return jsonify({"results": []})
        lines = service.usable_lines(customer_id, request.args.get("q", ""), g.user)
        results = []
        for line in lines:
            left = service.usage(line).available
            results.append({"id": line.id, "text": f"{line.line_no}（{line.kind_label}，至 {line.end_date:%Y-%m-%d}，"
                                                   f"可用 {left:,.2f} 元）"})
        return jsonify({"results": results})


# -- bank credit lines -------------------------------------------------------------------------
BANK_LABELS = {
    "bank": _l("Bank"), "contract_no": _l("Credit contract no."), "limit_amount": _l("Credit limit (yuan)"),
    "start_date": _l("Line start date"), "end_date": _l("Line end date"), "annual_rate": _l("Annual rate (%)"),
    "status": _l("Status"), "status_label": _l("Status"), "remarks": _l("Remarks"), "created_by": _l("Created by"),
    "created_at": _l("Created at"),
}
ENTRY_LABELS = {
    "line": _l("Bank credit line"), "kind": _l("Record type"), "kind_label": _l("Record type"),
    "amount": _l("Amount (yuan)"), "occurred_on": _l("Date"), "due_date": _l("Due date"), "remarks": _l("Remarks"),
    "created_by": _l("Recorded by"), "created_at": _l("Recorded at"),
    "margin_amount": _l("Margin deposit (yuan)"), "interest_amount": _l("Interest paid (yuan)"),
    "fund_account": _l("Bank account"), "voucher": _l("Voucher"),
}


def _active_banks():
    return select(Bank.id).where(Bank.is_active.is_(True))


class BankCreditLineView(CheckedModelView):
    """银行授信: lines banks granted to us, their drawn balance and the funding leverage."""

    datamodel = AppInterface(BankCreditLine)
    list_title = _l("Bank credit lines")
    show_title = add_title = edit_title = _l("Bank credit line")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    label_columns = BANK_LABELS
    list_columns = ["bank", "contract_no", "limit_amount", "start_date", "end_date", "annual_rate", "status_label"]
    add_columns = edit_columns = ["bank", "contract_no", "limit_amount", "start_date", "end_date", "annual_rate",
                                  "status", "remarks"]
    search_columns = ["bank", "contract_no", "status", "start_date", "end_date"]
    order_columns = ["contract_no", "limit_amount", "start_date", "end_date"]
    base_order = ("end_date", "desc")
    formatters_columns = {"limit_amount": _money, "end_date": _end_date}
    add_form_query_rel_fields = edit_form_query_rel_fields = {"bank": [["id", FilterInFunction, _active_banks]]}
    add_form_extra_fields = edit_form_extra_fields = {
        "limit_amount": MoneyField(_l("Credit limit (yuan)")),
        "start_date": DateField(_l("Line start date"), validators=[InputRequired(message="请填写授信起始日")]),
        "end_date": DateField(_l("Line end date"), validators=[InputRequired(message="请填写授信到期日")]),
        "annual_rate": MoneyField(_l("Annual rate (%)")),
        "status": ChoiceField(_l("Status"), BANK_LINE_STATUSES),
    }

    def check_form(self, form, pk):
        line = BankCreditLine(id=int(pk) if pk else None, bank_id=form.bank.data.id if form.bank.data else None,
                              limit_amount=form.limit_amount.data, start_date=form.start_date.data,
                              end_date=form.end_date.data, annual_rate=form.annual_rate.data,
                              status=form.status.data)
        service.check_bank_line(line)

    def pre_add(self, item):
        service.save_bank_line(item, g.user)

    pre_update = pre_add

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        line = self.datamodel.get(pk)
        if line is None:
            abort(404)
        drawn = service.bank_balance(line.id)
        return self.render_template(
            "microloan/credit_line_bank_show.html", title=_l("Bank credit line"), line=line, labels=BANK_LABELS,
            drawn=drawn, available=max(line.limit_amount - drawn, 0), position=service.funding_position(),
            can_record=self.appbuilder.sm.has_access("can_add", "BankCreditDrawdownView"),
            can_edit=self.appbuilder.sm.has_access("can_edit", self.__class__.__name__))


class BankCreditDrawdownView(CheckedModelView):
    """银行借款记录: drawdowns (checked against the line and the funding-leverage limit) and
    repayments. Records are not edited or deleted: a mistake is corrected by a new record."""

    datamodel = AppInterface(BankDrawdown)
    list_title = _l("Bank borrowings and repayments")
    show_title = add_title = _l("Bank borrowing record")
    base_permissions = ["can_list", "can_show", "can_add"]
    label_columns = ENTRY_LABELS
    list_columns = ["occurred_on", "line", "kind_label", "amount", "margin_amount", "interest_amount", "due_date",
                    "fund_account", "voucher", "remarks", "created_by"]
    add_columns = ["line", "kind", "amount", "margin_amount", "interest_amount", "occurred_on", "due_date",
                   "fund_account", "remarks"]
    show_columns = ["line", "kind_label", "amount", "margin_amount", "interest_amount", "occurred_on", "due_date",
                    "fund_account", "voucher", "remarks", "created_by", "created_at"]
    description_columns = {
        "margin_amount": _l("Borrowing: margin deposit paid to the bank; repayment: margin the bank returned"),
        "interest_amount": _l("Interest paid to the bank with this record"),
        "fund_account": _l("The bank account the money went through; the record is posted to the ledger "
                           "(short-term borrowing, margin deposits paid, finance expenses)"),
    }
    add_form_query_rel_fields = {"fund_account": [["id", FilterInFunction, service.bank_fund_account_ids]]}
    search_columns = ["line", "kind", "occurred_on", "amount"]
    order_columns = ["occurred_on", "amount"]
    base_order = ("occurred_on", "desc")
    formatters_columns = {"amount": _money, "margin_amount": _money, "interest_amount": _money,
                          "created_at": _fmt_dt}
    add_form_extra_fields = {
        "kind": ChoiceField(_l("Record type"), BANK_ENTRY_KINDS),
        "amount": MoneyField(_l("Amount (yuan)")),
        "margin_amount": MoneyField(_l("Margin deposit (yuan)")),
        "interest_amount": MoneyField(_l("Interest paid (yuan)")),
        "occurred_on": DateField(_l("Date"), validators=[InputRequired(message="请填写日期")]),
        "due_date": DateField(_l("Due date"), validators=[Optional()]),
    }

    def check_form(self, form, pk):
        entry = BankDrawdown(bank_credit_line_id=form.line.data.id if form.line.data else None,
                             kind=form.kind.data, amount=form.amount.data, occurred_on=form.occurred_on.data,
                             due_date=form.due_date.data, margin_amount=form.margin_amount.data,
                             interest_amount=form.interest_amount.data, fund_account=form.fund_account.data)
        service.check_entry(entry)
        service.entry_fund_account(entry)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            form.occurred_on.data = form.occurred_on.data or settings.business_date()
            line_id = request.args.get("line_id", type=int)
            if line_id:
                form.line.data = db.session.get(BankCreditLine, line_id)
            if request.args.get("kind") in BANK_ENTRY_KINDS:
                form.kind.data = request.args["kind"]
            if form.fund_account.data is None:
                accounts = service.bank_fund_accounts()
                form.fund_account.data = accounts[0] if accounts else None
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def pre_add(self, item):
        service.record(item, g.user)

    def post_add_redirect(self):
        line_id = request.args.get("line_id", type=int)
        return redirect(url_for("BankCreditLineView.show", pk=line_id) if line_id else url_for(
            "BankCreditDrawdownView.list"))


def _customer_lines(customer_id):
    """The customer's lines with their usage (template global, see credit_line_customer_section.html)."""
    return service.customer_summary(customer_id)


def customer_section(customer):
    """客户授信 of a customer, for the customer view's "Loans and credit" tab."""
    sm = current_app.appbuilder.sm
    if not sm.has_access("can_list", "CreditLineView"):
        return None
    lines = service.customer_summary(customer.id)
    if not lines and not sm.has_access("can_add", "CreditLineView"):
        return None
    return {"template": "microloan/credit_line_customer_section.html", "lines": lines}


def register_views(appbuilder):
    """Add this module's views and menu entries."""
    appbuilder.add_view(CreditLineView, "Customer credit lines", label=_l("Customer credit lines"),
                        icon="fa-credit-card", category="Risk")
    appbuilder.add_view(BankCreditLineView, "Bank credit lines", label=_l("Bank credit lines"), icon="fa-university",
                        category="Finance")
    appbuilder.add_view(BankCreditDrawdownView, "Bank borrowings", label=_l("Bank borrowings and repayments"),
                        icon="fa-exchange", category="Finance")
    current_app.jinja_env.globals["credit_lines_of_customer"] = _customer_lines
    if home.funding_leverage_section not in home.SECTION_PROVIDERS:   # the dashboard's 融资杠杆 card
        home.register_section(home.funding_leverage_section)
    try:
        from app.views.customers import PROFILE_SECTIONS
    except ImportError:  # the customer view has no section registry
        return
    if customer_section not in PROFILE_SECTIONS:
        PROFILE_SECTIONS.append(customer_section)
