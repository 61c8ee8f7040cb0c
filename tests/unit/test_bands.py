"""金额 / 期限档次 and the primary guarantee type (app/domain/bands.py)."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.bands import AMOUNT_BANDS, TERM_BANDS, amount_band, primary_guarantee, term_band, term_in


@pytest.mark.parametrize("amount, band", [
    ("0.01", "lt20"), ("199999.99", "lt20"), ("200000", "20_30"), ("200000.00", "20_30"),
    ("299999.99", "20_30"), ("300000", "30_50"), ("499999.99", "30_50"), ("500000", "30_50"),
    ("500000.01", "gt50"), ("10000000", "gt50"),
])
def test_amount_band_boundaries(amount, band):
    assert amount_band(Decimal(amount)) == band


@pytest.mark.parametrize("term, band", [(1, "lt3"), (2, "lt3"), (3, "3_6"), (5, "3_6"), (6, "6_12"),
                                        (11, "6_12"), (12, "6_12"), (13, "gt12"), (36, "gt12")])
def test_term_band_months(term, band):
    assert term_band(term, "month") == band


@pytest.mark.parametrize("days, band", [(7, "lt3"), (89, "lt3"), (90, "3_6"), (179, "3_6"), (180, "6_12"),
                                        (365, "6_12"), (366, "6_12"), (367, "gt12")])
def test_term_band_days(days, band):
    assert term_band(days, "day") == band


def test_quarters_and_weeks():
    assert term_in(4, "month", "quarterly_interest") == (12, "month")
    assert term_band(4, "month", "quarterly_interest") == "6_12"
    assert term_band(1, "month", "quarterly_interest") == "3_6"
    assert term_in(12, "week") == (84, "day")
    assert term_band(13, "week") == "3_6"


@pytest.mark.parametrize("types, primary", [
    ("unsecured", "unsecured"), ("guarantee", "guarantee"), ("guarantee,mortgage", "mortgage"),
    ("pledge,guarantee", "pledge"), ("mortgage,pledge", "mortgage"), ("", "unsecured"), (None, "unsecured"),
])
def test_primary_guarantee(types, primary):
    assert primary_guarantee(types) == primary


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999"), places=2))
def test_every_amount_has_exactly_one_band_in_order(amount):
    band = amount_band(amount)
    codes = [c for c, _ in AMOUNT_BANDS]
    assert band in codes
    # monotone: a larger amount never falls in an earlier band
    assert codes.index(amount_band(amount + Decimal("0.01"))) >= codes.index(band)


@given(st.integers(min_value=1, max_value=400))
def test_term_bands_monotone(term):
    codes = [c for c, _ in TERM_BANDS]
    assert codes.index(term_band(term + 1)) >= codes.index(term_band(term))
    assert codes.index(term_band(term + 1, "day")) >= codes.index(term_band(term, "day"))
