"""REST APIs for customers, partner banks and intermediaries: /api/v1/customer/,
/api/v1/bank/ and /api/v1/intermediary/.

The same rules as the screens: the data scope is a base filter (another branch's
customer is a 404, and never in a list), and every add or edit goes through the same
service as the form (``customers.prepare``). A DomainError becomes a 422 body shaped like
marshmallow's own validation errors: ``{"message": {"<field>": ["<中文提示>"]}}``.

FAB calls ``pre_add``/``pre_update`` outside any error handling of its own, so an
exception raised there would end as a 500 ("Fatal error") from the ``@safe`` decorator;
``post_headless``/``put_headless``/``delete_headless`` are wrapped below to turn a
DomainError into a 422 and roll back whatever the request had changed.

``allow_browser_login`` lets the pages call the APIs with the session cookie; scripts
log in at /api/v1/security/login and send ``Authorization: Bearer <token>``.
"""
from flask import g
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_babel import lazy_gettext as _l
from marshmallow.validate import OneOf, Range

from app.services import partners
from app.domain.errors import DomainError
from app.models import Bank, Customer, Intermediary
from app.models.customer import CUSTOMER_KINDS, CUSTOMER_STATUSES
from app.services import customers as customer_service
from app.services.scope import can_see_branch, scope_filters
from app.views.base import AppInterface
from app.views.customers import LABELS as CUSTOMER_LABELS
from app.views.customers import _officer_choices
from app.views.partners import BankView, IntermediaryView


def _acting_user():
    """g.user without the werkzeug proxy FAB puts there for session logins."""
    user = g.get("user")
    getter = getattr(user, "_get_current_object", None)
    return getter() if getter is not None else user


class DomainErrorApi(ModelRestApi):
    """A ModelRestApi whose pre_add/pre_update/pre_delete may raise DomainError."""

    allow_browser_login = True
    page_size = 20

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        # FAB translates a missing description as gettext(""), which is the catalogue's
        # header ("Project-Id-Version: …"), and would send that for every field.
        if not self.description_columns.get(field.name):
            info["description"] = ""
        return info

    def _domain_error(self, exc):
        self.datamodel.session.rollback()
        return self.response_422(message={exc.field or "_schema": [exc.message]})

    def post_headless(self):
        try:
            return super().post_headless()
        except DomainError as exc:
            return self._domain_error(exc)

    def put_headless(self, pk):
        try:
            return super().put_headless(pk)
        except DomainError as exc:
            return self._domain_error(exc)

    def delete_headless(self, pk):
        try:
            return super().delete_headless(pk)
        except DomainError as exc:
            return self._domain_error(exc)


# -- customers ------------------------------------------------------------------------

class CustomerInterface(AppInterface):
    """``officer`` is optional in the API (it defaults to the caller) although its
    foreign key is NOT NULL; FAB would otherwise mark it required in the schema."""

    def is_nullable(self, col_name):
        if col_name == "officer":
            return True
        return super().is_nullable(col_name)


_CUSTOMER_FIELDS = [
    "name", "status", "source", "officer", "intermediary",
    # person and sole trader
    "id_number", "mobile", "phone", "email", "address", "household_address", "marital_status", "education",
    "spouse_name", "spouse_id_number", "spouse_mobile", "dependants", "family_annual_income", "owns_house",
    "house_value", "owns_car", "car_value", "employer", "job_title", "years_employed", "monthly_income",
    # company and sole trader
    "credit_code", "business_name", "legal_rep_name", "legal_rep_id_number", "registered_capital", "founded_on",
    "industry", "business_address", "business_scope", "employees", "annual_revenue", "contact_name",
    # bank account
    "bank_name", "bank_account_name", "bank_account_no",
    "remarks",
]
# Computed by the service, never taken from the request: number, branch (the officer's),
# blacklist flag, gender and birth date (from the ID number), audit columns, version.
_CUSTOMER_READ_ONLY = [
    "id", "customer_no", "kind", "branch.id", "branch.name", "is_blacklisted", "gender", "birth_date",
    "created_at", "updated_at", "created_by.id", "created_by.username", "version",
]


