"""资信评价 arithmetic and 企业财务分析 ratios (app/domain/scoring.py): pure, no database."""
from decimal import Decimal

import pytest

from app.domain import scoring
from app.domain.errors import DomainError
from app.domain.scoring import Band, Grade

D = Decimal

#: A small company's year (yuan); the ratios below are worked by hand.
STATEMENT = {
    "cash": D("200000"), "receivables": D("300000"), "inventory": D("250000"), "current_assets": D("800000"),
    "fixed_assets": D("1200000"), "total_assets": D("2000000"), "short_term_loans": D("400000"),
    "payables": D("200000"), "current_liabilities": D("500000"), "total_liabilities": D("800000"),
    "total_equity": D("1200000"), "revenue": D("3000000"), "cost_of_sales": D("2250000"),
    "net_profit": D("180000"), "operating_cash_flow": D("150000"),
}
EXPECTED = {
    "debt_ratio": "40.00",            # 800,000 / 2,000,000 × 100
    "current_ratio": "1.60",          # 800,000 / 500,000
    "quick_ratio": "1.10",            # (800,000 − 250,000) / 500,000
    "cash_ratio": "0.40",             # 200,000 / 500,000
    "roe": "15.00",                   # 180,000 / 1,200,000 × 100
    "roa": "9.00",                    # 180,000 / 2,000,000 × 100
    "net_margin": "6.00",             # 180,000 / 3,000,000 × 100
    "gross_margin": "25.00",          # (3,000,000 − 2,250,000) / 3,000,000 × 100
    "receivable_turnover": "10.00",   # 3,000,000 / 300,000
    "inventory_turnover": "9.00",     # 2,250,000 / 250,000
    "asset_turnover": "1.50",         # 3,000,000 / 2,000,000
    "operating_cash_ratio": "0.30",   # 150,000 / 500,000
}
GRADES = [Grade("AAA", D("90"), D("0.5")), Grade("AA", D("80"), D("0.4")), Grade("A", D("70"), D("0.3")),
          Grade("BBB", D("60"), D("0.2")), Grade("BB", D("50"), D("0.1")), Grade("B", D("40"), D("0.05")),
          Grade("C", D("0"), D("0"))]
#: 资产负债率 bands of the default company card.
DEBT_BANDS = [Band(None, D("50"), D("100")), Band(D("50"), D("60"), D("80")), Band(D("60"), D("70"), D("60")),
              Band(D("70"), D("80"), D("30")), Band(D("80"), None, D("0"))]


# -- ratios ------------------------------------------------------------------------------
def test_ratios_of_a_known_statement():
    ratios = scoring.compute_ratios(STATEMENT)
    assert {code: str(value) for code, value in ratios.items()} == EXPECTED
    assert set(ratios) == set(scoring.RATIO_BY_CODE)


def test_ratios_are_rounded_half_up_to_two_places():
    values = {"current_assets": D("2"), "current_liabilities": D("3")}
    assert scoring.compute_ratio(scoring.RATIO_BY_CODE["current_ratio"], values) == D("0.67")
    values = {"total_liabilities": D("1"), "total_assets": D("8")}     # 12.5 %
    assert scoring.compute_ratio(scoring.RATIO_BY_CODE["debt_ratio"], values) == D("12.50")
    values = {"net_profit": D("1"), "revenue": D("800")}               # 0.125 % → 0.13
    assert scoring.compute_ratio(scoring.RATIO_BY_CODE["net_margin"], values) == D("0.13")


def test_division_by_zero_and_missing_figures_give_none_shown_as_a_dash():
    values = dict(STATEMENT, current_liabilities=D("0"))
    ratios = scoring.compute_ratios(values)
    assert ratios["current_ratio"] is None and ratios["quick_ratio"] is None
    assert ratios["debt_ratio"] == D("40.00")          # others are unaffected
    missing = {k: v for k, v in STATEMENT.items() if k != "inventory"}
    assert scoring.compute_ratios(missing)["quick_ratio"] is None
    assert scoring.format_ratio(None, "%") == "—"
    assert scoring.format_ratio(D("1234.5"), "%") == "1,234.50%"


def test_a_loss_gives_negative_returns():
    ratios = scoring.compute_ratios(dict(STATEMENT, net_profit=D("-60000")))
    assert ratios["roe"] == D("-5.00") and ratios["net_margin"] == D("-2.00")


def test_balance_warnings():
    assert scoring.balance_warnings(STATEMENT) == []
    warnings = scoring.balance_warnings(dict(STATEMENT, total_equity=D("1100000")))
    assert len(warnings) == 1 and "资产总计" in warnings[0]


