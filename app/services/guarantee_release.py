"""解保申请 (kind "guarantee_release"): after a loan is settled, its guarantees are released
through approval (DOMAIN.md §4: "after settlement the loan is closed, guarantees can be
released"). On approval every guarantor and every mortgage or pledge of the loan not yet
released is marked released on the business date and the loan's history records it. The
physical return of collateral documents from the archive follows (archive issue)."""
from app.domain.errors import DomainError
from app.services import loans, servicing_requests, settings

KIND = "guarantee_release"


def unreleased(loan):
    return ([g for g in loan.guarantors if g.released_on is None],
            [c for c in loan.collaterals if c.released_on is None])


def _check(request):
    guarantors, collaterals = unreleased(request.loan)
    if not guarantors and not collaterals:
        raise DomainError(f"项目 {request.loan.loan_no} 没有待解除的保证或抵质押")


def _execute(request, user, **options):
    loan = request.loan
    on = settings.business_date()
    guarantors, collaterals = unreleased(loan)
    for item in guarantors + collaterals:
        item.released_on = on
    names = "、".join([f"保证人 {g.name}" for g in guarantors] + [f"{c.kind_label}物 {c.name}" for c in collaterals])
    loans.record_status(loan, loan.status, loan.status, user, f"解保（{request.request_no}）：{names}")
    return None


servicing_requests.register(servicing_requests.Kind(
    code=KIND, check=_check, execute=_execute, auto_execute=True, loan_statuses=("settled",)))
