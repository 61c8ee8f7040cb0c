"""Integration tests run against the real database, reset to the baseline between tests."""
import pytest


@pytest.fixture(autouse=True)
def _baseline(clean_database):
    yield
