"""贷后调整: the approval-bound adjustments of DOMAIN.md §4 and the money going back to the
customer, each a kind of 贷后业务申请 (app/services/servicing_requests.py):

    免息申请 interest_waiver   waive unpaid interest / 罚息 / 复利 of due installments (runs at approval)
    退息申请 interest_refund   pay back interest received               Dr 6011 / Cr fund
    人工转收入 transfer_income move 存入保证金 or 其他应付款 to income  Dr 2203|2241 / Cr 6301
    核销申请 write_off         write an active loan off                Dr 1304 / Cr 1301 (+1132)
    代偿付款 compensation      a guarantor pays what is due            a receipt (kind compensation)
    归还客户费用 fee_refund     refund (part of) a collected fee        Dr 6021|2203 / Cr fund
    退还保证金 deposit_return  return (part of) the deposit held       Dr 2203 / Cr fund

and 核销后收回 (``recover``): a receipt against a written-off loan, Dr fund / Cr 1304.

Every kind checks its amount at application and again at execution (the loan is locked
then); ``execute`` only flushes: the request's status change, the loan's rows and the
voucher (source ("servicing_request", id), the loan on every line) commit together.
Amounts already promised by other open requests of the same kind count against the limit,
so two requests cannot together give back more than there is.
"""
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.domain.money import ZERO
from app.domain.servicing import Owed, allocate
from app.extensions import db
from app.models import JournalLine
from app.models.loan import Guarantor, LoanFee
from app.models.servicing import Repayment, RepaymentLine, ServicingRequest
from app.services import dictionaries, ledger, loans, repayments, settings
from app.services.servicing_requests import Kind, register

SOURCE = "servicing_request"
OPEN_STATUSES = ("in_approval", "approved")
#: 人工转收入: where the money comes from (ServicingRequest.transfer_source).
TRANSFER_SOURCES = {"deposit": (ledger.DEPOSITS_RECEIVED, "存入保证金"),
                    "other_payables": (ledger.OTHER_PAYABLES, "其他应付款")}
WAIVER_COMPONENTS = {"penalty": "罚息", "compound": "复利", "interest": "利息"}


# -- shared checks ---------------------------------------------------------------------
def _amount(request, label):
    request.amount = repayments.check_money(request.amount, label)
    return request.amount


def _on(request, options):
    """The execution date: the one finance gives, else the business date."""
    today = settings.business_date()
    on = options.get("on") or today
    if isinstance(on, str):
        try:
            on = date.fromisoformat(on)
        except ValueError:
            raise DomainError(f"执行日期“{on}”无效，格式为 YYYY-MM-DD", "on") from None
    if on > today:
        raise DomainError(f"执行日期 {on} 不能晚于营业日期 {today}", "on")
    return on


def _fund(request, options, verb="付款"):
    fund = options.get("fund_account") or request.fund_account
    if fund is None or not fund.is_active or fund.kind not in ("cash", "bank"):
        raise DomainError(f"请选择{verb}的现金或银行账户", "fund_account")
    request.fund_account = fund
    request.fund_account_id = fund.id
    return fund


def _requested(loan_id, kind, statuses, exclude_id=None, **where):
    """Σ amount of the loan's requests of ``kind`` in ``statuses`` (other than ``exclude_id``)."""
    query = select(func.coalesce(func.sum(ServicingRequest.amount), 0)).where(
        ServicingRequest.loan_id == loan_id, ServicingRequest.kind == kind, ServicingRequest.status.in_(statuses))
    if exclude_id is not None:
        query = query.where(ServicingRequest.id != exclude_id)
    for column, value in where.items():
        query = query.where(getattr(ServicingRequest, column) == value)
    return Decimal(db.session.execute(query).scalar()).quantize(Decimal("0.01"))


def _pending(request, **where):
    """What other open requests of the same kind already ask for."""
    return _requested(request.loan_id, request.kind, OPEN_STATUSES, request.id, **where)


