"""项目办理 screens: the new-loan form with a live schedule, the loan page, guarantors,
collateral and fees, submission, the queries and project grants."""
import json
from types import SimpleNamespace

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_appbuilder.urltools import get_filter_args
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import or_, select
from wtforms import DateField, IntegerField
from wtforms.validators import DataRequired, InputRequired, Optional

from app.domain.errors import DomainError
from app.domain.schedule import METHOD_LABELS
from app.extensions import db
from app.models import Customer
from app.models.loan import (
    COLLATERAL_KINDS, GRANT_LEVELS, GUARANTEE_MODES, GUARANTEE_TYPES, Collateral, Guarantor, Loan,
    LoanFee, LoanGrant,
)
from app.models.product import FEE_ACCOUNTS, FEE_BASES, FEE_TIMINGS, LoanProduct
from app.services import attachments as attachment_service
from app.services import dictionaries, excel, loans, settings
from app.models.contract import DOC_TYPES
from app.models.servicing import REQUEST_KINDS
from app.services import contracts, loan_approval, loan_parts, repayments
from app.services import workflow as workflow_service
from app.views.base import AppInterface, CheckedModelView, like_term, xlsx_download
from app.views.credit_lines import credit_line_picker
from app.views.customers import _officer_choices, customer_picker
from app.views.widgets import AjaxModelField, ChoiceField, CommaListField, CountField, DictSelectField, MoneyField

#: Statuses whose page shows the 贷后 (repayments) tab.
SERVICED_STATUSES = ("active", "settled", "written_off", "closed")
#: The adjustment requests offered on an active loan's page (app/views/servicing_adjustments.py).
ADJUST_KINDS = [(kind, REQUEST_KINDS[kind]) for kind in (
    "interest_waiver", "interest_refund", "transfer_income", "write_off", "compensation", "fee_refund", "deposit_return")]


class LoanScopeFilter(BaseFilter):
    """Loans of the user's branches plus the loans granted to the user (项目授权)."""

    name = "数据权限"
    arg_name = None

    def apply(self, query, value):
        condition = loans.visible_condition()
        return query if condition is None else query.filter(condition)


class CustomerNameFilter(BaseFilter):
    """项目查询: loans whose customer's name, number or ID contains the text typed."""

    name = "包含"
    arg_name = "cnm"

    def apply(self, query, value):
        term = like_term(value)
        return query.filter(Loan.customer_id.in_(select(Customer.id).where(or_(
            Customer.name.like(term), Customer.customer_no.like(term), Customer.id_number.like(term),
            Customer.credit_code.like(term)))))


def _mine():
    return select(Loan.id).where(or_(Loan.officer_id == g.user.id, Loan.created_by_id == g.user.id))


LOAN_LABELS = {
    "loan_no": _l("Loan number"), "loan_no_link": _l("Loan number"), "customer": _l("Customer"),
    "product": _l("Loan product"),
    "amount": _l("Amount (yuan)"), "term": _l("Term"), "annual_rate": _l("Annual rate (%)"),
    "method": _l("Repayment method"), "method_label": _l("Repayment method"), "start_date": _l("Disbursement date"),
    "fixed_day": _l("Fixed repayment day"), "purpose": _l("Loan purpose"), "guarantee_types": _l("Guarantee types"),
    "guarantee_label": _l("Guarantee types"), "officer": _l("Loan officer"), "branch": _l("Branch"),
    "intermediary": _l("Intermediary"), "status": _l("Status"), "status_label": _l("Status"),
    "cost_rate": _l("Annualised cost (%)"), "warnings": _l("Warnings"), "remarks": _l("Remarks"),
    "created_at": _l("Created at"), "created_by": _l("Created by"), "submitted_at": _l("Submitted at"),
    "customer_id": _l("Customer"), "credit_line": _l("Credit line"),
}


def _fmt_dt(value):
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


