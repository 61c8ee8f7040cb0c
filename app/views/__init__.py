"""Every view and API, registered in one place and in menu order."""
from flask_babel import lazy_gettext as _l

# (category name, label, icon): the name is the key an admin's menu override uses.
CATEGORIES = [
    ("Tools", _l("Business tools"), "fa-calculator"),
    ("Organization", _l("Organisation"), "fa-sitemap"),
    ("System", _l("System settings"), "fa-cogs"),
]


def register_views(appbuilder):
    from .attachments import AttachmentView
    from .tools import ScheduleApi, ScheduleCalculatorView
    from .org import BranchView, DepartmentView, PositionView
    from .system import (
        AuditLogView, DictItemView, DictTypeView, LprRateView, MenuOverrideView, SettingView,
    )

    for name, label, icon in CATEGORIES:
        appbuilder.menu.add_category(name, icon=icon, label=label)

    appbuilder.add_link("Home", label=_l("My home"), href="/", icon="fa-home")
    appbuilder.menu.menu.insert(0, appbuilder.menu.menu.pop())  # home first

    appbuilder.add_view(ScheduleCalculatorView, "Schedule calculator", label=_l("Repayment schedule calculator"),
                        icon="fa-calculator", category="Tools")
    appbuilder.add_api(ScheduleApi)

    appbuilder.add_view(BranchView, "Branches", label=_l("Branches"), icon="fa-building", category="Organization")
    appbuilder.add_view(DepartmentView, "Departments", label=_l("Departments"), icon="fa-users", category="Organization")
    appbuilder.add_view(PositionView, "Positions", label=_l("Positions"), icon="fa-id-badge", category="Organization")

    appbuilder.add_view(DictTypeView, "Dictionaries", label=_l("Dictionaries"), icon="fa-book", category="System")
    appbuilder.add_view(DictItemView, "Dictionary items", label=_l("Dictionary items"), icon="fa-list", category="System")
    appbuilder.add_view(SettingView, "System parameters", label=_l("System parameters"), icon="fa-sliders", category="System")
    appbuilder.add_view(LprRateView, "LPR", label=_l("Loan prime rate (LPR)"), icon="fa-line-chart", category="System")
    appbuilder.add_view(MenuOverrideView, "Menu management", label=_l("Menu management"), icon="fa-bars", category="System")
    appbuilder.add_view(AuditLogView, "Audit log", label=_l("Audit log"), icon="fa-history", category="System")
    appbuilder.add_view(AttachmentView, "Attachments", label=_l("Attachments"), icon="fa-paperclip", category="System")

    # FAB adds its Security menu first; the admin's screens belong at the end.
    menu = appbuilder.menu.menu
    for item in [i for i in menu if i.name == "Security"]:
        menu.remove(item)
        menu.append(item)
