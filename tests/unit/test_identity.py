"""身份证号, 统一社会信用代码 and mobile numbers: normalised values or Chinese errors that say
what is wrong (app/domain/identity.py). Pure functions: no app, no database."""
from datetime import date

import pytest
from stdnum.cn import uscc

from app.domain import identity
from app.domain.errors import DomainError

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_digit(first17):
    """GB 11643 check character for the first 17 digits."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def make_id(birth="19850101", seq="123", region="110105"):
    first17 = f"{region}{birth}{seq}"
    return first17 + id_check_digit(first17)


def credit_code(first17):
    return first17 + uscc.calc_check_digit(first17)


def error_of(func, *args, **kwargs):
    with pytest.raises(DomainError) as info:
        func(*args, **kwargs)
    return info.value


# ------------------------------------------------------------------ ID numbers


def test_helper_agrees_with_the_published_example():
    assert id_check_digit("11010519491231002") == "X"


def test_helper_agrees_with_the_apps_completion():
    if not hasattr(identity, "complete_id_number"):
        pytest.skip("identity.complete_id_number not present")
    for first17 in ("11010519491231002", "31011519850101123", "44010619991231001"):
        assert identity.complete_id_number(first17) == first17 + id_check_digit(first17)


@pytest.mark.parametrize("number", [
    "11010519491231002X", make_id("19850101", "123"), make_id("19900615", "246"),
    make_id("19991231", "001", "440106"),
])
def test_valid_id_numbers_pass(number):
    assert identity.normalize_id_number(number) == number


def test_id_number_is_normalised_lower_x_and_spaces():
    assert identity.normalize_id_number(" 110105 19491231 002x ") == "11010519491231002X"


def test_wrong_check_digit_is_a_checksum_error():
    error = error_of(identity.normalize_id_number, "110105194912310021")
    assert "校验位" in error.message
    assert "110105194912310021" in error.message
    assert error.field == "id_number"


def test_seventeen_digits_is_a_length_error():
    error = error_of(identity.normalize_id_number, "11010519491231002")
    assert "18 位" in error.message and "17 位" in error.message


def test_nineteen_digits_is_a_length_error():
    error = error_of(identity.normalize_id_number, "11010519491231002X1")
    assert "18 位" in error.message and "19 位" in error.message


def test_letters_inside_are_a_format_error():
    error = error_of(identity.normalize_id_number, "11010519491231A02X")
    assert "格式不正确" in error.message and "前 17 位须为数字" in error.message


@pytest.mark.parametrize("birth", ["19491331", "19490230", "19850000"])
def test_impossible_birth_date_with_valid_check_digit(birth):
    number = make_id(birth, "002")
    error = error_of(identity.normalize_id_number, number)
    assert "出生日期" in error.message
    assert "校验位" not in error.message


def test_unknown_province_code():
    number = make_id("19850101", "123", region="999999")
    error = error_of(identity.normalize_id_number, number)
    assert "区划代码" in error.message or "地区码" in error.message
    assert "校验位" not in error.message


@pytest.mark.parametrize("region", ["310115", "110105", "440106", "330106"])
def test_real_county_codes_are_accepted(region):
    """310115 (上海浦东新区) is real although stdnum's county list misses it."""
    number = make_id("19850101", "123", region)
    assert identity.normalize_id_number(number) == number


def test_empty_id_number_asks_for_it():
    assert error_of(identity.normalize_id_number, "").message == "请填写身份证号"
    assert error_of(identity.normalize_id_number, None).message == "请填写身份证号"


def test_label_and_field_are_the_callers():
    error = error_of(identity.normalize_id_number, "123", "spouse_id_number", "配偶身份证号")
    assert error.field == "spouse_id_number"
    assert error.message.startswith("配偶身份证号")


def test_birth_date_and_gender_are_derived():
    assert identity.birth_date_of("11010519491231002X") == date(1949, 12, 31)
    assert identity.gender_of("11010519491231002X") == "female"  # 17th digit 2: even
    male = make_id("19850615", "131")
    assert identity.gender_of(male) == "male"
    assert identity.birth_date_of(male) == date(1985, 6, 15)


