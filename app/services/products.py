"""贷款产品 rules: consistent ranges, known methods, a lawful penalty markup, sane fees."""
from decimal import Decimal

from app.domain.errors import DomainError
from app.domain.schedule import DAY_BASES, METHOD_LABELS
from app.services import dictionaries

_FIELDS = ("code", "name", "methods", "period", "min_amount", "max_amount", "min_term", "max_term", "min_rate",
           "max_rate", "day_basis", "penalty_markup_pct", "grace_days")


def check_product_values(values):
    """Validate a product's fields given as a mapping (form data or a model's attributes)."""
    for key, label in (("code", "产品代码"), ("name", "产品名称")):
        if not str(values.get(key) or "").strip():
            raise DomainError(f"请填写{label}", key)
    methods = values.get("methods") or []
    if isinstance(methods, str):
        methods = [m for m in methods.split(",") if m]
    if not methods:
        raise DomainError("请至少选择一种还款方式", "methods")
    unknown = [m for m in methods if m not in METHOD_LABELS]
    if unknown:
        raise DomainError(f"未知的还款方式：{'、'.join(unknown)}", "methods")
    for low, high, label in (("min_amount", "max_amount", "金额"), ("min_term", "max_term", "期限"),
                             ("min_rate", "max_rate", "年利率")):
        lo, hi = values.get(low), values.get(high)
        if lo is None or hi is None:
            raise DomainError(f"请填写{label}的上下限", low if lo is None else high)
        if Decimal(lo) <= 0:
            raise DomainError(f"{label}下限必须大于 0", low)
        if Decimal(lo) > Decimal(hi):
            raise DomainError(f"{label}下限 {lo} 不能大于上限 {hi}", high)
    if Decimal(values["max_rate"]) > 36:
        raise DomainError("年利率上限不能超过 36%", "max_rate")
    if int(values.get("day_basis") or 360) not in DAY_BASES:
        raise DomainError("计息天数基准只能是 360 或 365", "day_basis")
    markup = values.get("penalty_markup_pct")
    if markup is None or not Decimal(30) <= Decimal(markup) <= Decimal(50):
        raise DomainError("罚息上浮比例应在 30% 至 50% 之间", "penalty_markup_pct")
    if int(values.get("grace_days") or 0) < 0:
        raise DomainError("宽限期不能为负数", "grace_days")


def check_product(product):
    check_product_values({key: getattr(product, key) for key in _FIELDS})


def check_fee(fee):
    if fee.product is None and not fee.product_id:
        raise DomainError("请选择贷款产品", "product")
    if dictionaries.item("fee_type", fee.fee_type) is None:
        raise DomainError("请选择费用类型", "fee_type")
    if fee.value is None or fee.value < 0:
        raise DomainError("费用金额或比例不能为负数", "value")
    if fee.basis == "percent" and fee.value > 100:
        raise DomainError("按比例收取的费用不能超过本金的 100%", "value")


def check_ltv_limit(limit):
    if limit.max_ltv_pct is None or not 0 < limit.max_ltv_pct <= 100:
        raise DomainError("最高抵押率应大于 0 且不超过 100%", "max_ltv_pct")