class _LoanQueryView(CheckedModelView):
    """A filtered list of loans (项目查询) with search and Excel export."""

    datamodel = AppInterface(Loan)
    base_permissions = ["can_list", "can_export"]
    extra_filters = []
    label_columns = LOAN_LABELS
    list_columns = ["loan_no_link", "customer", "product", "amount", "term", "annual_rate", "guarantee_label",
                    "officer", "status_label", "created_at"]
    # The customer is searched by name (a drop-down of every customer would load the table).
    search_columns = ["loan_no", "customer_id", "officer", "status", "amount", "created_at", "start_date", "product"]
    order_columns = ["loan_no", "amount", "created_at", "start_date"]
    base_order = ("created_at", "desc")
    list_template = "microloan/list.html"
    formatters_columns = {"created_at": _fmt_dt,
                          "amount": lambda v: f"{v:,.2f}" if v is not None else "",
                          "annual_rate": lambda v: f"{v.normalize():f}" if v is not None else ""}
    show_template = None

    def __init__(self, **kwargs):
        self.base_filters = [["id", LoanScopeFilter, None]] + self.extra_filters
        self.extra_args = {"list_tools": [
            (_l("Export to Excel"), f"{self.__class__.__name__}.export", "can_export", self.__class__.__name__, True)]}
        super().__init__(**kwargs)
        # FAB's ModelView takes no custom search filters: the customer column offers one, by name.
        by_name = [CustomerNameFilter("customer_id", self.datamodel)]
        self._filters.get_search_filters()["customer_id"] = by_name
        self._filters._all_filters["customer_id"] = by_name

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        joined = self._filters.get_joined_filters(self._base_filters)
        _count, rows = self.datamodel.query(joined, "created_at", "desc")
        columns = [
            excel.Column("业务编号", width=18), excel.Column("客户", width=22), excel.Column("贷款产品", width=14),
            excel.Column("金额", kind="money", width=14, total=True), excel.Column("期限", kind="int", width=6),
            excel.Column("年利率(%)", kind="percent", width=10), excel.Column("还款方式", width=16),
            excel.Column("担保方式", width=14), excel.Column("客户经理", width=10), excel.Column("机构", width=12),
            excel.Column("状态", width=8), excel.Column("综合年化成本(%)", kind="percent", width=12),
            excel.Column("放款日期", kind="date", width=12), excel.Column("创建时间", width=17),
        ]
        data = [[loan.loan_no, str(loan.customer), str(loan.product), loan.amount, loan.term, loan.annual_rate,
                 METHOD_LABELS.get(loan.method, loan.method), loan.guarantee_label, str(loan.officer or ""),
                 str(loan.branch or ""), loan.status_label, loan.cost_rate, loan.start_date, _fmt_dt(loan.created_at)]
                for loan in rows]
        title = str(self.list_title)
        content = excel.write_workbook(columns, data, title=title, constant_memory=len(data) > 5000,
                                       params=[("导出日期", settings.business_date().isoformat()),
                                               ("记录数", str(len(data)))])
        return xlsx_download(content, f"{title}_{settings.business_date():%Y%m%d}.xlsx")


class LoanMineView(_LoanQueryView):
    list_title = _l("My loans")
    extra_filters = [["id", FilterInFunction, _mine]]


class LoanHistoryView(_LoanQueryView):
    list_title = _l("Historical loans")
    extra_filters = [["status", FilterInFunction, lambda: ["settled", "written_off"]]]


class LoanClosedView(_LoanQueryView):
    list_title = _l("Closed loans")
    extra_filters = [["status", FilterInFunction, lambda: ["closed"]]]


class LoanReturnedView(_LoanQueryView):
    list_title = _l("Returned and rejected loans")
    extra_filters = [["status", FilterInFunction, lambda: ["returned", "rejected"]]]


def _product_choices():
    return select(LoanProduct.id).where(LoanProduct.is_enabled.is_(True))


def _products_json():
    """What the form's script needs to narrow the inputs and preview the schedule."""
    rows = db.session.execute(select(LoanProduct).where(LoanProduct.is_enabled.is_(True))).scalars().all()
    return json.dumps({str(p.id): {
        "methods": p.method_list, "period": p.period, "interest_by_days": p.interest_by_days,
        "day_basis": p.day_basis, "rounding": p.rounding, "min_amount": str(p.min_amount),
        "max_amount": str(p.max_amount), "min_term": p.min_term, "max_term": p.max_term, "min_rate": f"{p.min_rate.normalize():f}",
        "max_rate": f"{p.max_rate.normalize():f}", "fixed_day_allowed": p.fixed_day_allowed,
        "fees": [{"basis": f.basis, "value": str(f.value), "timing": f.timing} for f in p.fees],
    } for p in rows}, ensure_ascii=False)


def _customer_allowed(customer):
    """Customers of the user's branches, or the customer of a loan the user may handle."""
    if loans.can_see_branch(customer.branch_id):
        return True
    pk = (request.view_args or {}).get("pk")
    loan = db.session.get(Loan, int(pk)) if pk else None
    return loan is not None and loan.customer_id == customer.id and loans.can_handle(loan, g.user)