def test_age_on_counts_the_birthday():
    number = make_id("19800615", "123")
    assert identity.age_on(number, date(2026, 6, 14)) == 45
    assert identity.age_on(number, date(2026, 6, 15)) == 46


def test_check_id_matches_accepts_consistent_values():
    number = "11010519491231002X"
    identity.check_id_matches(number, "female", date(1949, 12, 31))
    identity.check_id_matches(number)  # nothing given: nothing to contradict


def test_check_id_matches_refuses_wrong_gender():
    error = error_of(identity.check_id_matches, "11010519491231002X", "male")
    assert "性别与身份证号不符" in error.message and "“女”" in error.message
    assert error.field == "gender"
    error = error_of(identity.check_id_matches, make_id("19850615", "131"), "female")
    assert "“男”" in error.message


def test_check_id_matches_refuses_wrong_birth_date():
    error = error_of(identity.check_id_matches, "11010519491231002X", None, date(1950, 1, 1))
    assert "出生日期与身份证号不符" in error.message and "1949-12-31" in error.message
    assert error.field == "birth_date"


# ------------------------------------------------------------------ credit codes


def test_known_credit_code_is_valid():
    assert uscc.is_valid("91110000600037341L")
    assert identity.normalize_credit_code("91110000600037341L") == "91110000600037341L"


@pytest.mark.parametrize("first17", ["91310115MA1K3YJ00", "92110105MA00ABCD1", "91440300708461136"])
def test_computed_credit_codes_are_valid(first17):
    code = credit_code(first17)
    assert identity.normalize_credit_code(code.lower()) == code
    assert identity.normalize_credit_code(f" {code[:9]} {code[9:]} ") == code


def test_credit_code_wrong_check_character():
    good = credit_code("91310115MA1K3YJ00")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    error = error_of(identity.normalize_credit_code, bad)
    assert "校验位不正确" in error.message and bad in error.message
    assert error.field == "credit_code"


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_credit_code_with_forbidden_letters(letter):
    code = "91310115MA1K3YJ0" + letter + "0"
    error = error_of(identity.normalize_credit_code, code)
    assert "不得含 I、O、Z、S、V" in error.message


def test_credit_code_length():
    error = error_of(identity.normalize_credit_code, "91110000600037341")
    assert "18 位" in error.message and "17 位" in error.message
    assert error_of(identity.normalize_credit_code, "").message == "请填写统一社会信用代码"


def test_credit_code_label_for_sole_trader():
    error = error_of(identity.normalize_credit_code, "123", label="营业执照号（统一社会信用代码）")
    assert error.message.startswith("营业执照号")


# ------------------------------------------------------------------ mobile numbers


@pytest.mark.parametrize("value", [
    "13800138000", "+8613800138000", "+86 138 0013 8000", "138-0013-8000", " 19912345678 ",
])
def test_mobile_numbers_are_normalised(value):
    expected = "".join(ch for ch in value if ch.isdigit())[-11:]
    assert identity.normalize_mobile(value) == expected


@pytest.mark.parametrize("value", ["138001380001", "1380013800", "12800138000", "10800138000", "23800138000",
                                   "8613800138000", "1380013800a"])
def test_bad_mobile_numbers(value):
    error = error_of(identity.normalize_mobile, value)
    assert "手机号码" in error.message and "格式不正确" in error.message and "11 位" in error.message
    assert error.field == "mobile"


def test_mobile_required_or_optional():
    assert error_of(identity.normalize_mobile, "").message == "请填写手机号码"
    assert identity.normalize_mobile("", required=False) is None
    assert identity.normalize_mobile("+86", required=False) is None


def test_check_not_future():
    identity.check_not_future(date(2026, 1, 1), "成立日期", "founded_on", date(2026, 1, 1))
    identity.check_not_future(None, "成立日期", "founded_on", date(2026, 1, 1))
    error = error_of(identity.check_not_future, date(2026, 1, 2), "成立日期", "founded_on", date(2026, 1, 1))
    assert error.message == "成立日期不能晚于今天" and error.field == "founded_on"
