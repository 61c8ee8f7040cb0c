"""违约管理: 逾期未还款查询 (overdue installments), 将到期还款查询 (installments due soon) and
小额贷款违约 (loans declared in default, with the collection actions taken).

(Not to be confused with app/services/defaults.py, the seed data.)

The two installment lists are one set-based SELECT each (installment ⋈ loan ⋈ customer ⋈
officer ⋈ branch ⋈ product) with the filters in SQL, a COUNT and LIMIT/OFFSET for a page,
and a streamed read for the Excel export: they stay fast on 100,000 loans. Penalty and
compound interest are the installment's crystallised amounts still owed plus what accrued
since (the arithmetic of app.services.repayments.pending_charges), as of the business date.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from app.domain.errors import DomainError
from app.domain.money import ZERO
from app.domain.servicing import compound_interest, overdue_days, penalty_interest
from app.extensions import db
from app.models import AppUser, Branch, Customer, Installment, Loan, LoanProduct
from app.models.post_loan import ACTION_KINDS, DefaultAction, LoanDefault
from app.services import excel, loans, settings
from app.services.query_hints import unindexed

#: 逾期天数 bands: code → (label, min days, max days or None).
OVERDUE_BANDS = {
    "1-30": ("1–30 天", 1, 30), "31-90": ("31–90 天", 31, 90), "91-180": ("91–180 天", 91, 180),
    "181-360": ("181–360 天", 181, 360), "361+": ("360 天以上", 361, None),
}
DEFAULT_DUE_SOON_DAYS = 7
MAX_DUE_SOON_DAYS = 366
DEFAULT_STATUSES_ALLOWED = ("active", "written_off")


@dataclass
class InstallmentFilters:
    """What the list screens filter on (all optional)."""

    branch_id: int = None
    officer_id: int = None
    band: str = None            # overdue list: an OVERDUE_BANDS code
    due_from: date = None
    due_to: date = None
    days: int = DEFAULT_DUE_SOON_DAYS   # due-soon list: the next N days
    q: str = None               # loan number or customer name


@dataclass
class InstallmentRow:
    installment_id: int
    loan_id: int
    loan_no: str
    customer_name: str
    mobile: str
    officer: str
    branch: str
    seq: int
    due_date: date
    days: int                   # overdue days (overdue list) or days to the due date (due soon)
    principal: Decimal          # still owed
    interest: Decimal
    penalty: Decimal
    compound: Decimal

    @property
    def total(self):
        return self.principal + self.interest + self.penalty + self.compound


def _d(value):
    return Decimal(value if value is not None else 0).quantize(Decimal("0.01"))


_OFFICER = aliased(AppUser, name="officer")


def _base_query(user, filters=None, count=False):
    """The list's rows (``count``: their number — only the joins a filter needs, so a count
    does not look up every row's customer, officer, branch and product). On SQLite the loan's
    status and branch are kept off their indexes (``unindexed``): left to itself, SQLite
    drives the list from the loans (every active loan, with its customer, officer and
    product looked up) and sorts the result (0.39 s at 100,000 loans); so it walks the unpaid
    installments by due date, the list's own order, and stops at the page (7 ms)."""
    if count:
        query = select(func.count()).select_from(Installment).join(Loan, Loan.id == Installment.loan_id)
        if (filters.q or "").strip():
            query = query.join(Customer, Customer.id == Loan.customer_id)
        query = query.where(unindexed(Loan.status) == "active", Installment.paid_off_on.is_(None))
        visible = loans.visible_condition(user)
        return query.where(visible) if visible is not None else query
    query = (select(
        Installment.id, Installment.loan_id, Installment.seq, Installment.due_date, Installment.principal,
        Installment.principal_paid, Installment.interest, Installment.interest_paid, Installment.interest_waived,
        Installment.penalty, Installment.penalty_paid, Installment.penalty_waived, Installment.compound,
        Installment.compound_paid, Installment.compound_waived, Installment.accrued_to,
        Loan.loan_no, Loan.annual_rate, Customer.name.label("customer_name"), Customer.mobile,
        _OFFICER.real_name, _OFFICER.first_name, _OFFICER.last_name, _OFFICER.username,
        Branch.name.label("branch_name"), LoanProduct.penalty_markup_pct, LoanProduct.day_basis,
        LoanProduct.grace_days)
        .select_from(Installment).join(Loan, Loan.id == Installment.loan_id)
        .join(Customer, Customer.id == Loan.customer_id).join(_OFFICER, _OFFICER.id == Loan.officer_id)
        .join(Branch, Branch.id == unindexed(Loan.branch_id)).join(LoanProduct, LoanProduct.id == Loan.product_id)
        .where(unindexed(Loan.status) == "active", Installment.paid_off_on.is_(None)))
    visible = loans.visible_condition(user)
    return query.where(visible) if visible is not None else query