# -- bands, weights, totals --------------------------------------------------------------
@pytest.mark.parametrize("value, score", [
    ("-5", "100"), ("49.99", "100"), ("50", "80"), ("59.99", "80"), ("60", "60"), ("70", "30"),
    ("79.9999", "30"), ("80", "0"), ("250", "0"),
])
def test_band_boundaries_lower_included_upper_excluded(value, score):
    assert scoring.band_score(D(value), DEBT_BANDS) == D(score)


def test_value_outside_every_band_has_no_score():
    bands = [Band(D("0"), D("10"), D("50"))]
    assert scoring.band_score(D("10"), bands) is None
    assert scoring.band_score(D("-0.01"), bands) is None


def test_overlapping_bands_are_found():
    assert scoring.overlapping_bands(DEBT_BANDS) == []
    bad = DEBT_BANDS + [Band(D("55"), D("65"), D("10"))]
    assert scoring.overlapping_bands(bad)


def test_weighted_score_and_total_with_deductions():
    # 80 × 15 % = 12.00; 67 × 12.5 % = 8.375 → 8.38 (half up)
    assert scoring.weighted(D("80"), D("15")) == D("12.00")
    assert scoring.weighted(D("67"), D("12.5")) == D("8.38")
    gross, deducted, final = scoring.total_score([D("12.00"), D("8.38")], [D("5"), D("0.5")])
    assert (gross, deducted, final) == (D("20.38"), D("5.5"), D("14.88"))
    # Deductions never take the score below 0.
    assert scoring.total_score([D("3.00")], [D("10")])[2] == D("0.00")


@pytest.mark.parametrize("score, grade", [
    ("100", "AAA"), ("90", "AAA"), ("89.99", "AA"), ("80", "AA"), ("70", "A"), ("69.99", "BBB"),
    ("50", "BB"), ("40", "B"), ("39.99", "C"), ("0", "C"),
])
def test_grade_mapping_on_the_boundaries(score, grade):
    assert scoring.grade_for(D(score), GRADES).grade == grade


def test_grade_table_without_a_zero_grade_leaves_low_scores_ungraded():
    assert scoring.grade_for(D("10"), GRADES[:3]) is None


def test_suggested_limit():
    assert scoring.suggested_limit(D("1200000.00"), D("0.5")) == D("600000.00")
    assert scoring.suggested_limit(D("333333.33"), D("0.3")) == D("100000.00")   # 99,999.999 → 100,000.00
    assert scoring.suggested_limit(None, D("0.5")) is None
    assert scoring.suggested_limit(D("-10"), D("0.5")) == D("0.00")          # negative net assets: no limit


@pytest.mark.parametrize("points, reason, message", [
    ("-1", "逾期", "大于 0"), ("0", "逾期", "大于 0"), ("101", "逾期", "不能超过"), ("abc", "逾期", "格式"),
    ("5", "  ", "原因"), ("", "原因", "请填写"),
])
def test_bad_deductions_are_refused(points, reason, message):
    with pytest.raises(DomainError, match=message):
        scoring.check_deduction(points, reason)


def test_good_deduction():
    assert scoring.check_deduction("2.5", " 涉诉 ") == (D("2.5"), "涉诉")


def test_scores_and_weights_are_checked():
    with pytest.raises(DomainError, match="0–100"):
        scoring.check_score("100.01")
    with pytest.raises(DomainError, match="0–100"):
        scoring.check_score("-1")
    with pytest.raises(DomainError, match="大于 0"):
        scoring.check_weight("0")
    assert scoring.check_weight("12.5") == D("12.5")


def test_card_problems():
    items = [
        {"name": "征信", "kind": "qualitative", "weight": D("40"), "options": [D("100")], "bands": []},
        {"name": "资产负债率", "kind": "quantitative", "weight": D("60"), "ratio_code": "debt_ratio",
         "options": [], "bands": DEBT_BANDS},
    ]
    assert scoring.card_problems(items, GRADES) == []
    items[0]["weight"] = D("30")
    assert any("100%" in p for p in scoring.card_problems(items, GRADES))
    items[0]["weight"] = D("40")
    items[0]["options"] = []
    items[1]["ratio_code"] = "nonsense"
    problems = scoring.card_problems(items, GRADES[:-1])
    assert any("还没有选项" in p for p in problems)
    assert any("财务指标无效" in p for p in problems)
    assert any("最低分为 0" in p for p in problems)
