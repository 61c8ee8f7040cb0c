"""Benchmark of the schedule engine: 1,000 schedules of 360 monthly periods per method.

Run ``python bench/schedule.py`` (no arguments; ``--count N`` to change the number of
schedules). Prints schedules per second and microseconds per installment for each method
on one core, and checks the engine's target: at least 1,000 equal_installment 360-period
schedules per second (≤ 1 ms per 360-row schedule), so a schedule preview or a batch
re-generation never waits on the arithmetic.

Inputs vary (principal, rate, start date) so the figures include inexact rates such as
10 %/12 = 0.8333…% a month and month-end clamping, not just one easy case.
"""

import argparse
import decimal
import platform
import sys
import time
import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.schedule import METHOD_LABELS, LoanTerms, generate_schedule  # noqa: E402

PERIODS = 360
TARGET_PER_SECOND = 1000
PRINCIPALS = [Decimal(p) for p in ("100000", "250000.50", "1000000", "38888.88", "5000000")]
RATES = [Decimal(r) for r in ("12", "10", "7.5", "18.25", "23.99", "4.35")]
STARTS = [
    date(2026, 1, 31),
    date(2026, 2, 28),
    date(2025, 3, 10),
    date(2028, 2, 29),
    date(2026, 7, 15),
]


def build_terms(method, count, **options):
    """``count`` varied LoanTerms for ``method``, each 360 months long."""
    terms = []
    for k in range(count):
        principal = PRINCIPALS[k % len(PRINCIPALS)]
        rate = RATES[k % len(RATES)]
        start = STARTS[k % len(STARTS)]
        extra = dict(options)
        term = PERIODS
        if method == "quarterly_interest":
            term = PERIODS // 3  # term counts quarters: 120 quarters = 360 months
        if method == "custom":
            part = (principal / PERIODS).quantize(Decimal("0.01"), rounding=decimal.ROUND_DOWN)
            plan = [(start + timedelta(days=30 * (j + 1)), part) for j in range(PERIODS)]
            plan[-1] = (plan[-1][0], principal - part * (PERIODS - 1))
            extra["custom_plan"] = plan
        terms.append(
            LoanTerms(
                principal=principal,
                annual_rate=rate,
                term=term,
                method=method,
                start_date=start,
                **extra,
            )
        )
    return terms


def pad(text, width):
    """Left-align ``text`` to ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


def measure(method, count, **options):
    terms = build_terms(method, count, **options)
    generate_schedule(terms[0])  # warm up
    rows = 0
    began = time.perf_counter()
    for item in terms:
        rows += len(generate_schedule(item))
    elapsed = time.perf_counter() - began
    return count / elapsed, elapsed * 1e6 / rows, rows // count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="schedules per method")
    args = parser.parse_args()

    c_decimal = hasattr(decimal, "__libmpdec_version__")
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"decimal: {'C/libmpdec ' + decimal.__libmpdec_version__ if c_decimal else 'pure Python'}"
    )
    print(f"{args.count} schedules of {PERIODS} monthly periods per method, one core\n")
    print(
        f"{'method':<20} {pad('label', 20)} {'rows':>5} {'schedules/s':>12} {'µs/installment':>15}"
    )
    results = {}
    for method, label in METHOD_LABELS.items():
        per_second, per_row, rows = measure(method, args.count)
        results[method] = per_second
        print(f"{method:<20} {pad(label, 20)} {rows:>5} {per_second:>12,.0f} {per_row:>15.2f}")
    # Variants with extra work per schedule: day-count interest (and its level payment
    # from per-period rates), and a fixed repayment day with a broken first period.
    for name, label, options in (
        ("  interest_by_days", "等额本息 按天计息", dict(interest_by_days=True)),
        ("  fixed_day=20", "等额本息 固定还款日", dict(fixed_day=20)),
    ):
        per_second, per_row, rows = measure("equal_installment", args.count, **options)
        print(f"{name:<20} {pad(label, 20)} {rows:>5} {per_second:>12,.0f} {per_row:>15.2f}")

    achieved = results["equal_installment"]
    verdict = "OK" if achieved >= TARGET_PER_SECOND else "MISSED"
    print(
        f"\ntarget: ≥ {TARGET_PER_SECOND:,} equal_installment {PERIODS}-period schedules/s"
        f" — measured {achieved:,.0f}/s ({1000 / achieved:.2f} ms each): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
