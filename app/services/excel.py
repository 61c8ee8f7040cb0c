"""Excel workbooks with xlsxwriter, formatted the way finance expects.

Title and parameters on top, Chinese headers, money with thousands separators and two
decimals, real dates, a frozen header, auto-filter, sensible widths, a totals row with SUM
formulas, and user text that starts with = + - @ written as text (no formula injection: the
cell is a string cell, and it carries Excel's quote prefix so editing it keeps it text).
Big exports use ``constant_memory`` so memory stays flat: rows are written and flushed one
by one, so ``rows`` may be a generator over a streamed query.

``sections`` writes a table in blocks (e.g. one block per breakdown of a regulatory table):
each block has a caption row, its rows and a 小计 row with SUM formulas over its own rows.
"""
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from app.services.excel_fast import FastRowWorksheet

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Characters that make a spreadsheet read a cell as a formula (plus tab / CR, used in CSV attacks).
RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Default widths per kind (characters), when a column does not say.
KIND_WIDTHS = {"money": 16, "int": 8, "date": 12, "datetime": 18, "percent": 10, "rate": 10, "text": 14}
NUMBER_FORMATS = {"money": "#,##0.00", "int": "#,##0", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm",
                  "percent": "0.00", "rate": "0.0000"}


@dataclass
class Column:
    header: str
    kind: str = "text"  # text | money | int | date | datetime | percent | rate
    width: int = None   # None: from the header and the kind
    total: bool = False  # a SUM formula in the totals (and 小计) rows


