"""财务管理 screens: chart of accounts, fund accounts with live balances, vouchers (list,
show with their lines, Excel export, reversal requests: approved through the
"voucher_reversal" flow, see app/services/ledger_reversal.py) and the ledger reports
(试算平衡表, 明细账). The period close and the finance to-do list are in
app/views/period_close.py.

Vouchers are written by the business modules through ``app.services.ledger``; these views
never add, edit or delete one. View names start with Ledger / FundAccount / Voucher so the
role rules in app/security.py reach them (Finance: all; Manager: read).
"""
from datetime import date

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_appbuilder.urltools import get_filter_args
from flask_appbuilder.widgets import FormWidget
from flask_babel import lazy_gettext as _l
from sqlalchemy import not_, select
from sqlalchemy.orm import aliased
from wtforms import TextAreaField
from wtforms.validators import InputRequired

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, FundAccount, JournalLine, LedgerAccount, Loan, Voucher
from app.models.finance import ACCOUNT_CATEGORIES, FUND_KINDS, NORMAL_SIDES
from app.services import excel, finance_todo, ledger, loans, settings
from app.services import ledger_reversal  # registers the voucher_reversal request kind
from app.views.base import AppInterface, AppModelView, CheckedModelView, xlsx_download
from app.views.widgets import ChoiceField


def money(value):
    """1234.5 → "1,234.50"; None → ""."""
    return "" if value is None else f"{value:,.2f}"


def money_or_blank(value):
    """A journal line's side: blank when zero (the other side carries the amount)."""
    return "" if not value else f"{value:,.2f}"


# -- chart of accounts ---------------------------------------------------------------
class LedgerAccountView(CheckedModelView):
    """科目设置. No delete: an account that is no longer used is deactivated (its balance
    must be zero first)."""

    datamodel = AppInterface(LedgerAccount)
    list_title = _l("Chart of accounts")
    show_title = add_title = edit_title = _l("Ledger account")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    label_columns = {
        "code": _l("Account code"), "name": _l("Account name"), "category": _l("Account category"),
        "category_label": _l("Account category"), "normal_side": _l("Normal balance"),
        "normal_side_label": _l("Normal balance"), "parent": _l("Parent account"), "is_active": _l("Active"),
        "remarks": _l("Remarks"),
    }
    list_columns = ["code", "name", "category_label", "normal_side_label", "parent", "is_active"]
    show_columns = ["code", "name", "category_label", "normal_side_label", "parent", "is_active", "remarks"]
    add_columns = edit_columns = ["code", "name", "category", "normal_side", "parent", "is_active", "remarks"]
    search_columns = ["code", "name", "category", "normal_side", "is_active"]
    order_columns = ["code", "name"]
    base_order = ("code", "asc")
    page_size = 100
    add_form_extra_fields = edit_form_extra_fields = {
        "category": ChoiceField(_l("Account category"), ACCOUNT_CATEGORIES),
        "normal_side": ChoiceField(_l("Normal balance"), NORMAL_SIDES),
    }
    description_columns = {
        "code": _l("Digits only; a sub-account's code starts with its parent's code (e.g. 130101 under 1301)"),
        "normal_side": _l("Debit for assets and expenses, credit for liabilities, equity, income and contra assets"),
    }

    @staticmethod
    def _values(source):
        return {key: getattr(source, key) for key in ("code", "name", "category", "normal_side", "parent",
                                                      "is_active")}

    def check_form(self, form, pk):
        ledger.check_account({key: field.data for key, field in form._fields.items()}, pk)

    def pre_add(self, item):
        ledger.check_account(self._values(item))

    def pre_update(self, item):
        ledger.check_account(self._values(item), item.id)


# -- fund accounts -------------------------------------------------------------------
class FundAccountInterface(AppInterface):
    """Fills every listed fund account's balance with one grouped query per page. (FAB also
    builds interfaces of this class for related models, e.g. for search drop-downs: those
    are left alone.)"""

    def query(self, *args, **kwargs):
        count, items = super().query(*args, **kwargs)
        if self.obj is not FundAccount:
            return count, items
        balances = ledger.fund_balances(items)
        for item in items:
            item._live_balance = balances.get(item.id)
        return count, items


