"""用户管理: FAB's user screens with the organisation fields and Chinese labels."""
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext as _l

from app.views.base import ReadableViewMixin


class AppUserDBModelView(ReadableViewMixin, UserDBModelView):
    label_columns = {
        **UserDBModelView.label_columns,
        "first_name": _l("Given name"),
        "last_name": _l("Family name"),
        "real_name": _l("Real name"),
        "mobile": _l("Mobile"),
        "branch": _l("Branch"),
        "department": _l("Department"),
        "position": _l("Position"),
        "must_change_password": _l("Must change password"),
        "display_name": _l("Real name"),
    }
    description_columns = {
        **UserDBModelView.description_columns,
        "username": _l("Login name; letters, digits and underscores"),
        "branch": _l("Data scope: the user sees customers and loans of this branch and the branches below it"),
    }
    list_columns = ["username", "display_name", "branch", "department", "position", "mobile", "active", "roles"]
    search_columns = ["username", "real_name", "mobile", "email", "branch", "department", "active", "roles"]
    _org = ["branch", "department", "position", "mobile"]
    add_columns = ["username", "last_name", "first_name", *_org, "email", "active", "roles",
                   "password", "conf_password"]
    edit_columns = ["username", "last_name", "first_name", *_org, "email", "active", "roles"]
    show_fieldsets = [
        (_l("User info"), {"fields": ["username", "display_name", "active", "roles", "login_count"]}),
        (_l("Organisation"), {"fields": ["branch", "department", "position", "mobile", "email"], "expanded": True}),
        (_l("Audit Info"), {"fields": ["last_login", "fail_login_count", "must_change_password",
                                       "created_on", "created_by", "changed_on", "changed_by"],
                            "expanded": False}),
    ]
    user_show_fieldsets = [
        (_l("User info"), {"fields": ["username", "display_name", "roles", "login_count"]}),
        (_l("Organisation"), {"fields": ["branch", "department", "position", "mobile", "email"], "expanded": True}),
    ]
    page_size = 20

    def _fill_real_name(self, item):
        item.real_name = f"{item.last_name or ''}{item.first_name or ''}".strip() or item.username

    def pre_add(self, item):
        super().pre_add(item)  # hashes the password
        self._fill_real_name(item)

    def pre_update(self, item):
        super().pre_update(item)
        self._fill_real_name(item)

