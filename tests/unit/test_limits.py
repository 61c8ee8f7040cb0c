"""Loan limits (DOMAIN.md §2.4, §6, §7, §9): product ranges, loan-to-value, concentration,
fees and the rate cap. Pure functions: no app, no database."""
from decimal import Decimal

import pytest

from app.domain.errors import DomainError
from app.domain.limits import check_concentration, check_ltv, check_range, check_rate_cap, fee_amount, ltv_pct

D = Decimal


# --------------------------------------------------------------------------- check_range


@pytest.mark.parametrize("value", [D("10000"), D("500000"), D("1000000")])
def test_range_inside_and_on_both_bounds_passes(value):
    assert check_range(value, D("10000"), D("1000000"), "贷款金额", "amount", " 元") is None


@pytest.mark.parametrize("value", [D("9999.99"), D("1000000.01")])
def test_range_outside_is_refused_naming_label_field_and_bounds(value):
    with pytest.raises(DomainError) as exc:
        check_range(value, D("10000"), D("1000000"), "贷款金额", "amount", " 元")
    assert exc.value.field == "amount"
    message = exc.value.message
    assert "贷款金额" in message and "超出产品允许范围" in message
    assert "10000" in message and "1000000" in message


def test_range_of_terms_is_integer_and_names_the_unit():
    check_range(3, 3, 36, "期限", "term", " 个月")
    with pytest.raises(DomainError) as exc:
        check_range(37, 3, 36, "期限", "term", " 个月")
    assert exc.value.field == "term"
    assert "37 个月" in exc.value.message and "3 个月" in exc.value.message and "36 个月" in exc.value.message


def test_range_of_rates_names_the_rate():
    with pytest.raises(DomainError) as exc:
        check_range(D("18.5"), D("8"), D("18"), "年利率", "annual_rate", "%")
    assert exc.value.field == "annual_rate"
    assert "18.5%" in exc.value.message and "18" in exc.value.message


# --------------------------------------------------------------------------- LTV


def test_ltv_pct_is_loan_over_appraised_value_in_percent_two_decimals():
    assert ltv_pct(D("100000"), D("120000")) == D("83.33")
    assert ltv_pct(D("70000"), D("100000")) == D("70.00")
    # 2 / 3 = 66.666… → 66.67 (half up)
    assert ltv_pct(D("200000"), D("300000")) == D("66.67")


@pytest.mark.parametrize("value", [D("0"), D("-1")])
def test_ltv_pct_refuses_a_non_positive_appraisal(value):
    with pytest.raises(DomainError) as exc:
        ltv_pct(D("100000"), value)
    assert exc.value.field == "appraised_value"


def test_ltv_without_collateral_is_not_checked():
    assert check_ltv(D("100000"), []) is None


def test_ltv_house_at_70_pct_refuses_a_loan_above_its_capacity_and_names_the_numbers():
    # 120,000 × 70 % = 84,000 can secure at most 84,000; 100,000 is refused.
    items = [("朝阳区住宅", "房产", D("120000"), D("70"))]
    with pytest.raises(DomainError) as exc:
        check_ltv(D("100000"), items)
    message = exc.value.message
    assert exc.value.field == "collateral"
    assert "抵押率超限" in message
    assert "100,000.00" in message       # the loan
    assert "120,000.00" in message       # the appraised value
    assert "84,000.00" in message        # the capacity
    assert "83.33%" in message           # the LTV
    assert "70" in message and "朝阳区住宅" in message and "房产" in message


def test_ltv_exactly_at_capacity_passes_and_one_fen_over_is_refused():
    items = [("住宅", "房产", D("120000"), D("70"))]
    assert check_ltv(D("84000"), items) is None
    with pytest.raises(DomainError):
        check_ltv(D("84000.01"), items)


def test_ltv_capacities_of_several_items_add_up():
    # house 120,000 × 70 % = 84,000 plus vehicle 60,000 × 50 % = 30,000 → 114,000.
    items = [("住宅", "房产", D("120000"), D("70")), ("轿车", "车辆", D("60000"), D("50"))]
    assert check_ltv(D("100000"), items) is None
    assert check_ltv(D("114000"), items) is None
    with pytest.raises(DomainError) as exc:
        check_ltv(D("114000.01"), items)
    message = exc.value.message
    assert "114,000.00" in message and "180,000.00" in message  # capacity, total value
    assert "住宅" in message and "轿车" in message


# --------------------------------------------------------------------------- concentration

NET = D("100000000")


def test_concentration_single_borrower_boundary_is_allowed_one_fen_over_refused():
    # 10 % of 100,000,000 = 10,000,000.
    assert check_concentration(D("10000000"), D("0"), D("0"), NET, D("10"), D("15")) is None
    assert check_concentration(D("4000000"), D("6000000"), D("0"), NET, D("10"), D("15")) is None
    with pytest.raises(DomainError) as exc:
        check_concentration(D("10000000.01"), D("0"), D("0"), NET, D("10"), D("15"))
    message = exc.value.message
    assert exc.value.field == "amount"
    assert "单户集中度" in message
    assert "10,000,000.01" in message and "10,000,000.00" in message and "100,000,000.00" in message
    assert "10%" in message


