"""拨备 arithmetic (DOMAIN.md §5), pure: balances per class → reserves and ratios.

Worked example: 正常 5,000,000 / 关注 500,000 / 次级 200,000 / 可疑 100,000 / 损失 50,000 at the
default rates → specific 160,000, general 58,500, NPL 350,000 (5.98 %), coverage 62.43 %.
"""
from dataclasses import dataclass, field
from decimal import Decimal

from .money import round_money

CLASSES = ("normal", "special_mention", "substandard", "doubtful", "loss")
NON_PERFORMING = ("substandard", "doubtful", "loss")
ZERO = Decimal("0")


def _pct(part, whole):
    return round_money(part * 100 / whole) if whole else ZERO


@dataclass
class ProvisionLine:
    loan_class: str
    count: int
    balance: Decimal
    rate: Decimal          # specific reserve rate, percent
    specific: Decimal


@dataclass
class Provisions:
    lines: list
    general_rate: Decimal
    booked: Decimal = ZERO          # what 1304 贷款损失准备 holds now
    total_balance: Decimal = field(init=False)
    specific: Decimal = field(init=False)
    general: Decimal = field(init=False)

    def __post_init__(self):
        self.total_balance = sum((line.balance for line in self.lines), ZERO)
        self.specific = sum((line.specific for line in self.lines), ZERO)
        self.general = round_money(self.total_balance * self.general_rate / 100)

    @property
    def required(self):
        return self.specific + self.general

    @property
    def shortfall(self):
        """Positive: to provide (计提); negative: to release (冲回)."""
        return self.required - self.booked

    @property
    def npl(self):
        return sum((line.balance for line in self.lines if line.loan_class in NON_PERFORMING), ZERO)

    @property
    def npl_ratio(self):
        return _pct(self.npl, self.total_balance)

    @property
    def coverage_ratio(self):
        """拨备覆盖率 = required reserve ÷ non-performing loans."""
        return _pct(self.required, self.npl)

    @property
    def booked_coverage_ratio(self):
        return _pct(self.booked, self.npl)


def compute(balances, rates, general_rate, counts=None, booked=ZERO):
    """``balances`` and ``rates`` by class code → Provisions (specific reserve per class rounded to the fen)."""
    counts = counts or {}
    lines = [ProvisionLine(code, counts.get(code, 0), Decimal(balances.get(code, ZERO)), Decimal(rates.get(code, ZERO)),
                           round_money(Decimal(balances.get(code, ZERO)) * Decimal(rates.get(code, ZERO)) / 100))
             for code in CLASSES]
    return Provisions(lines, Decimal(general_rate), Decimal(booked))
