"""客户导入: the Excel template, the import itself and the error report.

Every row goes through the same rules as the customer form (``customers.check`` and
``customers.prepare``). Each good row is inserted in its own SAVEPOINT, so a row that fails
late (a unique index, a number clash) rolls back alone; in "all or nothing" mode the whole
import is rolled back as soon as one row has failed, after every row has been checked so
that the report lists all the problems at once.

Users type the Chinese labels of dictionary columns (学历 “本科”); the import maps them
back to the stored codes (``bachelor``). Columns that do not apply to a customer type (a
company's 身份证号) are ignored, as they are in that type's form.
"""
import io
import re
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Customer
from app.models.customer import CUSTOMER_KINDS
from app.services import customers as customer_service
from app.services import dictionaries
from app.services.excel import Column, write_workbook
from app.services.scope import can_see_branch

MAX_ROWS = 10_000
MAX_AMOUNT = Decimal(10) ** 16  # Numeric(18, 2)
MAX_BLANK_ROWS = 10_000  # a sheet formatted down to row 1,048,576 is refused, not read for minutes
DATA_SHEET = "客户信息"
HELP_SHEET = "填写说明"
ALL_KINDS = ("person", "company", "sole_trader")


@dataclass(frozen=True)
class ImportColumn:
    header: str
    key: str
    width: int
    kinds: tuple  # the customer types the column applies to
    required: tuple  # the customer types for which it must be filled
    note: str
    example: str = ""
    dictionary: str = None  # dictionary code whose labels the user types
    text: bool = True  # formatted as text in the template (keeps long numbers intact)


COLUMNS = [
    ImportColumn("客户类型", "kind", 12, ALL_KINDS, ALL_KINDS, "个人、企业或个体工商户", "个人"),
    ImportColumn("客户名称", "name", 20, ALL_KINDS, ALL_KINDS,
                 "个人填姓名；企业填营业执照上的企业名称；个体工商户填经营者姓名", "张三"),
    ImportColumn("身份证号", "id_number", 22, ("person", "sole_trader"), ("person", "sole_trader"),
                 "18 位居民身份证号，末位可为 X；客户须年满 18 周岁；不能与已有客户重复。"
                 "个体工商户填经营者身份证号", "110101199003074514"),
    ImportColumn("手机号码", "mobile", 15, ALL_KINDS, ("person", "sole_trader"),
                 "11 位大陆手机号；企业为联系电话，可不填", "13800138000"),
    ImportColumn("统一社会信用代码", "credit_code", 22, ("company", "sole_trader"), ("company", "sole_trader"),
                 "18 位，见营业执照；个体工商户填营业执照号（统一社会信用代码）；不能与已有客户重复",
                 "91110108MA01ABCD1E"),
    ImportColumn("字号（个体工商户名称）", "business_name", 22, ("sole_trader",), ("sole_trader",),
                 "个体工商户营业执照上的名称", "张三小吃店"),
    ImportColumn("法定代表人", "legal_rep_name", 12, ("company",), ("company",), "企业的法定代表人姓名", "李四"),
    ImportColumn("法定代表人身份证号", "legal_rep_id_number", 22, ("company",), (), "18 位居民身份证号", ""),
    ImportColumn("行业", "industry", 26, ("company", "sole_trader"), (),
                 "国民经济行业分类门类，可填完整名称（如“C 制造业”）、门类名称（“制造业”）或字母（“C”）",
                 "C 制造业", dictionary="industry"),
    ImportColumn("地址", "address", 30, ALL_KINDS, (), "个人为居住地址，企业为注册地址", "北京市海淀区中关村大街 1 号"),
    ImportColumn("婚姻状况", "marital_status", 10, ("person", "sole_trader"), (), "填写可选值之一", "已婚",
                 dictionary="marital_status"),
    ImportColumn("学历", "education", 12, ("person", "sole_trader"), (), "填写可选值之一", "本科",
                 dictionary="education"),
    ImportColumn("工作单位", "employer", 24, ("person",), (), "个人客户的工作单位", ""),
    ImportColumn("月收入", "monthly_income", 12, ("person",), (), "单位：元，数字，不能为负", "8000", text=False),
    ImportColumn("客户来源", "source", 12, ALL_KINDS, (), "填写可选值之一", "自行上门", dictionary="customer_source"),
    ImportColumn("客户经理（用户名）", "officer", 18, ALL_KINDS, (),
                 "系统登录用户名；不填则为导入人本人；须为您管辖机构内的用户", ""),
    ImportColumn("开户银行", "bank_name", 20, ALL_KINDS, (), "放款和还款账户的开户银行；填写银行账号时必填", ""),
    ImportColumn("银行户名", "bank_account_name", 16, ALL_KINDS, (), "银行账户户名", ""),
    ImportColumn("银行账号", "bank_account_no", 24, ALL_KINDS, (), "8 至 30 位数字", ""),
    ImportColumn("备注", "remarks", 30, ALL_KINDS, (), "", ""),
]
_BY_KEY = {c.key: c for c in COLUMNS}
# Fields check() may name that are not columns of the file, and the column to blame.
_FIELD_COLUMNS = {"gender": "id_number", "birth_date": "id_number"}
_HEADER_ALIASES = {"字号": "business_name", "个体工商户名称": "business_name", "客户经理": "officer",
                   "客户姓名": "name", "企业名称": "name", "营业执照号": "credit_code", "法定代表人姓名": "legal_rep_name",
                   "手机": "mobile", "备注说明": "remarks"}
