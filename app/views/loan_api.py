"""REST APIs for loan products and loans: /api/v1/loan_product/ and /api/v1/loan/.

The same rules as the screens. Products are read by everyone who works with loans and
changed by administrators through ``products.check_product``; they are disabled
(``is_enabled``), never deleted, so there is no DELETE. Loans are seen within the data
scope plus the user's grants (``LoanScopeFilter``: another branch's loan is a 404 and never
listed); a draft is created and edited through ``loans.save_draft`` (the loan number, the
branch, the fees, the schedule and the cost are computed there, never taken from the
request) and submitted with ``POST /api/v1/loan/<pk>/submit`` through ``loans.submit``.
Loans are not deleted either. A DomainError is a 422 ``{"message": {"<field>": ["…"]}}``
(see ``DomainErrorApi``).

Money and rates are marshmallow ``Decimal`` fields (marshmallow-sqlalchemy maps
``Numeric`` to them); Flask's JSON provider writes a Decimal as a string, so amounts reach
the client exactly, e.g. ``"100000.00"``. Input may be a string or a JSON number; a value
with more decimals than the column keeps is refused (marshmallow-sqlalchemy would round it
half-even without a word: ``"100000.005"`` would become ``100000.00``).

POST and PUT on /api/v1/loan/ answer with the whole loan as GET shows it (number, status,
schedule, fees, cost), since most of it is computed by the server.
"""
from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterInFunction
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import lazy_gettext as _l
from marshmallow.validate import OneOf
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from app.domain.errors import DomainError
from app.models.loan import Loan
from app.models.product import ALLOCATION_ORDERS, PERIOD_UNITS, LoanProduct
from app.services import loans as loan_service
from app.services import products as product_service
from app.services.scope import can_see_branch, scope_filters
from app.views.base import ApiDocsMixin, AppInterface, api_operation
from app.views.customer_api import DomainErrorApi, _acting_user, parse_id
from app.views.customers import _officer_choices
from app.views.loans import LOAN_LABELS, LoanScopeFilter
from app.views.products import ROUNDINGS, LoanProductView

# -- loan products --------------------------------------------------------------------

_PRODUCT_FIELDS = [
    "code", "name", "methods", "period", "interest_by_days", "min_amount", "max_amount", "min_term", "max_term",
    "min_rate", "max_rate", "day_basis", "rounding", "penalty_markup_pct", "grace_days", "allocation_order",
    "fixed_day_allowed", "guarantee_required", "is_enabled", "description",
]
# Fees and loan-to-value limits are maintained on the product's screen (ProductFeeView,
# ProductLtvView); the API shows them.
_PRODUCT_PARTS = [
    "fees.id", "fees.fee_type", "fees.basis", "fees.value", "fees.timing", "fees.account",
    "ltv_limits.id", "ltv_limits.collateral_type", "ltv_limits.max_ltv_pct",
]


def _choices_error(label, choices):
    return f"{label}“{{input}}”无效，可选：" + "、".join(f"{code}（{text}）" for code, text in choices.items())


class LoanProductApi(DomainErrorApi):
    """贷款产品 API: read by every role that works with loans, maintained by administrators."""

    resource_name = "loan_product"
    openapi_spec_tag = "Loan products"
    datamodel = AppInterface(LoanProduct)
    exclude_route_methods = {"delete"}
    list_title = show_title = _l("Loan products")
    label_columns = dict(LoanProductView.label_columns, id="ID", fees=_l("Product fees"),
                         ltv_limits=_l("Loan-to-value limits"))
    description_columns = LoanProductView.description_columns
    list_columns = ["id"] + _PRODUCT_FIELDS
    show_columns = ["id"] + _PRODUCT_FIELDS + _PRODUCT_PARTS
    add_columns = edit_columns = list(_PRODUCT_FIELDS)
    search_columns = ["code", "name", "is_enabled", "period"]
    order_columns = ["code", "name"]
    base_order = ("code", "asc")
    validators_columns = {
        "period": OneOf(list(PERIOD_UNITS), error=_choices_error("期限单位", PERIOD_UNITS)),
        "rounding": OneOf(list(ROUNDINGS), error=_choices_error("舍入方式", ROUNDINGS)),
        "allocation_order": OneOf(list(ALLOCATION_ORDERS), error=_choices_error("还款冲抵顺序", ALLOCATION_ORDERS)),
    }

    def pre_add(self, item):
        session = self.datamodel.session
        if item.id is None:
            # What the request leaves out takes the column's default (as the form does),
            # so the check sees the values that will be saved.
            for column in LoanProduct.__table__.columns:
                default = column.default
                if default is not None and default.is_scalar and getattr(item, column.key) is None:
                    setattr(item, column.key, default.arg)
        for key in ("code", "name", "methods"):
            value = getattr(item, key)
            if isinstance(value, str):
                setattr(item, key, value.strip().replace(" ", "") if key == "methods" else value.strip())
        # No autoflush: a duplicate must be reported, not end as an IntegrityError.
        with session.no_autoflush:
            product_service.check_product(item)
            for key, label in (("code", "产品代码"), ("name", "产品名称")):
                other = session.execute(select(LoanProduct.id).where(
                    getattr(LoanProduct, key) == getattr(item, key), LoanProduct.id != (item.id or 0))).first()
                if other is not None:
                    raise DomainError(f"{label}“{getattr(item, key)}”已被其他产品使用", key)

    pre_update = pre_add


