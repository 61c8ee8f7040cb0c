"""Amounts in Chinese capitals (人民币大写) for contracts, IOUs and vouchers.

Wraps cn2an's ``an2cn(x, "rmb")`` (ARCHITECTURE.md: one small function of ours around a
maintained library) and enforces the PBOC bill-writing rules (《支付结算办法》附件 正确
填写票据和结算凭证的基本规定) where cn2an's output needs it:

* "整" follows "元" when there are no 角/分 (100 → 壹佰元整); nothing follows "分"; after
  "角" no "整" is written (0.50 → 伍角; PBOC allows either, cn2an's form is kept).
* A zero between digits is written as one "零" (1010.07 → 壹仟零壹拾元零柒分). Where the
  zero run ends at a written 万/亿 unit and the next digit is a 仟, PBOC allows the 零 to be
  left out (107000.53 → 壹拾万柒仟元伍角叁分); cn2an leaves it out and so do we.
* Fixed here: cn2an also drops the 零 when a whole 万 group is zero between 亿 and 仟
  (100,001,000 → "壹亿壹仟"). No 万 unit is written there, so the gap is invisible and the
  words read like 一亿一千(万); we write 壹亿零壹仟.
* Amounts are first rounded to the fen (HALF_UP): cn2an would silently drop the third
  decimal. Negative amounts get the prefix "负"; zero is 零元整.

cn2an is imported on first use: it takes ~0.1 s to import and most processes that import
the domain never print an amount in words.
"""

from decimal import ROUND_HALF_UP

from app.domain.errors import DomainError
from app.domain.money import CENT, MONEY_CONTEXT, D

#: NUMERIC(18, 2) holds 16 integer digits; cn2an's rmb mode supports exactly that many.
_LIMIT = 10**16


def amount_in_words(amount):
    """Chinese capitals for an amount of yuan, e.g. Decimal("1010.07") → 壹仟零壹拾元零柒分."""
    value = D(amount, label="金额").quantize(CENT, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)
    if abs(value) >= _LIMIT:
        raise DomainError("金额过大，无法转换为人民币大写", "amount")
    sign = "负" if value < 0 else ""
    value = abs(value)

    from cn2an import an2cn  # noqa: PLC0415 - deliberately lazy, see module docstring

    words = an2cn(format(value, "f"), "rmb")

    yuan = int(value)
    if yuan >= 10**8 and (yuan // 10**4) % 10**4 == 0 and yuan % 10**4 >= 1000:
        # The 万 group is all zeros and the 个 group starts with a 仟: put the 零 back.
        cut = words.rindex("亿") + 1
        words = words[:cut] + "零" + words[cut:]
    return sign + words
