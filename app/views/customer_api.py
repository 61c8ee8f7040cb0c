"""REST APIs for customers, partner banks and intermediaries: /api/v1/customer/,
/api/v1/bank/ and /api/v1/intermediary/, and ``DomainErrorApi``, the base of every
ModelRestApi of the app (loan_api.py too).

The same rules as the screens: the data scope is a base filter (another branch's
customer is a 404, and never in a list), and every add or edit goes through the same
service as the form (``customers.prepare``). A DomainError becomes a 422 body shaped like
marshmallow's own validation errors: ``{"message": {"<field>": ["<中文提示>"]}}``.

FAB calls ``pre_add``/``pre_update`` outside any error handling of its own, so an
exception raised there would end as a 500 ("Fatal error") from the ``@safe`` decorator;
``post_headless``/``put_headless``/``delete_headless`` are wrapped below to turn a
DomainError into a 422 and roll back whatever the request had changed.

Bad input is refused before it reaches the database, with a Chinese message naming the
field (``harden_schema``; found by tests/integration/test_api_fuzz.py):

- a relation (``customer``, ``officer``, ``intermediary``, ``branch`` …) takes the id of an
  existing row and nothing else. marshmallow-sqlalchemy's ``Related`` field would build a
  *new* row from an unknown id or from an object (``{"id": 9999, "name": …}``), so a
  caller could create intermediaries, branches or products through a customer or a loan;
- money and rates are exact (refused, not rounded, beyond the column's places; no
  overflow), integers fit their column, dates lie in 1900–2199, text holds no control
  characters (PostgreSQL refuses NUL) and fits its column;
- ids in the URL beyond the database's integer range are a 404, not an overflow;
- a database error is a 422 with a Chinese message, never the SQL text.

Every answer of an /api/ URL is JSON, also when the router itself refuses it (an unknown
URL, a path id that is not a number, a method the URL does not take): ``json_http_errors``.

``allow_browser_login`` lets the pages call the APIs with the session cookie; scripts
log in at /api/v1/security/login and send ``Authorization: Bearer <token>``.
"""
import logging
import re
from datetime import date

from flask import g, jsonify, request
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields
from marshmallow.validate import Length, OneOf
from marshmallow_sqlalchemy.fields import Related
from sqlalchemy import BigInteger, Integer, SmallInteger, select
from sqlalchemy import inspect as sa_inspect
from werkzeug.exceptions import HTTPException

from app.services import partners
from app.domain.errors import DomainError
from app.models import Bank, Customer, Intermediary
from app.models.customer import CUSTOMER_KINDS, CUSTOMER_STATUSES
from app.services import customers as customer_service
from app.services.scope import can_see_branch, scope_filters
from app.views.base import AppInterface
from app.views.customers import LABELS as CUSTOMER_LABELS
from app.views.customers import _officer_choices
from app.views.partners import BankView, IntermediaryView

log = logging.getLogger(__name__)


def _acting_user():
    """g.user without the werkzeug proxy FAB puts there for session logins."""
    user = g.get("user")
    getter = getattr(user, "_get_current_object", None)
    return getter() if getter is not None else user


# -- ids ------------------------------------------------------------------------------

#: The largest id an id column holds (PostgreSQL bigint, SQLite INTEGER).
MAX_ID = 2 ** 63 - 1


def parse_id(value):
    """``value`` (from a URL or a JSON body) as a record id, or None when it cannot be
    one: not an integer, below 1 or beyond the database's range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value.strip()):
        value = int(value)
    if not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_ID else None


# -- JSON answers for every /api/ URL ---------------------------------------------------

#: The router's refusals of an /api/ URL, in Chinese (anything else: werkzeug's text).
HTTP_MESSAGES = {
    400: "请求格式错误",
    404: "接口或记录不存在",
    405: "该接口不支持此请求方法",
    413: "请求体过大",
    415: "不支持的请求内容类型",
}


def json_http_error(exc):
    """An HTTP error of an /api/ URL as ``{"message": …}`` (headers such as ``Allow``
    kept); any other URL keeps Flask's page."""
    if not request.path.startswith("/api/") or exc.code is None:
        return exc
    response = exc.get_response()
    response.set_data(jsonify(message=HTTP_MESSAGES.get(exc.code, exc.description or exc.name)).get_data())
    response.mimetype = "application/json"
    return response


