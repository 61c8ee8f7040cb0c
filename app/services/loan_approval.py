"""The loan's two approval flows: 贷款审批 (loan_application, started by ``loans.submit``)
and 放款审批 (disbursement, started by finance after the contract is signed)."""
from flask import url_for

from app.domain import workflow as flow
from app.domain.errors import DomainError
from app.extensions import db
from app.models.loan import Loan
from app.services import contracts, loans, workflow
from app.services.scope import can_see_branch

# Called with (loan, user) when the disbursement approval ends approved; the servicing
# issue hooks the actual disbursement (vouchers, schedule activation) here.
DISBURSEMENT_READY_HOOKS = []

CONDITION_FIELDS = {"amount": "贷款金额（元）", "term": "期限", "annual_rate": "年利率（%）",
                    "product_code": "产品代码", "method": "还款方式", "guarantee_types": "担保方式",
                    "customer_kind": "客户类型"}


def _context(loan):
    return {"amount": loan.amount, "term": loan.term, "annual_rate": loan.annual_rate,
            "product_code": loan.product.code, "method": loan.method, "guarantee_types": loan.guarantee_types,
            "customer_kind": loan.customer.kind}


def _title(loan):
    return f"{loan.loan_no} {loan.customer.name} {loan.amount:,.2f} 元"


def _link(loan):
    try:
        return url_for("LoanView.show", pk=loan.id)
    except RuntimeError:  # outside a request (CLI, jobs)
        return f"/loanview/show/{loan.id}"


def _set_status(loan, status, user, comment):
    before = loan.status
    loan.status = status
    loans.record_status(loan, before, status, user, comment)


def _application_finished(loan, status, user, opinion):
    if status == flow.APPROVED:
        loans.run_loan_checks(loan)  # e.g. the credit line still has room (app/services/credit_lines.py)
    target = {flow.APPROVED: "approved", flow.RETURNED: "returned", flow.REJECTED: "rejected"}[status]
    _set_status(loan, target, user, f"贷款审批{flow.STATUS_LABELS[status]}" + (f"：{opinion}" if opinion else ""))
    if status == flow.APPROVED:
        contracts.generate_stage(loan, "approval", user)  # 借款合同, 保证/抵押/质押合同, 还款计划表


def _disbursement_finished(loan, status, user, opinion):
    if status == flow.APPROVED:
        _set_status(loan, "ready_to_disburse", user, "放款审批通过" + (f"：{opinion}" if opinion else ""))
        for hook in DISBURSEMENT_READY_HOOKS:
            hook(loan, user)
    elif status == flow.RETURNED:
        _set_status(loan, "contracted", user, "放款审批退回" + (f"：{opinion}" if opinion else ""))
    else:
        _set_status(loan, "rejected", user, "放款审批否决" + (f"：{opinion}" if opinion else ""))


def start_application(loan, user):
    workflow.start("loan_application", loan, user)


def confirm_contract_signed(loan, user):
    """合同已签: a manual confirmation until the contracts issue generates the documents."""
    if loan.status != "approved":
        raise DomainError(f"项目当前状态为“{loan.status_label}”，只有已批准的项目可以确认签约")
    if not can_see_branch(loan.branch_id, user) and not loans.can_handle(loan, user):
        raise DomainError("无权处理该项目")
    _set_status(loan, "contracted", user, "确认合同已签订")
    db.session.commit()


def request_disbursement(loan, user, opinion=None):
    """Finance starts 放款审批 for a signed loan."""
    if loan.status != "contracted":
        raise DomainError(f"项目当前状态为“{loan.status_label}”，签约后才能发起放款审批")
    workflow.start("disbursement", loan, user, opinion)
    _set_status(loan, "disbursing", user, "发起放款审批")
    db.session.commit()


def _register():
    common = dict(model=Loan, context=_context, title=_title, link=_link, branch_of=lambda loan: loan.branch_id,
                  fields=CONDITION_FIELDS)
    workflow.register(workflow.BusinessType(code="loan_application", label="贷款审批",
                                            on_finish=_application_finished, **common))
    workflow.register(workflow.BusinessType(code="disbursement", label="放款审批",
                                            on_finish=_disbursement_finished, **common))
    if start_application not in loans.SUBMIT_HOOKS:
        loans.SUBMIT_HOOKS.append(start_application)


_register()
