"""合作银行, 中介 and 其他往来单位."""
from flask_babel import lazy_gettext as _l
from wtforms import DecimalField
from wtforms.validators import NumberRange, Optional

from flask import g

from app.models import Bank, Counterparty, Intermediary
from app.services import partners
from app.services.scope import scope_filters
from app.views.base import AppInterface, AppModelView

_CONTACT = {"contact_name": _l("Contact person"), "contact_phone": _l("Contact phone"), "address": _l("Address"),
            "remarks": _l("Remarks"), "is_active": _l("Active"), "name": _l("Name")}


class BankView(AppModelView):
    datamodel = AppInterface(Bank)
    list_title = _l("Partner banks")
    show_title = add_title = edit_title = _l("Partner bank")
    label_columns = dict(_CONTACT, branch_name=_l("Bank branch"), accounts=_l("Our accounts at this bank"),
                         cooperation_notes=_l("Cooperation notes"))
    list_columns = ["name", "branch_name", "contact_name", "contact_phone", "is_active"]
    add_columns = edit_columns = show_columns = ["name", "branch_name", "contact_name", "contact_phone", "address",
                                                 "accounts", "cooperation_notes", "is_active"]
    search_columns = ["name", "branch_name", "contact_name", "is_active"]


class IntermediaryView(AppModelView):
    datamodel = AppInterface(Intermediary)
    list_title = _l("Intermediaries")
    show_title = add_title = edit_title = _l("Intermediary")
    base_filters = scope_filters()
    label_columns = dict(_CONTACT, identifier=_l("ID number / credit code"), commission_rate=_l("Commission rate (%)"),
                         bank_account=_l("Bank account"), branch=_l("Branch"), customers=_l("Referred customers"))
    list_columns = ["name", "contact_name", "contact_phone", "commission_rate", "branch", "is_active"]
    add_columns = edit_columns = ["name", "identifier", "contact_name", "contact_phone", "address", "commission_rate",
                                  "bank_account", "branch", "remarks", "is_active"]
    show_columns = add_columns + ["customers"]
    search_columns = ["name", "contact_name", "contact_phone", "branch", "is_active"]
    add_form_extra_fields = edit_form_extra_fields = {
        "commission_rate": DecimalField(_l("Commission rate (%)"), places=4,
                                        validators=[Optional(), NumberRange(min=0, max=100, message="佣金比例应在 0 到 100 之间")]),
    }

    def pre_add(self, item):
        partners.check_intermediary(item, g.user)

    pre_update = pre_add


class CounterpartyView(AppModelView):
    datamodel = AppInterface(Counterparty)
    list_title = _l("Other counterparties")
    show_title = add_title = edit_title = _l("Counterparty")
    label_columns = dict(_CONTACT, category=_l("Category"), credit_code=_l("Unified social credit code"),
                         bank_account=_l("Bank account"))
    list_columns = ["name", "category", "contact_name", "contact_phone", "is_active"]
    add_columns = edit_columns = show_columns = ["name", "category", "credit_code", "contact_name", "contact_phone",
                                                 "address", "bank_account", "remarks", "is_active"]
    search_columns = ["name", "category", "contact_name", "is_active"]

    def pre_add(self, item):
        partners.check_counterparty(item)

    pre_update = pre_add
