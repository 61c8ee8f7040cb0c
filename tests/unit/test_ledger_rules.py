"""The ledger's checks that need no database: a voucher's lines (ledger.check_lines)."""
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import DomainError
from app.services.ledger import Line, check_lines

D = Decimal


def test_balanced_lines_pass_and_return_the_totals():
    lines = [Line("1002", debit=D("100.50")), Line("6011", credit=D("60.25")), Line("6021", credit=D("40.25"))]
    assert check_lines(lines) == (D("100.50"), D("100.50"))


def test_unbalanced_lines_name_both_sums():
    with pytest.raises(DomainError) as err:
        check_lines([Line("1002", debit=D("1000.00")), Line("6011", credit=D("999.99"))])
    message = err.value.message
    assert "借方合计 1,000.00" in message and "贷方合计 999.99" in message and "相差 0.01" in message


@pytest.mark.parametrize("lines", [[], [Line("1002", debit=D("1"))]])
def test_a_voucher_needs_two_lines(lines):
    with pytest.raises(DomainError, match="至少要有两条分录"):
        check_lines(lines)


@pytest.mark.parametrize("debit, credit, expected", [
    (D("10"), D("10"), "都有金额"),
    (D("0"), D("0"), "金额为零"),
    (D("-10"), D("0"), "不能为负数"),
    (D("0"), D("-0.01"), "不能为负数"),
    (D("10.005"), D("0"), "超过两位小数"),
    (D("1E+17"), D("0"), "超过上限"),
    (D("NaN"), D("0"), "无效"),
    (10.5, D("0"), "必须是 Decimal"),
    (10, D("0"), "必须是 Decimal"),
    ("10", D("0"), "必须是 Decimal"),
    (True, D("0"), "必须是 Decimal"),
])
def test_each_line_is_a_positive_two_place_decimal_on_exactly_one_side(debit, credit, expected):
    lines = [Line("1002", debit=debit, credit=credit), Line("6011", credit=D("10"))]
    with pytest.raises(DomainError, match=expected) as err:
        check_lines(lines)
    assert "第 1 条分录" in err.value.message


def test_trailing_zeros_are_not_extra_places():
    assert check_lines([Line("1002", debit=D("5.000")), Line("6011", credit=D("5"))]) == (D("5.00"), D("5.00"))


def test_anything_but_a_line_is_refused():
    with pytest.raises(DomainError, match="第 2 条分录格式不对"):
        check_lines([Line("1002", debit=D("1")), ("6011", 0, 1)])


def test_long_memo_and_bad_loan_id_are_refused():
    with pytest.raises(DomainError, match="摘要超过 200 字"):
        check_lines([Line("1002", debit=D("1"), memo="x" * 201), Line("6011", credit=D("1"))])
    with pytest.raises(DomainError, match="贷款编号无效"):
        check_lines([Line("1002", debit=D("1"), loan_id="7"), Line("6011", credit=D("1"))])


cents = st.integers(min_value=1, max_value=10**12)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), debits=st.lists(cents, min_size=1, max_size=6), nudge=st.integers(min_value=-3, max_value=3))
def test_lines_pass_exactly_when_they_balance(data, debits, nudge):
    """Split the debits' total into credits at random points; nudging one credit by a few
    fen unbalances the voucher, and only then is it refused."""
    total = sum(debits)
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=total - 1), max_size=5) if total > 1 else st.just([]))
    bounds = [0, *sorted(set(cuts)), total]
    credits = [b - a for a, b in zip(bounds, bounds[1:])]
    credits[-1] += nudge
    if credits[-1] <= 0:
        return
    lines = [Line("1002", debit=D(d) / 100) for d in debits] + [Line("6011", credit=D(c) / 100) for c in credits]
    if nudge == 0:
        assert check_lines(lines) == (D(total) / 100, D(total) / 100)
    else:
        with pytest.raises(DomainError, match="借贷不平衡"):
            check_lines(lines)
