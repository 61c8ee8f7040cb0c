"""资信评价 and 企业财务分析 arithmetic: financial ratios, scorecard scoring, grades and the
suggested credit limit. Pure Python (Decimal only), no database.

Scoring rule (shown on the screens):

* every item is scored on 0–100 points: a qualitative item by the option chosen, a
  quantitative item by the band its figure falls in (``lower ≤ figure < upper``; an empty
  bound is open);
* every item has a weight in percent; the weights of a card add up to 100;
* an item contributes ``score × weight ÷ 100`` (rounded to 0.01), so the card's total is on
  0–100;
* deductions (资信扣分, each with a reason) are subtracted; the score never goes below 0;
* the grade is the highest grade whose minimum score the score reaches (AAA ≥ 90 …);
* suggested limit = base × the grade's multiplier, where the base is the customer's net
  assets (所有者权益合计 of the statement used) or the card's fixed base amount.
"""
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from app.domain.errors import DomainError
from app.domain.money import CENT, MONEY_CONTEXT, D

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
MAX_SCORE = HUNDRED


# -- financial ratios (财务指标) -----------------------------------------------------------
@dataclass(frozen=True)
class Ratio:
    """A ratio ``Σ numerator / Σ denominator`` (× 100 when ``percent``) of statement lines.

    Terms are line codes, a leading "-" subtracts the line. ``unit`` is what the screens
    show after the figure ("%", "倍", "次")."""

    code: str
    name: str
    numerator: tuple
    denominator: tuple
    percent: bool
    unit: str
    formula: str


RATIOS = (
    Ratio("debt_ratio", "资产负债率", ("total_liabilities",), ("total_assets",), True, "%",
          "负债合计 ÷ 资产总计 × 100%"),
    Ratio("current_ratio", "流动比率", ("current_assets",), ("current_liabilities",), False, "倍",
          "流动资产合计 ÷ 流动负债合计"),
    Ratio("quick_ratio", "速动比率", ("current_assets", "-inventory"), ("current_liabilities",), False, "倍",
          "（流动资产合计 − 存货）÷ 流动负债合计"),
    Ratio("cash_ratio", "现金比率", ("cash",), ("current_liabilities",), False, "倍",
          "货币资金 ÷ 流动负债合计"),
    Ratio("roe", "净资产收益率", ("net_profit",), ("total_equity",), True, "%",
          "净利润 ÷ 所有者权益合计 × 100%"),
    Ratio("roa", "总资产收益率", ("net_profit",), ("total_assets",), True, "%",
          "净利润 ÷ 资产总计 × 100%"),
    Ratio("net_margin", "销售净利率", ("net_profit",), ("revenue",), True, "%",
          "净利润 ÷ 营业收入 × 100%"),
    Ratio("gross_margin", "销售毛利率", ("revenue", "-cost_of_sales"), ("revenue",), True, "%",
          "（营业收入 − 营业成本）÷ 营业收入 × 100%"),
    Ratio("receivable_turnover", "应收账款周转率", ("revenue",), ("receivables",), False, "次",
          "营业收入 ÷ 应收账款"),
    Ratio("inventory_turnover", "存货周转率", ("cost_of_sales",), ("inventory",), False, "次",
          "营业成本 ÷ 存货"),
    Ratio("asset_turnover", "总资产周转率", ("revenue",), ("total_assets",), False, "次",
          "营业收入 ÷ 资产总计"),
    Ratio("operating_cash_ratio", "现金流动负债比", ("operating_cash_flow",), ("current_liabilities",), False, "倍",
          "经营活动现金流量净额 ÷ 流动负债合计"),
)
RATIO_BY_CODE = {r.code: r for r in RATIOS}
#: The statement line whose value is the customer's net assets (the base of suggested limits).
NET_ASSETS_LINE = "total_equity"
RATIO_QUANTUM = Decimal("0.01")


def _sum(terms, values):
    total = Decimal(0)
    for term in terms:
        sign, code = (-1, term[1:]) if term.startswith("-") else (1, term)
        value = values.get(code)
        if value is None:
            return None
        total += sign * value
    return total


def compute_ratio(ratio, values):
    """The ratio rounded to 0.01, or None when a line is missing or the denominator is 0."""
    numerator, denominator = _sum(ratio.numerator, values), _sum(ratio.denominator, values)
    if numerator is None or denominator is None or denominator == 0:
        return None
    result = MONEY_CONTEXT.divide(numerator, denominator)
    if ratio.percent:
        result *= HUNDRED
    return result.quantize(RATIO_QUANTUM, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)


def compute_ratios(values):
    """{ratio code: Decimal or None} for a statement's {line code: Decimal}."""
    return {ratio.code: compute_ratio(ratio, values) for ratio in RATIOS}


def format_ratio(value, unit=""):
    """"—" for a ratio that cannot be computed (missing figure, division by zero)."""
    if value is None:
        return "—"
    return f"{value:,.2f}{unit}"


