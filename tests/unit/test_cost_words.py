"""Annualised cost (IRR), amounts in Chinese capitals, and the money helpers."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import cost
from app.domain.cost import annualized_cost_rate, schedule_cost_rate
from app.domain.errors import DomainError
from app.domain.money import D, has_cents_only, round_money, rounding_mode, to_money
from app.domain.schedule import LoanTerms, generate_schedule
from app.domain.words import amount_in_words

P = Decimal("100000")


def loan(method, **extra):
    fields = dict(
        principal=P, annual_rate=Decimal("12"), term=12, method=method, start_date=date(2026, 1, 15)
    )
    fields.update(extra)
    return generate_schedule(LoanTerms(**fields))


# --------------------------------------------------------------------------- cost


class TestAnnualisedCost:
    def test_equal_installment_with_upfront_fee(self):
        # DOMAIN §2.4: 100,000 等额本息 at 1 %/month plus a 2,000 fee at the start → 15.85 %.
        rows = loan("equal_installment")
        assert schedule_cost_rate(rows, P, upfront_fees=Decimal("2000")) == Decimal("15.85")
        flows = [(0, Decimal("2000"))] + [row.total for row in rows]
        assert annualized_cost_rate(P, flows) == Decimal("15.85")

    def test_flat_true_cost(self):
        # DOMAIN §2.1: 等本等息 at 1 %/month costs about 21.46 % a year, not 12 %.
        assert schedule_cost_rate(loan("flat"), P) == Decimal("21.46")

    def test_plain_loans_cost_their_rate(self):
        assert schedule_cost_rate(loan("equal_installment"), P) == Decimal("12.00")
        assert schedule_cost_rate(loan("monthly_interest"), P) == Decimal("12.00")
        quarterly = loan("quarterly_interest", term=4)
        assert schedule_cost_rate(quarterly, P, periods_per_year=4) == Decimal("12.00")
        assert schedule_cost_rate(
            loan("equal_installment", annual_rate=Decimal("0")), P
        ) == Decimal("0.00")

    def test_interest_first_row_on_the_start_date_is_period_zero(self):
        rows = loan("interest_first")
        expected = annualized_cost_rate(P, [(0, Decimal("1000"))] + [Decimal("1000")] * 11 + [P])
        assert schedule_cost_rate(rows, P) == expected
        assert expected > Decimal("12.00")  # interest paid in advance costs more

    def test_result_is_a_two_place_decimal(self):
        rate = schedule_cost_rate(loan("flat"), P)
        assert isinstance(rate, Decimal) and rate.as_tuple().exponent == -2

    def test_same_period_amounts_add_up_and_refunds_count(self):
        flows = [Decimal("60000"), (1, Decimal("1000")), Decimal("50000"), (2, Decimal("-1000"))]
        assert annualized_cost_rate(P, flows) == annualized_cost_rate(
            P, [Decimal("61000"), Decimal("49000")]
        )

    def test_paying_back_less_is_a_negative_cost(self):
        assert annualized_cost_rate(P, [Decimal("99000")]) == Decimal("-12.00")

    @pytest.mark.parametrize(
        "flows",
        [
            [Decimal("8884.88")] * 11 + [Decimal("8884.85")],
            [(0, Decimal("2000"))] + [Decimal("8884.88")] * 11 + [Decimal("8884.85")],
            [Decimal("9333.33")] * 11 + [Decimal("9333.37")],
            [Decimal("1000")] * 35 + [Decimal("101000")],
        ],
    )
    def test_decimal_fallback_agrees_with_pyxirr(self, flows, monkeypatch):
        with_pyxirr = annualized_cost_rate(P, flows)
        monkeypatch.setattr(cost, "pyxirr", None)
        assert annualized_cost_rate(P, flows) == with_pyxirr

    @pytest.mark.parametrize(
        ("received", "flows", "field"),
        [
            (Decimal("0"), [Decimal("1")], "amount_received"),
            (P, [(0, P)], "flows"),
            (P, [], "flows"),
            (P, [(0, Decimal("10"))], "flows"),
            (P, [(-1, Decimal("10"))], "flows"),
            (P, [(1, Decimal("10"), 3)], "flows"),
            (P, ["abc"], "flows"),
        ],
    )
    def test_invalid_input(self, received, flows, field):
        with pytest.raises(DomainError) as caught:
            annualized_cost_rate(received, flows)
        assert caught.value.field == field

    def test_floats_are_refused(self):
        with pytest.raises(TypeError):
            annualized_cost_rate(100000.0, [Decimal("1")])
        with pytest.raises(TypeError):
            annualized_cost_rate(P, [101000.0])


# --------------------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1010.07", "壹仟零壹拾元零柒分"),
        ("100", "壹佰元整"),
        ("0.5", "伍角"),
        ("0.05", "伍分"),
        ("100000", "壹拾万元整"),
        ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
        ("0", "零元整"),
        ("16.00", "壹拾陆元整"),  # PBOC: 壹拾, not 拾
        ("10", "壹拾元整"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),  # PBOC allows leaving out 零 here
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("100010000", "壹亿零壹万元整"),
        ("100001000", "壹亿零壹仟元整"),  # cn2an gives 壹亿壹仟: fixed in the wrapper
        ("1000001000", "壹拾亿零壹仟元整"),
        ("100000000.09", "壹亿元零玖分"),
        ("-5.2", "负伍元贰角"),
        ("-0.001", "零元整"),
        ("1000.005", "壹仟元零壹分"),  # rounded to the fen, HALF_UP
        ("1,000,000", "壹佰万元整"),
        (
            "9999999999999999.99",
            "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
        ),
    ],
)
def test_amount_in_words(amount, words):
    assert amount_in_words(amount) == words
    if not amount.startswith("-") and "," not in amount:
        assert amount_in_words(Decimal(amount)) == words


def test_amount_in_words_inputs():
    assert amount_in_words(5) == "伍元整"
    with pytest.raises(TypeError):
        amount_in_words(1.5)
    with pytest.raises(DomainError):
        amount_in_words(Decimal("10000000000000000"))
    with pytest.raises(DomainError):
        amount_in_words("1.2.3")


_DIGITS = {ch: value for value, ch in enumerate("零壹贰叁肆伍陆柒捌玖")}
_SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def parse_words(words):
    """Read Chinese capitals back into a Decimal (an independent check of the wrapper)."""
    sign = 1
    if words.startswith("负"):
        sign, words = -1, words[1:]
    yuan_text, rest = words.split("元") if "元" in words else ("", words)
    total = section = digit = 0
    for ch in yuan_text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _SMALL:
            section += digit * _SMALL[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit) * 10**4
            section = digit = 0
        elif ch == "亿":
            total = (total + section + digit) * 10**8
            section = digit = 0
        else:
            raise AssertionError(f"unexpected {ch!r} in {words}")
    fen = (total + section + digit) * 100
    if rest != "整":
        text = rest.replace("零", "")
        while text:
            value, unit, text = _DIGITS[text[0]], text[1], text[2:]
            fen += value * (10 if unit == "角" else 1)
    return sign * Decimal(fen).scaleb(-2)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1),
        # sparse digits exercise the 零 rules
        st.lists(st.sampled_from("0000000123"), min_size=1, max_size=18).map(
            lambda ds: int("".join(ds))
        ),
    )
)
def test_words_read_back_and_follow_the_bill_rules(fen):
    amount = Decimal(fen).scaleb(-2)
    words = amount_in_words(amount)
    assert parse_words(words) == amount
    jiao, fen_digit = abs(fen) // 10 % 10, abs(fen) % 10
    if fen_digit:
        assert words.endswith("分")
    elif jiao:
        assert words.endswith("角")
    else:
        assert words.endswith("元整")
    assert (
        "零零" not in words
        and "零元" not in words[1:]
        and "零万" not in words
        and "零亿" not in words
    )
    yuan = abs(fen) // 100
    assert words.removeprefix("负").startswith(reference_yuan(yuan) + "元") or yuan == 0


def _group(value):
    """One 4-digit group: 零 once for each inner run of zeros, none at the end."""
    out, pending = "", False
    for digit, unit in zip(f"{value:04d}", ("仟", "佰", "拾", "")):
        if digit == "0":
            pending = bool(out)
            continue
        out += ("零" if pending else "") + "零壹贰叁肆伍陆柒捌玖"[int(digit)] + unit
        pending = False
    return out


def _below_yi(value):
    high, low = divmod(value, 10**4)
    out = _group(high) + "万" if high else ""
    if low:
        # After a written 万 a leading 仟 may follow directly (PBOC: 壹拾万柒仟).
        out += ("零" if high and low < 1000 else "") + _group(low)
    return out


def reference_yuan(value):
    """Independent statement of the 零 rules the wrapper promises, for whole yuan > 0:
    a run of zeros is silent only where it ends at a written 万 or 亿 unit and a 仟 (or
    千万) follows; every other gap is one 零. Above 亿 the style is cn2an's X万…亿."""
    if value < 10**8:
        return _below_yi(value)
    high, low = divmod(value, 10**8)
    out = _below_yi(high) + "亿"
    if low:
        out += ("零" if low < 10**7 else "") + _below_yi(low)
    return out


