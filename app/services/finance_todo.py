"""待办财务单据 (finance to-do): what waits for finance, in sections, each one query for its
first rows plus one count, within the user's data scope (their branches and granted loans):

* loans approved for payout (待放款, status ready_to_disburse) → the payout page;
* servicing requests approved and waiting to be executed (已批准) → the request page;
* fees receivable (due_on set, not fully paid) → the loan page.

Installments due today and overdue are on the home page (app/services/home.py), not here.
"""
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Customer, Loan, LoanFee
from app.models.servicing import ServicingRequest
from app.services import dictionaries, loans

DEFAULT_LIMIT = 50


@dataclass
class Section:
    id: str
    title: str
    count: int = 0
    rows: list = field(default_factory=list)


def _scoped(query, user):
    condition = loans.visible_condition(user)
    return query if condition is None else query.where(condition)


def _section(id_, title, query, count_query, user, limit):
    rows = db.session.execute(_scoped(query, user).limit(limit)).all()
    count = db.session.execute(_scoped(count_query, user)).scalar_one() if len(rows) >= limit else len(rows)
    return Section(id_, title, count, rows)


def ready_to_disburse(user, limit=DEFAULT_LIMIT):
    """Rows (loan id, loan no, customer, amount, updated at)."""
    where = Loan.status == "ready_to_disburse"
    query = (select(Loan.id, Loan.loan_no, Customer.name, Loan.amount, Loan.updated_at)
             .join(Customer, Customer.id == Loan.customer_id).where(where).order_by(Loan.updated_at, Loan.id))
    return _section("ready_to_disburse", "待放款", query, select(func.count()).select_from(Loan).where(where),
                    user, limit)


def approved_requests(user, limit=DEFAULT_LIMIT):
    """Rows (request id, request no, kind label, loan no or "", customer or "", amount, decided at)."""
    where = ServicingRequest.status == "approved"
    query = (select(ServicingRequest, Loan.loan_no, Customer.name)
             .outerjoin(Loan, Loan.id == ServicingRequest.loan_id)
             .outerjoin(Customer, Customer.id == Loan.customer_id)
             .where(where).order_by(ServicingRequest.decided_at, ServicingRequest.id))
    count = select(func.count()).select_from(ServicingRequest).outerjoin(
        Loan, Loan.id == ServicingRequest.loan_id).where(where)
    condition = loans.visible_condition(user)
    if condition is not None:   # requests without a loan (凭证冲销) are finance's own
        condition = or_(ServicingRequest.loan_id.is_(None), condition)
        query, count = query.where(condition), count.where(condition)
    rows = db.session.execute(query.limit(limit)).all()
    total = db.session.execute(count).scalar_one() if len(rows) >= limit else len(rows)
    return Section("approved_requests", "待执行的业务申请", total, rows)


def fees_due(user, limit=DEFAULT_LIMIT):
    """Rows (LoanFee, loan no, customer); ``LoanFee.outstanding`` is what is still due."""
    where = (LoanFee.due_on.is_not(None), LoanFee.paid_amount < LoanFee.amount)
    query = (select(LoanFee, Loan.loan_no, Customer.name).join(Loan, Loan.id == LoanFee.loan_id)
             .join(Customer, Customer.id == Loan.customer_id).where(*where).order_by(LoanFee.due_on, LoanFee.id))
    count = select(func.count()).select_from(LoanFee).join(Loan, Loan.id == LoanFee.loan_id).where(*where)
    return _section("fees_due", "应收费用", query, count, user, limit)


def sections(user, limit=DEFAULT_LIMIT):
    return [ready_to_disburse(user, limit), approved_requests(user, limit), fees_due(user, limit)]


def fee_label(fee):
    return dictionaries.label_of("fee_type", fee.fee_type)