_KIND_ALIASES = {"个体户": "sole_trader", "公司": "company", "自然人": "person"}


@dataclass
class RowError:
    row: int  # the row number as Excel shows it
    column: str  # the column header, or "" when the whole row is at fault
    value: str
    message: str


@dataclass
class ImportResult:
    total: int = 0
    imported: int = 0
    failed: int = 0
    errors: list = field(default_factory=list)
    all_or_nothing: bool = False
    rolled_back: bool = False
    seconds: float = 0.0
    user_name: str = ""
    finished_at: datetime = None
    file_name: str = ""

    @property
    def valid(self):
        """Rows that passed every check (imported unless the import was rolled back)."""
        return self.total - self.failed

    @property
    def summary(self):
        if self.rolled_back:
            return (f"共 {self.total} 行，其中 {self.failed} 行有错误；按“全部成功才导入”方式，"
                    f"未导入任何客户。请修改错误后重新导入。")
        text = f"共 {self.total} 行，成功导入 {self.imported} 行"
        return text + (f"，失败 {self.failed} 行。" if self.failed else "。")


# -- the template ---------------------------------------------------------------------

def _kind_requirement(column, kind):
    if kind in column.required:
        return "必填"
    if kind in column.kinds:
        return "选填"
    return "不适用"


def template_workbook():
    """The import template as .xlsx bytes: the data sheet and a sheet of instructions."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
    header = workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center",
                                  "valign": "vcenter", "text_wrap": True})
    required_header = workbook.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1, "align": "center",
                                           "valign": "vcenter", "text_wrap": True, "font_color": "#C00000"})
    text = workbook.add_format({"num_format": "@"})
    money = workbook.add_format({"num_format": "#,##0.00"})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    table_header = workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})

    data = workbook.add_worksheet(DATA_SHEET)
    helper = workbook.add_worksheet(HELP_SHEET)

    # Allowed values, listed on the instructions sheet and used by the drop-downs.
    choices = {"kind": list(CUSTOMER_KINDS.values())}
    for column in COLUMNS:
        if column.dictionary:
            choices[column.key] = list(dictionaries.labels(column.dictionary).values())

    helper.write_string(0, 0, "客户导入填写说明", title)
    notes = [
        "1. 请在“客户信息”工作表中填写，第 1 行为表头，请勿修改或删除；从第 2 行起每行一个客户，空行会被跳过。",
        f"2. 每次最多导入 {MAX_ROWS:,} 行。证件号码、手机号码、银行账号请按文本填写（模板已设为文本格式），"
        "避免 Excel 把长数字变成科学计数法。",
        "3. 红色表头为至少一种客户类型必填的列；各类型的必填项见下表。标为“不适用”的列即使填写也不会导入。",
        "4. 客户来源、学历、婚姻状况、行业请填写右侧“可选值”中的文字（可用单元格下拉选择）。",
        "5. 客户编号、所属机构由系统生成：所属机构取客户经理的机构；命中不良客户名单的客户会被标记为黑名单客户。",
        "6. 同一文件中身份证号或统一社会信用代码重复时，后出现的行导入失败；已登记的客户不能再次导入。",
        "7. 导入方式“导入全部有效行”只导入没有错误的行；“全部成功才导入”在有任何一行错误时不导入任何数据。"
        "有错误时可下载错误报告，修改后重新导入。",
    ]
    for i, note in enumerate(notes, start=1):
        helper.write_string(i, 0, note)
    top = len(notes) + 2
    table_headers = ["列名", "个人", "企业", "个体工商户", "说明", "示例"]
    widths = [22, 8, 8, 10, 60, 22]
    for col, (name, width) in enumerate(zip(table_headers, widths)):
        helper.set_column(col, col, width)
        helper.write_string(top, col, name, table_header)
    for i, column in enumerate(COLUMNS, start=1):
        note = column.note
        if column.key in choices:
            note = (note + "。" if note and not note.endswith("。") else note) + "可选值见右侧列表"
        cells = [column.header] + [_kind_requirement(column, kind) for kind in ALL_KINDS] + [note, column.example]
        for col, value in enumerate(cells):
            helper.write_string(top + i, col, value, wrap if col == 4 else None)

    # The lists of allowed values, to the right of the table.
    list_col = len(table_headers) + 1
    helper.write_string(top - 1, list_col, "可选值", bold)
    ranges = {}
    for offset, (key, values) in enumerate(choices.items()):
        col = list_col + offset
        helper.set_column(col, col, 24 if key == "industry" else 14)
        helper.write_string(top, col, _BY_KEY[key].header, table_header)
        for i, value in enumerate(values, start=1):
            helper.write_string(top + i, col, value)
        letter = xlsxwriter.utility.xl_col_to_name(col)
        if values:
            ranges[key] = f"='{HELP_SHEET}'!${letter}${top + 2}:${letter}${top + 1 + len(values)}"

    for col, column in enumerate(COLUMNS):
        data.set_column(col, col, column.width, text if column.text else money)
        data.write_string(0, col, column.header, required_header if column.required else header)
        data.write_comment(0, col, f"个人：{_kind_requirement(column, 'person')}；"
                                   f"企业：{_kind_requirement(column, 'company')}；"
                                   f"个体工商户：{_kind_requirement(column, 'sole_trader')}。\n{column.note}",
                           {"x_scale": 2, "y_scale": 1.5})
        if column.key in ranges:
            data.data_validation(1, col, MAX_ROWS, col, {
                "validate": "list", "source": ranges[column.key], "error_type": "warning",
                "error_title": column.header, "error_message": f"请填写{HELP_SHEET}中列出的{column.header}可选值"})
        elif column.key == "monthly_income":
            data.data_validation(1, col, MAX_ROWS, col, {
                "validate": "decimal", "criteria": ">=", "value": 0, "error_type": "warning",
                "error_message": "月收入应为不小于 0 的数字（单位：元）"})
    data.set_row(0, 30)
    data.freeze_panes(1, 0)
    data.activate()
    workbook.close()
    return buffer.getvalue()


# -- reading the file -------------------------------------------------------------------

def _normalise_header(value):
    text = re.sub(r"\s", "", str(value or "")).replace("(", "（").replace(")", "）").rstrip("*＊")
    return text


_HEADERS = {_normalise_header(c.header): c.key for c in COLUMNS}
_HEADERS.update(_HEADER_ALIASES)


def _cell_text(value):
    """A cell's value as the text the user meant (Excel stores 13800138000 as 13800138000.0)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _open_workbook(data):
    from openpyxl import load_workbook

    if not data:
        raise DomainError("上传的文件是空的，请选择填写好的客户导入模板（.xlsx）", "file")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DomainError("这是旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 格式后再导入", "file")
    if data[:2] != b"PK":
        raise DomainError("文件不是有效的 Excel（.xlsx）文件，请使用下载的客户导入模板填写后上传", "file")
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise DomainError("文件无法作为 Excel（.xlsx）文件读取，可能已损坏或不是 Excel 文件，"
                          "请使用下载的客户导入模板填写后上传", "file") from exc
    except Exception as exc:  # openpyxl raises assorted errors on damaged files
        raise DomainError("文件无法作为 Excel（.xlsx）文件读取，可能已损坏，请另存后重试", "file") from exc


