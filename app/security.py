"""Security: the custom user model, login auditing and lock-out, and the built-in roles.

The built-in roles are data (ROLES below): each is a list of (view regex, permission
regex) rules matched against the permissions FAB registered. ``sync_roles`` (run by
``flask init``) creates missing roles and grants what the rules match; what an admin adds
to a role in the UI is kept, so the rules are a floor, not a cage.
"""
import re

from flask import current_app, flash, g, has_request_context, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_appbuilder.security.views import AuthDBView
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.domain.passwords import password_problems
from app.models import AppUser
from app.services import audit
from app.services.scope import SCOPE_PERMISSION, SCOPE_VIEW

# code name → name stored in ab_role (what users see).
ROLE_NAMES = {
    "Admin": "系统管理员",
    "LoanOfficer": "客户经理",
    "RiskReviewer": "风控审查",
    "Approver": "审批人",
    "Finance": "财务",
    "Manager": "管理层",
    "Archivist": "档案管理员",
}
PUBLIC_ROLE_NAME = "匿名用户"


def role_name(code):
    return ROLE_NAMES[code]


READ = r"can_list|can_show|can_download|can_get|can_info|can_export|can_search"
NO_DELETE = r"(?!can_delete$).*"
ALL = r".*"

# Every signed-in staff member: home page, own profile and password, calculator, files.
_COMMON = [
    (r"HomeIndexView", ALL),
    (r"AppUserDBModelView", r"can_userinfo|resetmypassword|userinfoedit"),
    (r"ResetMyPasswordView|UserInfoEditView", ALL),
    (r"ScheduleCalculatorView|ScheduleApi", ALL),
    (r"AttachmentView", READ + r"|can_upload"),
    (r"NotificationView|MessageView|AnnouncementView", ALL),
]
# 档案管理 (issue #12): everyone but the archivist reads in-stock items and lent / overdue
# items and requests borrowing and collateral withdrawal; moving items (check-in / out, lend,
# return, transfer, destroy: can_lend, can_receive, can_execute, ArchiveItemView …) is the
# Archivist's (r"Archive.*") and the Admin's only.
_ARCHIVE_REQUESTS = [
    (r"Archive(Stock|Lent)View", READ),
    (r"ArchiveBorrowRequestView", r"can_list|can_show|can_add|can_cancel|can_export|can_print"),
    (r"ArchiveWithdrawalRequestView", r"can_list|can_show|can_add|can_submit|can_suspend|can_cancel|can_export|can_print"),
]
# Every report and the dashboard except the company's own money: fund balances and bank borrowing.
REPORTS_OF_LOANS = r"(Report(?!Fund|Bank)|Dashboard).*"
# Later issues name their views with these prefixes, so the rules reach them the day
# they land (e.g. Customer…View, Loan…View, Repayment…View).
ROLES = {
    "Admin": [(ALL, ALL)],
    "LoanOfficer": _COMMON + [
        (r"(Customer|Visit|FieldInvestigation|Related|Intermediary).*", NO_DELETE),
        (r"(Blacklist|Bank|Counterparty).*", READ),
        (r"(Loan(?!Product)|Guarantor|Collateral).*", ALL),
        (r"LoanProduct(View|Api)", READ),
        (r"(Workflow|Approval|Todo).*", r"can_list|can_show|can_act|can_todo.*"),
        (r"(PostLoan|ContractDocument|FinancialStatement).*", ALL),
        # 风险管理: officers read ratings, lines, classes and the overdue lists of their loans.
        (r"(CreditRating|Classification|Overdue|DueSoon|Default|Provision).*", READ),
        (r"CreditLine.*", r"can_list|can_show|can_add|can_edit|can_submit|can_search"),  # apply for a line
        # Reports and the dashboard: an officer sees the figures of his branch (data scope);
        # the company's fund balances and bank borrowing (ReportFund…, ReportBank…) are not his.
        (REPORTS_OF_LOANS, READ),
        # 提前还本、展期、调整 requests are applied for by the officer, executed by finance.
        (r"Servicing.*", r"can_list|can_show|can_add|can_apply.*|can_consent|can_cancel"),
        (r"ContractTemplateView", r"can_list|can_show|can_placeholders"),
        (r"(DictItem|LprRate)View", READ),
        # 消息中心: officers text and e-mail their customers.
        (r"(SmsView|MailView)", ALL),
        *_ARCHIVE_REQUESTS,
        (r"SmsTemplateView", READ),
    ],
    "RiskReviewer": _COMMON + [
        (r"(Customer|Loan|Guarantor|Collateral|Visit|FieldInvestigation|Related).*", READ),
        (r"Blacklist.*", ALL),
        (r"(Approval|Todo).*", ALL),
        (r"Workflow.*", READ),
        (r"(CreditRating|Scorecard|FinancialStatement|CreditLine|PostLoan|Classification|Provision|Default|Overdue|DueSoon).*", ALL),
        (r"Batch.*", READ),
        (REPORTS_OF_LOANS, READ),
        (r"(Repayment|Servicing).*", READ),
        *_ARCHIVE_REQUESTS,
        (r"(DictItem|LprRate)View", READ),
    ],
    "Approver": _COMMON + [
        (r"(Approval|Todo).*", ALL),
        (r"Workflow.*", READ),
        (r"(Customer|Loan|Guarantor|Collateral|CreditRating|CreditLine|PostLoan).*", READ),
        (REPORTS_OF_LOANS, READ),
        (r"Archive(Stock|BorrowRequest|WithdrawalRequest)View", READ),   # approvers open what they approve
        (r"(DictItem|LprRate)View", READ),
    ],
    "Finance": _COMMON + [
        (r"(Disbursement|Repayment|Receipt|Payment|Voucher|Ledger(?!AccountView)|FundAccount|Fee|Settlement|Prepayment|Servicing|Finance).*", ALL),
        # Closing a month is finance's; reopening one needs an admin (DOMAIN.md, issue #8 §12).
        (r"PeriodClose.*", r"(?!can_reopen$).*"),
        (r"LedgerAccountView", READ),
        (r"(Bank|Counterparty|ContractDocument).*", ALL),
        (r"(Approval|Todo).*", ALL),
        (r"Workflow.*", READ),
        (r"(Customer|Loan|Report|Dashboard).*", READ),
        # 拨备: finance books the month-end provision voucher.
        (r"Provision.*", ALL),
        (r"(Classification|Batch)View.*", READ),
        (r"(DictItem|LprRate)View", READ),
        (r"(SmsView|MailView)", ALL),
        (r"SmsTemplateView", READ),
    ],
    "Manager": _COMMON + [
        (r"(Customer|Loan|Report|Dashboard|Voucher|Ledger|FundAccount|CreditLine|Classification|Provision|Repayment|Servicing|PeriodClose).*", READ),
        (r"(CreditRating|FinancialStatement|BankCredit|PostLoan|Overdue|DueSoon|Default|Batch).*", READ),
        (r"(AuditLog|DictItem|Branch|Department|Position|LprRate|Setting)View", READ),
        (SCOPE_VIEW, SCOPE_PERMISSION),
        # A manager may be made a committee voter or a step's approver by an admin.
        (r"(Approval|Todo).*", r"can_act|can_todo"),
        (r"Reminder.*", READ),
        *_ARCHIVE_REQUESTS,
    ],
    "Archivist": _COMMON + [
        (r"Archive.*", ALL),
        (r"(Customer|Loan)View", READ),
    ],
}