# -- loans ----------------------------------------------------------------------------

class LoanInterface(AppInterface):
    """``officer`` is optional in the API (it defaults to the caller) although its foreign
    key is NOT NULL; FAB would otherwise mark it required in the schema."""

    def is_nullable(self, col_name):
        if col_name == "officer":
            return True
        return super().is_nullable(col_name)


_LOAN_FIELDS = ["customer", "product", "amount", "term", "annual_rate", "method", "start_date", "fixed_day",
                "purpose", "guarantee_types", "officer", "intermediary", "remarks"]
_LOAN_REFS = ["customer.id", "customer.name", "product.id", "product.name", "officer.id", "officer.username",
              "branch.id", "branch.name"]
_LOAN_SHOW = (
    ["id", "loan_no", "status", "status_label"] + _LOAN_REFS
    + [c for c in _LOAN_FIELDS if c not in ("customer", "product", "officer", "intermediary")]
    + ["intermediary.id", "intermediary.name", "cost_rate", "warnings", "created_at", "created_by.id",
       "created_by.username", "submitted_at", "updated_at", "version",
       "installments.seq", "installments.start_date", "installments.due_date", "installments.principal",
       "installments.interest", "installments.total", "installments.balance",
       "fees.id", "fees.fee_type", "fees.basis", "fees.value", "fees.timing", "fees.account", "fees.amount",
       "guarantors.id", "guarantors.kind", "guarantors.name", "guarantors.identifier", "guarantors.mode",
       "guarantors.guaranteed_amount", "guarantors.period_months",
       "collaterals.id", "collaterals.kind", "collaterals.collateral_type", "collaterals.name",
       "collaterals.owner_name", "collaterals.appraised_value", "collaterals.ltv_pct"]
)


def _clean_guarantee_types(value):
    """"mortgage, guarantee" → "mortgage,guarantee" (full-width commas too, no repeats)."""
    if value is None:
        return None
    codes = []
    for code in str(value).replace("，", ",").split(","):
        code = code.strip()
        if code and code not in codes:
            codes.append(code)
    return ",".join(codes)


def _changed(item, *keys):
    state = sa_inspect(item)
    return {key for key in keys if state.attrs[key].history.has_changes()}


