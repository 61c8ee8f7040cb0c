"""Overdue, penalty, compound interest and payment allocation (DOMAIN.md §3), pure.

Penalty interest (罚息) = overdue principal × penalty rate × days / basis and compound
interest (复利) = overdue interest × penalty rate × days / basis, where penalty rate =
contract rate × (1 + markup). Grace days: a payment within the grace period after the due
date costs no penalty; once it is exceeded, penalty counts from the day after the due date
(the usual 宽限期 practice: the grace is a tolerance, not a discount).
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .errors import DomainError
from .money import ZERO, round_money

COMPONENTS = ("penalty", "compound", "interest", "principal")
COMPONENT_LABELS = {"penalty": "罚息", "compound": "复利", "interest": "利息", "principal": "本金"}
DEFAULT_ORDER = "penalty,compound,interest,principal"


def overdue_days(due_date: date, as_of: date) -> int:
    """Days overdue on ``as_of``: overdue from the day after the due date."""
    return max(0, (as_of - due_date).days)


def penalty_rate(annual_rate, markup_pct) -> Decimal:
    """Annual penalty rate in percent: contract rate × (1 + markup)."""
    return Decimal(annual_rate) * (1 + Decimal(markup_pct) / 100)


def _charge(amount, annual_rate, markup_pct, days, basis, grace_days):
    if amount <= 0 or days <= 0 or days <= grace_days:
        return ZERO
    return round_money(Decimal(amount) * penalty_rate(annual_rate, markup_pct) / 100 * days / Decimal(basis))


def penalty_interest(overdue_principal, annual_rate, markup_pct, days, basis=360, grace_days=0):
    """罚息 on unpaid principal for ``days`` overdue. 7,963.73 at 12 % +50 %, 10 days → 39.82."""
    return _charge(overdue_principal, annual_rate, markup_pct, days, basis, grace_days)


def compound_interest(overdue_interest, annual_rate, markup_pct, days, basis=360, grace_days=0):
    """复利 on unpaid interest for ``days`` overdue. 921.15 at 12 % +50 %, 10 days → 4.61."""
    return _charge(overdue_interest, annual_rate, markup_pct, days, basis, grace_days)


@dataclass
class Owed:
    """What one installment still owes, by component."""

    seq: int
    due_date: date
    principal: Decimal = ZERO
    interest: Decimal = ZERO
    penalty: Decimal = ZERO
    compound: Decimal = ZERO

    @property
    def total(self):
        return self.principal + self.interest + self.penalty + self.compound


@dataclass
class Allocation:
    lines: list = field(default_factory=list)   # (seq, component, amount)
    remainder: Decimal = ZERO

    def total_of(self, component):
        return sum((amount for _s, c, amount in self.lines if c == component), ZERO)


def parse_order(order):
    parts = [p.strip() for p in (order or DEFAULT_ORDER).split(",") if p.strip()]
    if sorted(parts) != sorted(COMPONENTS):
        raise DomainError(f"还款冲销顺序“{order}”无效，须包含且仅包含罚息、复利、利息、本金", "allocation_order")
    return parts


def allocate(amount, owed, order=DEFAULT_ORDER, allow_excess=False):
    """Split a payment over installments, oldest first, each by the component order.

    An amount above everything owed is refused unless ``allow_excess`` (a prepayment,
    which the caller handles); a partial payment leaves the rest owed.
    """
    amount = Decimal(amount)
    if amount <= 0:
        raise DomainError("还款金额必须大于 0", "amount")
    if amount != round_money(amount):
        raise DomainError("还款金额最多两位小数（精确到分）", "amount")
    components = parse_order(order)
    result = Allocation()
    left = amount
    for item in sorted(owed, key=lambda o: (o.due_date, o.seq)):
        for component in components:
            due = getattr(item, component)
            if left <= 0 or due <= 0:
                continue
            paid = min(left, due)
            result.lines.append((item.seq, component, paid))
            left -= paid
    result.remainder = left
    if left > 0 and not allow_excess:
        owed_total = sum((o.total for o in owed), ZERO)
        raise DomainError(f"还款金额 {amount:,.2f} 元超过应还合计 {owed_total:,.2f} 元；多余部分请按提前还款办理",
                          "amount")
    return result