def _common_filters(query, filters):
    if filters.branch_id:
        query = query.where(Loan.branch_id == filters.branch_id)
    if filters.officer_id:
        query = query.where(Loan.officer_id == filters.officer_id)
    if filters.due_from:
        query = query.where(Installment.due_date >= filters.due_from)
    if filters.due_to:
        query = query.where(Installment.due_date <= filters.due_to)
    term = (filters.q or "").strip()
    if term:
        query = query.where(or_(Loan.loan_no.like(f"{term}%"), Customer.name.like(f"%{term}%")))
    return query


def overdue_query(filters, user, as_of, count=False):
    """Unpaid installments of active loans due before ``as_of`` (overdue from the day after);
    ``count``: their number."""
    query = _common_filters(_base_query(user, filters, count).where(Installment.due_date < as_of), filters)
    if filters.band:
        if filters.band not in OVERDUE_BANDS:
            raise DomainError("逾期天数区间无效", "band")
        _label, low, high = OVERDUE_BANDS[filters.band]
        query = query.where(Installment.due_date <= as_of - timedelta(days=low))
        if high is not None:
            query = query.where(Installment.due_date >= as_of - timedelta(days=high))
    return query if count else query.order_by(Installment.due_date, Loan.loan_no, Installment.seq)


def due_soon_query(filters, user, as_of, count=False):
    """Unpaid installments of active loans due from ``as_of`` to ``as_of`` + N days; ``count``:
    their number."""
    days = filters.days if filters.days is not None else DEFAULT_DUE_SOON_DAYS
    if not 0 <= days <= MAX_DUE_SOON_DAYS:
        raise DomainError(f"天数应在 0 至 {MAX_DUE_SOON_DAYS} 之间", "days")
    query = _common_filters(_base_query(user, filters, count).where(
        Installment.due_date >= as_of, Installment.due_date <= as_of + timedelta(days=days)), filters)
    return query if count else query.order_by(Installment.due_date, Loan.loan_no, Installment.seq)


def _row(r, as_of, overdue):
    principal = _d(r.principal) - _d(r.principal_paid)
    interest = _d(r.interest) - _d(r.interest_paid) - _d(r.interest_waived)
    penalty = _d(r.penalty) - _d(r.penalty_paid) - _d(r.penalty_waived)
    compound = _d(r.compound) - _d(r.compound_paid) - _d(r.compound_waived)
    late = overdue_days(r.due_date, as_of)
    if overdue and late > int(r.grace_days or 0):
        start = r.accrued_to or r.due_date
        days = (as_of - start).days
        if days > 0:
            rate, markup, basis = Decimal(r.annual_rate), Decimal(r.penalty_markup_pct), int(r.day_basis)
            penalty += penalty_interest(principal, rate, markup, days, basis)
            compound += compound_interest(interest, rate, markup, days, basis)
    officer = r.real_name or f"{r.last_name or ''}{r.first_name or ''}" or r.username
    return InstallmentRow(
        installment_id=r.id, loan_id=r.loan_id, loan_no=r.loan_no, customer_name=r.customer_name,
        mobile=r.mobile or "", officer=officer, branch=r.branch_name, seq=r.seq, due_date=r.due_date,
        days=late if overdue else (r.due_date - as_of).days, principal=principal, interest=interest,
        penalty=max(penalty, ZERO), compound=max(compound, ZERO))


