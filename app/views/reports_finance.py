"""财务报表 and 台账 (issue #11 §5–6): the screens, print views (?print=1, A4 landscape) and
Excel exports of app/services/reports/finance.py.

- ReportFinanceView  /reports/finance/  收支汇总统计, 收支明细, 未归还客户保证金统计, 项目收付流水账
  (loan-linked figures, within the user's data scope);
- ReportFundView     /reports/funds/    资金分布 (company-wide fund balances, with a pie chart);
- ReportBankView     /reports/banks/    台账: 银行授信统计, 银行合作统计, 未收回银行保证金统计, and the
  link to 小额贷款台账 (ReportLoanView, app/views/reports.py).

The names start with Report so the role rules of app/security.py reach them: pages are
``can_list``, exports ``can_export``. Fund and bank figures are company figures: the
ReportFund / ReportBank prefixes let a role rule leave them out for a role that should only
see its own loans.
"""
import functools

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import FundAccount, Loan
from app.models.customer import Bank
from app.services import loans, settings
from app.services.reports import finance
from app.views.base import xlsx_download
from app.views.reports import _choices, _date_arg, _int_arg, _layout, _money, export_in_background

TEMPLATES = "microloan/reports_finance/"
PAGE_SIZE = 100
PRINT_PAGE_SIZE = 1000


def _filters():
    return finance.Filters(start=_date_arg("start"), end=_date_arg("end"), as_of=_date_arg("as_of"),
                           branch_id=_int_arg("branch_id"), fund_account_id=_int_arg("fund_account_id"),
                           bank_id=_int_arg("bank_id"), loan_id=_int_arg("loan_id"),
                           keyword=(request.args.get("q") or "").strip()[:50] or None,
                           show_all=request.args.get("all") == "1")


def _args(*drop):
    return {k: v for k, v in request.args.items() if k not in ("page", "print") + drop}


def _page_no():
    return max(1, _int_arg("page") or 1)


def _size():
    return PRINT_PAGE_SIZE if request.args.get("print") else PAGE_SIZE


def _fund_choices():
    return db.session.execute(select(FundAccount.id, FundAccount.name).where(FundAccount.kind.in_(finance.CASH_KINDS))
                              .order_by(FundAccount.id)).all()


def _bank_choices():
    return db.session.execute(select(Bank.id, Bank.name, Bank.branch_name).order_by(Bank.name, Bank.id)).all()


def _stamp(filters, as_of=False):
    day = filters.day() if as_of else (filters.end or settings.business_date())
    return f"{day:%Y%m%d}"


def refused_to(endpoint):
    """A bad date or a reversed period becomes a message on ``endpoint`` (the report's page
    without arguments) instead of an error page."""
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
                return redirect(url_for(endpoint))
        return wrapper
    return decorate


def _background(code, filters, endpoint):
    """Queue the finance list ``code``'s export when it is over the threshold (see
    reports.export_in_background); None to download it now."""
    return export_in_background("finance", code, filters, finance.count(code, filters, g.user),
                                finance.export_title(code), url_for(endpoint, **_args()))