def json_http_errors(blueprint):
    """Register ``json_http_error`` for the whole app from an API's blueprint (the same
    function each time, so registering it again changes nothing)."""
    blueprint.app_errorhandler(HTTPException)(json_http_error)
    return blueprint


# -- the request schemas ----------------------------------------------------------------

#: Dates outside this range are typing errors (and would overflow date arithmetic).
DATE_RANGE = (date(1900, 1, 1), date(2199, 12, 31))
_INTEGER_LIMITS = {SmallInteger: 2 ** 15 - 1, Integer: 2 ** 31 - 1, BigInteger: MAX_ID}
# C0 control characters but tab and line breaks, and lone surrogates (no UTF-8 form).
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SCHEMA_MESSAGES = {"unknown": "不能提交此字段（只读或不存在）", "type": "请求体必须是 JSON 对象"}
_FIELD_MESSAGES = {"required": "必填", "null": "不能为空（null）"}
_TYPE_MESSAGES = (
    (fields.Boolean, {"invalid": "应为 true 或 false"}),
    (fields.Integer, {"invalid": "应为整数", "too_large": "数值过大"}),
    (fields.Decimal, {"invalid": "应为数值，例如 \"1234.56\"", "special": "不能为 NaN 或无穷大"}),
    (fields.Date, {"invalid": "应为日期，格式 YYYY-MM-DD", "format": "应为日期，格式 YYYY-MM-DD"}),
    (fields.DateTime, {"invalid": "应为日期时间，例如 2026-01-31T09:30:00"}),  # after Date, its subclass
    (fields.String, {"invalid": "应为字符串", "invalid_utf8": "不是有效的 UTF-8 文本"}),
)


class ExistingRelated(Related):
    """A many-to-one relation in a request body: the id of an existing row, nothing else
    (marshmallow-sqlalchemy's ``Related`` builds a new row from an unknown id or an object)."""

    def _deserialize(self, value, *args, **kwargs):
        if isinstance(value, dict) and set(value) == {"id"}:  # {"id": 3}, as GET shows it
            value = value["id"]
        pk = parse_id(value)
        if pk is None:
            raise ValidationError("应为已有记录的 id（正整数）")
        item = self.session.get(self.related_model, pk)
        if item is None:
            raise ValidationError(f"id 为 {pk} 的记录不存在")
        return item


def _decimal_limits(precision, scale):
    def validate(value):
        _sign, digits, exponent = value.normalize().as_tuple()
        if not isinstance(exponent, int):  # NaN and infinity: marshmallow refuses them
            return
        if exponent < -scale:
            raise ValidationError(f"最多保留 {scale} 位小数")
        if precision is not None and len(digits) + exponent > precision - scale:
            raise ValidationError(f"数值过大：整数部分最多 {precision - scale} 位")
    return validate


def _integer_limit(limit):
    def validate(value):
        if not -limit - 1 <= value <= limit:
            raise ValidationError("数值超出范围")
    return validate


def _date_in_range(value):
    low, high = DATE_RANGE
    if not low <= value <= high:
        raise ValidationError(f"日期 {value.isoformat()} 超出范围（{low.year}–{high.year} 年）")


def _plain_text(value):
    if isinstance(value, str) and CONTROL_CHARS.search(value):
        raise ValidationError("不能包含控制字符")


