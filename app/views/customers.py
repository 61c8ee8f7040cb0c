"""客户管理 screens: customers by kind, the customer view, related persons and parties.

One ``Customer`` table, four views: 全部客户 (query, export, the customer view) and one
add/edit view per kind with its own fieldsets, so each kind gets the form it needs.
"""
from flask import abort, g, jsonify, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterInFunction
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_appbuilder.urltools import get_filter_args
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import InputRequired, Optional

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Customer, CustomerVisit, MaterialRequirement, RelatedParty, RelatedPerson
from app.models.customer import CUSTOMER_KINDS, CUSTOMER_STATUSES, PARTY_RELATIONS, RELATIONS
from app.services import customers as customer_service
from app.services import dictionaries, excel, settings
from app.services import visits as visit_service
from app.services.scope import can_see_branch, customer_scope_filters, scope_filters, visible_branch_ids
from app.views.base import AppInterface, CheckedModelView, xlsx_download
from app.views.widgets import AjaxModelField, ChoiceField, CountField, DictSelectField, MoneyField

# Marked with * on each kind's form (the service checks them again, with reasons).
REQUIRED = {
    "person": ["name", "id_number", "mobile"],
    "company": ["name", "credit_code", "legal_rep_name"],
    "sole_trader": ["name", "id_number", "mobile", "business_name", "credit_code"],
}
EDIT_ENDPOINTS = {"person": "CustomerPersonView.edit", "company": "CustomerCompanyView.edit",
                  "sole_trader": "CustomerSoleTraderView.edit"}

LABELS = {
    "customer_no": _l("Customer number"), "kind": _l("Customer type"), "kind_label": _l("Customer type"),
    "name": _l("Name"), "name_flagged": _l("Name"), "status": _l("Status"), "status_label": _l("Status"),
    "source": _l("Customer source"), "branch": _l("Branch"), "officer": _l("Loan officer"),
    "intermediary": _l("Intermediary"), "is_blacklisted": _l("Blacklisted"), "gender": _l("Gender"),
    "gender_label": _l("Gender"), "id_number": _l("ID number"), "birth_date": _l("Birth date"),
    "mobile": _l("Mobile"), "phone": _l("Telephone"), "email": _l("E-mail"), "address": _l("Residential address"),
    "household_address": _l("Household register address"), "marital_status": _l("Marital status"),
    "education": _l("Education"), "spouse_name": _l("Spouse name"), "spouse_id_number": _l("Spouse ID number"),
    "spouse_mobile": _l("Spouse mobile"), "dependants": _l("Dependants"),
    "family_annual_income": _l("Family annual income (yuan)"), "owns_house": _l("Owns a house"),
    "house_value": _l("House value (yuan)"), "owns_car": _l("Owns a car"), "car_value": _l("Car value (yuan)"),
    "employer": _l("Employer"), "job_title": _l("Job title"), "years_employed": _l("Years employed"),
    "monthly_income": _l("Monthly income (yuan)"), "credit_code": _l("Unified social credit code"),
    "business_name": _l("Business name"), "legal_rep_name": _l("Legal representative"),
    "legal_rep_id_number": _l("Legal representative ID number"),
    "registered_capital": _l("Registered capital (yuan)"), "founded_on": _l("Founding date"),
    "industry": _l("Industry"), "business_address": _l("Business address"), "business_scope": _l("Business scope"),
    "employees": _l("Employees"), "annual_revenue": _l("Annual revenue (yuan)"), "contact_name": _l("Contact person"),
    "bank_name": _l("Bank"), "bank_account_name": _l("Account name"), "bank_account_no": _l("Account number"),
    "remarks": _l("Remarks"), "created_at": _l("Created at"), "updated_at": _l("Updated at"),
    "created_by": _l("Created by"), "identifier": _l("ID number / credit code"),
}