class ReportFinanceView(BaseView):
    """财务报表: 收支汇总统计, 收支明细, 未归还客户保证金统计, 项目收付流水账."""

    route_base = "/reports/finance"
    default_view = "list"

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        sm = self.appbuilder.sm
        return self.render_template(TEMPLATES + "index.html", title=_l("Finance reports"),
                                    today=settings.business_date(),
                                    can_funds=sm.has_access("can_list", "ReportFundView"),
                                    can_banks=sm.has_access("can_list", "ReportBankView"),
                                    can_trial=sm.has_access("can_list", "LedgerReportView"),
                                    can_ledger=sm.has_access("can_list", "ReportLoanView"))

    def _render(self, template, endpoint, **context):
        context.setdefault("args", _args())
        return self.render_template(TEMPLATES + template, layout=_layout(), money=_money, endpoint=endpoint,
                                    funds=_fund_choices(), **_choices(), **context)

    # -- 收支汇总统计 --
    @expose("/summary/")
    @has_access
    @permission_name("list")
    @refused_to("ReportFinanceView.summary")
    def summary(self):
        filters = _filters()
        report = finance.income_summary(filters, g.user)
        return self._render("summary.html", "ReportFinanceView.summary", title="收支汇总统计", report=report,
                            filters=filters, params=filters.params())

    @expose("/summary/export/")
    @has_access
    @permission_name("export")
    @refused_to("ReportFinanceView.summary")
    def summary_export(self):
        filters = _filters()
        report = finance.income_summary(filters, g.user)
        return xlsx_download(finance.summary_workbook(report), f"收支汇总统计_{_stamp(filters)}.xlsx")

    # -- 收支明细 --
    @expose("/detail/")
    @has_access
    @permission_name("list")
    @refused_to("ReportFinanceView.detail")
    def detail(self):
        filters = _filters()
        page = finance.income_detail(filters, g.user, _page_no(), _size())
        return self._render("detail.html", "ReportFinanceView.detail", title="收支明细", page=page, filters=filters,
                            export="ReportFinanceView.detail_export", params=filters.params())

    @expose("/detail/export/")
    @has_access
    @permission_name("export")
    @refused_to("ReportFinanceView.detail")
    def detail_export(self):
        filters = _filters()
        queued = _background("detail", filters, "ReportFinanceView.detail")
        if queued is not None:
            return queued
        return xlsx_download(finance.detail_workbook(filters, g.user), f"收支明细_{_stamp(filters)}.xlsx")

    # -- 未归还客户保证金统计 --
    @expose("/deposits/")
    @has_access
    @permission_name("list")
    @refused_to("ReportFinanceView.deposits")
    def deposits(self):
        filters = _filters()
        page = finance.customer_deposits(filters, g.user, _page_no(), _size())
        return self._render("deposits.html", "ReportFinanceView.deposits", title="未归还客户保证金统计", page=page,
                            filters=filters, export="ReportFinanceView.deposits_export",
                            params=filters.params(period=False, as_of=True))

    @expose("/deposits/export/")
    @has_access
    @permission_name("export")
    @refused_to("ReportFinanceView.deposits")
    def deposits_export(self):
        filters = _filters()
        queued = _background("deposits", filters, "ReportFinanceView.deposits")
        if queued is not None:
            return queued
        return xlsx_download(finance.customer_deposits_workbook(filters, g.user),
                             f"未归还客户保证金统计_{_stamp(filters, True)}.xlsx")

    # -- 项目收付流水账 --
    def _journal_filters(self):
        """The filters with the loan picked: ?loan_id= (checked against the data scope) or a
        typed ?q= (业务编号, 合同编号 or part of a customer name): one match is the loan, several
        are offered to choose from. Returns (filters, candidates, loan)."""
        filters = _filters()
        typed, filters.keyword = filters.keyword, None
        loan, candidates = None, []
        if filters.loan_id:
            loan = db.session.get(Loan, filters.loan_id)
            if loan is None or not loans.can_see(loan, g.user):
                abort(404)
        elif typed:
            candidates = finance.find_loans(typed, g.user)
            if len(candidates) == 1:
                filters.loan_id = candidates[0].id
                loan = db.session.get(Loan, filters.loan_id)
                candidates = []
            elif not candidates:
                flash(f"没有找到与“{typed}”相符的已放款项目", "warning")
        return filters, candidates, loan

    @expose("/journal/")
    @has_access
    @permission_name("list")
    @refused_to("ReportFinanceView.journal")
    def journal(self):
        filters, candidates, loan = self._journal_filters()
        page = None if candidates else finance.project_journal(filters, g.user, _page_no(), _size())
        args = _args("q") if loan is not None else _args()
        if loan is not None:
            args["loan_id"] = loan.id
        return self._render("journal.html", "ReportFinanceView.journal", title="项目收付流水账", page=page,
                            filters=filters, loan=loan, candidates=candidates, args=args,
                            typed=request.args.get("q") or "", export="ReportFinanceView.journal_export",
                            params=filters.params(default_start=not filters.loan_id))

    @expose("/journal/export/")
    @has_access
    @permission_name("export")
    @refused_to("ReportFinanceView.journal")
    def journal_export(self):
        filters, candidates, loan = self._journal_filters()
        if candidates:
            flash("请先选定一个项目，或清空项目以导出全部", "warning")
            return redirect(url_for("ReportFinanceView.journal", **_args()))
        queued = _background("journal", filters, "ReportFinanceView.journal")
        if queued is not None:
            return queued
        name = f"项目收付流水账_{loan.loan_no}" if loan is not None else "项目收付流水账"
        return xlsx_download(finance.journal_workbook(filters, g.user), f"{name}_{_stamp(filters)}.xlsx")

    @expose("/lookup/")
    @has_access
    @permission_name("list")
    def lookup(self):
        """The loan picker's suggestions (JSON): at most 20 loans in scope."""
        found = finance.find_loans(request.args.get("q"), g.user)
        return jsonify({"results": [{"id": r.id, "loan_no": r.loan_no, "text": f"{r.loan_no} {r.name}"}
                                    for r in found]})