class LoanApi(ApiDocsMixin, DomainErrorApi):
    """项目 API: loans in the caller's data scope (and granted to them); drafts and submit."""

    resource_name = "loan"
    openapi_spec_tag = "Loans"
    datamodel = LoanInterface(Loan)
    base_filters = [["id", LoanScopeFilter, None]]
    exclude_route_methods = {"delete"}
    list_title = _l("All loans")
    show_title = _l("Loan details")
    label_columns = dict(LOAN_LABELS, id="ID", version=_l("Version"), installments=_l("Repayment schedule"),
                         fees=_l("Fees"), guarantors=_l("Guarantors"), collaterals=_l("Collateral"),
                         updated_at=_l("Updated at"), **{
                             f"{rel}.{col}": LOAN_LABELS.get(rel, rel) for rel, col in
                             (c.split(".") for c in _LOAN_REFS + ["intermediary.id", "intermediary.name",
                                                                 "created_by.id", "created_by.username"])})
    list_columns = ["id", "loan_no", "status", "status_label"] + _LOAN_REFS + [
        "amount", "term", "annual_rate", "method", "start_date", "guarantee_types", "cost_rate", "created_at",
        "submitted_at"]
    show_columns = _LOAN_SHOW
    add_columns = edit_columns = list(_LOAN_FIELDS)
    search_columns = ["loan_no", "status", "customer", "product", "officer", "amount", "start_date", "created_at"]
    order_columns = ["loan_no", "amount", "start_date", "created_at"]
    base_order = ("created_at", "desc")
    # The choices _info offers: the caller's customers, enabled products, officers and
    # intermediaries of the caller's branches.
    add_query_rel_fields = edit_query_rel_fields = {
        "customer": scope_filters(),
        "product": [["is_enabled", FilterEqual, True]],
        "officer": [["branch_id", FilterInFunction, _officer_choices]],
        "intermediary": scope_filters(),
    }

    # -- checks around the service ---------------------------------------------------
    def _check_parties(self, item, changed):
        """The officer and the intermediary must belong to branches the caller sees (the
        customer and the product are checked by the service)."""
        officer = item.officer
        if "officer" in changed and officer is not None:
            allowed = _officer_choices()
            if officer.branch_id is None or officer.branch_id not in allowed:
                raise DomainError(f"客户经理“{officer.username}”不属于您的管辖机构", "officer")
        intermediary = item.intermediary
        if ("intermediary" in changed and intermediary is not None and intermediary.branch_id
                and not can_see_branch(intermediary.branch_id)):
            raise DomainError(f"中介“{intermediary.name}”不属于您的管辖机构", "intermediary")

    def pre_add(self, item):
        user = _acting_user()
        item.guarantee_types = _clean_guarantee_types(item.guarantee_types)
        with self.datamodel.session.no_autoflush:
            self._check_parties(item, {"officer", "intermediary"})
            loan_service.save_draft(item, user)

    def pre_update(self, item):
        # Read before any query: a flush would clear the attribute history.
        changed = _changed(item, "product", "officer", "intermediary")
        user = _acting_user()
        item.guarantee_types = _clean_guarantee_types(item.guarantee_types)
        # No autoflush: the edited loan must not reach the database before it is checked.
        with self.datamodel.session.no_autoflush:
            if not loan_service.can_handle(item, user):  # put_headless refused it already
                raise DomainError("只有项目的客户经理或被授权办理的用户可以修改")
            self._check_parties(item, changed)
            loan_service.save_draft(item, user, product_changed="product" in changed)

    # -- responses ---------------------------------------------------------------------
    def _with_show(self, response, pk):
        """The saved loan as GET shows it, in place of FAB's echo of the posted fields."""
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:  # no longer in the caller's scope (e.g. another customer's branch)
            return response
        return self.response(response.status_code, id=pk, result=self.show_model_schema.dump(item, many=False))

    def post_headless(self):
        response = super().post_headless()
        if response.status_code == 201:
            return self._with_show(response, response.get_json()["id"])
        return response

    def put_headless(self, pk):
        if parse_id(pk) is None:
            return self.response_404()
        item = self.datamodel.get(pk, self._base_filters)
        if item is not None:
            if not loan_service.can_handle(item, _acting_user()):
                return self.response_403()
            if not item.is_editable:
                return self.response_422(message={"_schema": [
                    f"项目 {item.loan_no} 当前状态为“{item.status_label}”，不能修改；如需变更请走变更流程"]})
        response = super().put_headless(pk)
        if response.status_code == 200:
            return self._with_show(response, item.id)
        return response

    # -- submit --------------------------------------------------------------------------
    @expose("/<int:pk>/submit", methods=["POST"])
    @protect()
    @safe
    @permission_name("submit")
    @api_operation(422)
    def submit(self, pk):
        """Submit a draft for approval after every pre-submission check.
        ---
        post:
          description: >-
            Runs the pre-submission checks (product terms, guarantees and loan-to-value,
            cost cap, concentration, customer materials); on success the loan goes to
            in_approval. A warning (cost above 4 × LPR) does not stop the submission.
          responses:
            200:
              description: Submitted
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      status: {type: string, example: in_approval}
                      warning: {type: string, nullable: true}
        """
        loan = self.datamodel.get(pk, self._base_filters) if parse_id(pk) else None
        if loan is None:
            return self.response_404()
        user = _acting_user()
        if not loan_service.can_handle(loan, user):
            return self.response_403()
        try:
            warning = loan_service.submit(loan, user)
        except DomainError as exc:
            return self._domain_error(exc)
        return self.response(200, status=loan.status, warning=warning)

