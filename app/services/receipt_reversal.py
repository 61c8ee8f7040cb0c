"""收款冲正 (kind "receipt_reversal"): a regular receipt entered by mistake is undone through
approval. On approval, in one transaction: the receipt's voucher is reversed (冲销, Dr/Cr
swapped), every allocated amount is taken back off its installment, and a loan that this
receipt closed is reopened. The receipt row and its idempotency key stay (a replay of the
key must still not post again); it shows as 已冲正.

Only the loan's latest receipt can be reversed (later ones were allocated on top of it:
reverse those first), only regular receipts (正常还款: prepayment and settlement rewrite
the schedule and are corrected by a new request), and not one that cleared interest booked
by the period close to 应收利息 (its split per installment is not recorded).
Penalty and compound interest crystallised up to the receipt's date stay charged: they were
owed on that day whether or not the money came.
"""
from sqlalchemy import exists, select

from app.domain.errors import DomainError
from app.domain.money import ZERO
from app.extensions import db
from app.models import Voucher
from app.models.servicing import Repayment
from app.services import ledger, loans, repayments, servicing_requests

KIND = "receipt_reversal"
REVERSIBLE_KINDS = ("repayment",)


def is_reversed(receipt):
    return db.session.execute(select(exists().where(Voucher.reversal_of_id == receipt.voucher_id))).scalar()


def _check(request):
    receipt = db.session.get(Repayment, request.repayment_id) if request.repayment_id else None
    if receipt is None or receipt.loan_id != request.loan_id:
        raise DomainError("请选择要冲正的收款单", "repayment")
    if receipt.kind not in REVERSIBLE_KINDS:
        raise DomainError(f"收款单 {receipt.receipt_no} 是{receipt.kind_label}，只能冲正正常还款；"
                          "提前还本、结清等请另行办理", "repayment")
    if is_reversed(receipt):
        raise DomainError(f"收款单 {receipt.receipt_no} 已冲正，不能重复冲正", "repayment")
    later = db.session.execute(select(Repayment.receipt_no).where(
        Repayment.loan_id == receipt.loan_id, repayments.standing(),
        (Repayment.received_on > receipt.received_on)
        | ((Repayment.received_on == receipt.received_on) & (Repayment.id > receipt.id)))
        .order_by(Repayment.id).limit(1)).scalar()
    if later:
        raise DomainError(f"收款单 {later} 登记在本收款单之后，请先冲正后面的收款", "repayment")
    if any(line.account.code == ledger.INTEREST_RECEIVABLE for line in receipt.voucher.lines):
        raise DomainError(f"收款单 {receipt.receipt_no} 已冲减期末计提的应收利息，不能直接冲正；"
                          "请财务另做调整凭证", "repayment")
    others = [r for r in servicing_requests.open_requests(request.loan_id, KIND)
              if r.repayment_id == receipt.id and r.id != request.id]
    if others:
        raise DomainError(f"收款单 {receipt.receipt_no} 已有冲正申请 {others[0].request_no} 在办理中", "repayment")
    request.amount = receipt.amount


def _execute(request, user, **options):
    loan = request.loan
    receipt = db.session.get(Repayment, request.repayment_id)
    by_id = {item.id: item for item in loan.installments}
    for line in receipt.lines:
        item = by_id[line.installment_id]
        column = repayments.PAID_COLUMNS[line.component]
        setattr(item, column, (getattr(item, column) or ZERO) - line.amount)
        item.paid_off_on = None   # it owes this line's amount again
    voucher = ledger.reverse(receipt.voucher, f"收款冲正 {receipt.receipt_no}：{request.reason}"[:2000], user)
    if loan.status == "settled" and not repayments.paid_off(loan):
        before = loan.status
        loan.status = "active"
        loan.closed_on = None
        loans.record_status(loan, before, "active", user, f"收款单 {receipt.receipt_no} 冲正，项目恢复在贷")
    return voucher


servicing_requests.register(servicing_requests.Kind(
    code=KIND, check=_check, execute=_execute, auto_execute=True, loan_statuses=("active", "settled")))