_BANK = (_l("Bank account for disbursement and repayment"), {"fields": ["bank_name", "bank_account_name", "bank_account_no"]})
_COMMON = ["source", "officer", "intermediary", "status", "remarks"]
_FAMILY = (_l("Family"), {"fields": ["marital_status", "spouse_name", "spouse_id_number", "spouse_mobile", "dependants",
                                     "family_annual_income", "owns_house", "house_value", "owns_car", "car_value"]})
FIELDSETS = {
    "person": [
        (_l("Basic information"), {"fields": ["name", "id_number", "mobile", "phone", "email", "address",
                                              "household_address", "education"]}),
        _FAMILY,
        (_l("Employment"), {"fields": ["employer", "job_title", "years_employed", "monthly_income"]}),
        _BANK,
        (_l("Management"), {"fields": _COMMON}),
    ],
    "company": [
        (_l("Basic information"), {"fields": ["name", "credit_code", "legal_rep_name", "legal_rep_id_number",
                                              "registered_capital", "founded_on", "industry", "address",
                                              "business_scope", "employees", "annual_revenue"]}),
        (_l("Contact"), {"fields": ["contact_name", "mobile", "phone", "email"]}),
        _BANK,
        (_l("Management"), {"fields": _COMMON}),
    ],
    "sole_trader": [
        (_l("Operator"), {"fields": ["name", "id_number", "mobile", "phone", "email", "address", "household_address",
                                     "education"]}),
        (_l("Business"), {"fields": ["business_name", "credit_code", "industry", "business_address",
                                     "business_scope", "employees", "annual_revenue"]}),
        _FAMILY,
        _BANK,
        (_l("Management"), {"fields": _COMMON}),
    ],
}


def _officer_choices():
    """Loan officers the current user may assign: users of the branches they see."""
    from app.models import AppUser

    ids = visible_branch_ids()
    if ids is None:
        return [row for row, in db.session.execute(db.select(AppUser.branch_id).distinct())]
    return ids


def _form_fields():
    return {
        "source": DictSelectField(LABELS["source"], "customer_source"),
        "education": DictSelectField(LABELS["education"], "education"),
        "marital_status": DictSelectField(LABELS["marital_status"], "marital_status"),
        "industry": DictSelectField(LABELS["industry"], "industry"),
        "status": ChoiceField(LABELS["status"], CUSTOMER_STATUSES),
        "dependants": CountField(LABELS["dependants"]),
        "years_employed": CountField(LABELS["years_employed"]),
        "employees": CountField(LABELS["employees"]),
        "family_annual_income": MoneyField(LABELS["family_annual_income"]),
        "house_value": MoneyField(LABELS["house_value"]),
        "car_value": MoneyField(LABELS["car_value"]),
        "monthly_income": MoneyField(LABELS["monthly_income"]),
        "registered_capital": MoneyField(LABELS["registered_capital"]),
        "annual_revenue": MoneyField(LABELS["annual_revenue"]),
    }


#: Sections later modules add to the customer view's "Loans and credit" tab: functions
#: customer → {"template": …, more data} or None (e.g. app/views/rating.py).
PROFILE_SECTIONS = []


class CustomerProfileMixin:
    """The customer view (客户视图) replaces FAB's show page for every customer view."""

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        customer = self.datamodel.get(pk, self._base_filters)
        if customer is None:
            abort(404)
        data = customer_service.profile(customer)
        return self.render_template(
            "microloan/customer_profile.html", title=_l("Customer view"), edit_endpoint=EDIT_ENDPOINTS[customer.kind],
            kinds=CUSTOMER_KINDS, extra_sections=[s for s in (f(customer) for f in PROFILE_SECTIONS) if s], **data)


