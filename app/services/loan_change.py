"""贷款变更 (kind "loan_change"): a new rate, loan officer and/or fixed repayment day, with
the reason, through approval; it runs at approval (``auto_execute``).

* officer: the loan (and its to-dos from now on) goes to the new officer;
* rate or fixed repayment day: the old schedule goes to the history and the unpaid
  schedule is regenerated from the business date (app.services.extension.regenerate): a
  period that has already begun keeps its amounts and the change applies from its due
  date (if it is the last one, a new rate applies to it from the business date by days);
  a new fixed day makes the first new period a broken one ending on that day.

No money moves, so there is no voucher; the loan's status history records the change.
"""
from decimal import Decimal

from app.domain.errors import DomainError
from app.domain.schedule import METHOD_LABELS
from app.extensions import db
from app.models import AppUser
from app.services import extension, loans, repayments, servicing_requests, settings

KIND = "loan_change"


def _changes(request):
    """(rate, officer, fixed day) that differ from the loan's; None where unchanged."""
    loan = request.loan
    rate = officer = day = None
    if request.new_rate not in (None, ""):
        rate = extension.check_rate(loan, request.new_rate)
        request.new_rate = rate
        if rate == Decimal(loan.annual_rate):
            raise DomainError(f"新利率与现利率 {extension.pct(loan.annual_rate)}% 相同", "new_rate")
    officer_id = request.new_officer_id or (request.new_officer.id if request.new_officer is not None else None)
    if officer_id:
        officer = db.session.get(AppUser, officer_id)
        if officer is None or not officer.active:
            raise DomainError("新客户经理不存在或已停用", "new_officer")
        if officer.id == loan.officer_id:
            raise DomainError(f"“{officer}”已是该项目的客户经理", "new_officer")
    if request.new_fixed_day not in (None, ""):
        day = int(request.new_fixed_day)
        product = loan.product
        if not 1 <= day <= 28:
            raise DomainError("固定还款日应在 1 至 28 日之间", "new_fixed_day")
        if product.period != "month":
            raise DomainError("固定还款日只适用于按月还款的产品", "new_fixed_day")
        if not product.fixed_day_allowed:
            raise DomainError(f"产品“{product.name}”不允许设置固定还款日", "new_fixed_day")
        if loan.method == "bullet":
            raise DomainError(f"{METHOD_LABELS['bullet']}只有一期，不适用固定还款日", "new_fixed_day")
        if day == (loan.fixed_day or None):
            raise DomainError(f"新固定还款日与现固定还款日 {day} 日相同", "new_fixed_day")
    if rate is None and officer is None and day is None:
        raise DomainError("请至少填写一项变更：新利率、新客户经理或新固定还款日", "new_rate")
    return rate, officer, day


def check(request):
    loan = request.loan
    rate, _officer, day = _changes(request)
    today = settings.business_date()
    if rate is not None or day is not None:
        extension.check_method(loan, "变更利率或固定还款日")
        extension.check_not_overdue(loan, today, action="变更利率或固定还款日")
    if not extension.executing(request):
        extension.no_other_open(request)
        request.effective_on = request.effective_on or today


def preview(loan, rate=None, fixed_day=None, on=None):
    """The regenerated schedule a rate / fixed-day change would give (nothing saved)."""
    return extension.regenerate(loan, on or settings.business_date(),
                                Decimal(rate) if rate is not None else Decimal(loan.annual_rate), fixed_day=fixed_day)


def execute(request, user, **_options):
    loan = request.loan
    rate, officer, day = _changes(request)
    today = settings.business_date()
    notes = []
    if officer is not None:
        notes.append(f"客户经理 {loan.officer or ''} → {officer}")
        loan.officer_id = officer.id
    if rate is not None or day is not None:
        old_rate = Decimal(loan.annual_rate)
        plan = extension.regenerate(loan, today, rate if rate is not None else old_rate, fixed_day=day)
        repayments.snapshot(loan, f"贷款变更 {request.request_no}", today, user)
        plan.apply(loan)
        if rate is not None:
            loan.annual_rate = rate
            notes.append(f"年利率 {extension.pct(old_rate)}% → {extension.pct(rate)}%")
        if day is not None:
            notes.append(f"固定还款日 {loan.fixed_day or '无'} → {day} 日")
            loan.fixed_day = day
        notes.append(f"还款计划自 {today} 起重新生成，到期日 {loan.maturity_date}")
    db.session.flush()
    loans.record_status(loan, loan.status, loan.status, user, f"贷款变更：{'；'.join(notes)}（申请 {request.request_no}）")
    return None


servicing_requests.register(servicing_requests.Kind(code=KIND, check=check, execute=execute, auto_execute=True))