class FundAccountView(CheckedModelView):
    """资金账户 (现金、银行、股金) with the balance of each, as posted in the ledger."""

    datamodel = FundAccountInterface(FundAccount)
    list_title = _l("Fund accounts")
    show_title = add_title = edit_title = _l("Fund account")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    label_columns = {
        "name": _l("Account name"), "kind": _l("Account type"), "kind_label": _l("Account type"),
        "ledger_account": _l("Ledger account"), "bank_name": _l("Bank"), "account_no": _l("Account number"),
        "is_active": _l("Active"), "remarks": _l("Remarks"), "balance": _l("Balance (yuan)"),
    }
    list_columns = ["name", "kind_label", "ledger_account", "bank_name", "account_no", "balance", "is_active"]
    show_columns = ["name", "kind_label", "ledger_account", "bank_name", "account_no", "balance", "is_active",
                    "remarks"]
    add_columns = edit_columns = ["name", "kind", "ledger_account", "bank_name", "account_no", "is_active",
                                  "remarks"]
    search_columns = ["name", "kind", "ledger_account", "bank_name", "account_no", "is_active"]
    order_columns = ["name"]
    base_order = ("id", "asc")
    formatters_columns = {"balance": money}
    add_form_extra_fields = edit_form_extra_fields = {"kind": ChoiceField(_l("Account type"), FUND_KINDS)}
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "ledger_account": [["is_active", FilterEqual, True]],
    }

    @staticmethod
    def _values(source):
        return {key: getattr(source, key) for key in ("name", "kind", "ledger_account", "bank_name", "account_no",
                                                      "is_active")}

    def check_form(self, form, pk):
        ledger.check_fund_account({key: field.data for key, field in form._fields.items()}, pk)

    def pre_add(self, item):
        ledger.check_fund_account(self._values(item))

    def pre_update(self, item):
        ledger.check_fund_account(self._values(item), item.id)


# -- vouchers ------------------------------------------------------------------------
class VoucherLineView(AppModelView):
    """分录: list only; shown on each voucher's page."""

    datamodel = AppInterface(JournalLine)
    list_title = _l("Journal lines")
    base_permissions = ["can_list"]
    label_columns = {
        "voucher": _l("Voucher number"), "account": _l("Ledger account"), "fund_account": _l("Fund account"),
        "loan": _l("Loan"), "memo": _l("Memo"), "debit": _l("Debit"), "credit": _l("Credit"),
    }
    list_columns = ["voucher", "account", "fund_account", "loan", "memo", "debit", "credit"]
    search_columns = ["account", "fund_account", "memo"]
    base_order = ("id", "asc")
    formatters_columns = {"debit": money_or_blank, "credit": money_or_blank}


class VoucherInterface(AppInterface):
    """Fills every listed voucher's amount with one grouped query per page."""

    def query(self, *args, **kwargs):
        count, items = super().query(*args, **kwargs)
        if self.obj is not Voucher:  # a related model's interface (search drop-downs)
            return count, items
        amounts = ledger.voucher_amounts(item.id for item in items)
        for item in items:
            item._amount = amounts.get(item.id, ledger.ZERO)
        return count, items


class VoucherReverseForm(DynamicForm):
    reason = TextAreaField(_l("Reason for reversal"), validators=[InputRequired(message="请填写冲销原因")],
                           widget=BS3TextAreaFieldWidget())


class VoucherScopeFilter(BaseFilter):
    """Vouchers about a loan the user may not see are hidden; company vouchers (about no
    loan: capital, expenses, the month-end) stay visible to finance."""

    name = "数据权限"
    arg_name = None

    def apply(self, query, value):
        from app.services.reports.finance import limited

        condition = loans.visible_condition()
        if condition is None or not limited(g.user):     # every branch: nothing is hidden
            return query
        # NOT EXISTS, not NOT IN: the planner cannot tell that a head-office user's "loan of no
        # branch of mine" set is empty, and a NOT IN it cannot hash ran once per voucher (35 s).
        hidden = (select(JournalLine.id).join(Loan, Loan.id == JournalLine.loan_id)
                  .where(JournalLine.voucher_id == Voucher.id, not_(condition)))
        return query.filter(~hidden.exists())