def check_password_complexity(password):
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: refuse weak passwords with Chinese reasons."""
    problems = password_problems(password)
    if problems:
        raise PasswordComplexityValidationError("；".join(problems).replace("%", "%%"))


class AppAuthDBView(AuthDBView):
    """Login with lock-out after repeated failures, and logout by POST only."""

    invalid_login_message = _l("Invalid login. Please try again.")

    @expose("/login/", methods=["GET", "POST"])
    def login(self):
        if request.method == "POST":
            username = (request.form.get("username") or "").strip()
            user = self.appbuilder.sm.find_user(username=username) if username else None
            if user is not None and self.appbuilder.sm.is_locked(user):
                audit.log_event(self.appbuilder.sm.session, "login_locked", user=user)
                flash(str(_l("This account is locked after too many failed logins. Ask an administrator to reset its password.")), "danger")
                return redirect(self.appbuilder.get_url_for_login)
        return super().login()

    @expose("/logout/", methods=["GET", "POST"])
    def logout(self):
        if request.method == "GET":
            # A GET never logs out (a link or an <img> must not end a session).
            return self.render_template("microloan/logout.html", appbuilder=self.appbuilder)
        return super().logout()


class MicroLoanSecurityManager(SecurityManager):
    user_model = AppUser
    authdbview = AppAuthDBView

    def __init__(self, appbuilder):
        from app.views.users import AppUserDBModelView

        self.userdbmodelview = AppUserDBModelView
        super().__init__(appbuilder)

    # -- API tokens: every refusal a 401 with a message --------------------------------
    def create_jwt_manager(self, app):
        """Flask-JWT-Extended answers ``{"msg": …}`` (no ``message``), and a malformed or
        forged token with a 422: every API refusal is a 401 ``{"message": …}`` instead."""
        from flask import jsonify

        jwt_manager = super().create_jwt_manager(app)

        def refuse(message):
            return jsonify(message=message), 401

        jwt_manager.unauthorized_loader(lambda reason: refuse("未登录：请先登录（Authorization: Bearer <令牌>）"))
        jwt_manager.invalid_token_loader(lambda reason: refuse("登录令牌无效，请重新登录"))
        jwt_manager.expired_token_loader(lambda header, payload: refuse("登录令牌已过期，请重新登录"))
        jwt_manager.revoked_token_loader(lambda header, payload: refuse("登录令牌已失效，请重新登录"))
        jwt_manager.needs_fresh_token_loader(lambda header, payload: refuse("此操作需要重新登录"))
        jwt_manager.user_lookup_error_loader(lambda header, payload: refuse("登录令牌对应的用户不存在或已停用"))
        return jwt_manager

    # -- login auditing -------------------------------------------------------------
    def on_user_login(self, user):
        audit.log_event(self.session, "login", user=user)

    def on_user_login_failed(self, user):
        audit.log_event(self.session, "login_failed", user=user,
                        detail={"fail_login_count": user.fail_login_count})

    def on_user_logout(self, user):
        audit.log_event(self.session, "logout", user=user)

    def auth_user_db(self, username, password):
        user = self.find_user(username=username) if username else None
        if user is not None and self.is_locked(user):
            return None
        result = super().auth_user_db(username, password)
        if result is None and user is None and username:
            audit.log_event(self.session, "login_failed", username=username[:128],
                            detail={"reason": "unknown user"})
        return result

    def is_locked(self, user):
        limit = current_app.config.get("AUTH_MAX_FAILED_LOGINS", 5)
        return bool(limit) and (user.fail_login_count or 0) >= limit

    def reset_password(self, userid, password):
        """Own change clears the forced-change flag; an admin's reset sets it and unlocks."""
        super().reset_password(userid, password)
        user = self.get_user_by_id(userid)
        acting = g.get("user")
        own = acting is not None and getattr(acting, "id", None) == user.id
        user.must_change_password = not own
        user.fail_login_count = 0
        self.update_user(user)

    # -- permission checks: one query per request -----------------------------------
    # FAB asks the database once per menu item and per button (about 110 queries on a list
    # page); the user's (permission, view) pairs are read once per request instead.  Cached
    # on the request (not on g, which a test's app context keeps across requests), so a
    # change to a role shows on the next request.
    def _permission_pairs(self, user):
        if not has_request_context():
            return None
        cache = request.environ.setdefault("microloan.permissions", {})
        key = getattr(user, "id", None)
        if key not in cache:
            roles = [r for r in self.get_user_roles(user) if r.name not in self.builtin_roles]
            pairs = set()
            if roles:
                rows = self.session.execute(self._pairs_query("roles"), {"role_ids": [r.id for r in roles]})
                pairs = set(rows.all())
            cache[key] = pairs
        return cache[key]

    def _pairs_query(self, kind):
        """The (permission, view) pairs of the roles given by id (``role_ids``) or of the
        public role: built once (compiled once, cache key memoized), not per request."""
        queries = self.__dict__.setdefault("_pair_queries", {})
        query = queries.get(kind)
        if query is None:
            pv, assoc = self.permissionview_model, assoc_permissionview_role
            query = (select(self.permission_model.name, self.viewmenu_model.name).select_from(pv)
                     .join(assoc, assoc.c.permission_view_id == pv.id)
                     .join(self.permission_model, self.permission_model.id == pv.permission_id)
                     .join(self.viewmenu_model, self.viewmenu_model.id == pv.view_menu_id))
            if kind == "roles":
                query = query.where(assoc.c.role_id.in_(bindparam("role_ids", expanding=True)))
            else:
                query = query.join(self.role_model, self.role_model.id == assoc.c.role_id) \
                    .where(self.role_model.name == bindparam("role_name"))
            queries[kind] = query
        return query

    # The public role's (permission, view) pairs, once per request in one statement. FAB's
    # ``is_item_public`` reads the role and then its permissions (two statements) and the API's
    # ``protect`` asks it twice per request (before and inside ``has_access``): four
    # statements per API call, now one. Cached on the request like the user's pairs, so a
    # change to the public role shows on the next request.
    _PUBLIC_KEY = "microloan.public"

    def is_item_public(self, permission_name, view_name):
        if not has_request_context():
            return super().is_item_public(permission_name, view_name)
        cache = request.environ.setdefault("microloan.permissions", {})
        pairs = cache.get(self._PUBLIC_KEY)
        if pairs is None:
            rows = self.session.execute(self._pairs_query("public"), {"role_name": self.auth_role_public})
            pairs = cache[self._PUBLIC_KEY] = frozenset(rows.all())
        return (permission_name, view_name) in pairs

    def get_user_by_id(self, pk):
        """The user with their roles and groups in one statement (FAB's lazy loads take
        three: the user, then ``roles``, then ``groups``): every API call with a token loads
        its user here (``load_user_jwt``), and ``has_access`` reads both collections at once."""
        return self.session.get(self.user_model, pk, options=[
            joinedload(self.user_model.roles),
            joinedload(self.user_model.groups)])

    def exist_permission_on_roles(self, view_name, permission_name, role_ids):
        pairs = self._permission_pairs(g.user) if has_request_context() and g.get("user") else None
        if pairs is None or not _same_roles(self, g.user, role_ids):
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        return (permission_name, view_name) in pairs

    def find_roles_permission_view_menus(self, permission_name, role_ids):
        pairs = self._permission_pairs(g.user) if has_request_context() and g.get("user") else None
        if pairs is None or not _same_roles(self, g.user, role_ids):
            return super().find_roles_permission_view_menus(permission_name, role_ids)
        return [_MenuPermission(view) for perm, view in pairs if perm == permission_name]

    # -- built-in roles -------------------------------------------------------------
    def sync_roles(self):
        """Create the built-in roles and grant every permission their rules match."""
        self.add_permission_view_menu(SCOPE_PERMISSION, SCOPE_VIEW)
        all_pvs = self.get_all_permissions_views_list()
        menu_parents = _menu_parents(self.appbuilder.menu.get_list())
        for code, rules in ROLES.items():
            role = self.find_role(ROLE_NAMES[code]) or self.add_role(ROLE_NAMES[code])
            compiled = [(re.compile(f"^(?:{v})$"), re.compile(f"^(?:{p})$")) for v, p in rules]
            granted = {
                pv for pv in all_pvs
                if pv.permission.name != "menu_access"
                and any(v.match(pv.view_menu.name) and p.match(pv.permission.name)
                        for v, p in compiled)
            }
            # A menu entry shows when the role can open its page: can_list on a ModelView,
            # any permission on a plain BaseView; links without a view (Home) for all.
            listable = {pv.view_menu.name for pv in granted if pv.permission.name == "can_list"}
            has_list = {pv.view_menu.name for pv in all_pvs if pv.permission.name == "can_list"}
            views = {pv.view_menu.name for pv in granted}
            menus = set()
            for name, (view_name, parents) in menu_parents.items():
                opens = view_name is None or view_name in listable or (
                    view_name in views and view_name not in has_list)
                if code == "Admin" or opens:
                    menus.add(name)
                    menus.update(parents)
            granted |= {pv for pv in all_pvs
                        if pv.permission.name == "menu_access" and pv.view_menu.name in menus}
            missing = [pv for pv in granted if pv not in role.permissions]
            role.permissions.extend(missing)
        self.session.commit()

    def get_all_permissions_views_list(self):
        return self.session.query(self.permissionview_model).all()


def _menu_parents(items, parents=()):
    """{menu name: (view class name or None, (parent category names…))} for every link."""
    result = {}
    for item in items:
        if item.childs:
            result.update(_menu_parents(item.childs, parents + (item.name,)))
        elif item.name != "-":
            view = item.baseview.class_permission_name if item.baseview else None
            result[item.name] = (view, parents)
    return result


class _MenuPermission:
    """What FAB reads of a permission-view row in ``_get_user_permission_view_menus``."""

    class _ViewMenu:
        def __init__(self, name):
            self.name = name

    def __init__(self, view_name):
        self.view_menu = self._ViewMenu(view_name)


def _same_roles(sm, user, role_ids):
    """The cache holds ``user``'s roles; FAB may ask about other role ids (the public role)."""
    mine = {r.id for r in sm.get_user_roles(user) if r.name not in sm.builtin_roles}
    return set(role_ids) == mine