def read_rows(data):
    """[(Excel row number, {column key: text or value})] of the non-empty data rows."""
    workbook = _open_workbook(data)
    try:
        sheet = workbook[DATA_SHEET] if DATA_SHEET in workbook.sheetnames else workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # some writers store a wrong sheet size
        keys, rows, header_row = None, [], None
        for row_no, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if keys is None:
                names = [_normalise_header(v) for v in cells]
                if "客户类型" in names and ("客户名称" in names or "客户姓名" in names):
                    keys = [_HEADERS.get(name) for name in names]
                    header_row = row_no
                elif row_no >= 10:
                    break
                continue
            values = {}
            for key, value in zip(keys, cells):
                if key is None:
                    continue
                if key == "monthly_income" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    values[key] = value
                else:
                    values[key] = _cell_text(value)
            if not any(v not in (None, "") for v in values.values()):
                if row_no - header_row - len(rows) > MAX_BLANK_ROWS:
                    raise DomainError(f"文件中的空行超过 {MAX_BLANK_ROWS:,} 行（可能整张表设置了格式），"
                                      "请删除数据下方多余的行后重新导入", "file")
                continue
            rows.append((row_no, values))
            if len(rows) > MAX_ROWS:
                raise DomainError(f"文件超过 {MAX_ROWS:,} 行客户数据，请拆分为多个文件分批导入", "file")
    except DomainError:
        raise
    except Exception as exc:
        raise DomainError("文件内容无法读取，可能已损坏，请在 Excel 中另存为 .xlsx 后重试", "file") from exc
    finally:
        workbook.close()
    if keys is None:
        raise DomainError("没有找到表头（第 1 行应为“客户类型”“客户名称”等列名），请使用下载的客户导入模板", "file")
    if header_row is not None and not rows:
        raise DomainError("文件中没有客户数据：请从表头下一行起每行填写一个客户", "file")
    return rows


