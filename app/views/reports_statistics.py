"""贷款业务统计 (six tabs), 业务分析 (charts) and 贷款发放报表 (issue #11), each with a print
view (``?print=1``, A4 landscape) and an Excel export; every figure within the user's data
scope, computed by app/services/reports/statistics.py.

The classes are named Report…View so the role rules of app/security.py reach them: pages and
the chart data are ``can_list``, workbooks ``can_export``.
"""
from datetime import date

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Branch, Loan, LoanProduct
from app.services.reports import statistics
from app.views.base import xlsx_download

PRINT_LAYOUT = "microloan/report_print.html"
SCREEN_LAYOUT = "appbuilder/base.html"
TEMPLATES = "microloan/reports_statistics/"
FILTER_ARGS = ("start", "end", "as_of", "days", "branch_id", "product_id", "officer_id", "status", "q")


def _date_arg(name):
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(f"日期格式应为 YYYY-MM-DD：{value}", name) from None


def _int_arg(name):
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise DomainError(f"“{value}”应为非负整数", name)
    return int(value)


def filters_from_request(default_start=None):
    """The page's filters with their defaults filled in; DomainError on a bad value."""
    return statistics.StatFilters(
        start=_date_arg("start"), end=_date_arg("end"), as_of=_date_arg("as_of"), days=_int_arg("days"),
        branch_id=_int_arg("branch_id"), product_id=_int_arg("product_id"), officer_id=_int_arg("officer_id"),
        status=(request.args.get("status") or "").strip() or None,
        keyword=(request.args.get("q") or "").strip() or None).resolve(default_start)


def _layout():
    return PRINT_LAYOUT if request.args.get("print") else SCREEN_LAYOUT


def _money(value):
    return "" if value is None else f"{value:,.2f}"


def _args(*drop):
    return {k: v for k, v in request.args.items() if k not in drop and v != ""}


def choices():
    """Branches, products and officers for the filter drop-downs, within the data scope."""
    from app.services.scope import visible_branch_ids

    ids = visible_branch_ids(g.user)
    branches = select(Branch.id, Branch.name).order_by(Branch.id)
    officers = (select(AppUser.id, AppUser.real_name, AppUser.username)
                .where(select(Loan.id).where(Loan.officer_id == AppUser.id).exists()).order_by(AppUser.username))
    if ids is not None:
        branches = branches.where(Branch.id.in_(ids))
        officers = officers.where(AppUser.branch_id.in_(ids))
    return {"branches": db.session.execute(branches).all(),
            "products": db.session.execute(select(LoanProduct.id, LoanProduct.name).order_by(LoanProduct.id)).all(),
            "officers": [(i, real or name) for i, real, name in db.session.execute(officers)]}


def _bad_filters(exc, endpoint, **keep):
    flash(exc.message, "danger")
    return redirect(url_for(endpoint, **keep))


class ReportStatisticsView(BaseView):
    """贷款业务统计: 登记贷款, 待还款, 已还款, 逾期, 到期, 即将到期 (``?tab=``)."""

    route_base = "/reports/statistics"
    default_view = "list"

    @staticmethod
    def _tab():
        code = request.args.get("tab") or "registered"
        if code not in statistics.TABS:
            abort(404)
        return code

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        code = self._tab()
        try:
            filters = filters_from_request()
            page_no = max(1, _int_arg("page") or 1)
        except DomainError as exc:
            return _bad_filters(exc, "ReportStatisticsView.list", tab=code)
        size = statistics.PRINT_PAGE_SIZE if request.args.get("print") else statistics.PAGE_SIZE
        result = statistics.page(code, filters, g.user, page_no, size)
        return self.render_template(
            TEMPLATES + "statistics.html", title=f"贷款业务统计——{result.tab.title}", page=result, filters=filters,
            tabs=statistics.TABS, args=_args("page", "print", "tab"), layout=_layout(), money=_money,
            colours=statistics.STATUS_COLOURS, **choices())

    @expose("/export/")
    @has_access
    @permission_name("export")
    def export(self):
        from app.views.reports import export_in_background

        code = self._tab()
        try:
            filters = filters_from_request()
        except DomainError as exc:
            return _bad_filters(exc, "ReportStatisticsView.list", tab=code)
        tab = statistics.TABS[code]
        queued = export_in_background("statistics", code, filters, statistics.count(code, filters, g.user),
                                      tab.title, url_for("ReportStatisticsView.list", **_args()))
        if queued is not None:
            return queued
        return xlsx_download(statistics.workbook(code, filters, g.user),
                             f"贷款业务统计_{tab.title}_{filters.as_of:%Y%m%d}.xlsx")


class ReportAnalysisView(BaseView):
    """业务分析: the statistics as ECharts charts (the app's own echarts.min.js); the page
    loads its data from ``data`` (JSON) with the page's filters."""

    route_base = "/reports/analysis"
    default_view = "list"

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        try:
            filters = filters_from_request(statistics.analysis_defaults)
        except DomainError as exc:
            return _bad_filters(exc, "ReportAnalysisView.list")
        args = {"start": filters.start.isoformat(), "end": filters.end.isoformat(), "as_of": filters.as_of.isoformat(),
                **_args("start", "end", "as_of", "print")}
        return self.render_template(TEMPLATES + "analysis.html", title="业务分析", filters=filters, args=args,
                                    data_url=url_for("ReportAnalysisView.data", **args), **choices())

    @expose("/data/")
    @has_access
    @permission_name("list")
    def data(self):
        try:
            filters = filters_from_request(statistics.analysis_defaults)
        except DomainError as exc:
            return jsonify({"error": exc.message}), 400
        return jsonify(statistics.analysis(filters, g.user))


class ReportDisbursementSummaryView(BaseView):
    """贷款发放报表: disbursements by month × product and by branch (the row detail is
    ReportLoanView's 贷款发放明细表)."""

    route_base = "/reports/disbursement-summary"
    default_view = "list"

    @staticmethod
    def _summary():
        """(filters, report) of the request; (redirect, None) when its filters are refused."""
        try:
            filters = filters_from_request()
        except DomainError as exc:
            return _bad_filters(exc, "ReportDisbursementSummaryView.list"), None
        return filters, statistics.disbursement_summary(filters, g.user)

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        filters, report = self._summary()
        if report is None:
            return filters          # the redirect with the message
        detail = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
        for key in ("branch_id", "product_id", "status", "q"):
            if request.args.get(key):
                detail[key] = request.args[key]
        return self.render_template(TEMPLATES + "disbursement.html", title="贷款发放报表", report=report,
                                    filters=filters, args=_args("print"), layout=_layout(), money=_money,
                                    detail_args=detail, **choices())

    @expose("/export/")
    @has_access
    @permission_name("export")
    def export(self):
        filters, report = self._summary()
        if report is None:
            return filters
        return xlsx_download(statistics.summary_workbook(report),
                             f"贷款发放报表_{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.xlsx")


def register_views(appbuilder):
    add = appbuilder.add_view
    add(ReportStatisticsView, "Loan business statistics", label=_l("Loan business statistics"), icon="fa-list-alt",
        category="Reports")
    add(ReportAnalysisView, "Business analysis", label=_l("Business analysis"), icon="fa-area-chart",
        category="Reports")
    add(ReportDisbursementSummaryView, "Loan disbursement report", label=_l("Loan disbursement report"),
        icon="fa-money", category="Reports")
