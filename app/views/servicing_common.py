"""Small helpers shared by the servicing screens (收款, 结清, 收费, 贷后调整, 贷后申请).

They read the request and the user the same way on every page, so that a loan outside the
user's scope is a 404 everywhere, every receipt form offers the same fund accounts, and a
repeated submission (same idempotency key) is recognised the same way.
"""
import uuid
from datetime import date

from flask import abort, current_app, g
from sqlalchemy import select

from app.extensions import db
from app.models import Loan
from app.models.finance import FundAccount
from app.services import loans, repayments


def money(value):
    """1234.5 → "1,234.50"; None → ""."""
    return "" if value is None else f"{value:,.2f}"


def visible_loan(loan_id):
    """The loan, or a 404 when it does not exist or is outside the user's scope (branches
    and grants): another branch's loan must look like no loan at all."""
    loan = db.session.get(Loan, loan_id)
    if loan is None or not loans.can_see(loan, g.user):
        abort(404)
    return loan


def receiving_accounts():
    """Active cash and bank accounts (where a receipt can land or a payment leave from)."""
    return db.session.execute(select(FundAccount).where(
        FundAccount.is_active.is_(True), FundAccount.kind.in_(("cash", "bank"))).order_by(FundAccount.id)).scalars().all()


def can(permission, view):
    """Whether the logged-in user holds ``permission`` on ``view`` (False when anonymous)."""
    user = g.get("user")
    return bool(user is not None and user.is_authenticated and current_app.appbuilder.sm.has_access(permission, view))


def form_int(raw):
    """An id typed or chosen in a form, or None when blank or not a number."""
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def posted_fund_account(form):
    """The FundAccount chosen in the form's ``fund_account`` field, or None (the service
    then refuses with its own message)."""
    return db.session.get(FundAccount, form_int(form.get("fund_account")) or 0)


def clean_amount(raw):
    """The amount as typed, without thousands separators or spaces (the service checks it)."""
    return (raw or "").replace(",", "").replace("，", "").replace(" ", "").strip()


def posted_date(raw):
    """A date field as posted, or None when blank (the service parses and checks it)."""
    return (raw or "").strip() or None


def new_key():
    """A fresh idempotency key for a form being rendered."""
    return uuid.uuid4().hex


def earlier_receipt(form):
    """(key, receipt already posted under the form's idempotency key, or None).

    Read before posting: when the service answers with that same receipt, the form was
    submitted twice (a double click, a reload) and nothing new was posted."""
    key = (form.get("idempotency_key") or "").strip()
    return key, (repayments.by_key(key) if key else None)


def is_replay(earlier, receipt):
    """Whether ``receipt`` is the one found under the key before posting (see earlier_receipt)."""
    return earlier is not None and earlier.id == receipt.id


def receipt_defaults(loan, accounts, on, date_field="received_on"):
    """The starting values of a receipt form: the date, the first receiving account, the
    customer as payer, no remarks and a fresh idempotency key."""
    return {date_field: on.isoformat(), "fund_account": str(accounts[0].id) if accounts else "",
            "payer": loan.customer.name, "remarks": "", "idempotency_key": new_key()}


def form_values(form, names):
    """The fields ``names`` as posted ("" when missing): a refused form shows the input again."""
    return {name: form.get(name, "") for name in names}


def date_arg(raw, default):
    """(date, error message): ``raw`` as an ISO date, or ``default`` when blank or invalid."""
    raw = (raw or "").strip()
    if not raw:
        return default, None
    try:
        return date.fromisoformat(raw), None
    except ValueError:
        return default, f"日期“{raw}”无效，格式为 YYYY-MM-DD；已按营业日期 {default} 显示"
