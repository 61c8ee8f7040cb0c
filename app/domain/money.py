"""Money as ``decimal.Decimal``: parsing, rounding to the fen, and the engine's context.

DOMAIN.md §0: money is Decimal, never float; every money component is rounded to 0.01 at
the moment it is produced (HALF_UP, 四舍五入, unless a product chooses HALF_EVEN); rates are
never rounded.

Why a private context: ``decimal``'s default context is thread-local and mutable, so any
library that lowers its precision would silently change our arithmetic. Domain code that
divides or raises to powers runs under :data:`MONEY_CONTEXT` (50 significant digits, more
than enough for NUMERIC(18, 2) amounts times NUMERIC(12, 8) rates times day counts to stay
exact before the single rounding to the fen).
"""

from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from app.domain.errors import DomainError

#: One fen; the quantum every money component is rounded to. Built once: creating the
#: Decimal on every call costs more than the quantize itself.
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

#: Rounding modes a product may choose, by the name stored in the database.
ROUNDING_MODES = {
    "HALF_UP": ROUND_HALF_UP,
    "HALF_EVEN": ROUND_HALF_EVEN,
}
ROUNDING_LABELS = {
    "HALF_UP": "四舍五入",
    "HALF_EVEN": "四舍六入五成双（银行家舍入）",
}

#: Precision for intermediate arithmetic. Traps make an overflow or a division by zero an
#: exception instead of a quiet Infinity/NaN that would later be stored as money.
MONEY_CONTEXT = Context(
    prec=50,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


def D(value, field=None, label="数值"):
    """Parse ``value`` into a finite Decimal; refuse floats.

    Accepts Decimal, int and str (surrounding spaces and thousands separators "," are
    ignored, as clerks paste "1,000,000.00"). A float is refused with ``TypeError`` because
    it is a programming error: ``0.1`` has already lost the exact value before we see it.
    Unparseable or non-finite text raises :class:`DomainError` naming ``field``.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        # bool is an int subclass; True as an amount is always a bug.
        raise TypeError("金额/利率不能是布尔值")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        raise TypeError(
            "金额/利率不能使用 float（二进制浮点数会丢失精度），请传入 Decimal 或字符串"
        )
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise DomainError(f"{label}格式不正确：{value!r}", field) from None
    else:
        raise TypeError(f"无法把 {type(value).__name__} 转换为 Decimal")
    if not result.is_finite():
        raise DomainError(f"{label}必须是有限的数字", field)
    return result


def rounding_mode(rounding):
    """Map "HALF_UP"/"HALF_EVEN" (or a decimal ROUND_* constant) to the decimal constant."""
    if rounding in ROUNDING_MODES:
        return ROUNDING_MODES[rounding]
    if rounding in ROUNDING_MODES.values():
        return rounding
    raise DomainError(f"舍入方式不正确：{rounding!r}（可选 HALF_UP、HALF_EVEN）", "rounding")


def round_money(amount, rounding="HALF_UP"):
    """Round a Decimal to the fen in the given mode (default 四舍五入)."""
    return amount.quantize(CENT, rounding=rounding_mode(rounding), context=MONEY_CONTEXT)


def to_money(value, rounding="HALF_UP"):
    """Parse (no floats) and round to the fen: the usual entry point for amounts from forms."""
    return round_money(D(value, label="金额"), rounding)


def has_cents_only(amount):
    """True when ``amount`` has no digits below the fen (e.g. 1.50, 3, but not 1.005)."""
    return amount == amount.quantize(CENT, context=MONEY_CONTEXT)
