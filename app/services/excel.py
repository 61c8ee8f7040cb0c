"""Excel workbooks with xlsxwriter, formatted the way finance expects.

Title and parameters on top, Chinese headers, money with thousands separators and two
decimals, real dates, a frozen header, auto-filter, sensible widths, a totals row with SUM
formulas, and user text that starts with = + - @ written as text (no formula injection).
Big exports use ``constant_memory`` so memory stays flat.
"""
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter

@dataclass
class Column:
    header: str
    kind: str = "text"  # text | money | int | date | percent
    width: int = 14
    total: bool = False  # a SUM formula in the totals row


def write_workbook(columns, rows, title, params=(), sheet_name="Sheet1", constant_memory=False):
    """Return the .xlsx bytes. ``rows`` is an iterable of sequences matching ``columns``."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": constant_memory, "in_memory": not constant_memory,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(sheet_name[:31])
    fmt = {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "param": workbook.add_format({"font_color": "#555555"}),
        "header": workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center",
                                       "valign": "vcenter", "text_wrap": True}),
        "money": workbook.add_format({"num_format": "#,##0.00"}),
        "int": workbook.add_format({"num_format": "0"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "percent": workbook.add_format({"num_format": "0.00"}),
        "text": workbook.add_format({}),
        "total_label": workbook.add_format({"bold": True, "top": 1}),
        "total_money": workbook.add_format({"bold": True, "top": 1, "num_format": "#,##0.00"}),
    }
    sheet.write_string(0, 0, title, fmt["title"])
    row_no = 1
    for label, value in params:
        sheet.write_string(row_no, 0, f"{label}：{value}", fmt["param"])
        row_no += 1
    header_row = row_no + 1 if params else 2
    for col_no, column in enumerate(columns):
        sheet.set_column(col_no, col_no, column.width)
        sheet.write_string(header_row, col_no, column.header, fmt["header"])
    sheet.freeze_panes(header_row + 1, 0)
    current = header_row + 1
    for values in rows:
        for col_no, (column, value) in enumerate(zip(columns, values)):
            _write_cell(sheet, current, col_no, column, value, fmt)
        current += 1
    last_data = current - 1
    sheet.autofilter(header_row, 0, max(last_data, header_row), len(columns) - 1)
    if any(c.total for c in columns) and last_data > header_row:
        sheet.write_string(current, 0, "合计", fmt["total_label"])
        for col_no, column in enumerate(columns):
            if column.total:
                letter = xlsxwriter.utility.xl_col_to_name(col_no)
                sheet.write_formula(current, col_no, f"=SUM({letter}{header_row + 2}:{letter}{last_data + 1})",
                                    fmt["total_money"])
    workbook.close()
    return buffer.getvalue()


def _write_cell(sheet, row, col, column, value, fmt):
    if value is None or value == "":
        sheet.write_blank(row, col, None)
    elif column.kind == "money" and isinstance(value, (Decimal, int)):
        # xlsx stores IEEE doubles; two-decimal amounts below 10^13 round-trip exactly to the fen.
        sheet.write_number(row, col, float(value), fmt["money"])
    elif column.kind == "percent" and isinstance(value, (Decimal, int)):
        sheet.write_number(row, col, float(value), fmt["percent"])
    elif column.kind == "int" and isinstance(value, int):
        sheet.write_number(row, col, value, fmt["int"])
    elif column.kind == "date" and isinstance(value, (date, datetime)):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt["date"])
    else:
        # Anything else is text, written as a string even if it looks like a formula.
        sheet.write_string(row, col, str(value), fmt["text"])


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
