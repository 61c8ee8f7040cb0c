"""贷款产品 maintenance (admins): terms, fees and loan-to-value limits."""
from flask_babel import lazy_gettext as _l

from app.domain.schedule import METHOD_LABELS
from app.models.product import (
    ALLOCATION_ORDERS, FEE_ACCOUNTS, FEE_BASES, FEE_TIMINGS, PERIOD_UNITS, LoanProduct, ProductFee, ProductLtv,
)
from app.services import dictionaries, products
from app.views.base import AppInterface, CheckedModelView
from app.views.widgets import ChoiceField, CommaListField, DictSelectField, MoneyField

ROUNDINGS = {"HALF_UP": "四舍五入", "DOWN": "舍去", "UP": "进位"}


class ProductFeeView(CheckedModelView):
    datamodel = AppInterface(ProductFee)
    list_title = _l("Product fees")
    show_title = add_title = edit_title = _l("Product fee")
    label_columns = {"product": _l("Loan product"), "fee_type": _l("Fee type"), "basis": _l("Basis"),
                     "basis_label": _l("Basis"), "value": _l("Amount (yuan) or rate (%)"), "timing": _l("Due"),
                     "timing_label": _l("Due"), "account": _l("Account"), "editable": _l("Editable on the loan")}
    list_columns = ["product", "fee_type", "basis_label", "value", "timing_label", "account", "editable"]
    add_columns = edit_columns = show_columns = ["product", "fee_type", "basis", "value", "timing", "account",
                                                 "editable"]
    search_columns = ["product", "fee_type"]
    formatters_columns = {"fee_type": lambda code: dictionaries.label_of("fee_type", code),
                          "account": lambda code: FEE_ACCOUNTS.get(code, code)}
    add_form_extra_fields = edit_form_extra_fields = {
        "fee_type": DictSelectField(_l("Fee type"), "fee_type", blank=False),
        "basis": ChoiceField(_l("Basis"), FEE_BASES),
        "timing": ChoiceField(_l("Due"), FEE_TIMINGS),
        "account": ChoiceField(_l("Account"), FEE_ACCOUNTS),
    }

    def pre_add(self, item):
        products.check_fee(item)

    pre_update = pre_add


class ProductLtvView(CheckedModelView):
    datamodel = AppInterface(ProductLtv)
    list_title = _l("Loan-to-value limits")
    show_title = add_title = edit_title = _l("Loan-to-value limit")
    label_columns = {"product": _l("Loan product"), "collateral_type": _l("Collateral type"),
                     "max_ltv_pct": _l("Maximum loan-to-value (%)")}
    list_columns = add_columns = edit_columns = show_columns = ["product", "collateral_type", "max_ltv_pct"]
    search_columns = ["product", "collateral_type"]
    formatters_columns = {"collateral_type": lambda code: dictionaries.label_of("collateral_type", code)}
    add_form_extra_fields = edit_form_extra_fields = {
        "collateral_type": DictSelectField(_l("Collateral type"), "collateral_type", blank=False)}

    def pre_add(self, item):
        products.check_ltv_limit(item)

    pre_update = pre_add


class LoanProductView(CheckedModelView):
    datamodel = AppInterface(LoanProduct)
    list_title = _l("Loan products")
    show_title = add_title = edit_title = _l("Loan product")
    label_columns = {
        "code": _l("Code"), "name": _l("Name"), "methods": _l("Repayment methods"), "period": _l("Period unit"),
        "interest_by_days": _l("Interest by actual days"), "min_amount": _l("Minimum amount (yuan)"),
        "max_amount": _l("Maximum amount (yuan)"), "min_term": _l("Minimum term"), "max_term": _l("Maximum term"),
        "min_rate": _l("Minimum annual rate (%)"), "max_rate": _l("Maximum annual rate (%)"),
        "day_basis": _l("Day-count basis"), "rounding": _l("Rounding"),
        "penalty_markup_pct": _l("Penalty markup (%)"), "grace_days": _l("Grace days"),
        "allocation_order": _l("Repayment allocation order"), "fixed_day_allowed": _l("Fixed repayment day allowed"),
        "guarantee_required": _l("Guarantee required"), "is_enabled": _l("Enabled"), "description": _l("Description"),
    }
    list_columns = ["code", "name", "methods", "min_amount", "max_amount", "min_rate", "max_rate", "is_enabled"]
    add_columns = edit_columns = show_columns = [
        "code", "name", "methods", "period", "interest_by_days", "min_amount", "max_amount", "min_term", "max_term",
        "min_rate", "max_rate", "day_basis", "rounding", "penalty_markup_pct", "grace_days", "allocation_order",
        "fixed_day_allowed", "guarantee_required", "is_enabled", "description"]
    search_columns = ["code", "name", "is_enabled"]
    related_views = [ProductFeeView, ProductLtvView]
    formatters_columns = {"methods": lambda value: "、".join(METHOD_LABELS.get(m, m) for m in (value or "").split(",") if m)}
    add_form_extra_fields = edit_form_extra_fields = {
        "methods": CommaListField(_l("Repayment methods"), choices=METHOD_LABELS),
        "period": ChoiceField(_l("Period unit"), PERIOD_UNITS),
        "day_basis": ChoiceField(_l("Day-count basis"), {"360": "360 天", "365": "365 天"}, coerce=int),
        "rounding": ChoiceField(_l("Rounding"), ROUNDINGS),
        "allocation_order": ChoiceField(_l("Repayment allocation order"), ALLOCATION_ORDERS),
        "min_amount": MoneyField(_l("Minimum amount (yuan)")),
        "max_amount": MoneyField(_l("Maximum amount (yuan)")),
    }
    description_columns = {
        "min_term": _l("In months, or in days for a product counted by days"),
        "penalty_markup_pct": _l("Penalty rate = contract rate × (1 + markup); 30–50 %"),
    }

    def check_form(self, form, pk):
        products.check_product_values({key: field.data for key, field in form._fields.items()})

    def pre_add(self, item):
        products.check_product(item)

    pre_update = pre_add