def _deposit_pending(request):
    """What other open requests already take out of the loan's 存入保证金: returns,
    transfers to income from the deposit and refunds of deposit fees."""
    query = select(func.coalesce(func.sum(ServicingRequest.amount), 0)).outerjoin(
        LoanFee, LoanFee.id == ServicingRequest.loan_fee_id).where(
        ServicingRequest.loan_id == request.loan_id, ServicingRequest.status.in_(OPEN_STATUSES),
        (ServicingRequest.kind == "deposit_return")
        | ((ServicingRequest.kind == "transfer_income") & (ServicingRequest.transfer_source == "deposit"))
        | ((ServicingRequest.kind == "fee_refund") & (LoanFee.account == "deposit")))
    if request.id is not None:
        query = query.where(ServicingRequest.id != request.id)
    return Decimal(db.session.execute(query).scalar()).quantize(Decimal("0.01"))


def _refuse_above(amount, limit, label, what, pending=ZERO, field="amount"):
    if amount > limit - pending:
        extra = f"（其中其他在途申请已占用 {pending:,.2f} 元）" if pending else ""
        raise DomainError(f"{label} {amount:,.2f} 元超过{what} {limit - pending:,.2f} 元{extra}", field)


def _post(request, description, lines, user, on):
    loan = request.loan
    return ledger.post(f"{description} {loan.loan_no} {loan.customer.name}"[:200], lines, user, business_date=on,
                       source=(SOURCE, request.id))


def _money_out(fund, amount, loan, memo):
    return ledger.Line(fund.ledger_account, credit=amount, fund_account=fund, loan_id=loan.id, memo=memo[:200])


def _close_if_paid(loan, on, user, comment):
    if loan.installments and all(i.paid_off_on is not None for i in loan.installments):
        repayments.close_loan(loan, on, user, comment)


# -- 免息 --------------------------------------------------------------------------------
def _waivable_rows(loan, on):
    return [r for r in repayments.schedule_status(loan, on) if r.item.paid_off_on is None and r.due_date <= on]


def waivable(loan, on=None):
    """{component: amount} of unpaid interest, 罚息 and 复利 on installments due by ``on``."""
    on = on or settings.business_date()
    rows = _waivable_rows(loan, on)
    return {"penalty": sum((r.penalty for r in rows), ZERO), "compound": sum((r.compound for r in rows), ZERO),
            "interest": sum((r.interest_due for r in rows), ZERO)}


def _check_waiver(request):
    amount = _amount(request, "免息金额")
    on = settings.business_date()
    total = sum(waivable(request.loan, on).values(), ZERO)
    if total <= 0:
        raise DomainError(f"截至 {on}，项目 {request.loan.loan_no} 没有已到期未还的利息、罚息或复利可减免")
    _refuse_above(amount, total, "免息金额", f"截至 {on} 已到期未还的利息、罚息和复利合计", _pending(request))


def _execute_waiver(request, user, **options):
    """Waive by the product's order (罚息 → 复利 → 利息 by default), oldest installment
    first. Not income, so no voucher unless waived interest had been accrued to 应收利息
    (then Dr 6011 / Cr 1132 for that part)."""
    loan = request.loan
    on = _on(request, options)
    repayments.crystallise(loan, on)
    rows = _waivable_rows(loan, on)
    owed = [Owed(seq=r.seq, due_date=r.due_date, principal=ZERO, interest=r.interest_due, penalty=r.penalty,
                 compound=r.compound) for r in rows]
    allocation = allocate(request.amount, owed, loan.product.allocation_order)
    by_seq = {i.seq: i for i in loan.installments}
    accrued = ZERO
    for seq, component, amount in allocation.lines:
        item = by_seq[seq]
        if component == "interest":
            item.interest_waived = (item.interest_waived or ZERO) + amount
            part = min(amount, item.interest_accrued or ZERO)
            item.interest_accrued = (item.interest_accrued or ZERO) - part
            accrued += part
        elif component == "penalty":
            item.penalty_waived = (item.penalty_waived or ZERO) + amount
        else:
            item.compound_waived = (item.compound_waived or ZERO) + amount
    for item in loan.installments:
        repayments.mark_paid(item, on)
    voucher = None
    if accrued > 0:
        voucher = _post(request, "免息", [
            ledger.Line(ledger.INTEREST_INCOME, debit=accrued, loan_id=loan.id, memo="免息冲减已计提利息"),
            ledger.Line(ledger.INTEREST_RECEIVABLE, credit=accrued, loan_id=loan.id, memo="免息冲减应收利息")],
            user, on)
    parts = "，".join(f"{label} {allocation.total_of(c):,.2f}" for c, label in WAIVER_COMPONENTS.items()
                     if allocation.total_of(c))
    loans.record_status(loan, loan.status, loan.status, user,
                        f"免息 {request.amount:,.2f} 元（{parts}），申请 {request.request_no}")
    db.session.flush()
    _close_if_paid(loan, on, user, f"免息后全部还清，申请 {request.request_no}")
    return voucher


