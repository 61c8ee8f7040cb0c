"""Calendar arithmetic for due dates and day counts.

Two rules from DOMAIN.md:

* Interest counts the first day and not the last (算头不算尾): ``days = (end - start).days``.
* Monthly due dates fall on the disbursement day of month (对日); where that day does not
  exist the month's last day is used. A schedule computes due date k as ``start + k
  months`` from the start date, never from the previous due date, so 31 Jan → 28 Feb →
  31 Mar (not 28 Mar).
"""

from datetime import date, timedelta

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap_year(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year, month):
    if month == 2 and is_leap_year(year):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(start, months):
    """``start`` plus a whole number of months (may be negative), clamped to month end.

    Kept free of ``calendar`` and ``dateutil`` calls: schedules call it once per
    installment and it sits on the engine's hot path.
    """
    index = start.month - 1 + months
    year = start.year + index // 12
    month = index % 12 + 1
    day = start.day
    if day > 28:
        last = days_in_month(year, month)
        if day > last:
            day = last
    return date(year, month, day)


def add_days(start, days):
    return start + timedelta(days=days)


def days_between(start, end):
    """Interest days from ``start`` to ``end`` (算头不算尾): the start counts, the end not."""
    return (end - start).days


def month_dates(anchor, months_step, count, first_offset=1):
    """``count`` dates ``anchor + (first_offset + j) × months_step`` months, j = 0…count-1.

    Every date is derived from ``anchor`` (not from the previous date), so clamping in a
    short month never drags later dates back. Written as one loop because building a
    360-row schedule spends a noticeable share of its time here.
    """
    year0 = anchor.year
    month0 = anchor.month - 1
    day0 = anchor.day
    result = []
    append = result.append
    for j in range(first_offset, first_offset + count):
        index = month0 + j * months_step
        year = year0 + index // 12
        month = index % 12 + 1
        day = day0
        if day > 28:
            last = _MONTH_DAYS[month - 1]
            if month == 2 and is_leap_year(year):
                last = 29
            if day > last:
                day = last
        append(date(year, month, day))
    return result
