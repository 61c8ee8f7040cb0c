"""组织机构: branches, departments, positions."""

from flask_babel import lazy_gettext as _l

from app.services import org
from app.models import Branch, Department, Position
from app.views.base import AppInterface, AppModelView


class BranchView(AppModelView):
    datamodel = AppInterface(Branch)
    list_title = _l("Branches")
    show_title = add_title = edit_title = _l("Branch")
    label_columns = {
        "code": _l("Code"), "name": _l("Name"), "parent": _l("Parent branch"),
        "address": _l("Address"), "phone": _l("Phone"), "manager_name": _l("Branch manager"),
        "sort_order": _l("Sort order"), "is_active": _l("Active"),
    }
    description_columns = {"parent": _l("Leave empty for the head office")}
    list_columns = ["code", "name", "parent", "manager_name", "phone", "is_active"]
    search_columns = ["code", "name", "parent", "is_active"]
    add_columns = edit_columns = ["code", "name", "parent", "address", "phone", "manager_name",
                                  "sort_order", "is_active"]
    show_columns = add_columns
    order_columns = ["code", "name", "sort_order"]
    base_order = ("sort_order", "asc")

    def pre_update(self, item):
        org.check_branch_parent(item)

    def pre_delete(self, item):
        org.check_branch_deletable(item)


class DepartmentView(AppModelView):
    datamodel = AppInterface(Department)
    list_title = _l("Departments")
    show_title = add_title = edit_title = _l("Department")
    label_columns = {
        "code": _l("Code"), "name": _l("Name"), "branch": _l("Branch"), "head": _l("Department head"),
        "sort_order": _l("Sort order"), "is_active": _l("Active"),
    }
    list_columns = ["code", "name", "branch", "head", "is_active"]
    search_columns = ["code", "name", "branch", "is_active"]
    add_columns = edit_columns = show_columns = ["code", "name", "branch", "head", "sort_order", "is_active"]
    order_columns = ["code", "name", "sort_order"]


class PositionView(AppModelView):
    datamodel = AppInterface(Position)
    list_title = _l("Positions")
    show_title = add_title = edit_title = _l("Position")
    label_columns = {"code": _l("Code"), "name": _l("Name"), "description": _l("Description")}
    list_columns = add_columns = edit_columns = show_columns = ["code", "name", "description"]
    search_columns = ["code", "name"]
