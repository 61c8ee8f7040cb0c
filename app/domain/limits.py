"""Loan limits checked before submission (DOMAIN.md §2.4, §6, §7, §9): product ranges,
loan-to-value, concentration and fees. Pure functions; each failure is a DomainError
whose message names the rule and the numbers."""
from decimal import Decimal

from .errors import DomainError
from .money import ZERO, round_money

HUNDRED = Decimal(100)


def _yuan(value):
    return f"{round_money(value):,.2f} 元"


def _pct(value):
    """A percentage without trailing zeros: 70.0000 → 70, 12.50 → 12.5."""
    text = f"{Decimal(value).normalize():f}"
    return text


def check_range(value, low, high, label, field, unit=""):
    if value < low or value > high:
        raise DomainError(f"{label} {_pct(value)}{unit} 超出产品允许范围 {_pct(low)}{unit}–{_pct(high)}{unit}", field)


def ltv_pct(amount, appraised_value):
    """抵押率 = loan / appraised value, in percent, two decimals."""
    if appraised_value <= 0:
        raise DomainError("评估价值必须大于 0", "appraised_value")
    return round_money(Decimal(amount) * HUNDRED / Decimal(appraised_value))


def check_ltv(amount, collaterals):
    """``collaterals``: [(name, type label, appraised value, max LTV %)]. The loan must fit
    within Σ appraised value × max LTV; a single item is also reported as its LTV."""
    if not collaterals:
        return
    capacity = sum((round_money(value * max_pct / HUNDRED) for _n, _t, value, max_pct in collaterals), ZERO)
    if amount > capacity:
        parts = "；".join(f"{name}（{label}）评估价值 {_yuan(value)} × 最高抵押率 {_pct(max_pct)}%"
                         for name, label, value, max_pct in collaterals)
        total_value = sum((value for _n, _t, value, _m in collaterals), ZERO)
        raise DomainError(
            f"抵押率超限：贷款金额 {_yuan(amount)} / 抵质押物评估价值 {_yuan(total_value)} = "
            f"{ltv_pct(amount, total_value)}%，超过可担保额度 {_yuan(capacity)}（{parts}）", "collateral")


def check_concentration(amount, borrower_outstanding, related_outstanding, net_assets, single_pct, related_pct):
    """One borrower ≤ single_pct of net assets; borrower plus related parties ≤ related_pct."""
    single_cap = round_money(net_assets * single_pct / HUNDRED)
    borrower_total = borrower_outstanding + amount
    if borrower_total > single_cap:
        raise DomainError(
            f"超过单户集中度限额：该借款人贷款余额 {_yuan(borrower_outstanding)} + 本笔 {_yuan(amount)} = "
            f"{_yuan(borrower_total)}，超过上年末净资产 {_yuan(net_assets)} 的 {_pct(single_pct)}%（{_yuan(single_cap)}）",
            "amount")
    group_cap = round_money(net_assets * related_pct / HUNDRED)
    group_total = borrower_total + related_outstanding
    if group_total > group_cap:
        raise DomainError(
            f"超过关联方集中度限额：借款人及其关联方贷款余额 {_yuan(borrower_outstanding + related_outstanding)} + "
            f"本笔 {_yuan(amount)} = {_yuan(group_total)}，超过上年末净资产 {_yuan(net_assets)} 的 "
            f"{_pct(related_pct)}%（{_yuan(group_cap)}）", "amount")


def fee_amount(basis, value, principal):
    """A fee in yuan: fixed, or a percent of the principal."""
    if value < 0:
        raise DomainError("费用金额或比例不能为负数", "fees")
    if basis == "fixed":
        return round_money(value)
    if basis == "percent":
        return round_money(Decimal(principal) * Decimal(value) / HUNDRED)
    raise DomainError(f"费用计算方式“{basis}”无效", "fees")


def check_rate_cap(cost_rate, cap_pct, lpr_1y, lpr_multiple):
    """Hard stop above the cap; returns a warning text above lpr_multiple × LPR, else None."""
    if cost_rate > cap_pct:
        raise DomainError(
            f"综合年化成本 {cost_rate}% 超过上限 {_pct(cap_pct)}%，不能提交；请降低利率或费用", "annual_rate")
    if lpr_1y is not None:
        line = round_money(lpr_1y * lpr_multiple)
        if cost_rate > line:
            return f"综合年化成本 {cost_rate}% 超过一年期 LPR {_pct(lpr_1y)}% 的 {_pct(lpr_multiple)} 倍（{line}%）"
    return None
