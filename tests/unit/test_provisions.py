"""DOMAIN.md §5's provision example, to the fen."""
from decimal import Decimal as D

from app.domain.provisions import compute

RATES = {"normal": D("0"), "special_mention": D("2"), "substandard": D("25"), "doubtful": D("50"), "loss": D("100")}


def test_the_worked_provision_example():
    result = compute({"normal": D("5000000"), "special_mention": D("500000"), "substandard": D("200000"),
                      "doubtful": D("100000"), "loss": D("50000")}, RATES, D("1"), booked=D("100000"))
    assert [line.specific for line in result.lines] == [D("0"), D("10000.00"), D("50000.00"), D("50000.00"),
                                                         D("50000.00")]
    assert result.specific == D("160000.00") and result.general == D("58500.00")
    assert result.required == D("218500.00") and result.shortfall == D("118500.00")
    assert result.npl == D("350000") and result.npl_ratio == D("5.98")
    assert result.coverage_ratio == D("62.43") and result.booked_coverage_ratio == D("28.57")


def test_no_loans_no_division_by_zero():
    result = compute({}, RATES, D("1"))
    assert (result.required, result.npl_ratio, result.coverage_ratio) == (D("0"), D("0"), D("0"))