class VoucherView(AppModelView):
    """凭证: list, show (with the lines), Excel export and reversal. No add, edit or delete:
    vouchers come from the business modules and are corrected only by reversal."""

    datamodel = VoucherInterface(Voucher)
    list_title = _l("Vouchers")
    show_title = _l("Voucher")
    base_permissions = ["can_list", "can_show", "can_export", "can_reverse"]
    base_filters = [["id", VoucherScopeFilter, None]]
    label_columns = {
        "voucher_no": _l("Voucher number"), "business_date": _l("Posting date"), "description": _l("Description"),
        "amount": _l("Amount (yuan)"), "source": _l("Business source"), "source_type": _l("Source type"),
        "source_id": _l("Source ID"), "created_by": _l("Prepared by"), "created_at": _l("Created at"),
        "reversal_of": _l("Reverses voucher"), "reversed_by": _l("Reversed by voucher"),
        "reason": _l("Reason for reversal"),
    }
    list_columns = ["voucher_no", "business_date", "description", "amount", "source", "created_by", "reversal_of"]
    show_columns = ["voucher_no", "business_date", "description", "amount", "source_type", "source_id",
                    "created_by", "created_at", "reversal_of", "reversed_by", "reason"]
    search_columns = ["voucher_no", "business_date", "description", "source_type", "source_id", "created_by",
                      "created_at"]
    order_columns = ["voucher_no", "business_date", "created_at"]
    base_order = ("voucher_no", "desc")
    related_views = [VoucherLineView]
    list_template = "microloan/list.html"
    formatters_columns = {
        "amount": money, "created_at": lambda v: v.strftime("%Y-%m-%d %H:%M") if v else "",
    }
    extra_args = {"list_tools": [
        (_l("Export to Excel"), "VoucherView.export", "can_export", "VoucherView", True),
    ]}

    @action("reverse", _l("Reverse"), icon="fa-undo", multiple=False, single=True)
    def reverse_action(self, item):
        """The show page's button: opens the form that asks for the reason."""
        return redirect(url_for("VoucherView.reverse", pk=item.id))

    @expose("/reverse/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("reverse")
    def reverse(self, pk):
        """申请冲销: finance asks for the reversal with a reason; the request goes through the
        "voucher_reversal" approval flow and the reversal is posted when it is approved."""
        voucher = self.datamodel.get(pk, self._base_filters)
        if voucher is None:
            abort(404)
        pending = ledger_reversal.pending_request(voucher.id)
        if pending is not None:
            flash(f"凭证 {voucher.voucher_no} 已有冲销申请 {pending.request_no}（{pending.status_label}）", "warning")
            return redirect(url_for("ServicingRequestView.show", pk=pending.id))
        form = VoucherReverseForm()
        if request.method == "POST" and form.validate_on_submit():
            try:
                applied = ledger_reversal.apply(voucher, form.reason.data, g.user)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
                return redirect(url_for("VoucherView.show", pk=pk))
            flash(_l("Reversal request %(req)s for voucher %(no)s submitted; the voucher is reversed once it is "
                     "approved", req=applied.request_no, no=voucher.voucher_no), "success")
            return redirect(url_for("ServicingRequestView.show", pk=applied.id))
        widgets = {"edit": FormWidget(form=form, include_cols=["reason"], exclude_cols=[], fieldsets=[])}
        return self.render_template("appbuilder/general/model/edit.html", widgets=widgets,
                                    title=_l("Apply for reversal of voucher %(no)s (%(text)s)",
                                             no=voucher.voucher_no, text=voucher.description),
                                    form_action=url_for("VoucherView.reverse", pk=pk))

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        """The vouchers as filtered on screen, one row per journal line, as .xlsx."""
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        joined = self._filters.get_joined_filters(self._base_filters)
        _count, vouchers = self.datamodel.query(joined, "voucher_no", "asc")
        original = aliased(Voucher)
        rows, users = [], {}
        user_ids = {v.created_by_id for v in vouchers if v.created_by_id}
        if user_ids:
            users = {u.id: str(u) for u in db.session.execute(select(AppUser).where(AppUser.id.in_(user_ids))
                                                              ).scalars()}
        ids = [v.id for v in vouchers]
        for offset in range(0, len(ids), 500):
            chunk = ids[offset:offset + 500]
            query = (select(Voucher.voucher_no, Voucher.business_date, Voucher.description, LedgerAccount.code,
                            LedgerAccount.name, FundAccount.name, JournalLine.debit, JournalLine.credit,
                            JournalLine.memo, Loan.loan_no, Voucher.source_type, Voucher.source_id,
                            Voucher.created_by_id, original.voucher_no, Voucher.reason)
                     .join(Voucher, Voucher.id == JournalLine.voucher_id)
                     .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
                     .outerjoin(FundAccount, FundAccount.id == JournalLine.fund_account_id)
                     .outerjoin(Loan, Loan.id == JournalLine.loan_id)
                     .outerjoin(original, original.id == Voucher.reversal_of_id)
                     .where(JournalLine.voucher_id.in_(chunk))
                     .order_by(Voucher.voucher_no, JournalLine.id))
            for (no, day, description, code, name, fund, debit, credit, memo, loan_no, source_type, source_id,
                 user_id, reversed_no, reason) in db.session.execute(query):
                source = f"{source_type}#{source_id}" if source_type and source_id is not None else (source_type or "")
                rows.append([no, day, description, code, name, fund or "", debit if debit else None,
                             credit if credit else None, memo or "", loan_no or "", source,
                             users.get(user_id, ""), reversed_no or "", reason or ""])
        columns = [
            excel.Column("凭证号", width=18), excel.Column("记账日期", kind="date", width=12),
            excel.Column("凭证摘要", width=30), excel.Column("科目代码", width=10), excel.Column("科目名称", width=18),
            excel.Column("资金账户", width=16), excel.Column("借方金额", kind="money", width=16, total=True),
            excel.Column("贷方金额", kind="money", width=16, total=True), excel.Column("分录摘要", width=24),
            excel.Column("贷款编号", width=18), excel.Column("业务来源", width=20), excel.Column("制单人", width=12),
            excel.Column("冲销凭证号", width=18), excel.Column("冲销原因", width=24),
        ]
        today = settings.business_date()
        content = excel.write_workbook(columns, rows, title="凭证清单", constant_memory=len(rows) > 5000,
                                       params=[("导出日期", today.isoformat()), ("凭证数", str(len(vouchers))),
                                               ("分录数", str(len(rows)))], sheet_name="凭证")
        return xlsx_download(content, f"凭证清单_{today:%Y%m%d}.xlsx")


# -- reports -------------------------------------------------------------------------
def _period():
    """(start, end, error) from ?start=&end= (ISO dates); the month to date by default."""
    default_start, default_end = ledger.default_period()
    values = []
    for name, default in (("start", default_start), ("end", default_end)):
        raw = (request.args.get(name) or "").strip()
        if not raw:
            values.append(default)
            continue
        try:
            values.append(date.fromisoformat(raw))
        except ValueError:
            return default_start, default_end, DomainError(f"日期格式不对：{raw}（应为 2026-01-31 这样的格式）", name)
    return values[0], values[1], None


def _export_query():
    args = request.args.to_dict()
    args["export"] = "xlsx"
    return args


def trial_balance_workbook(report):
    columns = [excel.Column("科目代码", width=12), excel.Column("科目名称", width=22),
               excel.Column("期初借方余额", "money", 16), excel.Column("期初贷方余额", "money", 16),
               excel.Column("本期借方发生额", "money", 16), excel.Column("本期贷方发生额", "money", 16),
               excel.Column("期末借方余额", "money", 16), excel.Column("期末贷方余额", "money", 16)]
    rows = [(r.account.code, "　" * (r.level - 1) + r.account.name, r.opening_debit, r.opening_credit, r.period_debit,
             r.period_credit, r.closing_debit, r.closing_credit) for r in report.rows]
    t = report.totals
    # Totals from the service (top-level accounts), not a SUM over rows that include sub-accounts.
    rows.append(("合计", "", t.opening_debit, t.opening_credit, t.period_debit, t.period_credit, t.closing_debit,
                 t.closing_credit))
    params = [("期间", f"{report.start.isoformat()} 至 {report.end.isoformat()}"),
              ("试算结果", "平衡" if report.balanced else "不平衡"),
              ("导出日期", settings.business_date().isoformat())]
    return excel.write_workbook(columns, rows, "试算平衡表", params, sheet_name="试算平衡表")


def account_detail_workbook(detail):
    columns = [excel.Column("记账日期", "date", 12), excel.Column("凭证号", width=18), excel.Column("凭证摘要", width=30),
               excel.Column("分录摘要", width=24), excel.Column("科目代码", width=10),
               excel.Column("借方金额", "money", 16), excel.Column("贷方金额", "money", 16),
               excel.Column("方向", width=6), excel.Column("余额", "money", 16)]
    side = detail.normal_side_label
    rows = [(detail.start, "", "期初余额", "", "", None, None, side, detail.opening)]
    rows += [(r.business_date, r.voucher_no, r.description, r.memo, r.account_code, r.debit or None, r.credit or None,
              side, r.balance) for r in detail.rows]
    rows.append((detail.end, "", "本期合计", "", "", detail.period_debit, detail.period_credit, "", None))
    rows.append((detail.end, "", "期末余额", "", "", None, None, side, detail.closing))
    params = [("科目", str(detail.account)), ("期间", f"{detail.start.isoformat()} 至 {detail.end.isoformat()}"),
              ("余额方向", side), ("导出日期", settings.business_date().isoformat())]
    return excel.write_workbook(columns, rows, f"明细账 {detail.account}", params, sheet_name="明细账")


class LedgerReportView(BaseView):
    """试算平衡表 and 明细账. The permission names are read permissions (can_list, can_show)
    so that the Manager role's read rule reaches them."""

    route_base = "/ledger"
    default_view = "trial_balance"

    @expose("/trial_balance")
    @has_access
    @permission_name("list")
    def trial_balance(self):
        start, end, error = _period()
        include_zero = request.args.get("all") == "1"
        report = None
        if error is None:
            try:
                report = ledger.trial_balance(start, end, include_zero=include_zero)
            except DomainError as exc:
                error = exc
        if report is not None and request.args.get("export") == "xlsx":
            return xlsx_download(trial_balance_workbook(report), f"试算平衡表_{start:%Y%m%d}_{end:%Y%m%d}.xlsx")
        return self.render_template("microloan/trial_balance.html", title=_l("Trial balance"), report=report,
                                    error=error, start=start, end=end, include_zero=include_zero,
                                    export_args=_export_query())

    @expose("/account/<int:account_id>")
    @has_access
    @permission_name("show")
    def account(self, account_id):
        account = db.session.get(LedgerAccount, account_id)
        if account is None:
            abort(404)
        start, end, error = _period()
        detail = None
        if error is None:
            try:
                detail = ledger.account_detail(account, start, end)
            except DomainError as exc:
                error = exc
        if detail is not None and request.args.get("export") == "xlsx":
            return xlsx_download(account_detail_workbook(detail),
                                 f"明细账_{account.code}_{start:%Y%m%d}_{end:%Y%m%d}.xlsx")
        return self.render_template("microloan/account_detail.html", title=_l("Account detail ledger"),
                                    account=account, detail=detail, error=error, start=start, end=end,
                                    export_args=_export_query())


# -- finance to-do ------------------------------------------------------------------
class FinanceTodoView(BaseView):
    """待办财务单据: loans waiting for payout, approved requests waiting for execution, fees
    receivable (app/services/finance_todo.py). Named Finance… for the role rules."""

    route_base = "/finance"
    default_view = "todo"

    @expose("/todo")
    @has_access
    @permission_name("list")
    def todo(self):
        return self.render_template("microloan/finance_todo.html", title=_l("Finance to-do"),
                                    sections=finance_todo.sections(g.user), fee_label=finance_todo.fee_label)


def register_views(appbuilder):
    """Register the finance screens under the "Finance" menu category (created by
    app/views/__init__.py with its label and icon)."""
    add = appbuilder.add_view
    add(FinanceTodoView, "Finance to-do", label=_l("Finance to-do"), icon="fa-inbox", category="Finance")
    add(VoucherView, "Vouchers", label=_l("Vouchers"), icon="fa-file-text-o", category="Finance")
    add(LedgerReportView, "Trial balance", label=_l("Trial balance"), icon="fa-balance-scale", category="Finance")
    add(FundAccountView, "Fund accounts", label=_l("Fund accounts"), icon="fa-university", category="Finance")
    add(LedgerAccountView, "Chart of accounts", label=_l("Chart of accounts"), icon="fa-list-ol", category="Finance")
    appbuilder.add_view_no_menu(VoucherLineView)