class ReportFundView(BaseView):
    """资金分布: the balance of every fund account at a date, with shares and a pie chart."""

    route_base = "/reports/funds"
    default_view = "list"

    @expose("/list/")
    @has_access
    @permission_name("list")
    @refused_to("ReportFundView.list")
    def list(self):
        report = finance.fund_distribution(_date_arg("as_of", settings.business_date()))
        return self.render_template(TEMPLATES + "distribution.html", title="资金分布", report=report,
                                    layout=_layout(), money=_money, args=_args())

    @expose("/export/")
    @has_access
    @permission_name("export")
    @refused_to("ReportFundView.list")
    def export(self):
        report = finance.fund_distribution(_date_arg("as_of", settings.business_date()))
        return xlsx_download(finance.distribution_workbook(report), f"资金分布_{report.as_of:%Y%m%d}.xlsx")


class ReportBankView(BaseView):
    """台账: 银行授信统计, 银行合作统计, 未收回银行保证金统计 (and the link to 小额贷款台账)."""

    route_base = "/reports/banks"
    default_view = "list"

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        return self.render_template(TEMPLATES + "ledgers.html", title=_l("Ledgers"), today=settings.business_date(),
                                    can_ledger=self.appbuilder.sm.has_access("can_list", "ReportLoanView"))

    def _render(self, template, endpoint, **context):
        return self.render_template(TEMPLATES + template, layout=_layout(), money=_money, args=_args(),
                                    endpoint=endpoint, banks=_bank_choices(), **context)

    @expose("/credit/")
    @has_access
    @permission_name("list")
    @refused_to("ReportBankView.credit")
    def credit(self):
        filters = _filters()
        return self._render("bank_credit.html", "ReportBankView.credit", title="银行授信统计",
                            report=finance.bank_credit(filters), filters=filters,
                            params=filters.params(period=False, as_of=True))

    @expose("/credit/export/")
    @has_access
    @permission_name("export")
    @refused_to("ReportBankView.credit")
    def credit_export(self):
        filters = _filters()
        report = finance.bank_credit(filters)
        return xlsx_download(finance.bank_credit_workbook(report, filters), f"银行授信统计_{_stamp(filters, True)}.xlsx")

    @expose("/margins/")
    @has_access
    @permission_name("list")
    @refused_to("ReportBankView.margins")
    def margins(self):
        filters = _filters()
        return self._render("bank_margins.html", "ReportBankView.margins", title="未收回银行保证金统计",
                            report=finance.bank_margins(filters), filters=filters, cells=finance.margin_cells,
                            columns=finance.MARGIN_COLUMNS, params=filters.params(period=False, as_of=True))

    @expose("/margins/export/")
    @has_access
    @permission_name("export")
    @refused_to("ReportBankView.margins")
    def margins_export(self):
        filters = _filters()
        report = finance.bank_margins(filters)
        return xlsx_download(finance.margins_workbook(report, filters),
                             f"未收回银行保证金统计_{_stamp(filters, True)}.xlsx")

    @expose("/cooperation/")
    @has_access
    @permission_name("list")
    @refused_to("ReportBankView.cooperation")
    def cooperation(self):
        filters = _filters()
        report = finance.bank_cooperation(filters)
        return self._render("bank_cooperation.html", "ReportBankView.cooperation", title="银行合作统计",
                            report=report, filters=filters, cells=finance.cooperation_cells,
                            columns=finance.COOPERATION_COLUMNS, params=filters.params())

    @expose("/cooperation/export/")
    @has_access
    @permission_name("export")
    @refused_to("ReportBankView.cooperation")
    def cooperation_export(self):
        filters = _filters()
        report = finance.bank_cooperation(filters)
        return xlsx_download(finance.cooperation_workbook(report, filters), f"银行合作统计_{_stamp(filters)}.xlsx")


def register_views(appbuilder):
    """The finance reports and ledgers under 报表中心 ("Reports")."""
    add = appbuilder.add_view
    add(ReportFinanceView, "Finance reports", label=_l("Finance reports"), icon="fa-cny", category="Reports")
    add(ReportFundView, "Fund distribution", label=_l("Fund distribution"), icon="fa-pie-chart", category="Reports")
    add(ReportBankView, "Ledgers", label=_l("Ledgers"), icon="fa-book", category="Reports")