def test_concentration_counts_the_borrowers_outstanding_loans():
    with pytest.raises(DomainError) as exc:
        check_concentration(D("4000000.01"), D("6000000"), D("0"), NET, D("10"), D("15"))
    assert "6,000,000.00" in exc.value.message and "4,000,000.01" in exc.value.message


def test_concentration_with_related_parties_is_15_pct_boundary_allowed():
    # borrower 10,000,000 + related 5,000,000 = 15,000,000 = 15 %: allowed.
    assert check_concentration(D("10000000"), D("0"), D("5000000"), NET, D("10"), D("15")) is None
    assert check_concentration(D("3000000"), D("2000000"), D("10000000"), NET, D("10"), D("15")) is None


def test_concentration_with_related_parties_one_fen_over_is_refused():
    with pytest.raises(DomainError) as exc:
        check_concentration(D("10000000"), D("0"), D("5000000.01"), NET, D("10"), D("15"))
    message = exc.value.message
    assert "关联方集中度" in message
    assert "15,000,000.01" in message and "15,000,000.00" in message and "15%" in message


def test_concentration_related_parties_alone_can_exceed_the_group_limit():
    # The borrower alone is fine (1,000,000 ≤ 10,000,000) but the group is not.
    with pytest.raises(DomainError) as exc:
        check_concentration(D("1000000"), D("0"), D("14500000"), NET, D("10"), D("15"))
    assert "关联方集中度" in exc.value.message


def test_concentration_follows_the_parameters():
    # net assets 500,000 × 10 % = 50,000
    assert check_concentration(D("50000"), D("0"), D("0"), D("500000"), D("10"), D("15")) is None
    with pytest.raises(DomainError) as exc:
        check_concentration(D("100000"), D("0"), D("0"), D("500000"), D("10"), D("15"))
    assert "50,000.00" in exc.value.message and "500,000.00" in exc.value.message


# --------------------------------------------------------------------------- fees


def test_fee_fixed_is_the_amount_rounded_to_the_fen():
    assert fee_amount("fixed", D("2000"), D("100000")) == D("2000.00")
    assert fee_amount("fixed", D("2000"), D("100000")).as_tuple().exponent == -2
    assert fee_amount("fixed", D("12.345"), D("1")) == D("12.35")


def test_fee_percent_of_principal():
    assert fee_amount("percent", D("0.5"), D("100000")) == D("500.00")
    assert fee_amount("percent", D("0.3"), D("50000")) == D("150.00")
    assert fee_amount("percent", D("0"), D("50000")) == D("0.00")


def test_fee_percent_rounds_half_up_not_half_even():
    # 1,001 × 0.5 % = 5.005 → 5.01 (四舍五入), banker's rounding would give 5.00.
    assert fee_amount("percent", D("0.5"), D("1001")) == D("5.01")
    # 1,003 × 0.5 % = 5.015 → 5.02
    assert fee_amount("percent", D("0.5"), D("1003")) == D("5.02")
    # 333.33 × 1 % = 3.3333 → 3.33
    assert fee_amount("percent", D("1"), D("333.33")) == D("3.33")


def test_fee_negative_and_unknown_basis_are_refused():
    with pytest.raises(DomainError) as exc:
        fee_amount("percent", D("-0.1"), D("100000"))
    assert exc.value.field == "fees"
    with pytest.raises(DomainError) as exc:
        fee_amount("per_day", D("1"), D("100000"))
    assert "per_day" in exc.value.message


def test_fee_amount_is_decimal_not_float():
    assert isinstance(fee_amount("percent", D("0.5"), D("100000")), Decimal)


# --------------------------------------------------------------------------- rate cap

LPR = D("3.00")


def test_rate_cap_above_24_pct_is_a_hard_stop():
    with pytest.raises(DomainError) as exc:
        check_rate_cap(D("24.01"), D("24"), LPR, D("4"))
    message = exc.value.message
    assert exc.value.field == "annual_rate"
    assert "24.01%" in message and "24" in message and "不能提交" in message


def test_rate_cap_exactly_at_the_cap_is_allowed_with_a_warning():
    warning = check_rate_cap(D("24.00"), D("24"), LPR, D("4"))
    assert warning is not None and "24.00%" in warning


def test_rate_cap_above_four_times_lpr_returns_a_warning_text():
    warning = check_rate_cap(D("13.00"), D("24"), LPR, D("4"))
    assert isinstance(warning, str)
    assert "13.00%" in warning and "LPR" in warning
    assert "3" in warning and "4 倍" in warning and "12.00%" in warning


def test_rate_cap_at_or_below_four_times_lpr_is_silent():
    assert check_rate_cap(D("11.00"), D("24"), LPR, D("4")) is None
    assert check_rate_cap(D("12.00"), D("24"), LPR, D("4")) is None
    assert check_rate_cap(D("12.01"), D("24"), LPR, D("4")) is not None


def test_rate_cap_without_an_lpr_gives_no_warning():
    assert check_rate_cap(D("20"), D("24"), None, D("4")) is None


def test_rate_cap_follows_the_parameter():
    with pytest.raises(DomainError):
        check_rate_cap(D("10.50"), D("10"), LPR, D("4"))