def harden_schema(schema, table):
    """Make a FAB add/edit schema refuse what the database would refuse or silently
    change (see the module's docstring), with Chinese messages."""
    schema.error_messages.update(_SCHEMA_MESSAGES)
    columns = table.columns
    for name, field in schema.load_fields.items():
        if isinstance(field, Related) and not field.columns:
            field.__class__ = ExistingRelated
        field.error_messages.update(_FIELD_MESSAGES)
        for kind, messages in _TYPE_MESSAGES:
            if isinstance(field, kind):
                field.error_messages.update(messages)
                break
        column = columns.get(name)
        if isinstance(field, fields.Decimal) and field.places is not None and column is not None:
            field.places = None  # refuse what the column would round, do not round it
            field.validators.append(_decimal_limits(column.type.precision, column.type.scale or 0))
        elif isinstance(field, fields.Integer) and column is not None:
            limit = next((v for t, v in _INTEGER_LIMITS.items() if isinstance(column.type, t)), None)
            if limit:
                field.validators.append(_integer_limit(limit))
        elif isinstance(field, fields.Date):  # (a subclass of DateTime)
            field.validators.append(_date_in_range)
        elif isinstance(field, fields.String):
            field.validators.append(_plain_text)
            for validator in field.validators:
                if isinstance(validator, Length):
                    validator.message_max = "不能超过 {max} 个字符"
                    validator.message_min = "至少 {min} 个字符"
                    validator.message_all = "长度应在 {min} 到 {max} 个字符之间"


_DATABASE_ERROR = "保存失败：数据与已有记录冲突或不完整，请检查后重试"
_DELETE_ERROR = "不能删除：该记录已被其他业务数据引用"


class JsonErrorsMixin:
    """For every API of the app (ModelRestApi or BaseApi): registers ``json_http_error``
    and answers FAB's refusals in Chinese."""

    def create_blueprint(self, appbuilder, *args, **kwargs):
        return json_http_errors(super().create_blueprint(appbuilder, *args, **kwargs))

    def response_403(self):
        return self.response(403, message="无权执行此操作")

    def response_404(self):
        return self.response(404, message="记录不存在或无权访问")


class DomainErrorApi(JsonErrorsMixin, ModelRestApi):
    """A ModelRestApi whose pre_add/pre_update/pre_delete may raise DomainError, whose
    request schemas refuse bad input (``harden_schema``) and whose every answer is JSON."""

    allow_browser_login = True
    page_size = 20

    def _init_model_schemas(self):
        super()._init_model_schemas()
        table = self.datamodel.obj.__table__
        for schema in {id(s): s for s in (self.add_model_schema, self.edit_model_schema)}.values():
            harden_schema(schema, table)

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        # FAB translates a missing description as gettext(""), which is the catalogue's
        # header ("Project-Id-Version: …"), and would send that for every field.
        if not self.description_columns.get(field.name):
            info["description"] = ""
        return info

    def _domain_error(self, exc):
        self.datamodel.session.rollback()
        return self.response_422(message={exc.field or "_schema": [exc.message]})

    def _database_error(self, response, message):
        """FAB answers a database error with its text (SQL and all): log it, roll back and
        answer in Chinese instead."""
        body = response.get_json(silent=True) or {}
        if response.status_code == 422 and str(body.get("message", "")).startswith("Database exception"):
            log.warning("%s: %s", self.__class__.__name__, body["message"])
            self.datamodel.session.rollback()
            return self.response_422(message={"_schema": [message]})
        return response

    def get_headless(self, pk, **kwargs):
        if parse_id(pk) is None:
            return self.response_404()
        return super().get_headless(pk, **kwargs)

    def post_headless(self):
        try:
            return self._database_error(super().post_headless(), _DATABASE_ERROR)
        except DomainError as exc:
            return self._domain_error(exc)

    def put_headless(self, pk):
        if parse_id(pk) is None:
            return self.response_404()
        try:
            return self._database_error(super().put_headless(pk), _DATABASE_ERROR)
        except DomainError as exc:
            return self._domain_error(exc)

    def delete_headless(self, pk):
        if parse_id(pk) is None:
            return self.response_404()
        try:
            item = self.datamodel.get(pk, self._base_filters)
            if item is not None:
                refuse_if_referenced(item)
            return self._database_error(super().delete_headless(pk), _DELETE_ERROR)
        except DomainError as exc:
            return self._domain_error(exc)


