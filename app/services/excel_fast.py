"""A faster row writer for big constant-memory exports (issue #11: the 100,000-row 小额贷款台账
in ≤ 15 s).

In constant_memory mode xlsxwriter keeps one row of cells and, when the next row starts,
writes it out cell by cell (``Worksheet._write_single_row`` → ``_write_cell``): per cell a
list of attributes, escaping calls on the cell reference and the style index, three regular
expressions on a string and a file write. ``FastRowWorksheet`` writes the same bytes for the
rows of plain cells (numbers, dates, strings, blanks with their formats), each row as one
string; anything else (formulas, rich strings, row formats or heights, comments, Excel 2010
extensions, shared strings) goes through xlsxwriter's own code. tests/unit/test_excel_fast.py
checks the sheets are byte for byte the same.

It relies on xlsxwriter internals (the cell tuples and the writer helpers of the pinned
xlsxwriter==3.3.1, as app/services/excel.py's ``_cell_writers`` does); with another version
it steps aside (``SUPPORTED``) and xlsxwriter writes every row itself.
"""
import re

import xlsxwriter
from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

SUPPORTED = xlsxwriter.__version__ == "3.3.1"
#: What ``XMLwriter._escape_control_characters`` changes: when none is in a string, it is unchanged.
_CONTROL = re.compile("_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_PLAIN = frozenset(("Number", "Datetime", "String", "Blank"))


class FastRowWorksheet(Worksheet):
    """xlsxwriter's Worksheet with a fast path for ``_write_single_row`` (constant_memory)."""

    def __init__(self):
        super().__init__()
        self._column_names = {}

    def _fast_row_ok(self, row_num):
        return (SUPPORTED and self.constant_memory and row_num not in self.row_info
                and row_num not in self.comments and self.excel_version != 2010
                and self.default_row_height == self.original_row_height)

    def _write_single_row(self, current_row_num=0):
        row_num = self.previous_row
        cells = self.table.get(row_num)
        if not cells or not self._fast_row_ok(row_num) or any(
                type(cell).__name__ not in _PLAIN for cell in cells.values()):
            return super()._write_single_row(current_row_num)
        self.previous_row = current_row_num
        number = str(row_num + 1)
        names = self._column_names
        escape_data, escape_control = self._escape_data, self._escape_control_characters
        parts = [f'<row r="{number}">']
        for col_num in sorted(cells):
            cell = cells[col_num]
            name = names.get(col_num)
            if name is None:
                name = names[col_num] = xl_col_to_name(col_num)
            cell_format = cell.format
            if cell_format:
                # Each call as xlsxwriter makes it: the first one may number the format.
                attr = f' r="{name}{number}" s="{cell_format._get_xf_index()}"'
            else:
                attr = f' r="{name}{number}"'
                info = self.col_info.get(col_num)
                if info is not None and info.column_format is not None:
                    attr += f' s="{info.column_format._get_xf_index()}"'
            kind = type(cell).__name__
            if kind == "String":
                string = cell.string
                if _CONTROL.search(string):
                    string = escape_control(string)
                if string.startswith("<r>") and string.endswith("</r>"):
                    parts.append(f'<c{attr} t="inlineStr"><is>{string}</is></c>')
                    continue
                preserve = ' xml:space="preserve"' if string and (
                    string[0].isspace() or string[-1].isspace()) and _preserve_whitespace(string) else ""
                parts.append(f'<c{attr} t="inlineStr"><is><t{preserve}>{escape_data(string)}</t></is></c>')
            elif kind == "Blank":
                parts.append(f"<c{attr}/>")
            else:
                parts.append(f"<c{attr}><v>{cell.number:.16G}</v></c>")
        parts.append("</row>")
        self.fh.write("".join(parts))
        self.table.clear()
        return None
