"""app/services/excel.py: formatted workbooks, read back with openpyxl."""
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl

from app.services.excel import Column, column_width, display_width, write_workbook

COLUMNS = [Column("业务编号"), Column("客户名称", width=20), Column("放款日期", "date"),
           Column("金额（元）", "money", total=True), Column("笔数", "int", total=True), Column("年利率（%）", "rate")]
ROWS = [("DK001", "张三", date(2026, 3, 5), Decimal("1234567.89"), 1, Decimal("12.5")),
        ("DK002", "=HYPERLINK(\"http://x\")", date(2026, 3, 6), Decimal("0.01"), 2, Decimal("8")),
        ("DK003", "+86 138", None, Decimal("100"), 3, None),
        ("DK004", "@SUM(A1)", datetime(2026, 3, 7, 9, 30), Decimal("-5.10"), 4, Decimal("18")),
        ("DK005", "-1+2", date(2026, 3, 8), 0, 0, Decimal("0"))]


def _open(data):
    return openpyxl.load_workbook(io.BytesIO(data))


def test_layout_types_formats_and_totals():
    data = write_workbook(COLUMNS, ROWS, "贷款发放明细表", [("期间", "2026-03-01 至 2026-03-31"), ("机构", "全部")],
                          sheet_name="明细")
    sheet = _open(data)["明细"]
    assert sheet["A1"].value == "贷款发放明细表"
    assert sheet["A2"].value == "期间：2026-03-01 至 2026-03-31"
    assert sheet["A3"].value == "机构：全部"
    header = 5
    assert [c.value for c in sheet[header]] == [c.header for c in COLUMNS]
    assert sheet.freeze_panes == f"A{header + 1}"
    assert sheet.auto_filter.ref == f"A{header}:F{header + len(ROWS)}"
    first = sheet.cell(header + 1, 4)
    assert first.value == 1234567.89 and first.number_format == "#,##0.00"
    assert isinstance(sheet.cell(header + 1, 3).value, datetime) and sheet.cell(header + 1, 3).number_format == "yyyy-mm-dd"
    assert sheet.cell(header + 1, 5).value == 1 and sheet.cell(header + 1, 6).value == 12.5
    assert sheet.cell(header + 3, 3).value is None
    total_row = header + len(ROWS) + 1
    assert sheet.cell(total_row, 1).value == "合计"
    assert sheet.cell(total_row, 4).value == f"=SUM(D{header + 1}:D{header + len(ROWS)})"
    assert sheet.cell(total_row, 5).value == f"=SUM(E{header + 1}:E{header + len(ROWS)})"
    assert sheet.cell(total_row, 4).number_format == "#,##0.00"
    assert round(sheet.column_dimensions["B"].width) == 21   # 20 characters + padding


def test_formula_injection_guard():
    sheet = _open(write_workbook(COLUMNS, ROWS, "t")).active
    header = 3
    for offset, text in ((2, "=HYPERLINK(\"http://x\")"), (3, "+86 138"), (4, "@SUM(A1)"), (5, "-1+2")):
        cell = sheet.cell(header + offset, 2)
        assert cell.value == text
        assert cell.data_type == "s"          # a string, never a formula
        assert cell.quotePrefix                # and stays text when edited in Excel
    assert not sheet.cell(header + 1, 2).quotePrefix


def test_constant_memory_streams_a_generator_to_a_file(tmp_path):
    def rows():
        for n in range(3000):
            yield (f"DK{n:05d}", f"客户{n}", date(2026, 1, 1), Decimal(n) + Decimal("0.25"), 1, Decimal("10"))

    path = tmp_path / "big.xlsx"
    with open(path, "wb") as fh:
        assert write_workbook(COLUMNS, rows(), "台账", constant_memory=True, output=fh) is None
    sheet = openpyxl.load_workbook(path, read_only=True).active
    values = list(sheet.iter_rows(min_row=4, values_only=True))
    assert len(values) == 3001
    assert values[0][0] == "DK00000" and values[-2][3] == 2999.25
    assert values[-1][0] == "合计" and values[-1][3] == "=SUM(D4:D3003)"


def test_sections_get_subtotals():
    columns = [Column("项目"), Column("余额（元）", "money", total=True), Column("笔数", "int", total=True)]
    data = write_workbook(columns, title="贷款业务结构表",
                          sections=[("按担保方式", [("信用贷款", Decimal("10.50"), 1), ("保证贷款", Decimal("4.50"), 2)]),
                                    ("按五级分类", [("正常", Decimal("15.00"), 3)])])
    sheet = _open(data).active
    cells = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert cells[0][0] == "按担保方式"
    assert cells[3] == ["小计", "=SUM(B5:B6)", "=SUM(C5:C6)"]
    assert cells[4][0] == "按五级分类"
    assert cells[6] == ["小计", "=SUM(B9:B9)", "=SUM(C9:C9)"]


def test_widths():
    assert display_width("贷款ab") == 6
    assert column_width(Column("放款金额（元）", "money")) == 16
    assert column_width(Column("一个很长很长很长的中文列标题", "int")) == 30
    assert column_width(Column("x", width=7)) == 7


def test_empty_table_has_headers_and_no_totals():
    sheet = _open(write_workbook(COLUMNS, [], "空表")).active
    assert [c.value for c in sheet[3]] == [c.header for c in COLUMNS]
    assert sheet.max_row == 3
