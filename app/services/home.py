"""What the home page shows. Later modules add sections (to-dos, due lists, charts) by
registering a function that returns a section dict (or a list of them) or None for a user.

A section is a dict: ``id``, ``title``, ``headers``, ``rows`` (lists of cells; a cell may be
Markup), optional ``link`` (a "more" link), ``empty`` (text when there are no rows) and
``count`` (the total, shown next to the title when the rows are a first page).

``due_lists`` gives the 还款提醒 lists (today's due, overdue, upcoming) in three queries,
whatever the number of loans: one counts the three lists, one picks the first rows of
each (a window function numbers the rows per list), one reads those rows.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, select

from app.domain.money import ZERO
from app.domain.servicing import compound_interest, overdue_days, penalty_interest
from app.extensions import db
from app.models import Customer, Installment, Loan, LoanProduct
from app.services import loans, settings
from app.services.query_hints import unindexed

SECTION_PROVIDERS = []
#: The lists of ``due_lists``, in the order the home page shows them.
DUE_KINDS = ("today", "overdue", "upcoming")
DEFAULT_UPCOMING_DAYS = 7


def register_section(provider):
    SECTION_PROVIDERS.append(provider)
    return provider


def home_sections(user):
    sections = []
    for provider in SECTION_PROVIDERS:
        section = provider(user)
        if isinstance(section, (list, tuple)):
            sections.extend(s for s in section if s)
        elif section:
            sections.append(section)
    return sections


# -- 还款提醒: today's due, overdue and upcoming installments ------------------------------
@dataclass
class DueRow:
    """One unpaid installment of an active loan."""

    kind: str                 # today / overdue / upcoming
    loan_id: int
    loan_no: str
    customer_name: str
    seq: int
    due_date: date
    principal_due: Decimal
    interest_due: Decimal
    charges: Decimal          # 罚息 + 复利 to the business date (crystallised and pending)
    overdue_days: int

    @property
    def amount_due(self):
        return self.principal_due + self.interest_due + self.charges


@dataclass
class DueLists:
    as_of: date
    upcoming_days: int
    limit: int
    rows: dict                # kind → [DueRow] (at most ``limit`` each)
    counts: dict              # kind → total number of installments


def upcoming_days():
    """The 首页将到期列表天数 parameter (``upcoming_days``), 7 when it is missing."""
    value = settings.get("upcoming_days", DEFAULT_UPCOMING_DAYS)
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return DEFAULT_UPCOMING_DAYS


def _d(value):
    return Decimal(value if value is not None else 0).quantize(Decimal("0.01"))


def due_lists(user=None, as_of=None, days=None, limit=50):
    """Unpaid installments of active loans in the user's scope (branches and grants): due on
    ``as_of``, overdue (due before it) and due in the next ``days`` days: the counts, the first
    ``limit`` of each list with rows, their details."""
    as_of = as_of or settings.business_date()
    days = upcoming_days() if days is None else days
    horizon = as_of + timedelta(days=days)
    kind = case((Installment.due_date < as_of, literal("overdue")),
                (Installment.due_date == as_of, literal("today")), else_=literal("upcoming")).label("kind")
    # unindexed: SQLite walks the unpaid installments by due date, not every active loan first.
    conditions = [unindexed(Loan.status) == "active", Installment.paid_off_on.is_(None),
                  Installment.due_date <= horizon]
    visible = loans.visible_condition(user)
    if visible is not None:
        conditions.append(visible)
    where = and_(*conditions)

    counts = {k: 0 for k in DUE_KINDS}
    count_query = (select(kind, func.count()).select_from(Installment).join(Loan, Loan.id == Installment.loan_id)
                   .where(where).group_by(kind))
    for name, number in db.session.execute(count_query):
        counts[name] = number

    rows = {k: [] for k in DUE_KINDS}
    if any(counts.values()):
        # The first ``limit`` of each list that has rows, each walked in the list's order (the
        # unpaid-due-date index) and stopped at the limit; then the rest of those rows by id.
        # (One query ranking all three lists with row_number() sorted every row in scope.)
        windows = {"overdue": Installment.due_date < as_of, "today": Installment.due_date == as_of,
                   "upcoming": Installment.due_date > as_of}
        first = []
        for name in DUE_KINDS:
            if counts[name]:
                ids = db.session.execute(
                    select(Installment.id).select_from(Installment).join(Loan, Loan.id == Installment.loan_id)
                    .where(where, windows[name]).order_by(Installment.due_date, Loan.loan_no, Installment.seq)
                    .limit(limit)).scalars().all()
                first += [(name, installment_id) for installment_id in ids]
        details = select(
            Installment.id, Installment.loan_id, Loan.loan_no, Customer.name.label("customer_name"), Installment.seq,
            Installment.due_date, Installment.principal, Installment.principal_paid, Installment.interest,
            Installment.interest_paid, Installment.interest_waived, Installment.penalty, Installment.penalty_paid,
            Installment.penalty_waived, Installment.compound, Installment.compound_paid, Installment.accrued_to,
            Loan.annual_rate, LoanProduct.penalty_markup_pct, LoanProduct.day_basis, LoanProduct.grace_days,
        ).join(Loan, Loan.id == Installment.loan_id).join(Customer, Customer.id == Loan.customer_id).join(
            LoanProduct, LoanProduct.id == Loan.product_id).where(Installment.id.in_([i for _, i in first]))
        by_id = {r["id"]: r for r in db.session.execute(details).mappings()}
        for name, installment_id in first:
            rows[name].append(_due_row({**by_id[installment_id], "kind": name}, as_of))
    return DueLists(as_of=as_of, upcoming_days=days, limit=limit, rows=rows, counts=counts)


def _due_row(r, as_of):
    principal_due = _d(r["principal"]) - _d(r["principal_paid"])
    interest_due = _d(r["interest"]) - _d(r["interest_paid"]) - _d(r["interest_waived"])
    charges = (_d(r["penalty"]) - _d(r["penalty_paid"]) - _d(r["penalty_waived"])
               + _d(r["compound"]) - _d(r["compound_paid"]))
    late = overdue_days(r["due_date"], as_of)
    grace = int(r["grace_days"] or 0)
    if late > grace:
        # Charges since the last posting, as app.services.repayments.pending_charges counts them.
        start = r["accrued_to"] or r["due_date"]
        pending_days = (as_of - start).days
        if pending_days > 0:
            rate, markup, basis = Decimal(r["annual_rate"]), Decimal(r["penalty_markup_pct"]), int(r["day_basis"])
            charges += penalty_interest(principal_due, rate, markup, pending_days, basis)
            charges += compound_interest(interest_due, rate, markup, pending_days, basis)
    return DueRow(kind=r["kind"], loan_id=r["loan_id"], loan_no=r["loan_no"], customer_name=r["customer_name"],
                  seq=r["seq"], due_date=r["due_date"], principal_due=principal_due, interest_due=interest_due,
                  charges=charges if charges > 0 else ZERO, overdue_days=late)


# -- 融资杠杆: bank and shareholder borrowing against net assets (DOMAIN.md §6) ---------------
def funding_leverage_section(user):
    """A card for those who may see the bank credit lines: borrowing, net assets, ratio, limit.
    Registered by app/views/credit_lines.py after the to-do and due lists (shown below them)."""
    from flask import current_app
    from flask_babel import gettext

    from app.services import credit_lines

    if not getattr(user, "is_authenticated", False) or not current_app.appbuilder.sm.has_access(
            "can_list", "BankCreditLineView"):
        return None
    p = credit_lines.funding_position()
    ratio = f"{p.ratio_pct:,.2f}%" if p.ratio_pct is not None else "—"
    return {"id": "funding-leverage", "title": gettext("Funding leverage (bank and shareholder borrowing)"),
            "headers": [], "rows": [], "link": "/bankcreditlineview/list/",
            "kpis": [(gettext("Borrowing (yuan)"), f"{p.borrowing:,.2f}", "funding-borrowing"),
                     (gettext("Net assets at last year-end (yuan)"), f"{p.net_assets:,.2f}", "funding-net-assets"),
                     (gettext("Borrowing / net assets"), ratio, "funding-ratio"),
                     (gettext("Limit (yuan)"), f"{p.limit:,.2f}", "funding-limit"),
                     (gettext("Room left (yuan)"), f"{p.headroom:,.2f}", "funding-headroom")],
            "empty": (gettext("Over the limit: no new borrowing may be recorded.") if p.exceeded else
                      gettext("Limit = net assets × %(multiple)s.", multiple=f"{p.multiple.normalize():f}"))}


# -- 公告与未读消息 (message center, issue #10) ----------------------------------------------
@register_section
def announcements_section(user):
    from app.services.announcements import home_section

    return home_section(user)