# -- 退息 --------------------------------------------------------------------------------
def interest_received(loan):
    return sum((i.interest_paid or ZERO for i in loan.installments), ZERO)


def refundable_interest(loan, exclude_id=None):
    return interest_received(loan) - _requested(loan.id, "interest_refund", ("executed",), exclude_id)


def _check_interest_refund(request):
    amount = _amount(request, "退息金额")
    _refuse_above(amount, refundable_interest(request.loan, request.id), "退息金额", "已收利息（扣除已退部分）",
                  _pending(request))


def _execute_interest_refund(request, user, **options):
    loan = request.loan
    fund = _fund(request, options)
    on = _on(request, options)
    return _post(request, "退息", [
        ledger.Line(ledger.INTEREST_INCOME, debit=request.amount, loan_id=loan.id, memo="退还客户利息"),
        _money_out(fund, request.amount, loan, f"退 {loan.customer.name} 利息")], user, on)


# -- 人工转收入 ----------------------------------------------------------------------------
def account_held(loan_id, code):
    """The credit balance of a liability account's lines for the loan (2203, 2241)."""
    account = ledger.get_account(code)
    debit, credit = db.session.execute(
        select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
        .where(JournalLine.loan_id == loan_id, JournalLine.account_id == account.id)).one()
    return (Decimal(credit) - Decimal(debit)).quantize(Decimal("0.01"))


def _check_transfer(request):
    source = request.transfer_source
    if source not in TRANSFER_SOURCES:
        raise DomainError("请选择转出科目：存入保证金或其他应付款", "source")
    amount = _amount(request, "转收入金额")
    code, label = TRANSFER_SOURCES[source]
    held = account_held(request.loan_id, code)
    if held <= 0:
        raise DomainError(f"项目 {request.loan.loan_no} 的{label}余额为零，没有可转收入的金额", "amount")
    pending = _deposit_pending(request) if source == "deposit" else _pending(request, transfer_source=source)
    _refuse_above(amount, held, "转收入金额", f"该项目{label}余额", pending)


def _execute_transfer(request, user, **options):
    loan = request.loan
    on = _on(request, options)
    code, label = TRANSFER_SOURCES[request.transfer_source]
    return _post(request, "人工转收入", [
        ledger.Line(code, debit=request.amount, loan_id=loan.id, memo=f"{label}转营业外收入"),
        ledger.Line(ledger.NON_OPERATING_INCOME, credit=request.amount, loan_id=loan.id, memo="人工转收入")],
        user, on)


# -- 核销 and 核销后收回 -----------------------------------------------------------------
def write_off_figures(loan, on=None):
    """What a write-off on ``on`` takes off the balance sheet (principal on 1301, interest
    accrued to 1132) and what stays as an off-balance claim (unpaid interest not accrued,
    罚息 and 复利 charged to ``on``)."""
    on = on or settings.business_date()
    principal = ledger.loan_principal_outstanding(loan.id)
    accrued = sum((i.interest_accrued or ZERO for i in loan.installments if i.paid_off_on is None), ZERO)
    rows = _waivable_rows(loan, on)
    interest = sum((r.interest_due for r in rows), ZERO) - accrued
    return {"principal": principal, "accrued": accrued, "interest": max(interest, ZERO),
            "charges": sum((r.penalty + r.compound for r in rows), ZERO)}


