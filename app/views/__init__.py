"""Every view and API, registered in one place and in menu order."""
from flask_babel import lazy_gettext as _l

# (category name, label, icon): the name is the key an admin's menu override uses.
CATEGORIES = [
    ("Customers", _l("Customer management"), "fa-address-book"),
    ("Loans", _l("Loan business"), "fa-money"),
    ("Approvals", _l("Approvals"), "fa-check-square-o"),
    ("Messages", _l("Message center"), "fa-envelope"),
    ("Risk", _l("Risk management"), "fa-shield"),
    ("Finance", _l("Finance"), "fa-cny"),
    ("Reports", _l("Reports"), "fa-bar-chart"),
    ("Archive", _l("Archive management"), "fa-archive"),
    ("Partners", _l("Partners"), "fa-handshake-o"),
    ("Tools", _l("Business tools"), "fa-calculator"),
    ("Organization", _l("Organisation"), "fa-sitemap"),
    ("System", _l("System settings"), "fa-cogs"),
]


def register_views(appbuilder):
    from .attachments import AttachmentView
    from .blacklist import BlacklistEntryView
    from .customers import (
        CustomerCompanyView, CustomerPersonView, CustomerSoleTraderView, CustomerView, MaterialRequirementView,
        RelatedPartyView, RelatedPersonView,
    )
    from .loans import (
        CollateralView, DisbursementRequestView, GuarantorView, LoanClosedView, LoanFeeView, LoanGrantView,
        LoanHistoryView, LoanMineView,
        LoanNewView, LoanReturnedView, LoanView,
    )
    from .partners import BankView, CounterpartyView, IntermediaryView
    from .products import LoanProductView, ProductFeeView, ProductLtvView
    from .workflow import ApprovalView, TodoView, WorkflowStepView, WorkflowView
    from .contracts import ContractDocumentView, ContractTemplateView
    from app.services import loan_approval  # noqa: F401  (registers the loan approval flows)
    from .visits import CustomerVisitView, FieldInvestigationView, VisitFollowUpView
    from .tools import ScheduleApi, ScheduleCalculatorView
    from .org import BranchView, DepartmentView, PositionView
    from .system import (
        AuditLogView, DictItemView, DictTypeView, LprRateView, MenuOverrideView, SettingView,
    )

    for name, label, icon in CATEGORIES:
        appbuilder.menu.add_category(name, icon=icon, label=label)

    appbuilder.add_link("Home", label=_l("My home"), href="/", icon="fa-home")
    appbuilder.menu.menu.insert(0, appbuilder.menu.menu.pop())  # home first

    add = appbuilder.add_view
    add(CustomerPersonView, "Person customers", label=_l("Person customers"), icon="fa-user", category="Customers")
    add(CustomerCompanyView, "Company customers", label=_l("Company customers"), icon="fa-building-o", category="Customers")
    add(CustomerSoleTraderView, "Sole trader customers", label=_l("Sole trader customers"), icon="fa-shopping-bag",
        category="Customers")
    add(CustomerView, "All customers", label=_l("All customers"), icon="fa-search", category="Customers")
    from .customer_import import CustomerImportView

    add(CustomerImportView, "Customer import", label=_l("Import customers"), icon="fa-upload", category="Customers")
    add(CustomerVisitView, "Customer visits", label=_l("Customer visits"), icon="fa-street-view", category="Customers")
    add(VisitFollowUpView, "Follow-ups", label=_l("Follow-ups"), icon="fa-comments", category="Customers")
    add(FieldInvestigationView, "Field investigations", label=_l("Field investigations"), icon="fa-map-marker",
        category="Customers")
    add(RelatedPersonView, "Related persons", label=_l("Related persons"), icon="fa-users", category="Customers")
    add(RelatedPartyView, "Related parties", label=_l("Related parties"), icon="fa-link", category="Customers")
    add(BlacklistEntryView, "Blacklist", label=_l("Blacklist"), icon="fa-ban", category="Customers")
    add(MaterialRequirementView, "Materials checklist settings", label=_l("Materials checklist settings"),
        icon="fa-check-square-o", category="Customers")
    add(LoanView, "All loans", label=_l("All loans"), icon="fa-list", category="Loans")
    add(LoanNewView, "New loan", label=_l("New loan"), icon="fa-plus-circle", category="Loans")
    add(LoanMineView, "My loans", label=_l("My loans"), icon="fa-user", category="Loans")
    add(LoanReturnedView, "Returned loans", label=_l("Returned and rejected loans"), icon="fa-undo", category="Loans")
    add(LoanHistoryView, "Historical loans", label=_l("Historical loans"), icon="fa-archive", category="Loans")
    add(LoanClosedView, "Closed loans", label=_l("Closed loans"), icon="fa-check-circle", category="Loans")
    add(LoanGrantView, "Loan access grants", label=_l("Loan access grants"), icon="fa-key", category="Loans")
    add(LoanProductView, "Loan products", label=_l("Loan products"), icon="fa-cubes", category="Loans")
    add(TodoView, "To-do", label=_l("My to-do list"), icon="fa-tasks", category="Approvals")
    add(WorkflowView, "Workflows", label=_l("Workflows"), icon="fa-sitemap", category="Approvals")
    from .finance import register_views as register_finance_views
    register_finance_views(appbuilder)
    from .repayments import register_views as register_repayment_views; register_repayment_views(appbuilder)  # noqa: E702
    from .servicing_requests import ServicingRequestView

    add(ServicingRequestView, "Servicing requests", label=_l("Servicing requests"), icon="fa-exchange",
        category="Loans")
    # Servicing kinds register their apply forms below, one line each.
    from .servicing_loan import register_views as servicing_loan_views; servicing_loan_views(appbuilder)  # noqa: E702
    from .period_close import register_views as period_close_views; period_close_views(appbuilder)  # noqa: E702
    from .servicing_adjustments import register_views as adjustment_views; adjustment_views(appbuilder)  # noqa: E702
    # 风险管理 (issue #9): batch and classification, credit rating, credit lines, post-loan.
    from . import archive, credit_lines, messages, post_loan, rating, reports, reports_finance, reports_statistics, risk
    for module in (risk, rating, credit_lines, post_loan, messages, reports, reports_statistics, reports_finance,
                   archive):
        module.register_views(appbuilder)
    add(ContractTemplateView, "Contract templates", label=_l("Contract templates"), icon="fa-file-word-o",
        category="Loans")
    for view in (GuarantorView, CollateralView, LoanFeeView, ProductFeeView, ProductLtvView, WorkflowStepView,
                 ApprovalView, DisbursementRequestView, ContractDocumentView):
        appbuilder.add_view_no_menu(view)
    add(BankView, "Partner banks", label=_l("Partner banks"), icon="fa-university", category="Partners")
    add(IntermediaryView, "Intermediaries", label=_l("Intermediaries"), icon="fa-user-secret", category="Partners")
    add(CounterpartyView, "Other counterparties", label=_l("Other counterparties"), icon="fa-briefcase",
        category="Partners")
    from .customer_api import BankApi, CustomerApi, IntermediaryApi
    for api in (CustomerApi, BankApi, IntermediaryApi):
        appbuilder.add_api(api)
    from .loan_api import LoanApi, LoanProductApi
    appbuilder.add_api(LoanProductApi)
    appbuilder.add_api(LoanApi)

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
