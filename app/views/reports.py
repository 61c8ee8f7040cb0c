"""报表中心 (issue #11): the regulatory tables, the small-loan business reports and the
dashboard, each with a print view (A4 landscape HTML) and an Excel export.

Views are named Report…View / Dashboard… so the role rules in app/security.py reach them:
pages are ``can_list``, exports ``can_export``, downloads of background exports ``can_download``.
Every figure is computed within the user's data scope by app/services/reports.
"""
from datetime import date

from flask import abort, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import gettext, lazy_gettext as _l

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Branch, LoanProduct
from app.services import excel, settings
from app.services.reports import business, dashboard, exports, regulatory
from app.views.base import xlsx_download

PRINT_LAYOUT = "microloan/report_print.html"
SCREEN_LAYOUT = "appbuilder/base.html"


def _date_arg(name, default=None):
    value = (request.args.get(name) or "").strip()
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(f"日期格式应为 YYYY-MM-DD：{value}", name)


def _int_arg(name):
    value = (request.args.get(name) or "").strip()
    return int(value) if value.isdigit() else None


def export_in_background(family, code, filters, rows, title, back):
    """The redirect back to the report when its export of ``rows`` rows is over the threshold
    and has been queued (reports.exports: the link arrives in the user's messages); None when
    it is small enough to download now."""
    if rows <= exports.threshold():
        return None
    exports.enqueue_export(family, code, filters, g.user)
    flash(gettext("%(title)s has many rows: it is being exported in the background, and the download link "
                  "will be sent to your messages when it is ready.", title=title), "info")
    return redirect(back)


def _layout():
    return PRINT_LAYOUT if request.args.get("print") else SCREEN_LAYOUT


def _choices():
    from app.services.scope import visible_branch_ids

    ids = visible_branch_ids(g.user)
    query = db.session.query(Branch.id, Branch.name).order_by(Branch.id)
    if ids is not None:
        query = query.filter(Branch.id.in_(ids))
    return {"branches": query.all(),
            "products": db.session.query(LoanProduct.id, LoanProduct.name).order_by(LoanProduct.id).all()}


def _money(value):
    return "" if value is None else f"{value:,.2f}"


STRUCTURE = {"balance": regulatory.balance_structure, "disbursement": regulatory.disbursement_structure}


def structure_workbook(table):
    columns = [excel.Column("项目", width=30)]
    for caption in table.measures:
        columns += [excel.Column(f"{caption}（元）", "money", total=True), excel.Column(f"{caption}笔数", "int", total=True)]
    columns += [excel.Column(f"比{table.measures[1][:2]}增减（元）", "money", total=True),
                excel.Column(f"比{table.measures[2][:2]}增减（元）", "money", total=True)]

    def cells(row):
        values = [row.label]
        for f in row.figures:
            values += [f.amount, f.count]
        return values + row.changes

    sections = [("合计", [cells(table.total)])] + [(caption, [cells(r) for r in rows])
                                                  for caption, rows in table.sections]
    rates = table.rates
    note = (f"最高年利率 {rates.highest}%，最低年利率 {rates.lowest}%，加权平均年利率 {rates.weighted}%"
            if rates and rates.weighted is not None else "无在贷利率数据")
    return excel.write_workbook(columns, title=table.title, params=table.dates.params() + [("单位", "元")],
                                sheet_name=table.title, sections=sections, note=note)


def monthly_workbook(table):
    columns = [excel.Column("月份", width=10), excel.Column("月初余额（元）", "money"),
               excel.Column("本月发放（元）", "money", total=True), excel.Column("发放笔数", "int", total=True),
               excel.Column("收回本金（元）", "money", total=True), excel.Column("收回利息（元）", "money", total=True),
               excel.Column("其他增减（元）", "money", total=True), excel.Column("月末余额（元）", "money"),
               excel.Column("月末笔数", "int")]
    rows = [(f"{table.year}-{r.month:02d}", r.opening, r.disbursed.amount, r.disbursed.count, r.recovered,
             r.interest, r.other, r.closing, r.closing_count) for r in table.rows]
    return excel.write_workbook(columns, rows, "月度统计表", [("年度", table.year), ("截至", table.as_of.isoformat())],
                                sheet_name="月度统计表")