class CustomerView(CustomerProfileMixin, CheckedModelView):
    """全部客户: every customer in the user's data scope, with search and Excel export."""

    datamodel = AppInterface(Customer)
    list_title = _l("All customers")
    show_title = _l("Customer view")
    base_permissions = ["can_list", "can_show", "can_delete", "can_export", "can_search"]
    base_filters = scope_filters()
    label_columns = LABELS
    list_columns = ["customer_no", "name_flagged", "kind_label", "identifier", "mobile", "officer", "branch",
                    "status_label", "created_at"]
    search_columns = ["customer_no", "name", "kind", "id_number", "credit_code", "mobile", "officer", "branch",
                      "status", "is_blacklisted", "industry", "created_at"]
    order_columns = ["customer_no", "name", "created_at"]
    base_order = ("created_at", "desc")
    list_template = "microloan/list.html"
    formatters_columns = {"created_at": lambda v: v.strftime("%Y-%m-%d %H:%M") if v else ""}
    extra_args = {"list_tools": [
        (_l("Export to Excel"), "CustomerView.export", "can_export", "CustomerView", True),
        (_l("Import from Excel"), "CustomerImportView.index", "can_import", "CustomerImportView", False),
    ]}

    def pre_delete(self, item):
        if not can_see_branch(item.branch_id):
            raise DomainError("只能删除本机构的客户")

    @expose("/search")
    @has_access
    @permission_name("search")
    def search(self):
        """AJAX picker: customers in scope matching a name, number, ID, credit code or mobile."""
        rows = customer_service.search(request.args.get("q", ""), limit=20)
        return jsonify({"results": [
            {"id": c.id, "text": f"{c.name}（{c.customer_no}，{c.identifier or ''}{'，黑名单' if c.is_blacklisted else ''}）"}
            for c in rows]})

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        """The list as filtered on screen, within the user's data scope, as .xlsx."""
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        joined = self._filters.get_joined_filters(self._base_filters)
        _count, rows = self.datamodel.query(joined, "created_at", "desc")
        labels = {code: dictionaries.labels(code) for code in ("industry", "customer_source")}
        columns = [
            excel.Column("客户编号", width=18), excel.Column("客户名称", width=24), excel.Column("客户类型", width=10),
            excel.Column("身份证号/统一社会信用代码", width=22), excel.Column("手机号码", width=14),
            excel.Column("行业", width=20), excel.Column("客户来源", width=12), excel.Column("客户经理", width=12),
            excel.Column("所属机构", width=14), excel.Column("状态", width=8), excel.Column("黑名单", width=8),
            excel.Column("建档日期", kind="date", width=12),
        ]
        data = [[c.customer_no, c.name, c.kind_label, c.identifier or "", c.mobile or "",
                 labels["industry"].get(c.industry, c.industry or ""), labels["customer_source"].get(c.source, c.source or ""),
                 str(c.officer or ""), str(c.branch or ""), c.status_label, "是" if c.is_blacklisted else "",
                 c.created_at.date()] for c in rows]
        content = excel.write_workbook(columns, data, title="客户清单", constant_memory=len(data) > 5000,
                                       params=[("导出日期", settings.business_date().isoformat()),
                                               ("记录数", str(len(data)))])
        return xlsx_download(content, f"客户清单_{settings.business_date():%Y%m%d}.xlsx")


