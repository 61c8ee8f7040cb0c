"""系统设置: dictionaries, parameters, LPR, menu management and the audit log."""
from flask import current_app

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import DataRequired, ValidationError

from app.domain.errors import DomainError
from app.domain.parameters import parse_value
from app.extensions import db
from app.models import AuditLog, DictItem, DictType, LprRate, MenuOverride, Setting
from app.services import settings as settings_service
from app.views.base import AppInterface, AppModelView


class DictItemView(AppModelView):
    datamodel = AppInterface(DictItem)
    list_title = _l("Dictionary items")
    show_title = add_title = edit_title = _l("Dictionary item")
    label_columns = {
        "dict_type": _l("Dictionary"), "code": _l("Code"), "label": _l("Label"),
        "sort_order": _l("Sort order"), "is_active": _l("Active"), "extra": _l("Extra flag"),
    }
    description_columns = {
        "code": _l("Stable code used by the system; do not change it once in use"),
        "extra": _l("Optional flag used by business rules, e.g. forbidden for a forbidden loan purpose"),
    }
    list_columns = ["dict_type", "code", "label", "sort_order", "is_active", "extra"]
    search_columns = ["dict_type", "code", "label", "is_active"]
    add_columns = edit_columns = show_columns = ["dict_type", "code", "label", "sort_order", "is_active", "extra"]
    order_columns = ["code", "label", "sort_order"]
    base_order = ("sort_order", "asc")

    def pre_delete(self, item):
        # Codes may be stored on business records; deactivate instead of deleting.
        raise DomainError(str(_l("Dictionary items cannot be deleted because records may use them; untick Active instead.")))


class DictTypeView(AppModelView):
    datamodel = AppInterface(DictType)
    list_title = _l("Dictionaries")
    show_title = add_title = edit_title = _l("Dictionary")
    related_views = [DictItemView]
    label_columns = {"code": _l("Code"), "name": _l("Name"), "description": _l("Description")}
    list_columns = add_columns = edit_columns = show_columns = ["code", "name", "description"]
    search_columns = ["code", "name"]
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]


def _validate_setting_value(form, field):
    """Form-level check of the typed value (the service checks again on save)."""
    row = db.session.get(Setting, getattr(form, "_id", None)) if getattr(form, "_id", None) else None
    if row is None:
        return
    try:
        parse_value(row.value_type, field.data, row.min_value, row.max_value, label=row.label)
    except DomainError as exc:
        # FAB renders field errors through gettext with %-formatting: keep "%" literal.
        raise ValidationError(exc.message.replace("%", "%%"))


class SettingView(AppModelView):
    datamodel = AppInterface(Setting)
    list_title = _l("System parameters")
    show_title = edit_title = _l("System parameter")
    label_columns = {
        "key": _l("Key"), "label": _l("Parameter"), "value": _l("Value"),
        "value_type_label": _l("Type"), "value_type": _l("Type"), "description": _l("Description"),
        "group_name": _l("Group"), "min_value": _l("Minimum"), "max_value": _l("Maximum"),
    }
    list_columns = ["label", "value", "value_type_label", "description", "group_name"]
    show_columns = ["label", "key", "value", "value_type_label", "min_value", "max_value", "description", "group_name"]
    edit_columns = ["value"]
    search_columns = ["label", "key", "group_name"]
    order_columns = ["label", "group_name"]
    base_order = ("sort_order", "asc")
    base_permissions = ["can_list", "can_show", "can_edit"]
    validators_columns = {"value": [_validate_setting_value]}
    page_size = 50

    def pre_update(self, item):
        parse_value(item.value_type, item.value, item.min_value, item.max_value, label=item.label)
        item.value = (item.value or "").strip()

    def post_update(self, item):
        settings_service.clear_cache()


class LprRateView(AppModelView):
    datamodel = AppInterface(LprRate)
    list_title = _l("Loan prime rate (LPR)")
    show_title = add_title = edit_title = _l("LPR")
    label_columns = {
        "effective_date": _l("Effective date"), "rate_1y": _l("1-year LPR (%)"), "rate_5y": _l("5-year LPR (%)"),
    }
    list_columns = add_columns = edit_columns = show_columns = ["effective_date", "rate_1y", "rate_5y"]
    search_columns = ["effective_date"]
    base_order = ("effective_date", "desc")

    def pre_add(self, item):
        for rate in (item.rate_1y, item.rate_5y):
            if rate is None or rate <= 0 or rate >= 100:
                raise DomainError(str(_l("LPR must be a percentage between 0 and 100, e.g. 3.00")))

    pre_update = pre_add


def _menu_choices():
    return [(name, f"{category + ' / ' if category else ''}{label}")
            for name, label, category in current_app.appbuilder.menu.all_entries()]


class MenuOverrideView(AppModelView):
    datamodel = AppInterface(MenuOverride)
    list_title = _l("Menu management")
    show_title = add_title = edit_title = _l("Menu entry")
    label_columns = {"name": _l("Menu entry"), "label": _l("New label"), "sort_order": _l("Sort order"),
                     "hidden": _l("Hidden")}
    description_columns = {
        "label": _l("Leave empty to keep the original label"),
        "sort_order": _l("Smaller numbers come first; the default order is 10, 20, 30 …"),
        "hidden": _l("Hiding only removes the entry from the menu; permissions still decide access"),
    }
    list_columns = add_columns = edit_columns = show_columns = ["name", "label", "sort_order", "hidden"]
    search_columns = ["name", "label", "hidden"]
    add_form_extra_fields = edit_form_extra_fields = {
        "name": SelectField(_l("Menu entry"), choices=_menu_choices, validators=[DataRequired()]),
    }


AUDIT_ACTIONS = {
    "insert": _l("Created"), "update": _l("Changed"), "delete": _l("Deleted"), "login": _l("Logged in"),
    "login_failed": _l("Login failed"), "login_locked": _l("Login refused: account locked"), "logout": _l("Logged out"),
}


def _table_label(name):
    """The Chinese name of a table: the list title of the view that shows it, if any."""
    for view in current_app.appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if datamodel is not None and getattr(datamodel.obj, "__tablename__", None) == name:
            return f"{view.list_title}（{name}）"
    return name or ""


class AuditLogView(AppModelView):
    """Read-only: there is no add, edit or delete permission to grant."""

    formatters_columns = {
        "action": lambda value: AUDIT_ACTIONS.get(value, value),
        "table_name": _table_label,
    }

    datamodel = AppInterface(AuditLog)
    list_title = _l("Audit log")
    show_title = _l("Audit log entry")
    base_permissions = ["can_list", "can_show"]
    label_columns = {
        "created_at": _l("Time"), "username": _l("User"), "action": _l("Action"),
        "table_name": _l("Table"), "row_id": _l("Record ID"), "changes": _l("Changes (old → new)"),
        "ip": _l("IP address"), "user_id": _l("User ID"),
    }
    list_columns = ["created_at", "username", "action", "table_name", "row_id", "ip"]
    show_columns = ["created_at", "username", "user_id", "action", "table_name", "row_id", "ip", "changes"]
    search_columns = ["created_at", "username", "action", "table_name", "row_id"]
    order_columns = ["created_at"]
    base_order = ("created_at", "desc")
    page_size = 50
