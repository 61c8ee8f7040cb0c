"""还款计划试算: turn raw input (form, CLI, JSON) into a schedule, totals and annualised cost.

One function serves the calculator page, ``flask schedule`` and ``POST /api/v1/schedule/
preview`` so the three always agree. Input values are strings or JSON scalars; every bad
field raises DomainError naming it.
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain.cost import schedule_cost_rate
from app.domain.errors import DomainError
from app.domain.money import D
from app.domain.schedule import METHOD_LABELS, LoanTerms, generate_schedule, schedule_totals

FIELD_LABELS = {
    "principal": "贷款金额", "annual_rate": "年利率", "term": "期数", "method": "还款方式",
    "start_date": "放款日期", "period": "期限单位", "every": "每期长度", "day_basis": "计息天数基准",
    "interest_by_days": "按实际天数计息", "rounding": "舍入方式", "fixed_day": "固定还款日",
    "first_due_date": "首期还款日", "grace_principal": "还本宽限期数", "grace_interest": "付息宽限期数",
    "installment_multiple": "还款额取整单位", "upfront_fees": "期初费用", "custom_plan": "自定义还款计划",
}


@dataclass
class Preview:
    terms: LoanTerms
    rows: list
    totals: object
    cost_rate: Decimal | None
    upfront_fees: Decimal

    @property
    def method_label(self):
        return METHOD_LABELS[self.terms.method]

    def as_json(self):
        """Amounts as strings: JSON numbers would turn them into floats somewhere."""
        return {
            "terms": {
                "principal": str(self.terms.principal), "annual_rate": str(self.terms.annual_rate),
                "term": self.terms.term, "method": self.terms.method, "method_label": self.method_label,
                "start_date": self.terms.start_date.isoformat(), "period": self.terms.period,
                "every": self.terms.every, "day_basis": self.terms.day_basis,
                "interest_by_days": self.terms.interest_by_days, "rounding": self.terms.rounding,
                "fixed_day": self.terms.fixed_day,
            },
            "installments": [
                {"seq": r.seq, "start_date": r.start_date.isoformat(), "due_date": r.due_date.isoformat(),
                 "principal": str(r.principal), "interest": str(r.interest), "total": str(r.total),
                 "balance": str(r.balance)}
                for r in self.rows
            ],
            "totals": {"principal": str(self.totals.principal), "interest": str(self.totals.interest),
                       "total": str(self.totals.total), "installments": self.totals.installments},
            "annualized_cost_rate": str(self.cost_rate) if self.cost_rate is not None else None,
            "upfront_fees": str(self.upfront_fees),
        }


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _int(data, key, default=None):
    value = data.get(key)
    if _blank(value):
        return default
    try:
        if isinstance(value, float):
            raise ValueError
        return int(str(value).strip())
    except ValueError:
        raise DomainError(f"{FIELD_LABELS[key]}必须是整数", key) from None


def _date(data, key, default=None):
    value = data.get(key)
    if _blank(value):
        return default
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise DomainError(f"{FIELD_LABELS[key]}必须是日期，格式 YYYY-MM-DD", key) from None


def _decimal(data, key, default=None):
    value = data.get(key)
    if _blank(value):
        return default
    if isinstance(value, float):
        value = repr(value)  # JSON numbers: take the digits the client sent, not the binary float
    return D(value, key, FIELD_LABELS[key])


def _bool(data, key):
    value = data.get(key)
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "y", "yes", "on", "是")


def _custom_plan(data):
    plan = data.get("custom_plan")
    if _blank(plan):
        return None
    if isinstance(plan, str):  # "2026-02-15,30000\n2026-03-15,70000" from a textarea
        pairs = [line.replace("，", ",").split(",") for line in plan.splitlines() if line.strip()]
    else:
        pairs = list(plan)
    result = []
    for number, pair in enumerate(pairs, 1):
        if len(pair) != 2:
            raise DomainError(f"自定义还款计划第 {number} 行应为“日期,本金”", "custom_plan")
        due = _date({"custom_plan": pair[0]}, "custom_plan")
        amount = _decimal({"custom_plan": pair[1]}, "custom_plan")
        result.append((due, amount))
    return result


def periods_per_year(terms, rows):
    """How many schedule periods make a year, for the annualised cost (see cost.py)."""
    if terms.method == "bullet":
        days = (rows[-1].due_date - terms.start_date).days
        return Decimal(terms.day_basis) / Decimal(max(days, 1))
    if terms.method == "quarterly_interest":
        return Decimal(4)
    if terms.period == "month":
        return Decimal(12) / Decimal(terms.every)
    if terms.period == "week":
        return Decimal(terms.day_basis) / Decimal(7 * terms.every)
    return Decimal(terms.day_basis) / Decimal(terms.every)


def build_terms(data):
    required = ("principal", "annual_rate", "term", "method", "start_date")
    for key in required:
        if _blank(data.get(key)) and not (key == "term" and data.get("method") == "custom"):
            raise DomainError(f"请填写{FIELD_LABELS[key]}", key)
    method = str(data.get("method")).strip()
    plan = _custom_plan(data)
    return LoanTerms(
        principal=_decimal(data, "principal"),
        annual_rate=_decimal(data, "annual_rate"),
        term=_int(data, "term", len(plan) if plan else None),
        method=method,
        start_date=_date(data, "start_date"),
        period=(str(data.get("period") or "month")).strip(),
        every=_int(data, "every", 1),
        day_basis=_int(data, "day_basis", 360),
        interest_by_days=_bool(data, "interest_by_days"),
        rounding=(str(data.get("rounding") or "HALF_UP")).strip(),
        fixed_day=_int(data, "fixed_day"),
        first_due_date=_date(data, "first_due_date"),
        grace_principal=_int(data, "grace_principal", 0),
        grace_interest=_int(data, "grace_interest", 0),
        custom_plan=plan,
        installment_multiple=_decimal(data, "installment_multiple"),
    )


def preview(data):
    """Schedule, totals and annualised cost for raw input; DomainError when input is bad."""
    terms = build_terms(data)
    rows = generate_schedule(terms)
    fees = _decimal(data, "upfront_fees", Decimal("0"))
    if fees < 0:
        raise DomainError("期初费用不能为负数", "upfront_fees")
    try:
        cost = schedule_cost_rate(rows, terms.principal, fees, periods_per_year(terms, rows))
    except DomainError:
        cost = None  # e.g. a zero-rate loan without fees has no meaningful IRR
    return Preview(terms=terms, rows=rows, totals=schedule_totals(rows), cost_rate=cost, upfront_fees=fees)
