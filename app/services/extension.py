"""展期申请 (kind "extension") and the schedule rewrite shared by the servicing kinds.

An extension is applied for before maturity (DOMAIN.md §4) with the number of months (a
monthly product) or days (a daily one), the new rate (default: the current one, within the
product's range), the reason, and every guarantor's written consent with its date. The
cumulative limit and the number of extensions are checked by
:func:`app.domain.extension.check_extension`. On approval it runs at once
(``auto_execute``): no money moves, so there is no voucher; the old schedule is kept in the
history, the unpaid schedule is regenerated to the new maturity at the new rate, the
loan's extension count and extended periods grow, and its status history records it.

Regeneration (also used by 贷款变更): the paid installments stay. When the current period
has already begun on the business date it is kept as scheduled (its principal moves into
the extension when it is the last one) and the schedule is regenerated from its due date;
otherwise from its start. Due dates keep the loan's rhythm (app.domain.extension.rebuild).
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.domain import extension as rules
from app.domain.errors import DomainError
from app.domain.money import ZERO
from app.extensions import db
from app.models.contract import DOC_TYPES
from app.models.loan import Installment
from app.services import contracts, loans, repayments, servicing_requests, settings

KIND = "extension"
#: The 展期协议 document type, generated when a template exists for it (skipped otherwise).
AGREEMENT_DOC = "extension_agreement"


# -- shared helpers (prepayment and loan change use them too) ----------------------------------
def unit_of(loan):
    """The product's period unit: "month" or "day" (a weekly product counts in days)."""
    return "month" if loan.product.period == "month" else "day"


def step_of(loan):
    """Length of one period in the unit: 3 months for 按季付息, 7 days for weeks, else 1."""
    if loan.method == "quarterly_interest":
        return 3
    return 7 if loan.product.period == "week" else 1


def rhythm_day(loan):
    """The day of month due dates fall on: the fixed repayment day, else the disbursement day."""
    return loan.fixed_day or loan.start_date.day


def unpaid(loan):
    """The installments not yet paid off, in order; the paid ones must come first."""
    rows = [i for i in loan.installments if i.paid_off_on is None]
    if not rows:
        raise DomainError(f"项目 {loan.loan_no} 已无未还期次")
    if any(i.paid_off_on is not None and i.seq > rows[0].seq for i in loan.installments):
        raise DomainError(f"项目 {loan.loan_no} 的还款计划中存在跳期还清的期次，无法重新生成还款计划")
    return rows


def check_method(loan, action):
    if loan.method not in rules.REGENERATED_METHODS:
        from app.domain.schedule import METHOD_LABELS

        raise DomainError(f"还款方式“{METHOD_LABELS.get(loan.method, loan.method)}”不支持{action}，"
                          "如需调整请办理结清后重新放款")


def check_not_overdue(loan, on, inclusive=False, action="办理"):
    """Refuse when an installment due before ``on`` (or on it, ``inclusive``) is unpaid."""
    for item in loan.installments:
        if item.paid_off_on is None and (item.due_date < on or inclusive and item.due_date == on):
            if item.due_date < on:
                raise DomainError(f"项目 {loan.loan_no} 第 {item.seq} 期（到期日 {item.due_date}）已逾期未还清，"
                                  f"请先还清逾期款项再{action}")
            raise DomainError(f"项目 {loan.loan_no} 第 {item.seq} 期于 {item.due_date} 到期尚未还清，"
                              f"请先登记该期正常还款再{action}")


def pct(rate):
    """12.00000000 → "12", 10.5 → "10.5": a rate as people write it."""
    text = f"{Decimal(rate).normalize():f}"
    return text


def check_rate(loan, rate, field="new_rate"):
    if rate is None:
        raise DomainError("请填写年利率", field)
    if isinstance(rate, float):
        raise DomainError("年利率无效", field)
    try:
        rate = Decimal(str(rate).strip())
    except ArithmeticError:
        raise DomainError("年利率无效", field) from None
    product = loan.product
    if not rate.is_finite() or not Decimal(product.min_rate) <= rate <= Decimal(product.max_rate):
        raise DomainError(f"年利率应在产品“{product.name}”的利率范围 {pct(product.min_rate)}% 至 "
                          f"{pct(product.max_rate)}% 之内", field)
    return rate


