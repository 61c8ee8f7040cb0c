"""app/services/excel_fast.py: FastRowWorksheet writes the same bytes as xlsxwriter's Worksheet.

Every part of the .xlsx package (the sheet XML above all) is compared between a workbook
written with xlsxwriter's own worksheet and one written with FastRowWorksheet, for the
report writer's workbooks (app/services/excel.write_workbook, constant_memory: strings
inline) and for odd cells: formula-looking text with the quote prefix, control characters,
"_x0041_" literals, leading / trailing blanks, XML specials, rich strings, blanks, formulas,
row formats and heights, a column format, a comment, columns out of order.
"""
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
import xlsxwriter

from app.services import excel
from app.services.excel_fast import SUPPORTED, FastRowWorksheet

from .test_excel import COLUMNS, ROWS

pytestmark = pytest.mark.skipif(not SUPPORTED, reason="FastRowWorksheet steps aside for this xlsxwriter version")

ODD_TEXT = ["=1+1", "+86", "-", "@x", "\tx", "\rx", " lead", "trail ", "a\nb", "<a&b>\"'", "_x0041_", "ctl\x01\x1f",
            "\ufffe", "", " ", "中文　", "<r>not rich</r>", "x" * 300]


def _parts(data):
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist() if name != "docProps/core.xml"}


def _book(fast, fill, constant_memory=True):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": constant_memory, "in_memory": not constant_memory,
                                        "strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    sheet = book.add_worksheet("S", worksheet_class=FastRowWorksheet if fast else None)
    fill(book, sheet)
    book.close()
    return buffer.getvalue()


def _same(fill, constant_memory=True):
    plain, fast = _book(False, fill, constant_memory), _book(True, fill, constant_memory)
    assert _parts(fast) == _parts(plain)


def test_odd_cells_are_written_byte_for_byte_alike():
    def fill(book, sheet):
        money = book.add_format({"num_format": "#,##0.00"})
        quoted = book.add_format({"quote_prefix": True})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        bold = book.add_format({"bold": True})
        sheet.set_column(3, 3, 12, bold)                     # a column format for unformatted cells
        row = 0
        for n, text in enumerate(ODD_TEXT):
            sheet.write_string(row, 2, text, quoted if excel.is_risky(text) else None)
            sheet.write_number(row, 0, n * 1.1 + 0.01, money)
            sheet.write_datetime(row, 1, datetime(2026, 3, n % 28 + 1, 9, 30), day)
            sheet.write_number(row, 3, -n)                   # takes the column format
            sheet.write_blank(row, 4, None, money)
            row += 1
        sheet.write_number(row, 5, 1e20)
        sheet.write_number(row, 1, 0.1 + 0.2)                # out of order within the row
        row += 1
        sheet.write_rich_string(row, 0, "a", bold, "b", "c")
        sheet.write_formula(row, 1, "=SUM(A1:A3)", money, 12.5)
        row += 1
        sheet.set_row(row, 30)                               # a height: xlsxwriter writes it
        sheet.write_string(row, 0, "tall")
        row += 1
        sheet.set_row(row, None, bold)                       # a row format
        sheet.write_string(row, 0, "bold row")
        row += 1
        sheet.write_comment(row, 0, "a comment")
        sheet.write_string(row, 0, "commented")
        row += 3                                             # empty rows between
        sheet.write_number(row, 7, 3)

    _same(fill)
    _same(fill, constant_memory=False)                       # shared strings: xlsxwriter's own path


def test_report_workbooks_are_byte_for_byte_alike(monkeypatch):
    rows = [list(r) for r in ROWS] * 50 + [["DK9", " 空格 ", date(2026, 1, 1), Decimal("1.05"), 7, Decimal(3)]]

    def write():
        return excel.write_workbook(COLUMNS, iter(rows), "贷款台账", [("统计日期", "2026-03-31")], sheet_name="台账",
                                    constant_memory=True)

    plain = write()
    monkeypatch.setattr(xlsxwriter.Workbook, "worksheet_class", FastRowWorksheet)
    fast = write()
    assert _parts(fast) == _parts(plain)