def display_width(text):
    """Width of ``text`` in Excel character units: CJK characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(text or ""))


def column_width(column):
    if column.width:
        return column.width
    return min(40, max(KIND_WIDTHS.get(column.kind, 14), display_width(column.header) + 2))


def is_risky(text):
    return isinstance(text, str) and text.startswith(RISKY_PREFIXES)


def write_workbook(columns, rows=(), title="", params=(), sheet_name="Sheet1", constant_memory=False,
                   sections=None, totals=True, output=None, note=None):
    """Write the workbook and return its bytes (or None when ``output``, a path or a binary
    file, receives it). ``rows`` is an iterable of sequences matching ``columns``;
    ``sections`` instead is a list of (caption, rows): each gets a 小计 row. ``totals`` adds
    a 合计 row (SUM formulas) under plain rows; ``note`` is a line under the table."""
    buffer = io.BytesIO() if output is None else output
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": constant_memory, "in_memory": not constant_memory,
                                            "strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False})
    # constant_memory: rows of plain cells written by app/services/excel_fast.py (the same bytes, faster)
    sheet = workbook.add_worksheet(str(sheet_name)[:31], worksheet_class=FastRowWorksheet if constant_memory else None)
    fmt = _formats(workbook)
    sheet.write_string(0, 0, title or "", fmt["title"])
    row_no = 1
    for label, value in params:
        sheet.write_string(row_no, 0, f"{label}：{value}", fmt["param"])
        row_no += 1
    header_row = row_no + 1 if params else 2
    for col_no, column in enumerate(columns):
        sheet.set_column(col_no, col_no, column_width(column))
        sheet.write_string(header_row, col_no, column.header, fmt["header"])
    sheet.freeze_panes(header_row + 1, 0)
    current = header_row + 1
    has_totals = any(c.total for c in columns)
    if sections is None:
        current = _write_rows(sheet, current, columns, rows, fmt)
        last_data = current - 1
        sheet.autofilter(header_row, 0, max(last_data, header_row), len(columns) - 1)
        if totals and has_totals and last_data > header_row:
            _sum_row(sheet, current, columns, header_row + 1, last_data, "合计", fmt)
            current += 1
    else:
        for caption, section_rows in sections:
            sheet.write_string(current, 0, caption, fmt["section"])
            for col_no in range(1, len(columns)):
                sheet.write_blank(current, col_no, None, fmt["section"])
            current += 1
            first = current
            current = _write_rows(sheet, current, columns, section_rows, fmt)
            if has_totals and current > first:
                _sum_row(sheet, current, columns, first, current - 1, "小计", fmt)
                current += 1
    if note:
        sheet.write_string(current + 1, 0, note, fmt["param"])
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(header_row)
    workbook.close()
    return buffer.getvalue() if output is None else None


def _formats(workbook):
    fmt = {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "param": workbook.add_format({"font_color": "#555555"}),
        "header": workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center",
                                       "valign": "vcenter", "text_wrap": True}),
        "section": workbook.add_format({"bold": True, "bg_color": "#F2F2F2"}),
        "text": workbook.add_format({}),
        "quoted": workbook.add_format({"quote_prefix": True}),
        "total_label": workbook.add_format({"bold": True, "top": 1}),
    }
    for kind, number_format in NUMBER_FORMATS.items():
        fmt[kind] = workbook.add_format({"num_format": number_format})
        fmt["total_" + kind] = workbook.add_format({"bold": True, "top": 1, "num_format": number_format})
    return fmt


def _write_row(sheet, row, columns, values, fmt):
    for col_no, (column, value) in enumerate(zip(columns, values)):
        _write_cell(sheet, row, col_no, column, value, fmt)


def _cell_writers(sheet, columns, fmt):
    """One writer per column, chosen once: the per-cell work of a big export is then a call,
    not a chain of type checks. xlsxwriter's public ``write_*`` methods parse their arguments
    (A1 notation) on every call; the underscore methods they delegate to take (row, col)
    directly — pinned xlsxwriter==3.3.1 has them; else the public ones are used."""
    number = getattr(sheet, "_write_number", sheet.write_number)
    string = getattr(sheet, "_write_string", sheet.write_string)
    stamp = getattr(sheet, "_write_datetime", sheet.write_datetime)
    text_fmt, quoted = fmt["text"], fmt["quoted"]

    def text(row, col, value):
        value = str(value)
        string(row, col, value, quoted if value.startswith(RISKY_PREFIXES) else text_fmt)

    def numeric(kind):
        cell_fmt = fmt[kind]
        convert = int if kind == "int" else float

        def write(row, col, value):
            if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
                number(row, col, convert(value), cell_fmt)
            else:
                text(row, col, value)
        return write

    def day(row, col, value):
        if isinstance(value, datetime):
            stamp(row, col, value.replace(tzinfo=None, microsecond=0), fmt["datetime"])
        elif isinstance(value, date):
            stamp(row, col, datetime(value.year, value.month, value.day), fmt["date"])
        else:
            text(row, col, value)

    writers = []
    for column in columns:
        if column.kind in ("money", "percent", "rate", "int"):
            writers.append(numeric(column.kind))
        elif column.kind in ("date", "datetime"):
            writers.append(day)
        else:
            writers.append(text)
    return writers


def _write_rows(sheet, first_row, columns, rows, fmt):
    """Write ``rows`` from ``first_row``; returns the row after the last one."""
    writers = _cell_writers(sheet, columns, fmt)
    pairs = list(enumerate(writers))
    current = first_row
    for values in rows:
        for col_no, write in pairs:
            value = values[col_no] if col_no < len(values) else None
            if value is not None and value != "":
                write(current, col_no, value)
        current += 1
    return current


def _sum_row(sheet, row, columns, first, last, label, fmt):
    sheet.write_string(row, 0, label, fmt["total_label"])
    for col_no, column in enumerate(columns):
        if column.total:
            letter = xl_col_to_name(col_no)
            kind = column.kind if column.kind in ("money", "int") else "money"
            sheet.write_formula(row, col_no, f"=SUM({letter}{first + 1}:{letter}{last + 1})", fmt["total_" + kind])
        elif col_no:
            sheet.write_blank(row, col_no, None, fmt["total_label"])


def _write_cell(sheet, row, col, column, value, fmt):
    if value is None or value == "":
        sheet.write_blank(row, col, None)
    elif column.kind in ("money", "percent", "rate") and isinstance(value, (Decimal, int, float)) \
            and not isinstance(value, bool):
        # xlsx stores IEEE doubles; two-decimal amounts below 10^13 round-trip exactly to the fen.
        sheet.write_number(row, col, float(value), fmt[column.kind])
    elif column.kind == "int" and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        sheet.write_number(row, col, int(value), fmt["int"])
    elif column.kind == "datetime" and isinstance(value, datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None, microsecond=0), fmt["datetime"])
    elif column.kind in ("date", "datetime") and isinstance(value, (date, datetime)):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt["date"])
    else:
        # Anything else is text, written as a string even if it looks like a formula.
        text = str(value)
        sheet.write_string(row, col, text, fmt["quoted"] if is_risky(text) else fmt["text"])