def no_other_open(request):
    others = [r for r in servicing_requests.open_requests(request.loan.id, request.kind) if r.id != request.id]
    if others:
        raise DomainError(f"项目 {request.loan.loan_no} 已有办理中的{request.kind_label} {others[0].request_no}"
                          f"（{others[0].status_label}），请待其办结后再申请")


def executing(request):
    """True when the check runs at execution (after approval), False at apply."""
    return request.status == "approved"


def _interest_taken(item):
    """Interest of an installment that a new schedule must keep: paid, waived, and accrued
    at a period close (booked to 应收利息 1132, cleared only as the interest is paid)."""
    return (item.interest_paid or ZERO) + (item.interest_waived or ZERO) + (item.interest_accrued or ZERO)


def rewrite(loan, after_seq, rows):
    """Replace the installments after ``after_seq`` by ``rows`` (engine rows numbered from
    1), in place: existing rows keep their ids (and any receipt lines), missing ones are
    added, surplus ones deleted. A row keeps what was paid on it, so its new amounts may not
    fall below that."""
    old = [i for i in loan.installments if i.seq > after_seq]
    for k, row in enumerate(rows):
        if k < len(old):
            item = old[k]
            if row.principal < (item.principal_paid or ZERO) or row.interest < _interest_taken(item):
                raise DomainError(f"第 {item.seq} 期已部分还款或已计提利息，新的还款计划低于已还或已计提金额；"
                                  "请先处理该期再办理")
        else:
            item = Installment(seq=after_seq + 1 + k, principal_paid=ZERO, interest_paid=ZERO, interest_waived=ZERO,
                               penalty=ZERO, penalty_paid=ZERO, compound=ZERO, compound_paid=ZERO,
                               penalty_waived=ZERO, interest_accrued=ZERO)
            loan.installments.append(item)
        item.start_date, item.due_date = row.start_date, row.due_date
        item.principal, item.interest, item.total, item.balance = row.principal, row.interest, row.total, row.balance
        item.paid_off_on = None
    for item in old[len(rows):]:
        if any((getattr(item, c) or ZERO) for c in ("principal_paid", "interest_paid", "penalty_paid",
                                                     "compound_paid", "interest_accrued")):
            raise DomainError(f"第 {item.seq} 期已有还款记录，不能从还款计划中删除")
        loan.installments.remove(item)
    from app.services import fees   # fees → repayments → this module

    fees.sync_period_fees(loan)


@dataclass
class Regeneration:
    """A regenerated unpaid schedule, not yet applied: ``rows`` replace the installments
    after ``after_seq``; ``kept`` (the current period, when it has begun) gets the
    ``kept_principal`` / ``kept_interest`` given (None: unchanged)."""

    after_seq: int
    rows: list
    kept: Installment = None
    kept_principal: Decimal = None
    kept_interest: Decimal = None
    old: list = field(default_factory=list)

    @property
    def maturity(self):
        if self.rows:
            return self.rows[-1].due_date
        return self.kept.due_date if self.kept is not None else None

    def apply(self, loan):
        item = self.kept
        if item is not None and (self.kept_principal is not None or self.kept_interest is not None):
            if self.kept_principal is not None:
                moved = item.principal - self.kept_principal
                item.principal = self.kept_principal
                item.balance = item.balance + moved
            if self.kept_interest is not None:
                if self.kept_interest < _interest_taken(item):
                    raise DomainError(f"第 {item.seq} 期重新计算的利息 {self.kept_interest:,.2f} 元低于已还、已减免和"
                                      f"已计提的利息 {_interest_taken(item):,.2f} 元；请先处理该期再办理")
                item.interest = self.kept_interest
            item.total = item.principal + item.interest
            if item.principal_due == 0 and item.interest_due == 0:
                item.paid_off_on = settings.business_date()
        rewrite(loan, self.after_seq, self.rows)


