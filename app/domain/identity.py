"""Identity numbers: 身份证号 (GB 11643), 统一社会信用代码 (GB 32100) and mobile numbers.

The checksums come from python-stdnum; this module only wraps them so that every caller
gets a normalised value or a DomainError with a Chinese message that says what is wrong.
"""
import re

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

from .errors import DomainError

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# GB/T 2260 province-level codes (first two digits of an ID number).
_PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
              "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
              "81", "82", "83"}


def normalize_id_number(value, field="id_number", label="身份证号"):
    """An 18-digit resident ID with a valid check digit, upper-cased; else DomainError."""
    text = re.sub(r"\s", "", str(value or "")).upper()
    if not text:
        raise DomainError(f"请填写{label}", field)
    if len(text) != 18:
        raise DomainError(f"{label}“{text}”应为 18 位，现为 {len(text)} 位", field)
    if not re.fullmatch(r"\d{17}[\dX]", text):
        raise DomainError(f"{label}“{text}”格式不正确：前 17 位须为数字，末位为数字或 X", field)
    try:
        ric.get_birth_date(text)
    except stdnum_errors.ValidationError:
        raise DomainError(f"{label}“{text}”中的出生日期（第 7–14 位）无效，请核对证件号码", field)
    if text[:2] not in _PROVINCES:
        raise DomainError(f"{label}“{text}”的前两位不是有效的省级行政区划代码，请核对证件号码", field)
    # stdnum's region list misses real county codes (e.g. 310115 浦东新区), and an ID keeps
    # the code of where it was issued even after the county is renamed: so the region is
    # checked at province level, the date and the check digit exactly.
    if ric.calc_check_digit(text) != text[-1]:
        raise DomainError(f"{label}“{text}”校验位不正确，请核对证件号码", field)
    return text


def birth_date_of(id_number):
    return ric.get_birth_date(id_number)


def gender_of(id_number):
    """'male' or 'female' from the 17th digit (odd = male)."""
    return "male" if int(id_number[16]) % 2 else "female"


def age_on(id_number, on):
    born = birth_date_of(id_number)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def check_id_matches(id_number, gender=None, birth_date=None, field="gender"):
    """Refuse a gender or birth date that contradicts the ID number."""
    if gender and gender != gender_of(id_number):
        expected = "男" if gender_of(id_number) == "male" else "女"
        raise DomainError(f"性别与身份证号不符：按身份证号应为“{expected}”", field)
    if birth_date and birth_date != birth_date_of(id_number):
        raise DomainError(
            f"出生日期与身份证号不符：按身份证号应为 {birth_date_of(id_number):%Y-%m-%d}", "birth_date")


def normalize_credit_code(value, field="credit_code", label="统一社会信用代码"):
    """An 18-character unified social credit code with a valid check character."""
    text = re.sub(r"\s", "", str(value or "")).upper()
    if not text:
        raise DomainError(f"请填写{label}", field)
    if len(text) != 18:
        raise DomainError(f"{label}“{text}”应为 18 位，现为 {len(text)} 位", field)
    try:
        uscc.validate(text)
    except stdnum_errors.InvalidChecksum:
        raise DomainError(f"{label}“{text}”校验位不正确，请核对营业执照", field)
    except stdnum_errors.ValidationError:
        raise DomainError(f"{label}“{text}”格式不正确（不得含 I、O、Z、S、V），请核对营业执照", field)
    return text


def normalize_mobile(value, field="mobile", required=True, label="手机号码"):
    """An 11-digit mainland mobile number (1[3-9]xxxxxxxxx); '+86' and spaces are dropped."""
    text = re.sub(r"[\s\-]", "", str(value or ""))
    if text.startswith("+86"):
        text = text[3:]
    if not text:
        if required:
            raise DomainError(f"请填写{label}", field)
        return None
    if not _MOBILE.match(text):
        raise DomainError(f"{label}“{text}”格式不正确，应为 11 位大陆手机号，如 13800138000", field)
    return text


def check_not_future(value, label, field, today):
    if value and value > today:
        raise DomainError(f"{label}不能晚于今天", field)


def complete_id_number(first17):
    """The 18-digit ID number for 17 given digits (demo data, tests, the generator)."""
    return first17 + ric.calc_check_digit(first17 + "0")  # stdnum drops the last character


def complete_credit_code(first17):
    """The 18-character credit code for 17 given characters (no I, O, Z, S, V)."""
    return first17 + uscc.calc_check_digit(first17)


def normalize_identifier(value, field="identifier"):
    """An ID number or a credit code, validated as whichever it looks like (17 leading digits
    make it an ID number)."""
    text = re.sub(r"\s", "", str(value or "")).upper()
    if not text:
        raise DomainError("请填写身份证号或统一社会信用代码", field)
    if text[:17].isdigit():
        return normalize_id_number(text, field)
    return normalize_credit_code(text, field)