class _CustomerKindView(CustomerProfileMixin, CheckedModelView):
    """Add and edit for one customer kind; its list shows only that kind."""

    datamodel = AppInterface(Customer)
    kind = None
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    label_columns = LABELS
    list_columns = ["customer_no", "name_flagged", "identifier", "mobile", "officer", "branch", "status_label",
                    "created_at"]
    search_columns = ["customer_no", "name", "id_number", "credit_code", "mobile", "officer", "status",
                      "is_blacklisted", "created_at"]
    order_columns = ["customer_no", "name", "created_at"]
    base_order = ("created_at", "desc")
    formatters_columns = {"created_at": lambda v: v.strftime("%Y-%m-%d %H:%M") if v else ""}
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "officer": [["branch_id", FilterInFunction, _officer_choices]],
    }

    def __init__(self, **kwargs):
        self.base_filters = scope_filters() + [["kind", FilterEqual, self.kind]]
        self.add_fieldsets = self.edit_fieldsets = FIELDSETS[self.kind]
        self.add_columns = self.edit_columns = [f for _title, spec in FIELDSETS[self.kind] for f in spec["fields"]]
        fields = _form_fields()
        # Plain text fields: FAB's own "unique" check would say only "already exists"; the
        # service names the existing customer instead.
        for name in ("id_number", "credit_code"):
            required = [InputRequired(message="请填写此项")] if name in REQUIRED[self.kind] else [Optional()]
            fields[name] = StringField(LABELS[name], validators=required, widget=BS3TextFieldWidget())
        self.add_form_extra_fields = self.edit_form_extra_fields = fields
        self.validators_columns = {name: [InputRequired(message="请填写此项")] for name in REQUIRED[self.kind]}
        super().__init__(**kwargs)

    # -- checks: the form (input kept, errors under fields), then the service again ----
    def check_form(self, form, pk):
        values = {key: field.data for key, field in form._fields.items()}
        if pk:
            existing = self.datamodel.get(pk, self._base_filters)
            if existing is None:
                raise DomainError("客户不存在或无权访问")
            merged = customer_service.values_of(existing)
            merged.update(values)
            values = merged
        customer_service.check(values, self.kind, int(pk) if pk else None)

    def pre_add(self, item):
        item.kind = self.kind
        customer_service.prepare(item, g.user)
        visit = self._visit()
        if visit is not None:
            visit_service.prefill(visit)  # refuses a visit whose 建档 is not approved

    def post_add(self, item):
        visit = self._visit()
        if visit is not None:
            visit_service.link_customer(visit, item)
            db.session.commit()

    def pre_update(self, item):
        if not can_see_branch(item.branch_id):
            raise DomainError("只能修改本机构的客户")
        customer_service.prepare(item, g.user)

    def _visit(self):
        visit_id = request.args.get("visit_id", type=int)
        if not visit_id:
            return None
        visit = db.session.get(CustomerVisit, visit_id)
        if visit is None or not can_see_branch(visit.branch_id):
            abort(404)
        return visit

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        """Pre-fill the form from an approved visit (建档) or with sensible defaults."""
        if request.method == "GET":
            defaults = {"status": "active", "officer": g.user}
            visit = self._visit()
            if visit is not None:
                try:
                    defaults.update(visit_service.prefill(visit))
                except DomainError as exc:
                    from flask import flash
                    flash(exc.message, "danger")
            for key, value in defaults.items():
                if key in form._fields:
                    form._fields[key].data = value
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def post_add_redirect(self):
        return redirect(url_for(f"{self.__class__.__name__}.list"))


class CustomerPersonView(_CustomerKindView):
    kind = "person"
    list_title = _l("Person customers")
    show_title = _l("Customer view")
    add_title = _l("New person customer")
    edit_title = _l("Edit person customer")


class CustomerCompanyView(_CustomerKindView):
    kind = "company"
    list_title = _l("Company customers")
    show_title = _l("Customer view")
    add_title = _l("New company customer")
    edit_title = _l("Edit company customer")


class CustomerSoleTraderView(_CustomerKindView):
    kind = "sole_trader"
    list_title = _l("Sole trader customers")
    show_title = _l("Customer view")
    add_title = _l("New sole trader customer")
    edit_title = _l("Edit sole trader customer")


def customer_picker(label, required=True):
    """An AJAX customer field limited to the user's data scope."""
    from wtforms.validators import DataRequired

    return AjaxModelField(label, validators=[DataRequired()] if required else [Optional()], model=Customer,
                          endpoint="CustomerView.search", placeholder=_l("Type a name, ID number or mobile"),
                          allowed=lambda c: can_see_branch(c.branch_id))