def regenerate(loan, on, rate, added=0, fixed_day=None):
    """The unpaid schedule from ``on`` at ``rate`` with ``added`` more periods (an
    extension, in the product's unit) or a new fixed repayment day. See the module
    docstring for where it starts."""
    check_method(loan, "重新生成还款计划")
    rows_unpaid = unpaid(loan)
    first = rows_unpaid[0]
    base = loans.terms_of(loan)
    unit, step, day = unit_of(loan), step_of(loan), fixed_day or rhythm_day(loan)
    # ``added`` is in the unit (months, days): whole quarters / weeks become periods
    periods_added = added // step if loan.method != "bullet" else added
    result = Regeneration(after_seq=first.seq - 1, rows=[], old=rows_unpaid)
    began = first.start_date < on or loan.method == "bullet"
    if began:
        result.after_seq, result.kept = first.seq, first
        start = first.due_date
        if len(rows_unpaid) == 1:
            principal = first.principal - (first.principal_paid or ZERO)
            if periods_added:
                result.kept_principal = first.principal_paid or ZERO
            elif rate != Decimal(loan.annual_rate):
                # The last period has begun: old rate to ``on``, new rate after, by days.
                earned = repayments.accrued_interest(loan, first, on)
                rest = first.principal_due * rate / 100 * (first.due_date - on).days / Decimal(loan.product.day_basis)
                result.kept_interest = earned + rest.quantize(Decimal("0.01"))
        else:
            principal = first.balance
        periods = len(rows_unpaid) - 1 + periods_added
        if periods == 0 or principal <= 0:
            return result
        if loan.method == "bullet":
            first_due = rules.shift(start, added, unit, 1, day)
            periods = added
        elif len(rows_unpaid) > 1 and fixed_day is None:
            first_due = rows_unpaid[1].due_date
        else:
            first_due = rules.shift(start, 1, unit, step, day)
    else:
        start = first.start_date
        principal = first.balance + first.principal
        periods = len(rows_unpaid) + periods_added
        first_due = first.due_date if fixed_day is None else rules.shift(start, 1, unit, step, day)
    if fixed_day is not None:
        while first_due <= on:
            first_due = rules.shift(first_due, 1, unit, step, day)
    result.rows = rules.rebuild(base, principal, start, first_due, periods, rate, day)
    return result


# -- the extension kind --------------------------------------------------------------------------
def original_length(loan):
    """The contract term in the extension unit: months (按季: quarters × 3) or days."""
    if loan.product.period == "month":
        return int(loan.term) * (3 if loan.method == "quarterly_interest" else 1)
    return int(loan.term) * step_of(loan)


def check_consents(request):
    loan = request.loan
    today = settings.business_date()
    given = {}
    for consent in request.consents:
        guarantor_id = consent.guarantor_id or (consent.guarantor.id if consent.guarantor is not None else None)
        given[guarantor_id] = consent
    ids = {g.id for g in loan.guarantors}
    if set(given) - ids:
        raise DomainError("同意书中的保证人不属于该项目", "consents")
    for guarantor in loan.guarantors:
        consent = given.get(guarantor.id)
        if consent is None or not consent.consented:
            raise DomainError(f"保证人“{guarantor.name}”尚未书面同意展期，取得其同意书后才能申请展期", "consents")
        if consent.consented_on is None:
            raise DomainError(f"请填写保证人“{guarantor.name}”书面同意展期的日期", "consents")
        if consent.consented_on > today:
            raise DomainError(f"保证人“{guarantor.name}”的同意日期 {consent.consented_on} 不能晚于营业日期 {today}",
                              "consents")


