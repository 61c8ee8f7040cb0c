"""拨备: the provision report for a date and the month-end provisioning voucher.

The balances per class come from the batch's snapshot for the date (``provision_snapshot``),
so a past month end reads what the portfolio was then; the booked reserve is the balance of
1304 贷款损失准备 in the ledger. Booking a month end posts the difference: Dr 6701 资产减值损失 /
Cr 1304 when short (计提), the reverse when over-provided (冲回); once per month end.
"""
import calendar
from datetime import date, timedelta

from sqlalchemy import select

from app.domain import provisions as rules
from app.domain.errors import DomainError
from app.extensions import db
from app.models.risk import ProvisionBooking, ProvisionSnapshot
from app.services import ledger, settings


def snapshot_dates(limit=60):
    return db.session.execute(select(ProvisionSnapshot.as_of).distinct()
                              .order_by(ProvisionSnapshot.as_of.desc()).limit(limit)).scalars().all()


def report(as_of):
    """rules.Provisions for ``as_of`` from the batch snapshot; None when the batch never ran that day."""
    rows = db.session.execute(select(ProvisionSnapshot).where(ProvisionSnapshot.as_of == as_of)).scalars().all()
    if not rows:
        return None
    general = settings.get("provision_general_pct")
    return rules.compute({r.loan_class: r.balance for r in rows}, {r.loan_class: r.specific_pct for r in rows},
                         general, counts={r.loan_class: r.loan_count for r in rows},
                         booked=ledger.account_balance(ledger.LOAN_LOSS_RESERVE, as_of))


def month_end(day):
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def last_month_end(today=None):
    today = today or settings.business_date()
    end = month_end(today)
    return end if end == today else date(today.year, today.month, 1) - timedelta(days=1)


def booking_of(period_end):
    return db.session.execute(select(ProvisionBooking).where(ProvisionBooking.period_end == period_end)).scalar()


def book(period_end, user):
    """Post the month-end provision for ``period_end``; commits. Returns the ProvisionBooking."""
    try:
        if period_end is None or period_end != month_end(period_end):
            raise DomainError("请选择月末日期计提拨备", "period_end")
        if period_end > settings.business_date():
            raise DomainError(f"{period_end} 晚于营业日期 {settings.business_date()}，月末到了再计提", "period_end")
        if booking_of(period_end) is not None:
            raise DomainError(f"{period_end} 的拨备已计提，不能重复计提", "period_end")
        result = report(period_end)
        if result is None:
            raise DomainError(f"{period_end} 没有日终批处理结果，请先运行该日的日终批处理", "period_end")
        amount = result.shortfall
        voucher = None
        if amount:
            up = amount > 0
            value = abs(amount)
            memo = f"应提 {result.required:,.2f}，已提 {result.booked:,.2f}"
            debit, credit = (ledger.IMPAIRMENT_LOSS, ledger.LOAN_LOSS_RESERVE) if up else \
                (ledger.LOAN_LOSS_RESERVE, ledger.IMPAIRMENT_LOSS)
            voucher = ledger.post(f"{period_end:%Y年%m月} 贷款损失准备{'计提' if up else '冲回'}",
                                  [ledger.Line(debit, debit=value, memo=memo), ledger.Line(credit, credit=value, memo=memo)],
                                  user, business_date=period_end, source=("provision", int(f"{period_end:%Y%m}")))
        row = ProvisionBooking(period_end=period_end, required=result.required, booked_before=result.booked,
                               amount=amount, voucher_id=voucher.id if voucher else None,
                               created_by_id=getattr(user, "id", None))
        db.session.add(row)
        db.session.commit()
        return row
    except Exception:
        db.session.rollback()
        raise


def bookings(limit=24):
    return db.session.execute(select(ProvisionBooking).order_by(ProvisionBooking.period_end.desc())
                              .limit(limit)).scalars().all()