def _check_write_off(request):
    figures = write_off_figures(request.loan)
    total = figures["principal"] + figures["accrued"]
    if figures["principal"] <= 0:
        raise DomainError(f"项目 {request.loan.loan_no} 没有未收回的贷款本金，无需核销")
    if _pending(request):
        raise DomainError(f"项目 {request.loan.loan_no} 已有在途的核销申请")
    request.amount = total


def _execute_write_off(request, user, **options):
    """Dr 1304 / Cr 1301 (and 1132); if the reserve is short the shortfall is provided
    first in the same voucher (Dr 6701 / Cr 1304), so 1304 never turns debit."""
    loan = request.loan
    on = _on(request, options)
    repayments.crystallise(loan, on)
    figures = write_off_figures(loan, on)
    total = figures["principal"] + figures["accrued"]
    reserve = ledger.account_balance(ledger.LOAN_LOSS_RESERVE)
    shortfall = total - max(reserve, ZERO)
    lines = []
    if shortfall > 0:
        lines += [ledger.Line(ledger.IMPAIRMENT_LOSS, debit=shortfall, loan_id=loan.id, memo="核销前补提贷款损失准备"),
                  ledger.Line(ledger.LOAN_LOSS_RESERVE, credit=shortfall, loan_id=loan.id, memo="补提贷款损失准备")]
    lines += [ledger.Line(ledger.LOAN_LOSS_RESERVE, debit=total, loan_id=loan.id, memo="核销使用贷款损失准备"),
              ledger.Line(ledger.LOAN_PRINCIPAL, credit=figures["principal"], loan_id=loan.id, memo="核销贷款本金")]
    if figures["accrued"] > 0:
        lines.append(ledger.Line(ledger.INTEREST_RECEIVABLE, credit=figures["accrued"], loan_id=loan.id,
                                 memo="核销应收利息"))
        for item in loan.installments:
            item.interest_accrued = ZERO
    voucher = _post(request, "核销", lines, user, on)
    request.amount = total
    before = loan.status
    loan.status = "written_off"
    loan.closed_on = on
    loans.record_status(loan, before, "written_off", user, (
        f"核销，申请 {request.request_no}，凭证 {voucher.voucher_no}：本金 {figures['principal']:,.2f} 元，"
        f"应收利息 {figures['accrued']:,.2f} 元；表外登记未收利息 {figures['interest']:,.2f} 元、"
        f"罚息及复利 {figures['charges']:,.2f} 元，继续追索"))
    return voucher


def written_off(loan_id):
    return _requested(loan_id, "write_off", ("executed",))


def recovered(loan_id):
    return Decimal(db.session.execute(select(func.coalesce(func.sum(Repayment.amount), 0)).where(
        Repayment.loan_id == loan_id, Repayment.kind == "recovery")).scalar()).quantize(Decimal("0.01"))