# -- the import --------------------------------------------------------------------------

class _Lookups:
    """Dictionary labels → codes and usernames → users, read once per import."""

    def __init__(self, user):
        self.user = user
        self.kinds = {label: code for code, label in CUSTOMER_KINDS.items()}
        self.kinds.update({code: code for code in CUSTOMER_KINDS})
        self.kinds.update(_KIND_ALIASES)
        self.choices, self.allowed = {}, {}
        for column in COLUMNS:
            if not column.dictionary:
                continue
            labels = dictionaries.labels(column.dictionary)
            mapping = {}
            for code, label in labels.items():
                mapping[code.upper()] = code
                mapping[_normalise_header(label).upper()] = code
                if column.dictionary == "industry":  # "C 制造业": also "制造业"
                    mapping[_normalise_header(label.split(" ", 1)[-1]).upper()] = code
            self.choices[column.key] = mapping
            self.allowed[column.key] = "、".join(labels.values())
        self.officers = {}

    def officer(self, username):
        if username not in self.officers:
            self.officers[username] = db.session.execute(
                select(AppUser).where(AppUser.username == username)).scalar_one_or_none()
        return self.officers[username]


def _error(row_no, key, value, message):
    column = _BY_KEY.get(_FIELD_COLUMNS.get(key, key))
    return RowError(row_no, column.header if column else "", "" if value is None else str(value), message)


def _parse(row_no, raw, lookups, errors):
    """(kind, values for check) from one row's cells; problems are appended to ``errors``."""
    kind_text = raw.get("kind")
    kind = lookups.kinds.get(kind_text) if kind_text else None
    if not kind_text:
        errors.append(_error(row_no, "kind", None, "请填写客户类型：个人、企业或个体工商户"))
    elif kind is None:
        errors.append(_error(row_no, "kind", kind_text, f"客户类型“{kind_text}”无效，应为个人、企业或个体工商户"))
    values = {}
    for column in COLUMNS:
        if column.key in ("kind", "officer"):
            continue
        value = raw.get(column.key)
        if kind is not None and kind not in column.kinds:
            continue  # not part of this type's record, as in its form
        if value in (None, ""):
            values[column.key] = None
            continue
        if column.dictionary:
            code = lookups.choices[column.key].get(_normalise_header(value).upper())
            if code is None:
                errors.append(_error(row_no, column.key, value,
                                     f"{column.header}“{value}”不在可选值中，可选：{lookups.allowed[column.key]}"))
            values[column.key] = code
        elif _too_long(column.key, value):
            errors.append(_error(row_no, column.key, value,
                                 f"{column.header}过长：最多 {_too_long(column.key, value)} 个字，现为 {len(value)} 个字"))
            values[column.key] = None
        elif column.key == "monthly_income":
            values[column.key] = amount = _amount(value)
            if amount is None:
                errors.append(_error(row_no, column.key, value, f"{column.header}“{value}”不是有效的数字"))
            elif abs(amount) >= MAX_AMOUNT:
                errors.append(_error(row_no, column.key, value, f"{column.header}“{value}”过大，请核对金额（单位：元）"))
        else:
            values[column.key] = value
    username = raw.get("officer")
    if username:
        officer = lookups.officer(username)
        if officer is None:
            errors.append(_error(row_no, "officer", username, f"客户经理“{username}”不存在，请填写系统登录用户名"))
        elif not officer.active:
            errors.append(_error(row_no, "officer", username, f"客户经理“{username}”的账号已停用"))
        elif not officer.branch_id:
            errors.append(_error(row_no, "officer", username,
                                 f"客户经理“{username}”未设置所属机构，请先在用户管理中设置"))
        elif not can_see_branch(officer.branch_id, lookups.user):
            errors.append(_error(row_no, "officer", username, f"客户经理“{username}”不在您的管辖机构内"))
        values["officer"] = officer
    else:
        values["officer"] = lookups.user
    return kind, values