def check(request):
    loan = request.loan
    check_method(loan, "展期")
    unit = unit_of(loan)
    label = rules.unit_label(unit)
    n = request.extension_periods
    if n is None:
        raise DomainError(f"请填写展期期限（{label}）", "extension_periods")
    if loan.method == "quarterly_interest" and n % 3:
        raise DomainError("按季付息的贷款展期期限须为 3 个月的整数倍", "extension_periods")
    if loan.product.period == "week" and loan.method != "bullet" and n % 7:
        raise DomainError("按周还款的贷款展期期限须为 7 天的整数倍（整周）", "extension_periods")
    if request.new_rate is None:
        request.new_rate = loan.annual_rate
    request.new_rate = check_rate(loan, request.new_rate)
    if not executing(request):
        today = settings.business_date()
        maturity = loan.maturity_date
        if maturity is None or today >= maturity:
            raise DomainError(f"展期须在贷款到期日 {maturity} 之前申请；到期后未还的贷款已转为逾期，不能再展期",
                              "extension_periods")
        check_not_overdue(loan, today, action="申请展期")
        no_other_open(request)
        request.effective_on = request.effective_on or today
    rules.check_extension(original_length(loan), unit, int(loan.extended_periods or 0), n,
                          int(loan.extension_count or 0), int(settings.get("max_extensions", 2)))
    check_consents(request)


def preview(loan, periods, rate, on=None):
    """The regenerated schedule an extension would give (nothing saved)."""
    return regenerate(loan, on or settings.business_date(), Decimal(rate), added=periods)


def execute(request, user, **_options):
    """Run at approval: regenerate the schedule, count the extension, record it."""
    loan = request.loan
    today = settings.business_date()
    old_maturity, old_rate = loan.maturity_date, Decimal(loan.annual_rate)
    rate = Decimal(request.new_rate)
    plan = regenerate(loan, today, rate, added=request.extension_periods)
    repayments.snapshot(loan, f"展期 {request.request_no}", today, user)
    plan.apply(loan)
    loan.annual_rate = rate
    loan.extension_count = int(loan.extension_count or 0) + 1
    loan.extended_periods = int(loan.extended_periods or 0) + request.extension_periods
    db.session.flush()
    label = rules.unit_label(unit_of(loan))
    loans.record_status(loan, loan.status, loan.status, user,
                        f"第 {loan.extension_count} 次展期 {request.extension_periods} {label}，到期日 {old_maturity} → "
                        f"{loan.maturity_date}，年利率 {pct(old_rate)}% → {pct(rate)}%（申请 {request.request_no}）")
    if AGREEMENT_DOC in DOC_TYPES and contracts.has_template(AGREEMENT_DOC, loan.product_id):
        contracts.generate(loan, AGREEMENT_DOC, user)
    return None


def reminder_rows(user, days, on=None):
    """展期提醒: active loans in the user's scope maturing within ``days`` days of the
    business date with no extension in approval or approved, soonest first (one query)."""
    from sqlalchemy import and_, exists, func, select

    from app.models import Customer, Loan
    from app.models.servicing import ServicingRequest

    on = on or settings.business_date()
    last = date.fromordinal(on.toordinal() + days)
    plan = (select(Installment.loan_id.label("loan_id"), func.max(Installment.due_date).label("maturity"),
                   func.sum(Installment.principal - Installment.principal_paid).label("outstanding"))
            .group_by(Installment.loan_id).subquery())
    pending = exists().where(and_(ServicingRequest.loan_id == Loan.id, ServicingRequest.kind == KIND,
                                  ServicingRequest.status.in_(("in_approval", "approved"))))
    query = (select(Loan.id, Loan.loan_no, Customer.name, Loan.amount, plan.c.outstanding, plan.c.maturity,
                    Loan.extension_count, Loan.officer_id)
             .join(plan, plan.c.loan_id == Loan.id).join(Customer, Customer.id == Loan.customer_id)
             .where(Loan.status == "active", plan.c.maturity >= on, plan.c.maturity <= last, ~pending)
             .order_by(plan.c.maturity, Loan.loan_no))
    condition = loans.visible_condition(user)
    if condition is not None:
        query = query.where(condition)
    return [dict(loan_id=r[0], loan_no=r[1], customer=r[2], amount=r[3], outstanding=r[4], maturity=r[5],
                 extension_count=r[6], officer_id=r[7], days_left=(r[5] - on).days)
            for r in db.session.execute(query)]


servicing_requests.register(servicing_requests.Kind(code=KIND, check=check, execute=execute, auto_execute=True))