def recover(loan_id, amount, on, fund_account, user, idempotency_key, payer=None, remarks=None):
    """核销后收回: money received on a written-off loan, Dr fund / Cr 1304 (the provision
    used by the write-off comes back). At most what was written off, in total. Idempotent
    like ``repayments.post_repayment``; commits and returns the Repayment (kind recovery)."""
    key = repayments.check_key(idempotency_key)
    amount = repayments.check_money(amount)

    def post(loan):
        if loan.status != "written_off":
            raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，只有已核销的项目才能登记核销后收回")
        received_on = repayments.check_date(loan, on)
        if loan.closed_on and received_on < loan.closed_on:
            raise DomainError(f"收款日期 {received_on} 不能早于核销日期 {loan.closed_on}", "received_on")
        repayments.check_fund_account(fund_account)
        left = written_off(loan.id) - recovered(loan.id)
        if left <= 0:
            raise DomainError(f"项目 {loan.loan_no} 核销的金额已全部收回", "amount")
        _refuse_above(amount, left, "收回金额", "核销金额中尚未收回的部分")
        payer_name = repayments.check_payer(loan, payer)
        voucher = ledger.post(f"核销后收回 {loan.loan_no} {loan.customer.name}", [
            ledger.Line(fund_account.ledger_account, debit=amount, fund_account=fund_account, loan_id=loan.id,
                        memo=f"收 {payer_name}"[:200]),
            ledger.Line(ledger.LOAN_LOSS_RESERVE, credit=amount, loan_id=loan.id, memo="核销后收回，转回贷款损失准备")],
            user, business_date=received_on, source=("recovery", loan.id))
        receipt = repayments.new_receipt(loan, "recovery", amount, received_on, fund_account, payer_name, key, user,
                                          remarks, [RepaymentLine(component="recovery", amount=amount)], voucher)
        db.session.flush()
        return receipt

    return repayments.receipt_once(loan_id, key, amount, post)


# -- 代偿 --------------------------------------------------------------------------------
def _due_rows(loan, on):
    return [r for r in repayments.schedule_status(loan, on)
            if r.item.paid_off_on is None and r.due_date <= on and r.total_due > 0]


def due_by_guarantor(loan, on=None):
    """What a guarantor may pay on ``on``: everything due (overdue or due that day)."""
    on = on or settings.business_date()
    return sum((r.total_due for r in _due_rows(loan, on)), ZERO)


def _check_compensation(request):
    guarantor = request.guarantor
    if guarantor is None and request.guarantor_id:
        guarantor = db.session.get(Guarantor, request.guarantor_id)
    if guarantor is None or guarantor.loan_id != request.loan_id:
        raise DomainError("请选择该项目的保证人", "guarantor")
    amount = _amount(request, "代偿金额")
    on = settings.business_date()
    due = due_by_guarantor(request.loan, on)
    if due <= 0:
        raise DomainError(f"截至 {on}，项目 {request.loan.loan_no} 没有到期未还的款项，无需代偿", "amount")
    _refuse_above(amount, due, "代偿金额", f"截至 {on} 到期未还的款项合计", _pending(request))


def _execute_compensation(request, user, **options):
    """The guarantor's payment is a receipt (kind compensation, payer = the guarantor)
    allocated like a repayment over what is due; the guarantor's recourse claim against the
    borrower is noted on the receipt and in the loan's history."""
    loan = request.loan
    guarantor = request.guarantor or db.session.get(Guarantor, request.guarantor_id)
    fund = _fund(request, options, "收款")
    on = repayments.check_date(loan, _on(request, options))
    repayments.crystallise(loan, on)
    rows = _due_rows(loan, on)
    if not rows:
        raise DomainError(f"项目 {loan.loan_no} 目前没有到期未还的款项", "amount")
    allocation = allocate(request.amount, repayments.owed_of(rows), loan.product.allocation_order)
    lines = repayments.apply_allocation(loan, allocation, on)
    voucher = _post(request, f"代偿（保证人 {guarantor.name}）", [
        ledger.Line(fund.ledger_account, debit=request.amount, fund_account=fund, loan_id=loan.id,
                    memo=f"收 保证人 {guarantor.name} 代偿款"[:200])]
        + repayments.credit_lines(loan, lines, repayments.cleared_receivable(loan, lines)), user, on)
    claim = (f"保证人 {guarantor.name} 代偿 {request.amount:,.2f} 元，依法取得对借款人 {loan.customer.name} 的追偿权"
             f"（申请 {request.request_no}）")
    receipt = repayments.new_receipt(loan, "compensation", request.amount, on, fund, guarantor.name[:100],
                                      f"{SOURCE}:{request.id}", user, claim, lines, voucher)
    db.session.flush()
    request.repayment_id = receipt.id
    loans.record_status(loan, loan.status, loan.status, user, f"{claim}，收款单 {receipt.receipt_no}")
    _close_if_paid(loan, on, user, f"保证人代偿后全部还清，收款单 {receipt.receipt_no}")
    return voucher