def flash_workbook(s):
    columns = [excel.Column("项目", width=28), excel.Column("金额（元）", "money"), excel.Column("笔数", "int")]
    rows = [("贷款余额", s.balance, s.loans), ("在贷客户数", None, s.customers),
            ("本月发放", s.month[0].amount, s.month[0].count), ("本月收回本金", s.month[1], None),
            ("本月收回利息", s.month[2], None), ("本年累计发放", s.year[0].amount, s.year[0].count),
            ("本年累计收回本金", s.year[1], None), ("本年累计收回利息", s.year[2], None),
            ("开业以来累计发放", s.all_time[0].amount, s.all_time[0].count),
            ("开业以来累计收回本金", s.all_time[1], None),
            ("逾期贷款余额", s.overdue_balance, s.overdue_loans), ("逾期本金", s.overdue_principal, None),
            ("逾期利息", s.overdue_interest, None)]
    rows += [(f"五级分类：{label}", s.classes[code].amount, s.classes[code].count)
             for code, label in regulatory.CLASS_LABELS_ORDERED]
    rows += [("不良贷款余额", s.npl, None), ("应提贷款损失准备", s.provisions.required, None),
             ("可用资金", s.funds, None)]
    params = [("统计日期", s.as_of.isoformat()), ("不良率", f"{s.npl_ratio}%"),
              ("拨备覆盖率", f"{s.coverage_ratio}%" if s.coverage_ratio is not None else "—"),
              ("最高/最低/加权平均年利率", f"{s.rates.highest}% / {s.rates.lowest}% / {s.rates.weighted}%")]
    return excel.write_workbook(columns, rows, "贷款快报", params, sheet_name="贷款快报", totals=False)


class ReportRegulatoryView(BaseView):
    """金融办 / 人行报表."""

    route_base = "/reports/regulatory"
    default_view = "list"

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        return self.render_template("microloan/report_index.html", title=_l("Regulatory reports"),
                                    section="regulatory", reports=business.REPORTS, today=settings.business_date())

    def _as_of(self):
        return _date_arg("as_of", settings.business_date())

    @expose("/structure/<kind>/")
    @has_access
    @permission_name("list")
    def structure(self, kind):
        if kind not in STRUCTURE:
            abort(404)
        try:
            table = STRUCTURE[kind](self._as_of(), g.user)
        except DomainError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("ReportRegulatoryView.list"))
        return self.render_template("microloan/report_structure.html", title=table.title, table=table, kind=kind,
                                    layout=_layout(), money=_money)

    @expose("/structure/<kind>/export/")
    @has_access
    @permission_name("export")
    def structure_export(self, kind):
        if kind not in STRUCTURE:
            abort(404)
        table = STRUCTURE[kind](self._as_of(), g.user)
        return xlsx_download(structure_workbook(table), f"{table.title}_{table.dates.as_of:%Y%m%d}.xlsx")

    @expose("/monthly/")
    @has_access
    @permission_name("list")
    def monthly(self):
        table = regulatory.monthly(self._as_of(), g.user)
        return self.render_template("microloan/report_monthly.html", title="月度统计表", table=table,
                                    layout=_layout(), money=_money)

    @expose("/monthly/export/")
    @has_access
    @permission_name("export")
    def monthly_export(self):
        table = regulatory.monthly(self._as_of(), g.user)
        return xlsx_download(monthly_workbook(table), f"月度统计表_{table.as_of:%Y%m%d}.xlsx")

    @expose("/flash/")
    @has_access
    @permission_name("list")
    def flash_report(self):
        snap = regulatory.snapshot(self._as_of(), g.user)
        return self.render_template("microloan/report_flash.html", title="贷款快报", s=snap, layout=_layout(),
                                    money=_money, classes=regulatory.CLASS_LABELS_ORDERED)

    @expose("/special/")
    @has_access
    @permission_name("list")
    def special(self):
        dims, measures = _special_args()
        try:
            table = regulatory.special(self._as_of(), g.user, dims, measures)
        except DomainError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("ReportRegulatoryView.special"))
        return self.render_template("microloan/report_special.html", title="专项统计报表", table=table,
                                    layout=_layout(), money=_money, dims=dims,
                                    dimensions=[(d, regulatory.DIMENSIONS[d].caption)
                                                for d in regulatory.SPECIAL_DIMENSIONS],
                                    measures=regulatory.SPECIAL_MEASURES, args=request.args.to_dict(flat=False))

    @expose("/special/export/")
    @has_access
    @permission_name("export")
    def special_export(self):
        dims, measures = _special_args()
        table = regulatory.special(self._as_of(), g.user, dims, measures)
        return xlsx_download(special_workbook(table), f"专项统计报表_{table.as_of:%Y%m%d}.xlsx")

    @expose("/flash/export/")
    @has_access
    @permission_name("export")
    def flash_export(self):
        snap = regulatory.snapshot(self._as_of(), g.user)
        return xlsx_download(flash_workbook(snap), f"贷款快报_{snap.as_of:%Y%m%d}.xlsx")


def special_workbook(table):
    columns = [excel.Column(d.caption[1:] if d.caption.startswith("按") else d.caption, width=24)
               for d in table.dimensions]
    columns += [excel.Column(regulatory.SPECIAL_MEASURES[m][0], regulatory.SPECIAL_MEASURES[m][1], total=True)
                for m in table.measures]
    rows = [list(labels) + [values[m] for m in table.measures] for labels, values in table.rows]
    params = [("统计日期", table.as_of.isoformat()), ("维度", "、".join(d.caption for d in table.dimensions))]
    return excel.write_workbook(columns, rows, "专项统计报表", params, sheet_name="专项统计报表")


