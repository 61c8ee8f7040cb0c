"""凭证冲销 through approval: finance applies for the reversal of a voucher (a
ServicingRequest of kind "voucher_reversal" naming the voucher and the reason); the flow
"voucher_reversal" (seeded: 总经理审批) decides; on approval the reversal is posted at once
(``ledger.reverse``), in the same transaction as the last approval.

Refused at apply and again at execution: a reversal voucher, a voucher already reversed,
a voucher with another reversal request in approval or approved, a business document
(receipts, settlements, payouts, accruals … have their own flows: reversing only their
voucher would leave the loan's records out of step), and a posting date in a closed period.
"""
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Voucher
from app.models.servicing import ServicingRequest
from app.services import ledger, settings
from app.services import servicing_requests as requests

KIND = "voucher_reversal"
OPEN_STATUSES = ("in_approval", "approved")
#: source_type → (document, where it is undone)
BUSINESS_DOCUMENTS = {
    "repayment": ("收款单", "请在还款管理中冲销该收款"),
    "settlement": ("结清", "请在还款管理中撤销该结清"),
    "disbursement": ("放款", "请在放款管理中撤销该放款"),
    "period_close": ("期末结算计提", "请由管理员反结账后重新结账"),
}


def _voucher(request):
    voucher = request.target_voucher
    if voucher is None and request.target_voucher_id:
        voucher = db.session.get(Voucher, request.target_voucher_id)
    if voucher is None:
        raise DomainError("请选择要冲销的凭证", "target_voucher")
    return voucher


def check(request):
    voucher = _voucher(request)
    no = voucher.voucher_no
    if voucher.reversal_of_id is not None:
        raise DomainError(f"凭证 {no} 是冲销凭证，不能再冲销；如需更正请另做凭证")
    reversed_by = db.session.execute(select(Voucher.voucher_no).where(Voucher.reversal_of_id == voucher.id)
                                     ).scalar_one_or_none()
    if reversed_by is not None:
        raise DomainError(f"凭证 {no} 已被凭证 {reversed_by} 冲销，不能重复冲销")
    if voucher.source_type is not None:
        document, hint = BUSINESS_DOCUMENTS.get(
            voucher.source_type, (f"业务单据（{voucher.source}）", "请在该业务的办理页面处理"))
        raise DomainError(f"凭证 {no} 由{document}生成，不能在此直接冲销：{hint}，其凭证会随之冲销")
    pending = db.session.execute(select(ServicingRequest.request_no).where(
        ServicingRequest.kind == KIND, ServicingRequest.target_voucher_id == voucher.id,
        ServicingRequest.status.in_(OPEN_STATUSES),
        ServicingRequest.id != (request.id or 0)).limit(1)).scalar_one_or_none()
    if pending is not None:
        raise DomainError(f"凭证 {no} 已有冲销申请 {pending} 在审批中，不能重复申请")
    ledger.check_open(settings.business_date())
    request.amount = voucher.amount


def execute(request, user, **_options):
    """Post the reversal (dated on the business date); returns the reversing voucher."""
    return ledger.reverse(_voucher(request), request.reason, user)


requests.register(requests.Kind(code=KIND, check=check, execute=execute, auto_execute=True, needs_loan=False,
                                loan_statuses=()))


def apply(voucher, reason, user):
    """Submit a reversal request for ``voucher``; commits. Returns the ServicingRequest."""
    request = ServicingRequest(kind=KIND, reason=reason, target_voucher=voucher, target_voucher_id=voucher.id)
    return requests.apply(request, user)


def pending_request(voucher_id):
    """The reversal request of a voucher still in approval or approved, or None."""
    return db.session.execute(select(ServicingRequest).where(
        ServicingRequest.kind == KIND, ServicingRequest.target_voucher_id == voucher_id,
        ServicingRequest.status.in_(OPEN_STATUSES)).order_by(ServicingRequest.id.desc()).limit(1)
    ).scalar_one_or_none()