# --------------------------------------------------------------------------- money


class TestMoney:
    def test_parse(self):
        assert D("1,000.50") == Decimal("1000.50")
        assert D(" 12 ") == Decimal("12")
        assert D(7) == Decimal(7)
        assert D(Decimal("0.1")) == Decimal("0.1")

    @pytest.mark.parametrize("value", [0.1, True, None, [1]])
    def test_refuses_floats_and_non_numbers(self, value):
        with pytest.raises(TypeError):
            D(value)

    @pytest.mark.parametrize("value", ["abc", "", "NaN", "Infinity", Decimal("NaN")])
    def test_bad_text(self, value):
        with pytest.raises(DomainError) as caught:
            D(value, field="principal")
        assert caught.value.field == "principal"

    def test_rounding_modes(self):
        assert round_money(Decimal("2.665")) == Decimal("2.67")
        assert round_money(Decimal("2.665"), "HALF_EVEN") == Decimal("2.66")
        assert round_money(Decimal("2.675"), "HALF_EVEN") == Decimal("2.68")
        assert round_money(Decimal("-2.665")) == Decimal("-2.67")
        assert to_money("0.125") == Decimal("0.13")
        assert to_money("0.125", "HALF_EVEN") == Decimal("0.12")
        assert to_money(3).as_tuple().exponent == -2
        with pytest.raises(DomainError) as caught:
            rounding_mode("UP")
        assert caught.value.field == "rounding"

    def test_has_cents_only(self):
        assert has_cents_only(Decimal("1.50")) and has_cents_only(Decimal("3"))
        assert not has_cents_only(Decimal("1.005"))