def refuse_if_referenced(item):
    """Raise a DomainError when rows of other tables point at ``item`` through a foreign
    key that neither the database (ON DELETE) nor the ORM (a delete cascade) takes care of.
    SQLite does not enforce foreign keys: without this, deleting a customer who has loans
    would leave the loans pointing at nothing; PostgreSQL would refuse with an error."""
    mapper = sa_inspect(type(item))
    table = mapper.local_table
    handled = {rel.target for rel in mapper.relationships if rel.cascade.delete}
    session = sa_inspect(item).session
    for other in table.metadata.sorted_tables:
        if other in handled:
            continue
        for fk in other.foreign_keys:
            if fk.column.table is not table or (fk.ondelete or "").upper() in ("CASCADE", "SET NULL"):
                continue
            value = getattr(item, mapper.get_property_by_column(fk.column).key)
            with session.no_autoflush:
                used = session.execute(select(fk.parent).where(fk.parent == value).limit(1)).first()
            if used is not None:
                raise DomainError(f"{_DELETE_ERROR}（{other.name}）")


# -- customers ------------------------------------------------------------------------

class CustomerInterface(AppInterface):
    """``officer`` is optional in the API (it defaults to the caller) although its
    foreign key is NOT NULL; FAB would otherwise mark it required in the schema."""

    def is_nullable(self, col_name):
        if col_name == "officer":
            return True
        return super().is_nullable(col_name)


_CUSTOMER_FIELDS = [
    "name", "status", "source", "officer", "intermediary",
    # person and sole trader
    "id_number", "mobile", "phone", "email", "address", "household_address", "marital_status", "education",
    "spouse_name", "spouse_id_number", "spouse_mobile", "dependants", "family_annual_income", "owns_house",
    "house_value", "owns_car", "car_value", "employer", "job_title", "years_employed", "monthly_income",
    # company and sole trader
    "credit_code", "business_name", "legal_rep_name", "legal_rep_id_number", "registered_capital", "founded_on",
    "industry", "business_address", "business_scope", "employees", "annual_revenue", "contact_name",
    # bank account
    "bank_name", "bank_account_name", "bank_account_no",
    "remarks",
]
# Computed by the service, never taken from the request: number, branch (the officer's),
# blacklist flag, gender and birth date (from the ID number), audit columns, version.
_CUSTOMER_READ_ONLY = [
    "id", "customer_no", "kind", "branch.id", "branch.name", "is_blacklisted", "gender", "birth_date",
    "created_at", "updated_at", "created_by.id", "created_by.username", "version",
]


class CustomerApi(DomainErrorApi):
    """客户 API: persons, companies and sole traders in the caller's data scope."""

    resource_name = "customer"
    openapi_spec_tag = "Customers"
    datamodel = CustomerInterface(Customer)
    base_filters = scope_filters()
    list_title = show_title = _l("All customers")
    label_columns = dict(
        CUSTOMER_LABELS, id="ID", version=_l("Version"), **{
            "officer.id": _l("Loan officer"), "officer.username": _l("Loan officer"), "branch.id": _l("Branch"),
            "branch.name": _l("Branch"), "intermediary.id": _l("Intermediary"), "intermediary.name": _l("Intermediary"),
            "created_by.id": _l("Created by"), "created_by.username": _l("Created by")})
    list_columns = [
        "id", "customer_no", "kind", "name", "status", "id_number", "credit_code", "mobile", "is_blacklisted",
        "officer.id", "officer.username", "branch.id", "branch.name", "created_at",
    ]
    show_columns = _CUSTOMER_READ_ONLY + [c for c in _CUSTOMER_FIELDS if c not in ("officer", "intermediary")] + [
        "officer.id", "officer.username", "intermediary.id", "intermediary.name"]
    # kind is chosen once, at creation (as on the screens, one form per kind).
    add_columns = ["kind"] + _CUSTOMER_FIELDS
    edit_columns = list(_CUSTOMER_FIELDS)
    search_columns = ["name", "customer_no", "id_number", "credit_code", "mobile", "kind", "status",
                      "is_blacklisted", "created_at"]
    order_columns = ["customer_no", "name", "created_at"]
    base_order = ("created_at", "desc")
    # The choices _info offers: officers and intermediaries of the caller's branches only.
    add_query_rel_fields = edit_query_rel_fields = {
        "officer": [["branch_id", FilterInFunction, _officer_choices]],
        "intermediary": scope_filters(),
    }
    validators_columns = {
        "kind": OneOf(list(CUSTOMER_KINDS), error="客户类型“{input}”无效，应为 person（个人）、company（企业）"
                                                  "或 sole_trader（个体工商户）"),
        "status": OneOf(list(CUSTOMER_STATUSES), error="客户状态“{input}”无效，应为 active（正常）或 inactive（停用）"),
    }

    def _prepare(self, item):
        user = _acting_user()
        if item.officer is None:
            item.officer = user  # the caller by default; check() then vets the officer
        # Gender and birth date are read-only here, derived from the ID number by check().
        # Left in place, the stored ones are checked against an edited ID number and an
        # edit to another person's number fails with "性别与身份证号不符".
        item.gender = item.birth_date = None
        # No autoflush: the edited row must not reach the database before it is checked
        # (an UPDATE with a duplicate ID number would fail as an IntegrityError).
        with self.datamodel.session.no_autoflush:
            customer_service.prepare(item, user)

    def pre_add(self, item):
        self._prepare(item)

    def pre_update(self, item):
        if not can_see_branch(item.branch_id):  # base_filters already hide it: belt and braces
            raise DomainError("只能修改本机构的客户")
        self._prepare(item)

    def pre_delete(self, item):
        if not can_see_branch(item.branch_id):
            raise DomainError("只能删除本机构的客户")