class LoanView(_LoanQueryView):
    """所有项目 and 新建项目: every loan in scope; drafts are created and edited here."""

    list_title = _l("All loans")
    show_title = _l("Loan details")
    add_title = _l("New loan")
    edit_title = _l("Edit loan")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_export", "can_submit", "can_contract"]
    add_columns = edit_columns = ["customer", "credit_line", "product", "amount", "term", "annual_rate", "method", "start_date",
                                  "fixed_day", "purpose", "guarantee_types", "officer", "intermediary", "remarks"]
    add_template = edit_template = "microloan/loan_form.html"
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "product": [["id", FilterInFunction, _product_choices]],
        "officer": [["branch_id", FilterInFunction, _officer_choices]],
    }

    def __init__(self, **kwargs):
        fields = {
            "customer": AjaxModelField(
                _l("Customer"), validators=[InputRequired(message="请选择借款客户")], model=Customer,
                endpoint="CustomerView.search", placeholder=_l("Type a name, ID number or mobile"),
                allowed=_customer_allowed),
            "credit_line": credit_line_picker(),  # 授信: only the chosen customer's lines
            "amount": MoneyField(_l("Amount (yuan)")),
            "term": CountField(_l("Term")),
            "annual_rate": MoneyField(_l("Annual rate (%)")),
            "method": ChoiceField(_l("Repayment method"), METHOD_LABELS),
            "start_date": DateField(_l("Disbursement date"), validators=[InputRequired(message="请填写放款日期")]),
            "fixed_day": IntegerField(_l("Fixed repayment day"), validators=[Optional()]),
            "purpose": DictSelectField(_l("Loan purpose"), "loan_purpose"),
            "guarantee_types": CommaListField(_l("Guarantee types"), choices=GUARANTEE_TYPES),
        }
        self.add_form_extra_fields = self.edit_form_extra_fields = fields
        super().__init__(**kwargs)

    def render_template(self, template, **kwargs):
        if template == "microloan/loan_form.html":
            kwargs["products_json"] = _products_json()
            kwargs["method_labels"] = METHOD_LABELS
        return super().render_template(template, **kwargs)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET":
            form.start_date.data = settings.business_date()
            form.officer.data = g.user
            customer_id = request.args.get("customer_id", type=int)
            if customer_id:
                customer = db.session.get(Customer, customer_id)
                if customer is not None and loans.can_see_branch(customer.branch_id):
                    form.customer.data = customer
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def check_form(self, form, pk):
        loan = Loan()
        existing = None
        if pk:
            existing = self.datamodel.get(pk, self._base_filters)
            if existing is None:
                raise DomainError("项目不存在或无权访问")
            if not existing.is_editable:
                raise DomainError(f"项目当前状态为“{existing.status_label}”，不能修改")
        for key in self.add_columns:
            if key != "guarantee_types":
                setattr(loan, key, form._fields[key].data)
        if existing is not None:  # a grantee who may handle it passes the branch check
            loan.id, loan.officer_id, loan.branch_id = existing.id, existing.officer_id, existing.branch_id
        loan.guarantee_types = ",".join(form.guarantee_types.data or [])
        try:
            loans.check_terms(loan)
        finally:
            if loan in db.session:
                db.session.expunge(loan)

    def pre_add(self, item):
        loans.save_draft(item, g.user)

    def pre_update(self, item):
        # Read before any query: autoflush would clear the attribute history.
        product_changed = sa_inspect(item).attrs.product.history.has_changes()
        if not loans.can_handle(item, g.user):
            raise DomainError("只有项目的客户经理或被授权办理的用户可以修改")
        loans.save_draft(item, g.user, product_changed=product_changed)

    def post_add_redirect(self):
        return redirect(url_for("LoanView.list"))

    def _get_loan(self, pk):
        loan = self.datamodel.get(pk, self._base_filters)
        if loan is None:
            abort(404)
        return loan

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        loan = self._get_loan(pk)
        return self.render_template(
            "microloan/loan_show.html", title=_l("Loan details"), loan=loan, method_labels=METHOD_LABELS,
            purpose=dictionaries.label_of("loan_purpose", loan.purpose),
            fee_label=lambda code: dictionaries.label_of("fee_type", code),
            collateral_label=lambda code: dictionaries.label_of("collateral_type", code),
            fee_bases=FEE_BASES, fee_timings=FEE_TIMINGS, fee_accounts=FEE_ACCOUNTS,
            files=attachment_service.for_owner("loan", loan.id), can_handle=loans.can_handle(loan, g.user),
            totals=loan_parts.totals(loan),
            approval=workflow_service.panel("loan_application", loan.id, g.user),
            documents=contracts.documents_of(loan), doc_types=DOC_TYPES, pdf_available=contracts.pdf_available(),
            disbursement_approval=workflow_service.panel("disbursement", loan.id, g.user),
            servicing=(repayments.overview(loan) if loan.status in SERVICED_STATUSES else None),
            revision_rows=repayments.revision_rows, adjust_kinds=ADJUST_KINDS)

    @expose("/contract_signed/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("contract")
    def contract_signed(self, pk):
        """合同已签: confirmed by hand until the contracts issue generates the documents."""
        loan = self._get_loan(pk)
        try:
            loan_approval.confirm_contract_signed(loan, g.user)
            flash(f"项目 {loan.loan_no} 已确认签订合同，可发起放款审批", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for("LoanView.show", pk=pk))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        """A loan in approval or later is changed only through change requests, never here."""
        loan = self._get_loan(pk)
        if not loan.is_editable:
            flash(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，不能修改；如需变更请走变更流程", "warning")
            return redirect(url_for("LoanView.show", pk=loan.id))
        if not loans.can_handle(loan, g.user):
            abort(403)
        return super().edit(pk)

    @expose("/search")
    @has_access
    @permission_name("list")
    def search(self):
        """AJAX loan picker: loan number or customer name, within scope and grants."""
        return jsonify({"results": [{"id": loan.id, "text": f"{loan.loan_no} {loan.customer.name}"}
                                    for loan in loans.search(request.args.get("q", ""))]})

    @expose("/submit/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("submit")
    def submit(self, pk):
        loan = self._get_loan(pk)
        try:
            warning = loans.submit(loan, g.user)
        except DomainError as exc:
            db.session.rollback()
            flash(f"提交失败：{exc.message}", "danger")
        else:
            flash(f"项目 {loan.loan_no} 已提交审批", "success")
            if warning:
                flash(f"提示：{warning}", "warning")
        return redirect(url_for("LoanView.show", pk=pk))


class DisbursementRequestView(BaseView):
    """发起放款审批 (finance): starts the disbursement flow of a signed loan."""

    route_base = "/disbursement"

    @expose("/request/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("request")
    def request_approval(self, pk):
        loan = db.session.get(Loan, pk)
        if loan is None or not loans.can_see(loan, g.user):
            abort(404)
        try:
            loan_approval.request_disbursement(loan, g.user, request.form.get("opinion"))
            flash(f"项目 {loan.loan_no} 已发起放款审批", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for("LoanView.show", pk=pk))


    @expose("/pay/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("pay")
    def pay(self, pk):
        """放款: finance records the payout of an approved loan."""
        from datetime import date as _date

        from app.models.finance import FundAccount
        from app.services import disbursement, ledger

        loan = db.session.get(Loan, pk)
        if loan is None or not loans.can_see(loan, g.user):
            abort(404)
        accounts = db.session.execute(select(FundAccount).where(
            FundAccount.is_active.is_(True), FundAccount.kind.in_(("cash", "bank"))).order_by(FundAccount.id)).scalars().all()
        form = request.form
        if request.method == "POST":
            try:
                fund = db.session.get(FundAccount, form.get("fund_account", type=int) or 0)
                try:
                    on = _date.fromisoformat(form.get("disbursed_on", ""))
                except ValueError:
                    raise DomainError("放款日期格式应为 YYYY-MM-DD", "disbursed_on")
                disbursement.disburse(loan.id, g.user, fund, on, form.get("receiving_bank"),
                                      form.get("receiving_account_name"), form.get("receiving_account_no"))
            except DomainError as exc:
                db.session.rollback()
                flash(f"放款未完成：{exc.message}", "danger")
            else:
                flash(f"项目 {loan.loan_no} 已放款 {loan.amount:,.2f} 元", "success")
                return redirect(url_for("LoanView.show", pk=pk))
        customer = loan.customer
        values = {"disbursed_on": form.get("disbursed_on") or settings.business_date().isoformat(),
                  "receiving_bank": form.get("receiving_bank", customer.bank_name or ""),
                  "receiving_account_name": form.get("receiving_account_name", customer.bank_account_name or customer.name),
                  "receiving_account_no": form.get("receiving_account_no", customer.bank_account_no or ""),
                  "fund_account": form.get("fund_account", type=int)}
        return self.render_template("microloan/disbursement_pay.html", title=_l("Disburse"), loan=loan,
                                    accounts=[(a, ledger.fund_balance(a)) for a in accounts], values=values)


class LoanNewView(BaseView):
    """新建项目 menu entry: opens the new-loan form (a menu needs a view of its own)."""

    route_base = "/loans/new"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("add")
    def index(self):
        return redirect(url_for("LoanView.add", **request.args))


def _loan_picker():
    # DataRequired, not InputRequired: from the loan page the loan is set by the URL, not posted.
    return AjaxModelField(_l("Loan"), validators=[DataRequired(message="请选择项目")], model=Loan,
                          endpoint="LoanView.search", placeholder=_l("Type a loan number or customer name"),
                          allowed=lambda loan: loans.can_see(loan))


def _form_values(view, model, form, pk):
    """The record as the form would save it, as a plain object: the checks can read and
    normalise it without adding anything to the session (no half-saved rows)."""
    values = {column.key: None for column in model.__table__.columns}
    if pk:
        existing = view.datamodel.get(pk, view._base_filters)
        if existing is None:
            raise DomainError("记录不存在或无权访问")
        values.update({key: getattr(existing, key) for key in list(values)})
        for name in ("loan", "customer", "user"):
            if hasattr(existing, name):
                values[name] = getattr(existing, name)
    values.update({key: field.data for key, field in form._fields.items()})
    return SimpleNamespace(**values)


def _loan_part_view(model, title, labels, columns, extra_fields, check):
    """A guarantor / collateral / fee list that is edited from the loan page only."""

    class PartView(CheckedModelView):
        datamodel = AppInterface(model)
        list_title = title
        show_title = add_title = edit_title = title
        base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
        base_filters = [["loan_id", FilterInFunction, lambda: select(Loan.id).where(
            loans.visible_condition() if loans.visible_condition() is not None else True)]]
        label_columns = labels
        list_columns = ["loan"] + columns[:5]
        add_columns = edit_columns = show_columns = ["loan"] + columns
        # No relation to the customer table: FAB's search widget would load every customer.
        search_columns = [c for c in columns[:3] if c != "customer"]
        def __init__(self, **kwargs):
            # The loan is picked by search (or fixed by the loan page's link), never a drop-down of all loans.
            self.add_form_extra_fields = self.edit_form_extra_fields = dict(extra_fields, loan=_loan_picker())
            super().__init__(**kwargs)

        def check_form(self, form, pk):
            check(_form_values(self, model, form, pk), g.user)

        def pre_add(self, item):
            # The new row is attached to its loan but not yet in the session: no autoflush
            # while the checks query (SQLAlchemy would warn and skip the cascade).
            with db.session.no_autoflush:
                check(item, g.user)

        pre_update = pre_add

        def pre_delete(self, item):
            loan_parts.check_editable(item.loan, g.user)

        def post_add(self, item):
            loan_parts.after_change(item.loan)

        post_update = post_delete = post_add

        def post_add_redirect(self):
            loan_id = request.args.get("_flt_0_loan", type=int)
            return redirect(url_for("LoanView.show", pk=loan_id) if loan_id else self.get_redirect())

        post_edit_redirect = post_delete_redirect = post_add_redirect

    return PartView


class GuarantorView(_loan_part_view(
        Guarantor, _l("Guarantors"),
        {"loan": _l("Loan"), "customer": _l("Existing customer"), "kind": _l("Guarantor type"), "name": _l("Name"),
         "identifier": _l("ID number / credit code"), "mobile": _l("Mobile"), "mode": _l("Guarantee mode"),
         "guaranteed_amount": _l("Guaranteed amount (yuan)"), "period_months": _l("Guarantee period (months)"),
         "relationship_to_borrower": _l("Relationship to borrower"), "remarks": _l("Remarks")},
        ["customer", "kind", "name", "identifier", "mode", "guaranteed_amount", "period_months", "mobile",
         "relationship_to_borrower", "remarks"],
        {"customer": customer_picker(_l("Existing customer"), required=False),
         "kind": ChoiceField(_l("Guarantor type"), {"person": "个人", "company": "企业"}),
         "mode": ChoiceField(_l("Guarantee mode"), GUARANTEE_MODES),
         "guaranteed_amount": MoneyField(_l("Guaranteed amount (yuan)"))},
        lambda item, user: loan_parts.check_guarantor(item, user))):
    pass


class CollateralView(_loan_part_view(
        Collateral, _l("Collateral"),
        {"loan": _l("Loan"), "kind": _l("Mortgage or pledge"), "collateral_type": _l("Collateral type"),
         "name": _l("Name"), "owner_name": _l("Owner"), "owner_relation": _l("Owner's relation to borrower"),
         "appraised_value": _l("Appraised value (yuan)"), "appraisal_date": _l("Appraisal date"),
         "appraisal_method": _l("Appraisal method"), "certificate_no": _l("Certificate number"),
         "registry": _l("Registry"), "registration_date": _l("Registration date"), "custodian": _l("Custodian"),
         "house_address": _l("House address"), "house_area": _l("Floor area (m²)"), "co_owners": _l("Co-owners"),
         "vehicle_plate": _l("Plate number"), "vehicle_vin": _l("VIN"), "vehicle_engine_no": _l("Engine number"),
         "ltv_pct": _l("Loan-to-value (%)"), "remarks": _l("Remarks")},
        ["kind", "collateral_type", "name", "appraised_value", "ltv_pct", "owner_name", "owner_relation",
         "appraisal_date", "appraisal_method", "certificate_no", "registry", "registration_date", "custodian",
         "house_address", "house_area", "co_owners", "vehicle_plate", "vehicle_vin", "vehicle_engine_no", "remarks"],
        {"kind": ChoiceField(_l("Mortgage or pledge"), COLLATERAL_KINDS),
         "collateral_type": DictSelectField(_l("Collateral type"), "collateral_type", blank=False),
         "appraised_value": MoneyField(_l("Appraised value (yuan)"))},
        lambda item, user: loan_parts.check_collateral(item, user))):
    pass


class LoanFeeView(_loan_part_view(
        LoanFee, _l("Loan fees"),
        {"loan": _l("Loan"), "fee_type": _l("Fee type"), "basis": _l("Basis"), "value": _l("Amount (yuan) or rate (%)"),
         "timing": _l("Due"), "account": _l("Account"), "amount": _l("Fee (yuan)")},
        ["fee_type", "basis", "value", "timing", "account", "amount"],
        {"fee_type": DictSelectField(_l("Fee type"), "fee_type", blank=False),
         "basis": ChoiceField(_l("Basis"), FEE_BASES), "timing": ChoiceField(_l("Due"), FEE_TIMINGS),
         "account": ChoiceField(_l("Account"), FEE_ACCOUNTS)},
        lambda item, user: loan_parts.check_fee(item, user))):
    pass


class LoanGrantView(CheckedModelView):
    """项目授权: grant another user access to one loan until a date; revoke by deleting."""

    datamodel = AppInterface(LoanGrant)
    list_title = _l("Loan access grants")
    show_title = add_title = _l("Loan access grant")
    base_permissions = ["can_list", "can_show", "can_add", "can_delete"]
    base_filters = [["loan_id", FilterInFunction, lambda: select(Loan.id).where(
        loans.visible_condition() if loans.visible_condition() is not None else True)]]
    label_columns = {"loan": _l("Loan"), "user": _l("Granted to"), "level": _l("Access"), "level_label": _l("Access"),
                     "expires_on": _l("Expires on"), "granted_by": _l("Granted by"), "granted_at": _l("Granted at"),
                     "revoked": _l("Revoked"), "remarks": _l("Remarks")}
    list_columns = ["loan", "user", "level_label", "expires_on", "granted_by", "granted_at"]
    add_columns = ["loan", "user", "level", "expires_on", "remarks"]
    show_columns = ["loan", "user", "level_label", "expires_on", "granted_by", "granted_at", "remarks"]
    search_columns = ["user", "expires_on", "level"]
    add_form_extra_fields = {"level": ChoiceField(_l("Access"), GRANT_LEVELS)}

    def __init__(self, **kwargs):
        self.add_form_extra_fields = dict(self.add_form_extra_fields, loan=_loan_picker())
        super().__init__(**kwargs)

    def check_form(self, form, pk):
        with db.session.no_autoflush:
            loans.check_grant(_form_values(self, LoanGrant, form, pk), g.user)

    def pre_add(self, item):
        loans.check_grant(item, g.user)

    def pre_delete(self, item):
        if not loans.can_handle(item.loan, g.user):
            raise DomainError("只有项目的客户经理或管理员可以撤销授权")