def _special_args():
    dims = [request.args.get("dim1") or "guarantee", request.args.get("dim2") or ""]
    measures = request.args.getlist("m") or ["balance", "loans"]
    return dims, measures


class ReportLoanView(BaseView):
    """小贷业务报表: 小额贷款台账 and the lists, 贷款情况统计表, background export downloads."""

    route_base = "/reports/loans"
    default_view = "list"

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        return self.render_template("microloan/report_index.html", title=_l("Loan business reports"),
                                    section="loans", reports=business.REPORTS, today=settings.business_date())

    def _filters(self):
        return business.Filters(start=_date_arg("start"), end=_date_arg("end"), as_of=_date_arg("as_of"),
                                branch_id=_int_arg("branch_id"), product_id=_int_arg("product_id"),
                                status=(request.args.get("status") or "").strip() or None,
                                keyword=(request.args.get("q") or "").strip()[:50] or None)

    @expose("/table/<code>/")
    @has_access
    @permission_name("list")
    def table(self, code):
        if code not in business.REPORTS:
            abort(404)
        try:
            filters = self._filters()
        except DomainError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("ReportLoanView.table", code=code))
        page_no = max(1, _int_arg("page") or 1)
        size = 500 if request.args.get("print") else 50
        result = business.page(code, filters, g.user, page_no, size,
                               with_totals=True if request.args.get("totals") else None)
        args = {k: v for k, v in request.args.items() if k not in ("page", "print")}
        return self.render_template("microloan/report_list.html", title=result.report.title, page=result,
                                    filters=filters, args=args, layout=_layout(), money=_money,
                                    as_of=filters.as_of or settings.business_date(), **_choices())

    @expose("/table/<code>/export/")
    @has_access
    @permission_name("export")
    def export(self, code):
        if code not in business.REPORTS:
            abort(404)
        filters = self._filters()
        report = business.REPORTS[code]
        queued = export_in_background("loans", code, filters, business.count(code, filters, g.user), report.title,
                                      url_for("ReportLoanView.table", code=code, **request.args))
        if queued is not None:
            return queued
        stamp = (filters.as_of or settings.business_date())
        return xlsx_download(business.workbook(code, filters, g.user), f"{report.title}_{stamp:%Y%m%d}.xlsx")

    @expose("/download/<token>")
    @has_access
    @permission_name("download")
    def download(self, token):
        path = exports.file_path(g.user.id, token)
        if path is None:
            abort(404)
        return send_file(path, mimetype=excel.XLSX_MIMETYPE, as_attachment=True,
                         download_name=f"报表导出_{token[:8]}.xlsx")

    @expose("/statistics/")
    @has_access
    @permission_name("list")
    def statistics(self):
        as_of = _date_arg("as_of", settings.business_date())
        rows = business.loan_statistics(as_of, g.user)
        return self.render_template("microloan/report_statistics.html", title="贷款情况统计表", rows=rows,
                                    as_of=as_of, layout=_layout(), money=_money,
                                    columns=business.STATISTICS_COLUMNS, cells=business.statistics_cells)

    @expose("/statistics/export/")
    @has_access
    @permission_name("export")
    def statistics_export(self):
        as_of = _date_arg("as_of", settings.business_date())
        rows = business.loan_statistics(as_of, g.user)
        data = excel.write_workbook(business.STATISTICS_COLUMNS, [business.statistics_cells(r) for r in rows],
                                    "贷款情况统计表", [("统计日期", as_of.isoformat())], sheet_name="贷款情况统计表")
        return xlsx_download(data, f"贷款情况统计表_{as_of:%Y%m%d}.xlsx")


class DashboardView(BaseView):
    """我的首页 dashboard: the full page, and the chart data the home page section loads."""

    route_base = "/dashboard"
    default_view = "list"

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        as_of = _date_arg("as_of", settings.business_date())
        cards, snap = dashboard.kpis(g.user, as_of)
        return self.render_template("microloan/dashboard_page.html", title=_l("Dashboard"), cards=cards, s=snap,
                                    data_url=url_for("DashboardView.data", as_of=as_of.isoformat()))

    @expose("/data/")
    @has_access
    @permission_name("list")
    def data(self):
        return jsonify(dashboard.charts(g.user, _date_arg("as_of", settings.business_date())))


def register_views(appbuilder):
    """Add this module's views and menu entries, and the dashboard's home page section."""
    from app.services.home import SECTION_PROVIDERS, register_section

    add = appbuilder.add_view
    add(DashboardView, "Dashboard", label=_l("Dashboard"), icon="fa-dashboard", category="Reports")
    add(ReportRegulatoryView, "Regulatory reports", label=_l("Regulatory reports"), icon="fa-university",
        category="Reports")
    add(ReportLoanView, "Loan business reports", label=_l("Loan business reports"), icon="fa-table",
        category="Reports")
    if dashboard.section not in SECTION_PROVIDERS:   # one app per process, but tests may build several
        register_section(dashboard.section)
