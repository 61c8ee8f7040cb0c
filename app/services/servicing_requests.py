"""贷款业务申请: prepayment, extension and the adjustments (免息, 退息, 人工转收入, 贷款变更,
核销, 代偿, 归还客户费用, 退还保证金, 凭证冲销) share one life cycle:

    apply (the officer or finance fills the request; kind checks run) → 审批中
    → the workflow whose business type is the kind → 已批准 / 已退回 / 已否决
    → execute (finance posts it, or it runs at approval when the kind says so) → 已执行

Each kind registers a :class:`Kind` with its checks and its execution; the execution posts
its voucher and changes the loan in the same transaction as the status change.
"""
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import url_for

from app.domain import workflow as flow
from app.domain.errors import DomainError
from app.extensions import db
from app.models.loan import Loan
from app.models.servicing import REQUEST_KINDS, ServicingRequest
from app.services import loans, numbering, settings, workflow

REQUEST_PREFIX = "SQ"
CONDITION_FIELDS = {"amount": "申请金额（元）", "loan_amount": "贷款金额（元）", "product_code": "产品代码",
                    "extension_periods": "展期期数", "overdue_days": "逾期天数"}


@dataclass
class Kind:
    """How one request kind is checked and executed.

    ``check(request)`` raises DomainError when the request cannot be made (at apply and
    again at execution); ``execute(request, user, **options)`` posts it (flush only) and
    returns the voucher or None; ``auto_execute``: run ``execute`` at approval (no money
    received, e.g. an extension) instead of waiting for finance.
    """

    code: str
    check: Callable
    execute: Callable
    auto_execute: bool = False
    needs_loan: bool = True
    loan_statuses: tuple = ("active",)


KINDS = {}


def register(kind):
    if kind.code not in REQUEST_KINDS:
        raise ValueError(f"unknown request kind {kind.code}")
    KINDS[kind.code] = kind
    workflow.register(workflow.BusinessType(
        code=kind.code, label=REQUEST_KINDS[kind.code], model=ServicingRequest, context=_context, title=_title,
        link=_link, branch_of=_branch_of, on_finish=_finished, fields=CONDITION_FIELDS))


def kind_of(code):
    if code not in KINDS:
        raise DomainError(f"业务类型“{REQUEST_KINDS.get(code, code)}”尚未启用")
    return KINDS[code]


def _context(request):
    loan = request.loan
    from app.services import repayments

    overdue = repayments.summary(loan).overdue_days if loan is not None and loan.status == "active" else 0
    return {"amount": request.amount or 0, "loan_amount": loan.amount if loan else 0,
            "product_code": loan.product.code if loan else "", "extension_periods": request.extension_periods or 0,
            "overdue_days": overdue}


def _title(request):
    loan = request.loan
    about = f"{loan.loan_no} {loan.customer.name}" if loan is not None else ""
    amount = f" {request.amount:,.2f} 元" if request.amount else ""
    return f"{request.kind_label} {request.request_no} {about}{amount}".strip()


def _link(request):
    try:
        return url_for("ServicingRequestView.show", pk=request.id)
    except RuntimeError:  # outside a request (CLI, jobs)
        return f"/servicingrequestview/show/{request.id}"


def _branch_of(request):
    return request.loan.branch_id if request.loan is not None else None


def _check_common(request, kind):
    reason = (request.reason or "").strip()
    if not reason:
        raise DomainError("请填写申请原因", "reason")
    request.reason = reason
    if kind.needs_loan:
        loan = request.loan
        if loan is None:
            raise DomainError("请选择项目", "loan")
        if loan.status not in kind.loan_statuses:
            raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，不能办理{REQUEST_KINDS[kind.code]}")


def apply(request, user, opinion=None):
    """Submit a new request into its approval flow; commits. Nothing is saved when a check
    fails."""
    kind = kind_of(request.kind)
    try:
        if request.loan is None and request.loan_id:
            request.loan = db.session.get(Loan, request.loan_id)
        if kind.needs_loan and request.loan is not None and not loans.can_see(request.loan, user):
            raise DomainError("无权办理该项目", "loan")
        _check_common(request, kind)
        kind.check(request)
        request.request_no = numbering.next_number(REQUEST_PREFIX, settings.business_date())
        request.status = "in_approval"
        request.created_by_id = getattr(user, "id", None)
        db.session.add(request)
        db.session.flush()
        workflow.start(request.kind, request, user, opinion)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return request


def _finished(request, status, user, opinion):
    """The approval ended: record it, and run an auto-executing kind right away (same
    transaction as the last approval)."""
    request.decided_at = datetime.now()
    request.status = {flow.APPROVED: "approved", flow.RETURNED: "returned", flow.REJECTED: "rejected"}[status]
    if status == flow.APPROVED and kind_of(request.kind).auto_execute:
        _execute(request, user)


def _execute(request, user, **options):
    kind = kind_of(request.kind)
    if request.status != "approved":
        raise DomainError(f"申请 {request.request_no} 当前状态为“{request.status_label}”，审批通过后才能执行")
    if kind.needs_loan:
        request.loan = loans.lock(request.loan_id)
    _check_common(request, kind)
    kind.check(request)
    voucher = kind.execute(request, user, **options)
    if voucher is not None:
        request.voucher_id = voucher.id
    request.status = "executed"
    request.executed_at = datetime.now()
    request.executed_by_id = getattr(user, "id", None)
    db.session.flush()
    return request


def execute(request_id, user, **options):
    """Finance executes an approved request (posts it); commits. Returns the request."""
    try:
        request = db.session.get(ServicingRequest, request_id, with_for_update=_for_update())
        if request is None:
            raise DomainError("申请不存在")
        _execute(request, user, **options)
        db.session.commit()
        return request
    except Exception:
        db.session.rollback()
        raise


def _for_update():
    return db.session.get_bind().dialect.name == "postgresql"


def cancel(request_id, user):
    """撤销: the applicant withdraws a returned request (a request in approval is decided by
    its approvers; an approved one is executed or rejected, never silently dropped)."""
    request = db.session.get(ServicingRequest, request_id)
    if request is None:
        raise DomainError("申请不存在")
    if request.status != "returned":
        raise DomainError(f"申请 {request.request_no} 当前状态为“{request.status_label}”，只有被退回的申请可以撤销")
    if request.created_by_id != getattr(user, "id", None):
        raise DomainError("只有申请人可以撤销申请")
    request.status = "cancelled"
    db.session.commit()
    return request


def open_requests(loan_id, kind=None):
    """Requests of a loan still in approval or approved but not executed."""
    query = db.select(ServicingRequest).where(ServicingRequest.loan_id == loan_id,
                                              ServicingRequest.status.in_(("in_approval", "approved")))
    if kind:
        query = query.where(ServicingRequest.kind == kind)
    return db.session.execute(query).scalars().all()