class RelatedPersonView(CheckedModelView):
    """关联人: family members, contacts and guarantor candidates of a customer."""

    datamodel = AppInterface(RelatedPerson)
    list_title = _l("Related persons")
    show_title = add_title = edit_title = _l("Related person")
    base_filters = customer_scope_filters()
    label_columns = {
        "customer": _l("Customer"), "name": _l("Name"), "relation": _l("Relation"), "relation_label": _l("Relation"),
        "id_number": _l("ID number"), "mobile": _l("Mobile"), "employer": _l("Employer"),
        "monthly_income": _l("Monthly income (yuan)"), "is_guarantor_candidate": _l("Guarantor candidate"),
        "remarks": _l("Remarks"),
    }
    list_columns = ["customer", "name", "relation_label", "id_number", "mobile", "is_guarantor_candidate"]
    add_columns = edit_columns = ["customer", "name", "relation", "id_number", "mobile", "employer", "monthly_income",
                                  "is_guarantor_candidate", "remarks"]
    show_columns = ["customer", "name", "relation_label", "id_number", "mobile", "employer", "monthly_income",
                    "is_guarantor_candidate", "remarks"]
    search_columns = ["name", "id_number", "mobile", "relation", "is_guarantor_candidate"]

    def __init__(self, **kwargs):
        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "customer": customer_picker(_l("Customer")),
            "relation": ChoiceField(_l("Relation"), RELATIONS),
        }
        super().__init__(**kwargs)

    def pre_add(self, item):
        customer_service.check_related_person(item)

    pre_update = pre_add

    def post_add_redirect(self):
        return _back_to_customer(self)

    post_edit_redirect = post_add_redirect


class RelatedPartyView(CheckedModelView):
    """关联方: links between customers, read by the concentration limit."""

    datamodel = AppInterface(RelatedParty)
    list_title = _l("Related parties")
    show_title = add_title = edit_title = _l("Related party")
    label_columns = {"customer": _l("Customer"), "related_customer": _l("Related customer"),
                     "relation": _l("Relation"), "relation_label": _l("Relation"), "remarks": _l("Remarks")}
    list_columns = ["customer", "relation_label", "related_customer", "remarks"]
    add_columns = edit_columns = ["customer", "related_customer", "relation", "remarks"]
    show_columns = ["customer", "relation_label", "related_customer", "remarks"]
    search_columns = ["relation"]
    base_filters = customer_scope_filters()

    def __init__(self, **kwargs):
        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "customer": customer_picker(_l("Customer")),
            "related_customer": customer_picker(_l("Related customer")),
            "relation": ChoiceField(_l("Relation"), PARTY_RELATIONS),
        }
        super().__init__(**kwargs)

    def pre_add(self, item):
        customer_service.check_related_party(item)

    pre_update = pre_add

    def post_add_redirect(self):
        return _back_to_customer(self)

    post_edit_redirect = post_add_redirect


def _back_to_customer(view):
    """After adding from a customer's page (``_flt_0_customer=<id>``), go back to it."""
    customer_id = request.args.get("_flt_0_customer", type=int)
    if customer_id:
        return redirect(url_for("CustomerView.show", pk=customer_id))
    return redirect(view.get_redirect())


class MaterialRequirementView(CheckedModelView):
    """材料清单设置: which documents each customer kind must hand in."""

    datamodel = AppInterface(MaterialRequirement)
    list_title = _l("Materials checklist settings")
    show_title = add_title = edit_title = _l("Required document")
    label_columns = {"customer_kind": _l("Customer type"), "kind_label": _l("Customer type"),
                     "doc_type": _l("Document type"), "doc_type_label": _l("Document type"),
                     "is_required": _l("Required"), "sort_order": _l("Sort order"), "remarks": _l("Remarks")}
    list_columns = ["kind_label", "doc_type", "is_required", "sort_order", "remarks"]
    formatters_columns = {"doc_type": lambda code: dictionaries.label_of("document_type", code)}
    add_columns = edit_columns = show_columns = ["customer_kind", "doc_type", "is_required", "sort_order", "remarks"]
    search_columns = ["customer_kind", "doc_type", "is_required"]
    base_order = ("customer_kind", "asc")
    add_form_extra_fields = edit_form_extra_fields = {
        "customer_kind": ChoiceField(_l("Customer type"), CUSTOMER_KINDS),
        "doc_type": DictSelectField(_l("Document type"), "document_type", blank=False),
    }