# -- partner banks --------------------------------------------------------------------

_BANK_FIELDS = ["name", "branch_name", "contact_name", "contact_phone", "address", "accounts",
                "cooperation_notes", "is_active"]


class BankApi(DomainErrorApi):
    """合作银行 API (not branch-scoped: the banks are shared by the company)."""

    resource_name = "bank"
    openapi_spec_tag = "Partner banks"
    datamodel = AppInterface(Bank)
    list_title = show_title = _l("Partner banks")
    label_columns = dict(BankView.label_columns, id="ID")
    list_columns = ["id", "name", "branch_name", "contact_name", "contact_phone", "is_active"]
    show_columns = ["id"] + _BANK_FIELDS
    add_columns = edit_columns = _BANK_FIELDS
    search_columns = ["name", "branch_name", "contact_name", "is_active"]
    order_columns = ["name", "branch_name"]
    base_order = ("name", "asc")

    def pre_add(self, item):
        if not (item.name or "").strip():
            raise DomainError("请填写银行名称", "name")
        item.name = item.name.strip()

    pre_update = pre_add


# -- intermediaries -------------------------------------------------------------------

def _percent(value):
    """0 ≤ commission rate ≤ 100. A function, not marshmallow's ``Range``: apispec writes a
    Range on a Decimal field as ``maximum: "100.0000"`` (a string), which makes the
    OpenAPI document invalid (schemathesis refuses it)."""
    if value is not None and not 0 <= value <= 100:
        raise ValidationError("佣金比例应在 0 到 100 之间")


_INTERMEDIARY_FIELDS = ["name", "identifier", "contact_name", "contact_phone", "address", "commission_rate",
                        "bank_account", "branch", "remarks", "is_active"]


class IntermediaryApi(DomainErrorApi):
    """中介 API: the intermediaries of the caller's branches."""

    resource_name = "intermediary"
    openapi_spec_tag = "Intermediaries"
    datamodel = AppInterface(Intermediary)
    base_filters = scope_filters()
    list_title = show_title = _l("Intermediaries")
    label_columns = dict(IntermediaryView.label_columns, id="ID", **{"branch.id": _l("Branch"), "branch.name": _l("Branch")})
    list_columns = ["id", "name", "identifier", "contact_name", "contact_phone", "commission_rate", "branch.id",
                    "branch.name", "is_active"]
    show_columns = ["id", "name", "identifier", "contact_name", "contact_phone", "address", "commission_rate",
                    "bank_account", "branch.id", "branch.name", "remarks", "is_active"]
    add_columns = edit_columns = _INTERMEDIARY_FIELDS
    search_columns = ["name", "contact_name", "contact_phone", "identifier", "is_active"]
    order_columns = ["name", "commission_rate"]
    base_order = ("name", "asc")
    add_query_rel_fields = edit_query_rel_fields = {"branch": scope_filters("id")}
    validators_columns = {"commission_rate": _percent}

    def pre_add(self, item):
        partners.check_intermediary(item, _acting_user())

    pre_update = pre_add