# -- 归还客户费用 and 退还保证金 -------------------------------------------------------------
def refundable_fee(fee):
    return (fee.paid_amount or ZERO) - (fee.refunded_amount or ZERO)


def _check_fee_refund(request):
    fee = request.loan_fee
    if fee is None and request.loan_fee_id:
        fee = db.session.get(LoanFee, request.loan_fee_id)
    if fee is None or fee.loan_id != request.loan_id:
        raise DomainError("请选择该项目的费用", "loan_fee")
    amount = _amount(request, "退费金额")
    label = dictionaries.label_of("fee_type", fee.fee_type)
    if refundable_fee(fee) <= 0:
        raise DomainError(f"{label}尚未收取或已全部退还，没有可退的金额", "amount")
    pending = _pending(request, loan_fee_id=fee.id)
    _refuse_above(amount, refundable_fee(fee), "退费金额", f"{label}已收未退的金额", pending)
    if fee.account == "deposit":
        _refuse_above(amount, repayments.deposit_held(request.loan_id), "退费金额", "该项目存入保证金余额",
                      _deposit_pending(request))


def _execute_fee_refund(request, user, **options):
    loan = request.loan
    fee = request.loan_fee or db.session.get(LoanFee, request.loan_fee_id)
    fund = _fund(request, options)
    on = _on(request, options)
    label = dictionaries.label_of("fee_type", fee.fee_type)
    account = ledger.DEPOSITS_RECEIVED if fee.account == "deposit" else ledger.FEE_INCOME
    fee.refunded_amount = (fee.refunded_amount or ZERO) + request.amount
    return _post(request, f"归还客户费用（{label}）", [
        ledger.Line(account, debit=request.amount, loan_id=loan.id, memo=f"退还{label}"),
        _money_out(fund, request.amount, loan, f"退 {loan.customer.name} {label}")], user, on)


def _check_deposit_return(request):
    amount = _amount(request, "退还保证金金额")
    held = repayments.deposit_held(request.loan_id)
    if held <= 0:
        raise DomainError(f"项目 {request.loan.loan_no} 没有存入保证金，无需退还", "amount")
    _refuse_above(amount, held, "退还保证金金额", "该项目存入保证金余额", _deposit_pending(request))


def _execute_deposit_return(request, user, **options):
    loan = request.loan
    fund = _fund(request, options)
    on = _on(request, options)
    left = request.amount
    for fee in loan.fees:   # the deposit fees show what was returned
        if fee.account == "deposit" and left > 0:
            part = min(left, max(refundable_fee(fee), ZERO))
            fee.refunded_amount = (fee.refunded_amount or ZERO) + part
            left -= part
    return _post(request, "退还保证金", [
        ledger.Line(ledger.DEPOSITS_RECEIVED, debit=request.amount, loan_id=loan.id, memo="退还保证金"),
        _money_out(fund, request.amount, loan, f"退 {loan.customer.name} 保证金")], user, on)


KINDS = [
    Kind("interest_waiver", _check_waiver, _execute_waiver, auto_execute=True),
    Kind("interest_refund", _check_interest_refund, _execute_interest_refund, loan_statuses=("active", "settled")),
    Kind("transfer_income", _check_transfer, _execute_transfer,
         loan_statuses=("active", "settled", "written_off")),
    Kind("write_off", _check_write_off, _execute_write_off),
    Kind("compensation", _check_compensation, _execute_compensation),
    Kind("fee_refund", _check_fee_refund, _execute_fee_refund, loan_statuses=("active", "settled")),
    Kind("deposit_return", _check_deposit_return, _execute_deposit_return),
]
for _kind in KINDS:
    register(_kind)