@dataclass
class Page:
    rows: list
    count: int
    page: int
    page_size: int
    as_of: date

    @property
    def pages(self):
        return max(1, -(-self.count // self.page_size))


def _page(query, count_query, as_of, overdue, page, page_size):
    count = db.session.execute(count_query).scalar_one()
    page = max(0, min(page or 0, max(0, (count - 1) // page_size)))
    rows = [_row(r, as_of, overdue) for r in db.session.execute(query.limit(page_size).offset(page * page_size))]
    return Page(rows=rows, count=count, page=page, page_size=page_size, as_of=as_of)


def overdue_installments(filters, user=None, as_of=None, page=0, page_size=50):
    """逾期未还款查询: one page of overdue installments and the total count."""
    as_of = as_of or settings.business_date()
    return _page(overdue_query(filters, user, as_of), overdue_query(filters, user, as_of, count=True), as_of, True,
                 page, page_size)


def due_soon_installments(filters, user=None, as_of=None, page=0, page_size=50):
    """将到期还款查询: one page of installments due in the next N days and the count."""
    as_of = as_of or settings.business_date()
    return _page(due_soon_query(filters, user, as_of), due_soon_query(filters, user, as_of, count=True), as_of, False,
                 page, page_size)


def _stream(query, as_of, overdue):
    result = db.session.execute(query.execution_options(yield_per=2000))
    for r in result:
        yield _row(r, as_of, overdue)


def _columns(days_header):
    return [excel.Column("业务编号", width=18), excel.Column("客户", width=16), excel.Column("联系电话", width=14),
            excel.Column("客户经理", width=10), excel.Column("机构", width=12), excel.Column("期次", kind="int", width=6),
            excel.Column("应还日期", kind="date", width=12), excel.Column(days_header, kind="int", width=10),
            excel.Column("本金", kind="money", total=True), excel.Column("利息", kind="money", total=True),
            excel.Column("罚息", kind="money", total=True), excel.Column("复利", kind="money", total=True),
            excel.Column("合计", kind="money", total=True)]


def _cells(row):
    return [row.loan_no, row.customer_name, row.mobile, row.officer, row.branch, row.seq, row.due_date, row.days,
            row.principal, row.interest, row.penalty, row.compound, row.total]


def _params(filters, as_of):
    params = [("营业日期", as_of.isoformat())]
    if filters.band:
        params.append(("逾期天数", OVERDUE_BANDS.get(filters.band, (filters.band,))[0]))
    if filters.due_from or filters.due_to:
        params.append(("应还日期", f"{filters.due_from or ''} 至 {filters.due_to or ''}"))
    if filters.q:
        params.append(("关键字", filters.q))
    return params


def overdue_workbook(filters, user=None, as_of=None):
    as_of = as_of or settings.business_date()
    rows = (_cells(r) for r in _stream(overdue_query(filters, user, as_of), as_of, True))
    return excel.write_workbook(_columns("逾期天数"), rows, title="逾期未还款查询", params=_params(filters, as_of),
                                constant_memory=True)


def due_soon_workbook(filters, user=None, as_of=None):
    as_of = as_of or settings.business_date()
    rows = (_cells(r) for r in _stream(due_soon_query(filters, user, as_of), as_of, False))
    params = _params(filters, as_of) + [("天数", str(filters.days))]
    return excel.write_workbook(_columns("距到期天数"), rows, title="将到期还款查询", params=params,
                                constant_memory=True)


# -- 小额贷款违约 ------------------------------------------------------------------------------
def check_declaration(item, user):
    """Validate a default declaration in place (form and service)."""
    loan = item.loan
    if loan is None or not loans.can_see(loan, user):
        raise DomainError("请选择项目（项目不存在或无权访问）", "loan")
    if loan.status not in DEFAULT_STATUSES_ALLOWED:
        raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，不能认定违约", "loan")
    existing = db.session.execute(select(LoanDefault.id).where(
        LoanDefault.loan_id == loan.id, LoanDefault.id != (item.id or 0))).first()
    if existing:
        raise DomainError(f"项目 {loan.loan_no} 已认定违约，请在原违约记录中登记处置措施", "loan")
    today = settings.business_date()
    if item.declared_on is None:
        raise DomainError("请填写认定日期", "declared_on")
    if item.declared_on > today:
        raise DomainError(f"认定日期不能晚于营业日期 {today}", "declared_on")
    if loan.start_date and item.declared_on < loan.start_date:
        raise DomainError(f"认定日期不能早于放款日期 {loan.start_date}", "declared_on")
    item.reason = (item.reason or "").strip()
    if not item.reason:
        raise DomainError("请填写违约原因", "reason")
    item.branch_id = loan.branch_id
    item.status = item.status or "open"
    item.declared_by_id = item.declared_by_id or getattr(user, "id", None)


def declare(loan_id, declared_on, reason, user):
    """认定违约; commits. Returns the LoanDefault."""
    item = LoanDefault(loan=db.session.get(Loan, loan_id), declared_on=declared_on, reason=reason)
    try:
        with db.session.no_autoflush:
            check_declaration(item, user)
        db.session.add(item)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def check_action(item, user):
    """Validate a collection action in place (form and service)."""
    default = item.default
    if default is None or not loans.can_see(default.loan, user):
        raise DomainError("请选择违约记录", "default")
    if default.status != "open":
        # No field: the add form opened from the default's page does not show the field.
        raise DomainError("违约记录已结案，不能再登记处置措施")
    if item.kind not in ACTION_KINDS:
        raise DomainError("请选择措施类型（电话催收、催收函、上门、诉讼或其他）", "kind")
    today = settings.business_date()
    if item.action_on is None:
        raise DomainError("请填写措施日期", "action_on")
    if item.action_on > today:
        raise DomainError(f"措施日期不能晚于营业日期 {today}", "action_on")
    if item.action_on < default.declared_on:
        raise DomainError(f"措施日期不能早于违约认定日期 {default.declared_on}", "action_on")
    item.description = (item.description or "").strip()
    if not item.description:
        raise DomainError("请填写措施内容", "description")
    if item.next_on and item.next_on < item.action_on:
        raise DomainError("下一步日期不能早于措施日期", "next_on")
    item.recorded_by_id = item.recorded_by_id or getattr(user, "id", None)


def add_action(default_id, values, user):
    """登记处置措施; commits. ``values``: action_on, kind, description, outcome, next_step, next_on."""
    item = DefaultAction(default=db.session.get(LoanDefault, default_id), **values)
    try:
        with db.session.no_autoflush:
            check_action(item, user)
        db.session.add(item)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def resolve(default_id, resolved_on, resolution, user):
    """结案: the default is settled (repaid, written off, judgment enforced …); commits."""
    item = db.session.get(LoanDefault, default_id)
    if item is None or not loans.can_see(item.loan, user):
        raise DomainError("违约记录不存在或无权访问")
    if item.status != "open":
        raise DomainError("违约记录已结案")
    today = settings.business_date()
    if resolved_on is None or resolved_on > today or resolved_on < item.declared_on:
        raise DomainError(f"结案日期应在认定日期 {item.declared_on} 与营业日期 {today} 之间", "resolved_on")
    resolution = (resolution or "").strip()
    if not resolution:
        raise DomainError("请填写结案说明", "resolution")
    item.status, item.resolved_on, item.resolution = "resolved", resolved_on, resolution
    db.session.commit()
    return item


def defaults_workbook(rows):
    """小额贷款违约 export: one line per default with its latest action."""
    columns = [excel.Column("业务编号", width=18), excel.Column("客户", width=16), excel.Column("客户经理", width=10),
               excel.Column("机构", width=12), excel.Column("认定日期", kind="date", width=12),
               excel.Column("违约原因", width=30), excel.Column("认定人", width=10), excel.Column("状态", width=8),
               excel.Column("措施数", kind="int", width=8), excel.Column("最近措施", width=40),
               excel.Column("结案日期", kind="date", width=12)]

    def cells(item):
        last = item.actions[-1] if item.actions else None
        latest = f"{last.action_on} {last.kind_label}：{last.description}（{last.outcome or ''}）" if last else ""
        return [item.loan.loan_no, item.customer_name, str(item.officer or ""), str(item.branch or ""),
                item.declared_on, item.reason, str(item.declared_by or ""), item.status_label, len(item.actions),
                latest, item.resolved_on]

    return excel.write_workbook(columns, (cells(item) for item in rows), title="小额贷款违约",
                                params=[("营业日期", settings.business_date().isoformat())])

