"""Typed system parameters: parsing and validating the text an administrator enters."""
from datetime import date
from decimal import Decimal, InvalidOperation

from .errors import DomainError

VALUE_TYPES = {
    "str": "文本",
    "int": "整数",
    "decimal": "数值",
    "percent": "百分比",
    "date": "日期",
    "bool": "是/否",
}


def parse_value(value_type, raw, min_value=None, max_value=None, label="参数值"):
    """Return the typed value of ``raw`` or raise DomainError saying what is wrong."""
    text = (raw or "").strip()
    if value_type == "str":
        return text
    if value_type == "date":
        if not text:
            return None  # e.g. business date left empty = today
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise DomainError(f"{label}必须是日期，格式为 YYYY-MM-DD，例如 2026-11-28", "value")
    if value_type == "bool":
        if text.lower() in ("1", "true", "yes", "y", "是", "on"):
            return True
        if text.lower() in ("0", "false", "no", "n", "否", "off", ""):
            return False
        raise DomainError(f"{label}只能填“是”或“否”", "value")
    if value_type == "int":
        try:
            value = int(text)
        except ValueError:
            raise DomainError(f"{label}必须是整数，例如 30", "value")
        number = Decimal(value)
    elif value_type in ("decimal", "percent"):
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise DomainError(f"{label}必须是数字，例如 12.5", "value")
        if not value.is_finite():
            raise DomainError(f"{label}必须是有限的数字", "value")
        number = value
    else:
        raise DomainError(f"未知的参数类型：{value_type}", "value_type")
    if min_value is not None and number < Decimal(min_value):
        raise DomainError(f"{label}不能小于 {Decimal(min_value).normalize():f}", "value")
    if max_value is not None and number > Decimal(max_value):
        raise DomainError(f"{label}不能大于 {Decimal(max_value).normalize():f}", "value")
    return value