def _amount(value):
    """A finite Decimal from a number or from text such as "8,000元"; None if it is not one."""
    if isinstance(value, float):
        value = repr(value)
    text = re.sub(r"[,，\s]|元$", "", str(value))
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _too_long(key, value):
    """The column's length limit when a text value exceeds it (PostgreSQL would refuse the row)."""
    column = Customer.__table__.columns.get(key)
    length = getattr(getattr(column, "type", None), "length", None)
    return length if length and isinstance(value, str) and len(value) > length else None


def _identifiers(kind, values):
    """[(column key, normalised value)] that must be unique within the file."""
    found = []
    for key, kinds in (("id_number", customer_service.PERSON_KINDS), ("credit_code", ("company", "sole_trader"))):
        if kind in kinds and values.get(key):
            found.append((key, re.sub(r"\s", "", str(values[key])).upper()))
    return found


def import_customers(data, user, all_or_nothing=False):
    """Import the customers of an .xlsx file (the template's layout); returns an ImportResult.

    Raises DomainError for a file that cannot be imported at all (not .xlsx, no header,
    no rows, too many rows). Row problems are reported in the result, one line per problem.
    """
    started = time.perf_counter()
    rows = read_rows(data)
    result = ImportResult(total=len(rows), all_or_nothing=all_or_nothing,
                          user_name=getattr(user, "username", "") or "")
    lookups = _Lookups(user)
    seen = {}  # (key, normalised value) → first row number
    try:
        for row_no, raw in rows:
            errors = []
            kind, values = _parse(row_no, raw, lookups, errors)
            for key, identifier in _identifiers(kind, values):
                first = seen.setdefault((key, identifier), row_no)
                if first != row_no:
                    errors.append(_error(row_no, key, raw.get(key),
                                         f"{_BY_KEY[key].header} {identifier} 与本文件第 {first} 行重复"))
            if not errors:
                errors = _insert(row_no, raw, kind, values, user)
            if errors:
                result.failed += 1
                result.errors.extend(errors)
            else:
                result.imported += 1
        if all_or_nothing and result.failed:
            db.session.rollback()
            result.imported = 0
            result.rolled_back = True
        else:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    result.seconds = time.perf_counter() - started
    result.finished_at = datetime.now()
    return result


def _insert(row_no, raw, kind, values, user):
    """Check and insert one row in its own SAVEPOINT; returns the row's errors ([] if saved).

    ``customers.prepare`` runs ``customers.check`` on the new customer (the form's rules,
    duplicates against the database included), then numbers it, sets its branch from the
    客户经理 and flags it when its ID number or credit code is blacklisted.
    """
    savepoint = db.session.begin_nested()
    try:
        customer = Customer(kind=kind, **{k: v for k, v in values.items() if k in customer_service.COLUMNS})
        customer.officer = values["officer"]
        customer_service.prepare(customer, user)
        db.session.add(customer)
        db.session.flush()
    except DomainError as exc:
        savepoint.rollback()
        return [_error(row_no, exc.field, raw.get(_FIELD_COLUMNS.get(exc.field, exc.field)), exc.message)]
    except IntegrityError:
        savepoint.rollback()
        return [_error(row_no, None, None, "与已登记的客户重复（身份证号、统一社会信用代码或客户编号），"
                                           "可能刚由他人录入，请核对后重试")]
    except DataError:
        savepoint.rollback()
        return [_error(row_no, None, None, "有数据超出数据库允许的长度或范围（如金额过大），请核对本行")]
    savepoint.commit()
    # Keep the session small: numbering's ORM UPDATE scans every object in the session, so
    # a thousand imported customers kept there would make each next row slower.
    db.session.expunge(customer)
    return []


# -- the error report -------------------------------------------------------------------

def error_report_workbook(result):
    """The rows that failed, as .xlsx bytes: 行号, 列, 值, 错误原因."""
    columns = [Column("行号", "int", 8), Column("列", "text", 22), Column("值", "text", 28),
               Column("错误原因", "text", 90)]
    rows = [(e.row, e.column, e.value, e.message) for e in result.errors]
    params = [("导入结果", result.summary)]
    if result.file_name:
        params.insert(0, ("文件", result.file_name))
    if result.user_name:
        params.append(("导入人", result.user_name))
    if result.finished_at:
        params.append(("导入时间", f"{result.finished_at:%Y-%m-%d %H:%M:%S}"))
    return write_workbook(columns, rows, "客户导入错误报告", params, sheet_name="错误明细")