def balance_warnings(values):
    """Consistency checks of a balance sheet (warnings, never refusals)."""
    warnings = []
    assets, liabilities, equity = (values.get(c) for c in ("total_assets", "total_liabilities", "total_equity"))
    if None not in (assets, liabilities, equity) and assets != liabilities + equity:
        warnings.append(f"资产总计 {assets:,.2f} 不等于负债合计与所有者权益合计之和 {liabilities + equity:,.2f}")
    current, total = values.get("current_assets"), values.get("total_assets")
    if None not in (current, total) and current > total:
        warnings.append("流动资产合计大于资产总计")
    return warnings


# -- scorecard scoring ----------------------------------------------------------------
@dataclass(frozen=True)
class Band:
    """A score band of a quantitative item: ``lower ≤ figure < upper`` (None = open)."""

    lower: Decimal | None
    upper: Decimal | None
    score: Decimal

    def contains(self, value):
        return (self.lower is None or value >= self.lower) and (self.upper is None or value < self.upper)

    @property
    def label(self):
        low = "-∞" if self.lower is None else f"{self.lower.normalize():f}"
        high = "+∞" if self.upper is None else f"{self.upper.normalize():f}"
        return f"[{low}, {high})"


@dataclass(frozen=True)
class Grade:
    grade: str
    min_score: Decimal
    multiplier: Decimal


def check_score(value, label="得分", field="score"):
    """A score on 0–100 points."""
    value = _decimal(value, label, field)
    if value < 0 or value > MAX_SCORE:
        raise DomainError(f"{label}应在 0–100 分之间", field)
    return value


def check_weight(value, label="权重", field="weight"):
    value = _decimal(value, label, field)
    if value <= 0 or value > HUNDRED:
        raise DomainError(f"{label}应大于 0 且不超过 100（%）", field)
    return value


def _decimal(value, label, field):
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DomainError(f"请填写{label}", field)
    try:
        return D(value, field=field, label=label)
    except (TypeError, InvalidOperation):
        raise DomainError(f"{label}格式不正确", field) from None


def band_score(value, bands):
    """The score of the first band containing ``value``; None when no band contains it."""
    for band in bands:
        if band.contains(value):
            return band.score
    return None


def overlapping_bands(bands):
    """Pairs of bands that overlap (a figure would fall in both)."""
    def low(b):
        return Decimal("-Infinity") if b.lower is None else b.lower

    def high(b):
        return Decimal("Infinity") if b.upper is None else b.upper

    ordered = sorted(bands, key=low)
    return [(a, b) for a, b in zip(ordered, ordered[1:]) if low(b) < high(a)]


def weighted(score, weight):
    """An item's contribution to the total: score × weight ÷ 100, to 0.01."""
    return (score * weight / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)


def total_score(contributions, deductions=()):
    """(Σ contributions, Σ deductions, final score ≥ 0)."""
    gross = sum(contributions, ZERO)
    deducted = sum(deductions, ZERO)
    return gross, deducted, max(gross - deducted, ZERO)


def grade_for(score, grades):
    """The highest grade whose minimum the score reaches; None when none does."""
    for grade in sorted(grades, key=lambda g: g.min_score, reverse=True):
        if score >= grade.min_score:
            return grade
    return None


def suggested_limit(base, multiplier):
    """base × multiplier, to the fen; None without a base (or with a negative base)."""
    if base is None or multiplier is None:
        return None
    if base <= 0:
        return ZERO
    return (base * multiplier).quantize(CENT, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)


def check_deduction(points, reason):
    """A deduction: points > 0 (at most 100) and a reason."""
    points = _decimal(points, "扣分分值", "deductions")
    if points <= 0:
        raise DomainError("扣分分值必须大于 0", "deductions")
    if points > MAX_SCORE:
        raise DomainError("扣分分值不能超过 100 分", "deductions")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("每项扣分都要填写扣分原因", "deductions")
    return points, reason


def card_problems(items, grades):
    """Why a card cannot be used yet (empty list when it can).

    ``items``: [{"name", "kind", "weight", "options": [score…], "bands": [Band…], "ratio_code"}];
    ``grades``: [Grade…]."""
    problems = []
    if not items:
        problems.append("评分卡还没有评分项目")
    total = sum((item["weight"] for item in items), Decimal(0))
    if items and total != HUNDRED:
        problems.append(f"全部评分项目的权重合计应为 100%，现为 {total.normalize():f}%")
    for item in items:
        if item["kind"] == "qualitative":
            if not item["options"]:
                problems.append(f"定性项目“{item['name']}”还没有选项")
        else:
            if item.get("ratio_code") not in RATIO_BY_CODE:
                problems.append(f"定量项目“{item['name']}”的财务指标无效")
            if not item["bands"]:
                problems.append(f"定量项目“{item['name']}”还没有分段")
            for a, b in overlapping_bands(item["bands"]):
                problems.append(f"定量项目“{item['name']}”的分段 {a.label} 与 {b.label} 重叠")
    if not grades:
        problems.append("评分卡还没有等级")
    elif min(g.min_score for g in grades) > 0:
        problems.append("等级表需要一个最低分为 0 的等级（如 C < 40）")
    names = [g.grade for g in grades]
    if len(set(names)) != len(names):
        problems.append("等级名称重复")
    return problems
