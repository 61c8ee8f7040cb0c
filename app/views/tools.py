"""业务工具: the repayment schedule calculator (还款计划试算) and its REST API."""

from flask import request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi, expose as api_expose
from flask_appbuilder.security.decorators import has_access, protect
from flask_babel import lazy_gettext as _l

from app.domain.errors import DomainError
from app.domain.schedule import METHOD_LABELS, PERIOD_LABELS
from app.services import settings
from app.services.excel import Column, write_workbook
from app.services.schedule_preview import preview
from app.views.base import xlsx_download

FORM_FIELDS = ("principal", "annual_rate", "term", "method", "start_date", "period", "every", "day_basis",
               "interest_by_days", "rounding", "fixed_day", "first_due_date", "grace_principal",
               "grace_interest", "installment_multiple", "upfront_fees", "custom_plan")


def schedule_workbook(result):
    columns = [Column("期次", "int", 6), Column("起息日", "date", 12), Column("还款日", "date", 12),
               Column("应还本金", "money", 16, True), Column("应还利息", "money", 14, True),
               Column("应还合计", "money", 16, True), Column("剩余本金", "money", 16)]
    rows = [(r.seq, r.start_date, r.due_date, r.principal, r.interest, r.total, r.balance) for r in result.rows]
    t = result.terms
    params = [("贷款金额", f"{t.principal:,.2f} 元"), ("年利率", f"{t.annual_rate}%"),
              ("还款方式", result.method_label), ("期数", f"{t.term}"), ("放款日期", t.start_date.isoformat()),
              ("综合年化成本", f"{result.cost_rate}%" if result.cost_rate is not None else "—")]
    return write_workbook(columns, rows, "还款计划表", params, sheet_name="还款计划")


class ScheduleCalculatorView(BaseView):
    route_base = "/schedule"
    default_view = "calculator"

    @expose("/calculator")
    @has_access
    def calculator(self):
        values = {key: request.args.get(key, "") for key in FORM_FIELDS}
        submitted = bool(request.args.get("principal"))
        if not submitted:
            values.update(method="equal_installment", period="month", every="1", day_basis=str(settings.get("day_basis", 360)),
                          rounding="HALF_UP", start_date=settings.business_date().isoformat())
        result, error = None, None
        if submitted:
            try:
                result = preview(values)
            except DomainError as exc:
                error = exc
        if result is not None and request.args.get("export") == "xlsx":
            return xlsx_download(schedule_workbook(result), f"还款计划_{settings.business_date():%Y%m%d}.xlsx")
        chart = None
        if result is not None:
            chart = {"labels": [r.seq for r in result.rows],
                     "principal": [str(r.principal) for r in result.rows],
                     "interest": [str(r.interest) for r in result.rows],
                     "names": [str(_l("Principal")), str(_l("Interest"))],
                     "axis": [str(_l("No.")), str(_l("Yuan"))]}
        return self.render_template(
            "microloan/schedule_calculator.html", values=values, result=result, error=error, chart=chart,
            methods=METHOD_LABELS, periods=PERIOD_LABELS, title=_l("Repayment schedule calculator"),
            export_query=request.query_string.decode() + "&export=xlsx")


class ScheduleApi(BaseApi):
    """POST /api/v1/schedule/preview — the same fields as the calculator, as JSON."""

    resource_name = "schedule"
    openapi_spec_tag = "Schedule"

    @api_expose("/preview", methods=["POST"])
    @protect(allow_browser_login=True)
    def preview(self):
        """Preview a repayment schedule.
        ---
        post:
          description: Schedule, totals and annualised cost for the given loan terms.
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    principal: {type: string, example: "100000"}
                    annual_rate: {type: string, example: "12"}
                    term: {type: integer, example: 12}
                    method: {type: string, example: equal_installment}
                    start_date: {type: string, format: date, example: "2026-01-15"}
          responses:
            200:
              description: the schedule
            400:
              $ref: '#/components/responses/400'
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message="请求体必须是 JSON 对象")
        try:
            result = preview(data)
        except DomainError as exc:
            return self.response(400, message=exc.message, field=exc.field)
        return self.response(200, **result.as_json())
