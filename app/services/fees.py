"""项目费用: collecting a loan's fees and deposit, and the 项目财务流水账 (every receipt and
payment of one loan, with its running balance).

A fee is collected through a receipt (``Repayment`` of kind "fee" or "deposit", one
RepaymentLine naming the LoanFee) carrying a client-generated idempotency key, like a
repayment: the same key twice posts once. The voucher:

    income fee already receivable (due_on set at disbursement)   Dr fund / Cr 1221 其他应收款
    income fee not yet receivable (due_on None)                   Dr fund / Cr 6021 手续费及佣金收入
    deposit (保证金, a liability to the customer)                  Dr fund / Cr 2203 存入保证金

Refunds go through 归还客户费用 / 退还保证金 (app/services/adjustments.py).

A loan whose installments are all paid off stays active while an income fee is still
receivable; collecting the last such fee closes it (结清, like the last installment's
receipt: ``repayments.paid_off`` / ``repayments.close_loan``).
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, type_coerce

from app.domain.errors import DomainError
from app.domain.money import ZERO
from app.extensions import db
from app.models import FundAccount, Installment, JournalLine, Loan, Voucher
from app.models.loan import LoanFee
from app.models.product import FEE_ACCOUNTS
from app.models.servicing import REPAYMENT_KINDS, REQUEST_KINDS, RepaymentLine, ServicingRequest
from app.services import dictionaries, ledger, repayments, settings

#: Loans whose fees may be collected: from approval (fees due at application) to closure.
COLLECTABLE_STATUSES = ("approved", "contracted", "disbursing", "ready_to_disburse", "active", "settled")


@dataclass
class FeeRow:
    """One fee of a loan as the fee screen shows it."""

    fee: LoanFee

    @property
    def id(self):
        return self.fee.id

    @property
    def label(self):
        return dictionaries.label_of("fee_type", self.fee.fee_type)

    @property
    def account_label(self):
        return FEE_ACCOUNTS.get(self.fee.account, self.fee.account)

    @property
    def is_deposit(self):
        return self.fee.account == "deposit"

    @property
    def amount(self):
        return self.fee.amount

    @property
    def due_on(self):
        return self.fee.due_on

    @property
    def paid(self):
        return self.fee.paid_amount or ZERO

    @property
    def refunded(self):
        return self.fee.refunded_amount or ZERO

    @property
    def installment_seq(self):
        return self.fee.installment_seq

    @property
    def waived(self):
        """每期费用 of a period after the loan closed early: not owed (shown, not collectable)."""
        return period_fee_waived(self.fee)

    @property
    def outstanding(self):
        return ZERO if self.waived else self.fee.outstanding

    @property
    def held(self):
        """Collected and not refunded."""
        return self.paid - self.refunded


def fees_of(loan):
    rows = [FeeRow(fee) for fee in loan.fees]
    return sorted(rows, key=lambda r: (r.fee.installment_seq is not None, r.fee.installment_seq or 0, r.fee.id or 0))


# -- 每期费用 -------------------------------------------------------------------------------
def _period_key(fee):
    return fee.fee_type, fee.account, fee.basis, Decimal(fee.value)


def sync_period_fees(loan):
    """每期费用: one LoanFee row per installment for each per-period fee of the loan, at
    disbursement (the rule row becomes the first installment's) and whenever the schedule is
    regenerated (提前还本 shortening the term, 展期 adding periods): rows of installments that
    no longer exist go, unless something was collected on them; new installments get theirs.
    Nothing is posted here: a period's fee becomes receivable on its due date
    (``recognize_period_fees``). Flushes."""
    seqs = sorted(i.seq for i in loan.installments)
    groups = {}
    for fee in loan.fees:
        if fee.timing == "per_period":
            groups.setdefault(_period_key(fee), []).append(fee)
    for rows in groups.values():
        template = rows[0]
        taken = {f.installment_seq for f in rows if f.installment_seq is not None}
        for fee in rows:
            if fee.installment_seq is None:        # the rule, copied from the product
                missing = [s for s in seqs if s not in taken]
                if missing:
                    fee.installment_seq = missing[0]
                    taken.add(missing[0])
            elif fee.installment_seq not in seqs and fee.due_on is None and not fee.paid_amount:
                loan.fees.remove(fee)
                db.session.delete(fee)
                taken.discard(fee.installment_seq)
        for seq in seqs:
            if seq not in taken:
                loan.fees.append(LoanFee(fee_type=template.fee_type, basis=template.basis, value=template.value,
                                         timing="per_period", account=template.account, amount=template.amount,
                                         installment_seq=seq, paid_amount=ZERO, refunded_amount=ZERO))
    db.session.flush()


def _period_due(on, loan_id=None):
    """SELECT of the per-period income fees whose installment fell due on or before ``on``,
    not yet receivable, with something left to collect, on loans not closed before that
    due date (a loan settled early owes no later period's fee): (LoanFee, due date)."""
    return (select(LoanFee, Installment.due_date)
            .join(Installment, (Installment.loan_id == LoanFee.loan_id) & (Installment.seq == LoanFee.installment_seq))
            .join(Loan, Loan.id == LoanFee.loan_id)
            .where(LoanFee.timing == "per_period", LoanFee.installment_seq.is_not(None), LoanFee.due_on.is_(None),
                   LoanFee.account == "income", LoanFee.amount > LoanFee.paid_amount, Installment.due_date <= on,
                   Loan.status.in_(("active", "settled")),
                   (Loan.closed_on.is_(None)) | (Loan.closed_on >= Installment.due_date),
                   *([LoanFee.loan_id == loan_id] if loan_id is not None else []))
            .order_by(LoanFee.loan_id, LoanFee.installment_seq, LoanFee.id))


def period_fees_due(loan, on):
    """What the per-period income fees of ``loan`` due by ``on`` and not yet booked as
    receivable still owe (the nightly batch books them; a settlement first does it itself)."""
    items = {i.seq: i.due_date for i in loan.installments}
    return sum((f.outstanding for f in loan.fees
                if f.timing == "per_period" and f.installment_seq is not None and f.due_on is None
                and f.account == "income" and f.outstanding > 0
                and items.get(f.installment_seq) is not None and items[f.installment_seq] <= on), ZERO)


def recognize_period_fees(on, user=None, loan_id=None):
    """每期费用应收 (nightly batch step; ``loan_id``: one loan, before its settlement): each
    per-period income fee whose installment is due becomes receivable: one voucher per loan,
    Dr 1221 其他应收款 / Cr 6021 手续费及佣金收入 for what is left to collect on it, dated
    ``on``. Returns how many fees were booked."""
    by_loan = {}
    for fee, due in db.session.execute(_period_due(on, loan_id)):
        by_loan.setdefault(fee.loan_id, []).append((fee, due))
    for owner_id, items in by_loan.items():
        lines = []
        for fee, due in items:
            label = dictionaries.label_of("fee_type", fee.fee_type)
            left = fee.amount - (fee.paid_amount or ZERO)
            lines += [ledger.Line(ledger.OTHER_RECEIVABLES, debit=left, loan_id=owner_id,
                                  memo=f"应收第 {fee.installment_seq} 期{label}"),
                      ledger.Line(ledger.FEE_INCOME, credit=left, loan_id=owner_id,
                                  memo=f"第 {fee.installment_seq} 期{label}")]
            fee.due_on = due
        loan = db.session.get(Loan, owner_id)
        ledger.post(f"每期费用应收 {loan.loan_no} {loan.customer.name}"[:200], lines, user, business_date=on,
                    source=("fee_receivable", owner_id))
    db.session.flush()
    return sum(len(items) for items in by_loan.values())


def period_fee_waived(fee):
    """A per-period fee of an installment due after the loan was closed: not owed."""
    loan = fee.loan
    if fee.installment_seq is None or loan is None or loan.closed_on is None or fee.due_on is not None:
        return False
    item = next((i for i in loan.installments if i.seq == fee.installment_seq), None)
    return item is not None and item.due_date > loan.closed_on


def _check_date(loan, received_on):
    if received_on is None:
        raise DomainError("请填写收款日期", "received_on")
    if isinstance(received_on, str):
        try:
            received_on = date.fromisoformat(received_on)
        except ValueError:
            raise DomainError(f"收款日期“{received_on}”无效，格式为 YYYY-MM-DD", "received_on") from None
    today = settings.business_date()
    if received_on > today:
        raise DomainError(f"收款日期 {received_on} 不能晚于营业日期 {today}", "received_on")
    last = repayments.last_receipt_date(loan.id)
    if last is not None and received_on < last:
        raise DomainError(f"收款日期 {received_on} 早于该项目最近一笔收款的日期 {last}；收款须按日期顺序登记",
                          "received_on")
    return received_on


def collect(loan_fee_id, amount, received_on, fund_account, user, idempotency_key, payer=None, remarks=None):
    """收费: collect (part of) a fee or the deposit; commits and returns the Repayment
    (kind "fee" or "deposit"). At most what is outstanding on the fee."""
    key = repayments.check_key(idempotency_key)
    amount = repayments.check_money(amount)
    fee = db.session.get(LoanFee, loan_fee_id) if loan_fee_id else None
    if fee is None:
        raise DomainError("请选择要收取的费用", "loan_fee")
    loan_id = fee.loan_id

    def post(loan):
        item = db.session.execute(select(LoanFee).where(LoanFee.id == loan_fee_id)
                                  .execution_options(populate_existing=True)).scalar_one()
        if loan.status not in COLLECTABLE_STATUSES:
            raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，不能收取费用")
        on = _check_date(loan, received_on)
        repayments.check_fund_account(fund_account)
        label = dictionaries.label_of("fee_type", item.fee_type)
        if period_fee_waived(item):
            raise DomainError(f"项目 {loan.loan_no} 已于 {loan.closed_on} 结清，第 {item.installment_seq} 期{label}"
                              "不再收取", "loan_fee")
        if item.outstanding <= 0:
            raise DomainError(f"{label}已收齐，无需再收", "amount")
        if amount > item.outstanding:
            raise DomainError(f"收费金额 {amount:,.2f} 元超过{label}未收金额 {item.outstanding:,.2f} 元", "amount")
        deposit = item.account == "deposit"
        if deposit:
            credit, memo, kind = ledger.DEPOSITS_RECEIVED, f"收存入{label}", "deposit"
        elif item.due_on is not None:
            credit, memo, kind = ledger.OTHER_RECEIVABLES, f"收回应收{label}", "fee"
        else:
            credit, memo, kind = ledger.FEE_INCOME, label, "fee"
        payer_name = repayments.check_payer(loan, payer)
        voucher = ledger.post(f"收{label} {loan.loan_no} {loan.customer.name}"[:200], [
            ledger.Line(fund_account.ledger_account, debit=amount, fund_account=fund_account, loan_id=loan.id,
                        memo=f"收 {payer_name} {label}"[:200]),
            ledger.Line(credit, credit=amount, loan_id=loan.id, memo=memo)],
            user, business_date=on, source=(kind, loan.id))
        item.paid_amount = (item.paid_amount or ZERO) + amount
        receipt = repayments.new_receipt(
            loan, kind, amount, on, fund_account, payer_name, key, user, remarks,
            [RepaymentLine(loan_fee_id=item.id, component=kind, amount=amount)], voucher)
        db.session.flush()
        # The last income fee of a loan whose installments are all paid off: nothing is
        # owed any more, close it as the last installment's receipt would have.
        if kind == "fee" and item.due_on is not None and loan.status == "active" and loan.installments \
                and repayments.paid_off(loan):
            repayments.close_loan(loan, on, user, f"最后一笔应收费用收齐，收款单 {receipt.receipt_no}")
        return receipt

    return repayments.receipt_once(loan_id, key, amount, post)


# -- 项目财务流水账 ------------------------------------------------------------------------
SOURCE_LABELS = {"disbursement": "放款", "repayment": "还款", "settlement": "结清", "prepayment": "提前还本",
                 "recovery": REPAYMENT_KINDS["recovery"], "fee": REPAYMENT_KINDS["fee"],
                 "deposit": REPAYMENT_KINDS["deposit"], "bank_drawdown": "银行借款",
                 "fee_receivable": "每期费用应收"}


@dataclass
class LedgerRow:
    """One money movement of the loan: a line on a cash or bank account."""

    business_date: date
    voucher_id: int
    voucher_no: str
    kind: str
    description: str
    memo: str
    fund_account: str
    receipt: Decimal      # 收入 (money in: a debit on the fund account)
    payment: Decimal      # 支出 (money out: a credit)
    balance: Decimal      # Σ receipts − Σ payments so far


@dataclass
class ProjectLedger:
    rows: list
    total_receipts: Decimal = ZERO
    total_payments: Decimal = ZERO

    @property
    def balance(self):
        return self.total_receipts - self.total_payments


def project_ledger(loan_id):
    """项目财务流水账: every line on a cash or bank account of the vouchers that touch the
    loan (disbursement, repayments, fees, deposits, refunds, compensation, recovery, their
    reversals), by date, with the running balance from one window query."""
    touching = select(JournalLine.voucher_id).where(JournalLine.loan_id == loan_id).distinct()
    net = JournalLine.debit - JournalLine.credit
    running = type_coerce(func.sum(net).over(order_by=(Voucher.business_date, Voucher.id, JournalLine.id)),
                          ledger.MONEY)
    query = (select(Voucher.business_date, Voucher.id, Voucher.voucher_no, Voucher.description, Voucher.source_type,
                    Voucher.source_id, Voucher.reversal_of_id, JournalLine.memo, FundAccount.name, JournalLine.debit,
                    JournalLine.credit, running)
             .join(Voucher, Voucher.id == JournalLine.voucher_id)
             .join(FundAccount, FundAccount.id == JournalLine.fund_account_id)
             .where(JournalLine.voucher_id.in_(touching), FundAccount.kind.in_(("cash", "bank")))
             .order_by(Voucher.business_date, Voucher.id, JournalLine.id))
    found = db.session.execute(query).all()
    request_ids = {r.source_id for r in found if r.source_type == "servicing_request" and r.source_id}
    request_kinds = dict(db.session.execute(select(ServicingRequest.id, ServicingRequest.kind).where(
        ServicingRequest.id.in_(request_ids))).all()) if request_ids else {}
    result = ProjectLedger(rows=[])
    for r in found:
        if r.source_type == "servicing_request":
            kind = REQUEST_KINDS.get(request_kinds.get(r.source_id), "贷后业务")
        else:
            kind = SOURCE_LABELS.get(r.source_type, r.source_type or "")
        if r.reversal_of_id:
            kind += "（冲销）"
        receipt, payment = ledger._money(r.debit), ledger._money(r.credit)
        result.total_receipts += receipt
        result.total_payments += payment
        result.rows.append(LedgerRow(r.business_date, r[1], r.voucher_no, kind, r.description, r.memo or "",
                                     r.name, receipt, payment, ledger._money(r[-1])))
    return result