class CustomerApi(DomainErrorApi):
    """客户 API: persons, companies and sole traders in the caller's data scope."""

    resource_name = "customer"
    openapi_spec_tag = "Customers"
    datamodel = CustomerInterface(Customer)
    base_filters = scope_filters()
    list_title = show_title = _l("All customers")
    label_columns = dict(
        CUSTOMER_LABELS, id="ID", version=_l("Version"), **{
            "officer.id": _l("Loan officer"), "officer.username": _l("Loan officer"), "branch.id": _l("Branch"),
            "branch.name": _l("Branch"), "intermediary.id": _l("Intermediary"), "intermediary.name": _l("Intermediary"),
            "created_by.id": _l("Created by"), "created_by.username": _l("Created by")})
    list_columns = [
        "id", "customer_no", "kind", "name", "status", "id_number", "credit_code", "mobile", "is_blacklisted",
        "officer.id", "officer.username", "branch.id", "branch.name", "created_at",
    ]
    show_columns = _CUSTOMER_READ_ONLY + [c for c in _CUSTOMER_FIELDS if c not in ("officer", "intermediary")] + [
        "officer.id", "officer.username", "intermediary.id", "intermediary.name"]
    # kind is chosen once, at creation (as on the screens, one form per kind).
    add_columns = ["kind"] + _CUSTOMER_FIELDS
    edit_columns = list(_CUSTOMER_FIELDS)
    search_columns = ["name", "customer_no", "id_number", "credit_code", "mobile", "kind", "status",
                      "is_blacklisted", "created_at"]
    order_columns = ["customer_no", "name", "created_at"]
    base_order = ("created_at", "desc")
    # The choices _info offers: officers and intermediaries of the caller's branches only.
    add_query_rel_fields = edit_query_rel_fields = {
        "officer": [["branch_id", FilterInFunction, _officer_choices]],
        "intermediary": scope_filters(),
    }
    validators_columns = {
        "kind": OneOf(list(CUSTOMER_KINDS), error="客户类型“{input}”无效，应为 person（个人）、company（企业）"
                                                  "或 sole_trader（个体工商户）"),
        "status": OneOf(list(CUSTOMER_STATUSES), error="客户状态“{input}”无效，应为 active（正常）或 inactive（停用）"),
    }

    def _prepare(self, item):
        user = _acting_user()
        if item.officer is None:
            item.officer = user  # the caller by default; check() then vets the officer
        # Gender and birth date are read-only here, derived from the ID number by check().
        # Left in place, the stored ones are checked against an edited ID number and an
        # edit to another person's number fails with "性别与身份证号不符".
        item.gender = item.birth_date = None
        # No autoflush: the edited row must not reach the database before it is checked
        # (an UPDATE with a duplicate ID number would fail as an IntegrityError).
        with self.datamodel.session.no_autoflush:
            customer_service.prepare(item, user)

    def pre_add(self, item):
        self._prepare(item)

    def pre_update(self, item):
        if not can_see_branch(item.branch_id):  # base_filters already hide it: belt and braces
            raise DomainError("只能修改本机构的客户")
        self._prepare(item)

    def pre_delete(self, item):
        if not can_see_branch(item.branch_id):
            raise DomainError("只能删除本机构的客户")


# -- partner banks --------------------------------------------------------------------

_BANK_FIELDS = ["name", "branch_name", "contact_name", "contact_phone", "address", "accounts",
                "cooperation_notes", "is_active"]


class BankApi(DomainErrorApi):
    """合作银行 API (not branch-scoped: the banks are shared by the company)."""

    resource_name = "bank"
    openapi_spec_tag = "Partner banks"
    datamodel = AppInterface(Bank)
    list_title = show_title = _l("Partner banks")
    label_columns = dict(BankView.label_columns, id="ID")
    list_columns = ["id", "name", "branch_name", "contact_name", "contact_phone", "is_active"]
    show_columns = ["id"] + _BANK_FIELDS
    add_columns = edit_columns = _BANK_FIELDS
    search_columns = ["name", "branch_name", "contact_name", "is_active"]
    order_columns = ["name", "branch_name"]
    base_order = ("name", "asc")

    def pre_add(self, item):
        if not (item.name or "").strip():
            raise DomainError("请填写银行名称", "name")
        item.name = item.name.strip()

    pre_update = pre_add


# -- intermediaries -------------------------------------------------------------------

_INTERMEDIARY_FIELDS = ["name", "identifier", "contact_name", "contact_phone", "address", "commission_rate",
                        "bank_account", "branch", "remarks", "is_active"]


class IntermediaryApi(DomainErrorApi):
    """中介 API: the intermediaries of the caller's branches."""

    resource_name = "intermediary"
    openapi_spec_tag = "Intermediaries"
    datamodel = AppInterface(Intermediary)
    base_filters = scope_filters()
    list_title = show_title = _l("Intermediaries")
    label_columns = dict(IntermediaryView.label_columns, id="ID", **{"branch.id": _l("Branch"), "branch.name": _l("Branch")})
    list_columns = ["id", "name", "identifier", "contact_name", "contact_phone", "commission_rate", "branch.id",
                    "branch.name", "is_active"]
    show_columns = ["id", "name", "identifier", "contact_name", "contact_phone", "address", "commission_rate",
                    "bank_account", "branch.id", "branch.name", "remarks", "is_active"]
    add_columns = edit_columns = _INTERMEDIARY_FIELDS
    search_columns = ["name", "contact_name", "contact_phone", "identifier", "is_active"]
    order_columns = ["name", "commission_rate"]
    base_order = ("name", "asc")
    add_query_rel_fields = edit_query_rel_fields = {"branch": scope_filters("id")}
    validators_columns = {
        "commission_rate": Range(min=0, max=100, error="佣金比例应在 0 到 100 之间"),
    }

    def pre_add(self, item):
        partners.check_intermediary(item, _acting_user())

    pre_update = pre_add
