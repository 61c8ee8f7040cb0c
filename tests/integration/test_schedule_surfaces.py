"""The calculator page, the REST preview and the CLI agree with the engine (DOMAIN.md §2)."""
import io
import json

from openpyxl import load_workbook

WORKED = {"principal": "100000", "annual_rate": "12", "term": "12", "method": "equal_installment",
          "start_date": "2026-01-15", "upfront_fees": "2000"}


def test_calculator_page_shows_schedule_totals_cost_and_chart(login_as):
    officer = login_as("officer_a")
    page = officer.get("/schedule/calculator", query_string=WORKED).get_data(as_text=True)
    assert "8,884.88" in page and "8,884.85" in page  # level payment, last installment
    assert 'id="total-interest">6,618.53' in page
    assert 'id="cost-rate">15.85%' in page
    assert "echarts.min.js" in page and "schedule-chart" in page
    assert "等额本息" in page


def test_calculator_bad_input_keeps_form_and_says_why(login_as):
    page = login_as("risk").get("/schedule/calculator", query_string={**WORKED, "term": "0"}).get_data(as_text=True)
    assert "期数必须是大于 0 的整数" in page
    assert 'value="100000"' in page  # the form keeps what was typed
    assert "schedule-table" not in page


def test_calculator_excel_export(login_as):
    response = login_as("finance").get("/schedule/calculator", query_string={**WORKED, "export": "xlsx"})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header_at = next(i for i, row in enumerate(values) if row[0] == "期次")
    assert values[header_at][:4] == ["期次", "起息日", "还款日", "应还本金"]
    first = values[header_at + 1]
    assert first[0] == 1 and first[3] == 7884.88 and first[4] == 1000.0 and first[5] == 8884.88
    assert sheet.freeze_panes == f"A{header_at + 2}"
    total_row = values[header_at + 13]
    assert total_row[0] == "合计" and str(total_row[3]).startswith("=SUM(")
    assert sheet.cell(row=header_at + 2, column=2).number_format == "yyyy-mm-dd"


def test_rest_preview_matches_engine(login_as):
    client = login_as("officer_a")
    response = client.post("/api/v1/schedule/preview", json={**WORKED, "term": 12})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["totals"]["interest"] == "6618.53"
    assert body["annualized_cost_rate"] == "15.85"
    assert body["installments"][1] == {"seq": 2, "start_date": "2026-02-15", "due_date": "2026-03-15",
                                       "principal": "7963.73", "interest": "921.15", "total": "8884.88",
                                       "balance": "84151.39"}


def test_rest_preview_errors_are_json_with_the_field(login_as):
    client = login_as("officer_a")
    response = client.post("/api/v1/schedule/preview", json={**WORKED, "method": "magic"})
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "method" and "还款方式" in body["message"]
    assert client.post("/api/v1/schedule/preview", data="not json").status_code == 400


def test_rest_preview_needs_login(client):
    assert client.post("/api/v1/schedule/preview", json=WORKED).status_code == 401


def test_cli_schedule_json_agrees(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["schedule", "--principal", "100000", "--rate", "12", "--term", "12",
                                 "--method", "monthly_interest", "--start", "2026-01-15", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    totals = [row["total"] for row in body["installments"]]
    assert totals == ["1000.00"] * 11 + ["101000.00"]
    bad = runner.invoke(args=["schedule", "--principal", "-5", "--rate", "12", "--term", "12", "--start", "2026-01-15"])
    assert bad.exit_code != 0 and "principal" in bad.output
