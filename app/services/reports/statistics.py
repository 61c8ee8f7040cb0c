"""贷款业务统计, 业务分析 and 贷款发放报表 (issue #11 §2 and §4).

贷款业务统计 is six lists (``TABS``), each with a period or a statistics date, the filters
branch / product / officer / loan status / keyword, the user's data scope, a page of rows
(LIMIT / OFFSET), a summary by one breakdown and totals over *every* filtered row. The page,
the summary and the export all run the same SELECT (``Tab.query``), so they cannot disagree:

- ``registered`` 登记贷款: loans registered (``Loan.created_at``) in the period, by status;
- ``pending``    待还款:   installments falling due in the period and not paid off, what is
                          still owed on them (principal, interest), by already overdue / due
                          today / not yet due (against the business date);
- ``repaid``     已还款:   what receipts in the period paid on each installment (their
                          allocation lines: principal, interest, 罚息, 复利; reversed receipts
                          excluded) with 提前 / 按期 / 逾期 against its due date, by receipt kind;
                          the summary sums the receipts' stored totals (Repayment.set_totals:
                          罚息, 复利 and the number of installments paid are kept with the
                          receipt), a page reads the lines of its own receipts only;
- ``overdue``    逾期:     loans with an installment due before the statistics date and not
                          paid off by it: overdue principal, interest, 罚息, 复利 and the
                          principal balance (ledger 1301) at that date, by overdue-days band of
                          the oldest overdue installment (1–30, 31–90, 91–180, 181–360, > 360);
- ``maturity``   到期:     loans whose maturity (last due date) falls in the period;
- ``upcoming``   即将到期: active loans maturing in the next N days (default 30) from the date.

For a statistics date before the business date the overdue principal and interest are those
owed at the end of that date (what receipts after it paid is added back); 罚息 and 复利 are the
nightly batch's figures (its last run) plus what receipts after the date paid of them.

业务分析 (``analysis``) charts the same figures: 12 months of registered / disbursed /
principal recovered, due (scheduled principal + interest) vs received (principal, interest,
罚息, 复利) vs still unpaid per month, overdue by band, and disbursements by product and by
branch; each series is the figure of the matching list or report for the same window, which
the tests check.

贷款发放报表 (``disbursement_summary``): disbursements in a period by month × product (with
month subtotals) and by branch: count, amount, average amount, weighted average annual rate
(weights: the amounts) and average term in months; every subtotal and total is recomputed
from the sums, so they add up. The row detail is business.py's 贷款发放明细表.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Date, and_, case, extract, func, literal, select, type_coerce
from sqlalchemy.orm import aliased

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Branch, Customer, Installment, Loan, LoanProduct
from app.models.loan import LOAN_STATUSES
from app.models.servicing import REPAYMENT_KINDS, Disbursement, Repayment, RepaymentLine
from app.services import loan_defaults, repayments, settings
from app.services.excel import Column
from app.services.reports import common
from app.services.reports.business import _loan_filters
from app.services.reports.common import ZERO, money

#: 逾期天数 bands [(code, label, min days, max days or None)]: 逾期未还款查询's, in order.
OVERDUE_BANDS = [(code, label, low, high) for code, (label, low, high) in loan_defaults.OVERDUE_BANDS.items()]
DISBURSED_STATUSES = ("active", "settled", "written_off", "closed")
DEFAULT_UPCOMING_DAYS = 30
MAX_UPCOMING_DAYS = 366
PAGE_SIZE = 50
PRINT_PAGE_SIZE = 1000
LOAN_COMPONENTS = ("principal", "interest", "penalty", "compound")
RATE_PLACES = Decimal("0.0001")
TERM_PLACES = Decimal("0.01")
#: Colours of the loan statuses in the 登记贷款 list and its legend.
STATUS_COLOURS = {
    "draft": "#9e9e9e", "in_approval": "#1e88e5", "returned": "#fb8c00", "rejected": "#e53935",
    "approved": "#00897b", "contracted": "#3949ab", "disbursing": "#8e24aa", "ready_to_disburse": "#6d4c41",
    "active": "#43a047", "settled": "#546e7a", "written_off": "#000000", "closed": "#78909c",
}

Officer = aliased(AppUser, name="officer")
OFFICER_NAME = func.coalesce(Officer.real_name, Officer.username)


# -- filters ----------------------------------------------------------------------------------
@dataclass
class StatFilters:
    """What a statistics page filters on; ``resolve()`` fills the defaults (this month, the
    business date, 30 days) and checks the values."""

    start: date = None
    end: date = None
    as_of: date = None
    days: int = None
    branch_id: int = None
    product_id: int = None
    officer_id: int = None
    status: str = None
    keyword: str = None

    def resolve(self, default_start=None):
        as_of = self.as_of or settings.business_date()
        start = self.start or (default_start(as_of) if default_start else common.month_start(as_of))
        end = self.end or max(common.month_end(as_of), common.month_end(start))
        if start > end:
            raise DomainError(f"开始日期 {start} 不能晚于结束日期 {end}", "start")
        days = DEFAULT_UPCOMING_DAYS if self.days is None else int(self.days)
        if not 0 <= days <= MAX_UPCOMING_DAYS:
            raise DomainError(f"天数应在 0 至 {MAX_UPCOMING_DAYS} 之间", "days")
        if self.status and self.status not in LOAN_STATUSES:
            raise DomainError(f"贷款状态“{self.status}”无效", "status")
        return StatFilters(start, end, as_of, days, self.branch_id, self.product_id, self.officer_id, self.status,
                           (self.keyword or "").strip()[:50] or None)

    def params(self, tab=None):
        """[(caption, value)] for the top of a print view or a workbook."""
        items = []
        if tab is None or tab.period:
            items.append((tab.period if tab else "统计期间", f"{self.start} 至 {self.end}"))
        if tab is None or tab.uses_as_of:
            items.append(("统计日期", self.as_of.isoformat()))
        if tab is not None and tab.uses_days:
            items.append(("到期天数", f"{self.as_of} 起 {self.days} 天内（至 {self.as_of + timedelta(days=self.days)}）"))
        if self.branch_id:
            items.append(("机构", _name(Branch, self.branch_id)))
        if self.product_id:
            items.append(("产品", _name(LoanProduct, self.product_id)))
        if self.officer_id:
            user = db.session.get(AppUser, self.officer_id)
            items.append(("客户经理", user.display_name if user else self.officer_id))
        if self.status:
            items.append(("贷款状态", LOAN_STATUSES.get(self.status, self.status)))
        if self.keyword:
            items.append(("关键字", self.keyword))
        return items


def _name(model, pk):
    row = db.session.get(model, pk)
    return row.name if row else pk


def _loan_joins(query, filters, lean=False):
    """Join what the columns show; ``lean`` (the summary, which shows no names): only what the
    filters need, so counting and summing every row joins no display table."""
    if lean:
        return query.join(Customer, Customer.id == Loan.customer_id) if filters.keyword else query
    return (query.join(Customer, Customer.id == Loan.customer_id).join(Branch, Branch.id == Loan.branch_id)
            .join(LoanProduct, LoanProduct.id == Loan.product_id).join(Officer, Officer.id == Loan.officer_id))


def _loan_columns(lean=False):
    columns = [Loan.id.label("loan_id"), Loan.status.label("status")]
    if lean:
        return columns
    return columns + [Loan.loan_no.label("loan_no"), Customer.name.label("customer"), Branch.name.label("branch"),
                      OFFICER_NAME.label("officer"), LoanProduct.name.label("product")]


def _day(value):
    return type_coerce(value, Date)


def _day_start(day):
    return datetime.combine(day, time.min)


# -- the tabs ---------------------------------------------------------------------------------
@dataclass
class Field:
    key: str
    column: Column
    label_map: dict = None          # code → label for code columns
    compute: object = None          # callable(mapping, filters) → value, for derived columns


@dataclass
class Tab:
    code: str
    title: str
    description: str
    fields: list
    query: object                   # callable(filters, user, lean=False) → Select with labelled columns
    #                                 incl. "grp" and the total columns (lean: only those, for the summary)
    group_caption: str
    groups: object                  # callable(filters) → [(code, label)] in display order
    count_caption: str = "笔数"
    period: str = None              # caption of the period, None: the tab uses no period
    uses_as_of: bool = False
    uses_days: bool = False
    statuses: dict = field(default_factory=dict)
    rows_key: str = None            # a column of the lean query holding how many rows each of its
    #                                 rows stands for (None: one each)
    paged: object = None            # callable(filters, user, limit, offset) → the page's Select,
    #                                 when a cheaper one than tab.query + LIMIT / OFFSET exists

    @property
    def columns(self):
        return [f.column for f in self.fields]

    @property
    def total_keys(self):
        return [f.key for f in self.fields if f.column.total]

    def cells(self, mapping, filters):
        return [common.cell(f, f.compute(mapping, filters) if f.compute else mapping[f.key]) for f in self.fields]


TABS = {}


def _register(tab):
    TABS[tab.code] = tab
    return tab


def _statuses(codes):
    return {c: LOAN_STATUSES[c] for c in codes}


LOAN_NO = Field("loan_no", Column("业务编号", width=18))
CUSTOMER = Field("customer", Column("客户名称", width=20))
BRANCH = Field("branch", Column("机构", width=14))
OFFICER = Field("officer", Column("客户经理", width=10))
PRODUCT = Field("product", Column("贷款产品", width=14))
STATUS = Field("status", Column("贷款状态", width=10), LOAN_STATUSES)


# 登记贷款 ------------------------------------------------------------------------------------
def _registered_query(filters, user, lean=False):
    query = _loan_joins(select(
        *_loan_columns(lean), Loan.created_at.label("registered_at"), Loan.amount.label("amount"),
        Loan.annual_rate.label("rate"), Loan.term.label("term"), Loan.status.label("grp")).select_from(Loan),
        filters, lean)
    query = query.where(Loan.created_at >= _day_start(filters.start),
                        Loan.created_at < _day_start(filters.end + timedelta(days=1)))
    return _loan_filters(query, filters, user).order_by(Loan.created_at, Loan.id)


_register(Tab(
    "registered", "登记贷款", "期间内登记（新建）的贷款，按贷款状态着色并汇总笔数与金额。",
    [Field("registered_at", Column("登记时间", "datetime")), LOAN_NO, CUSTOMER, BRANCH, OFFICER, PRODUCT,
     Field("amount", Column("贷款金额（元）", "money", total=True)), Field("rate", Column("年利率（%）", "rate")),
     Field("term", Column("期限（期）", "int")), STATUS],
    _registered_query, "按贷款状态", lambda filters: list(LOAN_STATUSES.items()), period="登记日期",
    statuses=dict(LOAN_STATUSES)))


# 待还款 --------------------------------------------------------------------------------------
PENDING_GROUPS = [("overdue", "已逾期"), ("today", "今日到期"), ("future", "未到期")]


def _pending_query(filters, user, lean=False):
    today = settings.business_date()
    principal = Installment.principal - Installment.principal_paid
    interest = Installment.interest - Installment.interest_paid - Installment.interest_waived
    query = _loan_joins(select(
        *_loan_columns(lean), Installment.id.label("id"), Installment.seq.label("seq"),
        Installment.due_date.label("due_date"), principal.label("principal"), interest.label("interest"),
        (principal + interest).label("total"),
        case((Installment.due_date < _day(today), literal("overdue")),
             (Installment.due_date == _day(today), literal("today")), else_=literal("future")).label("grp"))
        .select_from(Installment).join(Loan, Loan.id == Installment.loan_id), filters, lean)
    query = query.where(common.between(Installment.due_date, filters.start, filters.end),
                        Installment.paid_off_on.is_(None))
    return _loan_filters(query, filters, user, ("active",)).order_by(Installment.due_date, Loan.loan_no,
                                                                     Installment.seq)


_register(Tab(
    "pending", "待还款", "应还日期在期间内、尚未还清的还款计划：尚欠本金与利息（截至营业日期）。",
    [Field("due_date", Column("应还日期", "date")), LOAN_NO, CUSTOMER, BRANCH, OFFICER, PRODUCT,
     Field("seq", Column("期次", "int", width=6)),
     Field("principal", Column("待还本金（元）", "money", total=True)),
     Field("interest", Column("待还利息（元）", "money", total=True)),
     Field("total", Column("待还本息合计（元）", "money", total=True)),
     Field("grp", Column("到期情况", width=10), dict(PENDING_GROUPS))],
    _pending_query, "按到期情况", lambda filters: PENDING_GROUPS, count_caption="期数", period="应还日期",
    statuses=_statuses(DISBURSED_STATUSES)))


# 已还款 --------------------------------------------------------------------------------------
TIMELINESS = [("early", "提前还款"), ("on_time", "按期还款"), ("late", "逾期还款")]
RECEIPT_KINDS = [(k, REPAYMENT_KINDS[k]) for k in ("repayment", "prepayment", "settlement", "recovery", "compensation")]


def _sum_component(name):
    return func.coalesce(func.sum(case((RepaymentLine.component == name, RepaymentLine.amount), else_=literal(0))),
                         0).label(name)


def _repaid_receipts(filters, user, *columns):
    """The receipts of the period that list rows (standing, with principal / interest / 罚息 /
    复利 lines: ``installment_count`` > 0), filtered; joins the loan only when a filter or the
    data scope needs it."""
    query = select(*columns).select_from(Repayment).where(
        common.between(Repayment.received_on, filters.start, filters.end), repayments.standing(),
        Repayment.installment_count > 0)
    return _with_loan(query, Repayment.loan_id, filters, user)


def _repaid_summary_rows(filters, user):
    """The summary's source: one row per receipt from its stored totals (Repayment.set_totals:
    the sums of its lines), ``rows`` = the installments it paid, i.e. the list's rows."""
    return _repaid_receipts(
        filters, user, Repayment.kind.label("grp"), Repayment.installment_count.label("rows"),
        Repayment.principal_amount.label("principal"),
        (Repayment.interest_amount - Repayment.penalty_amount - Repayment.compound_amount).label("interest"),
        Repayment.penalty_amount.label("penalty"), Repayment.compound_amount.label("compound"),
        (Repayment.principal_amount + Repayment.interest_amount).label("total"))


def _repaid_query(filters, user, lean=False, receipt_ids=None):
    """Per receipt and installment (its lines grouped); the summary (``lean``) reads the
    receipts' stored totals instead. ``receipt_ids``: only these receipts' lines (a page)."""
    if lean:
        return _repaid_summary_rows(filters, user)
    in_period = common.between(Repayment.received_on, filters.start, filters.end)
    lines = (select(RepaymentLine.repayment_id, RepaymentLine.installment_id,
                    func.max(RepaymentLine.seq).label("seq"), *[_sum_component(c) for c in LOAN_COMPONENTS])
             .join(Repayment, Repayment.id == RepaymentLine.repayment_id)
             .where(in_period, repayments.standing(), RepaymentLine.component.in_(LOAN_COMPONENTS)))
    if receipt_ids is not None:
        lines = lines.where(RepaymentLine.repayment_id.in_(receipt_ids))
    lines = lines.group_by(RepaymentLine.repayment_id, RepaymentLine.installment_id).subquery("lines")
    columns = [*_loan_columns(lean), Repayment.id.label("id"), Repayment.received_on.label("received_on"),
               Repayment.receipt_no.label("receipt_no"), lines.c.seq, lines.c.principal, lines.c.interest,
               lines.c.penalty, lines.c.compound,
               (lines.c.principal + lines.c.interest + lines.c.penalty + lines.c.compound).label("total"),
               Repayment.kind.label("grp")]
    query = (select(*columns).select_from(lines).join(Repayment, Repayment.id == lines.c.repayment_id)
             .join(Loan, Loan.id == Repayment.loan_id))
    if not lean:
        early = and_(Repayment.kind.in_(("prepayment", "settlement")), Repayment.received_on < Installment.due_date)
        timeliness = case((early, literal("early")), (Repayment.received_on <= Installment.due_date, literal("on_time")),
                          (Installment.due_date.is_(None), literal("on_time")), else_=literal("late"))
        query = query.add_columns(Installment.due_date.label("due_date"), timeliness.label("timeliness")).outerjoin(
            Installment, Installment.id == lines.c.installment_id)
    query = _loan_filters(_loan_joins(query, filters, lean).where(in_period), filters, user)
    return query.order_by(Repayment.received_on, Repayment.id, lines.c.seq)


def _repaid_page(filters, user, limit, offset):
    """A page of 已还款: each listed receipt has at least one row, so the first offset + limit
    receipts (in the list's order) hold the page; only their lines are read."""
    first = _repaid_receipts(filters, user, Repayment.id).order_by(Repayment.received_on, Repayment.id).limit(
        offset + limit)
    return _repaid_query(filters, user, receipt_ids=first).limit(limit).offset(offset)


_register(Tab(
    "repaid", "已还款", "期间内收款（已冲正的不计）按期次分配的本金、利息、罚息、复利，及按应还日期看的还款情况。",
    [Field("received_on", Column("收款日期", "date")), Field("receipt_no", Column("收款单号", width=18)),
     LOAN_NO, CUSTOMER, BRANCH, OFFICER, Field("seq", Column("期次", "int", width=6)),
     Field("due_date", Column("应还日期", "date")),
     Field("principal", Column("本金（元）", "money", total=True)),
     Field("interest", Column("利息（元）", "money", total=True)),
     Field("penalty", Column("罚息（元）", "money", total=True)),
     Field("compound", Column("复利（元）", "money", total=True)),
     Field("total", Column("合计（元）", "money", total=True)),
     Field("timeliness", Column("还款情况", width=10), dict(TIMELINESS)),
     Field("grp", Column("收款类型", width=10), dict(REPAYMENT_KINDS))],
    _repaid_query, "按收款类型", lambda filters: RECEIPT_KINDS, count_caption="笔数（期次）", period="收款日期",
    statuses=_statuses(DISBURSED_STATUSES), rows_key="rows", paged=_repaid_page))


# 逾期 ----------------------------------------------------------------------------------------
def band_expr(earliest, as_of):
    """SQL: the OVERDUE_BANDS code of an oldest overdue due date ``earliest`` at ``as_of``."""
    whens = [(earliest >= _day(as_of - timedelta(days=high)), literal(code))
             for code, _label, _low, high in OVERDUE_BANDS if high is not None]
    return case(*whens, else_=literal(OVERDUE_BANDS[-1][0]))


def _paid_after(as_of, installment_ids):
    """Per installment of ``installment_ids``, what standing receipts dated after ``as_of`` paid
    of each component."""
    return (select(RepaymentLine.installment_id, *[_sum_component(c) for c in LOAN_COMPONENTS])
            .join(Repayment, Repayment.id == RepaymentLine.repayment_id)
            .where(Repayment.received_on > _day(as_of), repayments.standing(),
                   RepaymentLine.installment_id.in_(installment_ids), RepaymentLine.component.in_(LOAN_COMPONENTS))
            .group_by(RepaymentLine.installment_id).subquery("paid_after"))


def _overdue_per_loan(as_of):
    """Subquery (loan_id, earliest, periods, principal, interest, penalty, compound) of the
    installments due before ``as_of`` and not paid off by its end. The installments are picked
    in a CTE of their own (common.materialized: the partial index on unpaid due dates), then
    grouped by loan; for a past date, what receipts after it paid on them is added back."""
    rows = common.overdue_rows(
        as_of, "od_rows", Installment.id, Installment.loan_id, Installment.due_date,
        (Installment.principal - Installment.principal_paid).label("principal"),
        (Installment.interest - Installment.interest_paid - Installment.interest_waived).label("interest"),
        (Installment.penalty - Installment.penalty_paid - Installment.penalty_waived
         + Installment.penalty_pending).label("penalty"),
        (Installment.compound - Installment.compound_paid - Installment.compound_waived
         + Installment.compound_pending).label("compound"))
    figures = [rows.c[k] for k in LOAN_COMPONENTS]
    query = select(rows.c.loan_id, rows.c.due_date)
    if as_of < settings.business_date():
        after = _paid_after(as_of, select(rows.c.id))
        query = query.outerjoin(after, after.c.installment_id == rows.c.id)
        figures = [f + func.coalesce(after.c[k], 0) for f, k in zip(figures, LOAN_COMPONENTS)]
    per_row = query.add_columns(*[f.label(k) for f, k in zip(figures, LOAN_COMPONENTS)]).subquery("od_row")
    return (select(per_row.c.loan_id, func.min(per_row.c.due_date).label("earliest"), func.count().label("periods"),
                   *[func.sum(per_row.c[k]).label(k) for k in LOAN_COMPONENTS])
            .group_by(per_row.c.loan_id).subquery("od"))


def _overdue_query(filters, user, lean=False):
    as_of = filters.as_of
    od = _overdue_per_loan(as_of)
    # nonzero: a loan without a balance row reads 0 (the outer join), so the loans' stored balances
    # serve when no voucher is dated after as_of; else the journal, read for the overdue loans only.
    latest = common.last_voucher_date()
    stored = latest is None or as_of >= latest
    bal = common.balances([as_of], loan_ids=None if stored else select(od.c.loan_id), nonzero=True,
                          materialize=not stored)
    query = _loan_joins(select(
        *_loan_columns(lean), Loan.id.label("id"), Loan.amount.label("amount"),
        func.coalesce(bal.c.b0, 0).label("balance"), od.c.earliest, od.c.periods, od.c.principal, od.c.interest,
        od.c.penalty, od.c.compound, (od.c.principal + od.c.interest + od.c.penalty + od.c.compound).label("total"),
        band_expr(od.c.earliest, as_of).label("grp"))
        .select_from(od).join(Loan, Loan.id == od.c.loan_id), filters, lean).outerjoin(bal, bal.c.loan_id == Loan.id)
    query = _loan_filters(query, filters, user, ("active", "settled", "closed"))
    return query.order_by(od.c.earliest, Loan.loan_no)


_register(Tab(
    "overdue", "逾期", "统计日有逾期未还期次的贷款：逾期本金、利息、罚息、复利与本金余额，按最早逾期期次的逾期天数分档。",
    [LOAN_NO, CUSTOMER, BRANCH, OFFICER, PRODUCT, Field("amount", Column("贷款金额（元）", "money", total=True)),
     Field("balance", Column("本金余额（元）", "money", total=True)),
     Field("earliest", Column("最早逾期应还日", "date")),
     Field("days", Column("逾期天数", "int"), compute=lambda m, f: (f.as_of - m["earliest"]).days),
     Field("grp", Column("逾期区间", width=12), {c: label for c, label, _l, _h in OVERDUE_BANDS}),
     Field("periods", Column("逾期期数", "int", total=True)),
     Field("principal", Column("逾期本金（元）", "money", total=True)),
     Field("interest", Column("逾期利息（元）", "money", total=True)),
     Field("penalty", Column("罚息（元）", "money", total=True)),
     Field("compound", Column("复利（元）", "money", total=True)),
     Field("total", Column("逾期本息合计（元）", "money", total=True))],
    _overdue_query, "按逾期天数", lambda filters: [(c, label) for c, label, _l, _h in OVERDUE_BANDS],
    uses_as_of=True, statuses=_statuses(DISBURSED_STATUSES)))


# 到期 / 即将到期 --------------------------------------------------------------------------------
MATURITY_GROUPS = [("settled", "已结清"), ("written_off", "已核销"), ("overdue", "到期未还"), ("pending", "未到期")]
UPCOMING_BUCKETS = [("0-7", "7 天内", 0, 7), ("8-15", "8–15 天", 8, 15), ("16-30", "16–30 天", 16, 30),
                    ("31+", "30 天以上", 31, None)]


def _maturity_base(start, end, lean=False):
    """Subquery (loan_id, maturity, principal, interest): loans whose last due date is in
    [start, end], with what is still unpaid on their whole schedule. The loans with a due date
    in the window (index) are grouped, and a loan is kept when it has no due date after ``end``
    (one probe of ix_installment_loan_due per loan, not per installment; a CTE computed once);
    the unpaid sums are read per loan through its installments' index."""
    later = aliased(Installment, name="later")
    last = common.materialized(
        select(Installment.loan_id, func.max(Installment.due_date).label("maturity"))
        .where(common.between(Installment.due_date, start, end))
        .group_by(Installment.loan_id)
        .having(~select(later.id).where(later.loan_id == Installment.loan_id,
                                        later.due_date > type_coerce(end, Date)).exists()), "last_due")

    def owed(expr):
        return (select(func.coalesce(func.sum(expr), 0)).where(Installment.loan_id == last.c.loan_id)
                .correlate(last).scalar_subquery())

    query = select(last.c.loan_id, last.c.maturity,
                   owed(Installment.principal - Installment.principal_paid).label("principal"),
                   owed(Installment.interest - Installment.interest_paid - Installment.interest_waived)
                   .label("interest"))
    # The summary sums every loan's figures (and their total): computed once per loan in a CTE,
    # not once per use; a page computes them for its rows only.
    return common.materialized(query, "mat") if lean else query.subquery("mat")


def _maturity_select(mat, grp, filters, lean):
    return _loan_joins(select(
        *_loan_columns(lean), Loan.id.label("id"), Loan.amount.label("amount"), Disbursement.disbursed_on.label("paid_on"),
        mat.c.maturity, mat.c.principal, mat.c.interest, (mat.c.principal + mat.c.interest).label("total"),
        grp.label("grp"))
        .select_from(mat).join(Loan, Loan.id == mat.c.loan_id), filters, lean).outerjoin(
        Disbursement, Disbursement.loan_id == Loan.id)


def _maturity_query(filters, user, lean=False):
    mat = _maturity_base(filters.start, filters.end, lean)
    today = settings.business_date()
    grp = case((Loan.status.in_(("settled", "closed")), literal("settled")),
               (Loan.status == "written_off", literal("written_off")),
               (mat.c.maturity < _day(today), literal("overdue")), else_=literal("pending"))
    query = _loan_filters(_maturity_select(mat, grp, filters, lean), filters, user, DISBURSED_STATUSES)
    return query.order_by(mat.c.maturity, Loan.loan_no)


def _upcoming_query(filters, user, lean=False):
    last = filters.as_of + timedelta(days=filters.days)
    mat = _maturity_base(filters.as_of, last, lean)
    whens = [(mat.c.maturity <= _day(filters.as_of + timedelta(days=high)), literal(code))
             for code, _label, _low, high in UPCOMING_BUCKETS if high is not None]
    grp = case(*whens, else_=literal(UPCOMING_BUCKETS[-1][0]))
    query = _loan_filters(_maturity_select(mat, grp, filters, lean), filters, user, ("active",))
    return query.order_by(mat.c.maturity, Loan.loan_no)


_MATURITY_FIELDS = [LOAN_NO, CUSTOMER, BRANCH, OFFICER, PRODUCT,
                    Field("amount", Column("贷款金额（元）", "money", total=True)),
                    Field("paid_on", Column("放款日期", "date")), Field("maturity", Column("到期日", "date"))]
_UNPAID_FIELDS = [Field("principal", Column("未还本金（元）", "money", total=True)),
                  Field("interest", Column("未还利息（元）", "money", total=True)),
                  Field("total", Column("未还本息合计（元）", "money", total=True)), STATUS]

_register(Tab(
    "maturity", "到期", "到期日（最后一期应还日）在期间内的贷款及其未还本息。",
    _MATURITY_FIELDS + _UNPAID_FIELDS + [Field("grp", Column("到期情况", width=10), dict(MATURITY_GROUPS))],
    _maturity_query, "按到期情况", lambda filters: MATURITY_GROUPS, period="到期日",
    statuses=_statuses(DISBURSED_STATUSES)))

_register(Tab(
    "upcoming", "即将到期", "统计日起 N 天内（含当日）到期的在贷贷款，默认 30 天。",
    _MATURITY_FIELDS + [Field("days_left", Column("剩余天数", "int"),
                              compute=lambda m, f: (m["maturity"] - f.as_of).days)] + _UNPAID_FIELDS,
    _upcoming_query, "按剩余天数", lambda filters: [(c, label) for c, label, _l, _h in UPCOMING_BUCKETS],
    uses_as_of=True, uses_days=True, statuses=_statuses(DISBURSED_STATUSES)))


# -- reading a tab ----------------------------------------------------------------------------
@dataclass
class GroupRow:
    code: str
    label: str
    count: int
    sums: dict                      # total key → Σ


@dataclass
class TabPage:
    tab: Tab
    filters: StatFilters
    rows: list                      # [{"cells": [...], "status": code, "loan_id": id, "grp": code}]
    total_rows: int
    totals: dict                    # total key → Σ over every filtered row
    groups: list                    # [GroupRow] in display order (empty groups included)
    page: int
    page_size: int

    @property
    def pages(self):
        return max(1, -(-self.total_rows // self.page_size))


def summary(tab, filters, user):
    """([GroupRow], row count, totals): one grouped aggregate over every filtered row."""
    keys = tab.total_keys
    sub = tab.query(filters, user, lean=True).order_by(None).subquery("all_rows")
    rows = func.coalesce(func.sum(sub.c[tab.rows_key]), 0) if tab.rows_key else func.count()
    measures = [rows.label("n")] + [func.coalesce(func.sum(sub.c[k]), 0).label(k) for k in keys]
    found = {r.grp: r for r in db.session.execute(select(sub.c.grp, *measures).group_by(sub.c.grp))}
    kinds = {f.key: f.column.kind for f in tab.fields}

    def value(key, raw):
        return int(raw or 0) if kinds[key] == "int" else money(raw)

    groups = []
    known = set()
    for code, label in tab.groups(filters):
        known.add(code)
        r = found.get(code)
        groups.append(GroupRow(code, label, int(r.n) if r else 0,
                               {k: value(k, r._mapping[k] if r else 0) for k in keys}))
    labels = next((f.label_map for f in tab.fields if f.key == "grp" and f.label_map), {})
    for code, r in found.items():
        if code not in known:
            groups.append(GroupRow(code, labels.get(code, str(code)), int(r.n),
                                   {k: value(k, r._mapping[k]) for k in keys}))
    totals = {k: sum((g.sums[k] for g in groups), 0 if kinds[k] == "int" else ZERO) for k in keys}
    return groups, sum(g.count for g in groups), totals


def page(code, filters, user, page_no=1, page_size=PAGE_SIZE):
    tab = TABS[code]
    groups, total_rows, totals = summary(tab, filters, user)
    page_no = max(1, min(page_no, max(1, -(-total_rows // page_size))))
    rows = []
    if total_rows:
        offset = (page_no - 1) * page_size
        query = (tab.paged(filters, user, page_size, offset) if tab.paged
                 else tab.query(filters, user).limit(page_size).offset(offset))
        for mapping in db.session.execute(query).mappings():
            rows.append({"cells": tab.cells(mapping, filters), "status": mapping["status"],
                         "loan_id": mapping["loan_id"], "grp": mapping["grp"]})
    return TabPage(tab, filters, rows, total_rows, totals, groups, page_no, page_size)


def count(code, filters, user):
    tab = TABS[code]
    sub = tab.query(filters, user, lean=True).order_by(None).subquery()
    rows = func.sum(sub.c[tab.rows_key]) if tab.rows_key else func.count()
    return int(db.session.execute(select(rows).select_from(sub)).scalar() or 0)


def stream(code, filters, user, batch=2000):
    tab = TABS[code]
    result = db.session.execute(tab.query(filters, user).execution_options(yield_per=batch))
    for mapping in result.mappings():
        yield tab.cells(mapping, filters)


def workbook(code, filters, user, output=None):
    """The tab's rows as a formatted workbook (streamed; a 合计 row of SUM formulas)."""
    from app.services import excel

    tab = TABS[code]
    title = f"贷款业务统计——{tab.title}"
    return excel.write_workbook(tab.columns, stream(code, filters, user), title,
                                filters.params(tab) + [("单位", "元")], sheet_name=tab.title,
                                constant_memory=True, output=output)


# -- background export (more rows than the threshold) --------------------------------------------
def export_filters(values):
    """The filters of a queued export (reports.exports)."""
    from app.services.reports.exports import dates_from

    return StatFilters(**dates_from(values))


def export_title(code):
    return f"贷款业务统计——{TABS[code].title}"


# -- 贷款发放报表 --------------------------------------------------------------------------------
@dataclass
class Lending:
    """Sums of a set of disbursements; the averages are computed from them."""

    count: int = 0
    amount: Decimal = ZERO
    rate_weight: Decimal = Decimal(0)    # Σ amount × annual rate (%)
    term_months: Decimal = Decimal(0)    # Σ term in months

    def add(self, other):
        self.count += other.count
        self.amount += other.amount
        self.rate_weight += other.rate_weight
        self.term_months += other.term_months
        return self

    @property
    def average(self):
        return money(self.amount / self.count) if self.count else ZERO

    @property
    def rate(self):
        return (self.rate_weight / self.amount).quantize(RATE_PLACES) if self.amount else None

    @property
    def term(self):
        return (self.term_months / self.count).quantize(TERM_PLACES) if self.count else None


@dataclass
class SummaryRow:
    month: str                      # "2026-03"
    label: str                      # product or branch name, or 小计 / 合计
    figures: Lending


@dataclass
class MonthBlock:
    month: str
    rows: list                      # [SummaryRow] per product
    subtotal: Lending


@dataclass
class DisbursementSummary:
    filters: StatFilters
    months: list                    # [MonthBlock]
    branches: list                  # [SummaryRow] per branch
    products: list                  # [SummaryRow] per product, every month together
    total: Lending

    def check(self):
        """Problems, if any: the month subtotals, the branches and the products each add up to the total."""
        problems = []
        for caption, parts in (("月份", [b.subtotal for b in self.months]), ("机构", [r.figures for r in self.branches]),
                               ("产品", [r.figures for r in self.products])):
            s = Lending()
            for p in parts:
                s.add(p)
            if (s.count, s.amount, s.rate_weight, s.term_months) != (
                    self.total.count, self.total.amount, self.total.rate_weight, self.total.term_months):
                problems.append(caption)
        for block in self.months:
            s = Lending()
            for r in block.rows:
                s.add(r.figures)
            if (s.count, s.amount) != (block.subtotal.count, block.subtotal.amount):
                problems.append(block.month)
        return problems


def term_months_expr():
    """SQL: a loan's term in months (按季付息: quarters × 3; 按天: days ÷ 30; weeks × 7 ÷ 30)."""
    term = Loan.term   # SQLAlchemy 2 divides integers truly (a NUMERIC or REAL quotient) on every dialect
    return case((LoanProduct.period == "day", term / 30), (LoanProduct.period == "week", term * 7 / 30),
                (Loan.method == "quarterly_interest", term * 3), else_=term)


def _decimal(value):
    return Decimal(0) if value is None else (value if isinstance(value, Decimal) else Decimal(str(value)))


def disbursement_summary(filters, user):
    """贷款发放报表: one grouped aggregate (year, month, product, branch) rolled up here."""
    year, month = extract("year", Disbursement.disbursed_on), extract("month", Disbursement.disbursed_on)
    query = (select(year.label("y"), month.label("m"), Loan.product_id, Loan.branch_id, func.count().label("n"),
                    func.sum(Disbursement.amount).label("amount"),
                    func.sum(Disbursement.amount * Loan.annual_rate).label("weight"),
                    func.sum(term_months_expr()).label("months"))
             .select_from(Disbursement).join(Loan, Loan.id == Disbursement.loan_id)
             .join(Customer, Customer.id == Loan.customer_id).join(LoanProduct, LoanProduct.id == Loan.product_id)
             .where(common.between(Disbursement.disbursed_on, filters.start, filters.end)))
    query = _loan_filters(query, filters, user).group_by(year, month, Loan.product_id, Loan.branch_id)
    products = dict(db.session.execute(select(LoanProduct.id, LoanProduct.name)).all())
    branches = dict(db.session.execute(select(Branch.id, Branch.name)).all())
    cells, by_branch, by_product, total = {}, {}, {}, Lending()
    for r in db.session.execute(query):
        figures = Lending(int(r.n), money(r.amount), _decimal(r.weight), _decimal(r.months))
        key = f"{int(r.y):04d}-{int(r.m):02d}"
        cells.setdefault((key, r.product_id), Lending()).add(figures)
        by_branch.setdefault(r.branch_id, Lending()).add(figures)
        by_product.setdefault(r.product_id, Lending()).add(figures)
        total.add(figures)
    months = []
    for key in sorted({k for k, _ in cells}):
        rows = [SummaryRow(key, products.get(pid, str(pid)), cells[(k, pid)])
                for (k, pid) in sorted(cells, key=lambda c: (c[0], c[1])) if k == key]
        subtotal = Lending()
        for row in rows:
            subtotal.add(row.figures)
        months.append(MonthBlock(key, rows, subtotal))
    branch_rows = [SummaryRow("", branches.get(bid, str(bid)), by_branch[bid]) for bid in sorted(by_branch)]
    product_rows = [SummaryRow("", products.get(pid, str(pid)), by_product[pid]) for pid in sorted(by_product)]
    return DisbursementSummary(filters, months, branch_rows, product_rows, total)


SUMMARY_HEADERS = ["笔数", "放款金额（元）", "平均金额（元）", "加权平均年利率（%）", "平均期限（月）"]


def summary_workbook(report):
    """贷款发放报表 as a workbook: sheet 按月份和产品 (month subtotals, grand total) and sheet
    按机构 (grand total). Every 小计 / 合计 cell is a formula over the rows above it (SUBTOTAL, so
    the grand total skips the month subtotals); the averages are formulas over two hidden
    helper columns (Σ 金额×年利率, Σ 期限月数), so they stay exact when rows are edited."""
    import io

    import xlsxwriter

    from app.services import excel

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    fmt = {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "param": book.add_format({"font_color": "#555555"}),
        "header": book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center",
                                   "valign": "vcenter", "text_wrap": True}),
        "text": book.add_format({}), "quoted": book.add_format({"quote_prefix": True}),
    }
    for kind in ("int", "money", "rate", "percent"):
        fmt[kind] = book.add_format({"num_format": excel.NUMBER_FORMATS[kind]})
        fmt["sub_" + kind] = book.add_format({"num_format": excel.NUMBER_FORMATS[kind], "bold": True,
                                              "bg_color": "#F2F2F2"})
        fmt["tot_" + kind] = book.add_format({"num_format": excel.NUMBER_FORMATS[kind], "bold": True, "top": 1})
    fmt["sub_text"] = book.add_format({"bold": True, "bg_color": "#F2F2F2"})
    fmt["tot_text"] = book.add_format({"bold": True, "top": 1})
    params = report.filters.params() + [("单位", "元")]

    def text(sheet, row, col, value, style="text"):
        value = "" if value is None else str(value)
        if not value:
            sheet.write_blank(row, col, None, fmt[style])
            return
        sheet.write_string(row, col, value, fmt["quoted"] if style == "text" and excel.is_risky(value) else fmt[style])

    def head(sheet, title, label_headers):
        sheet.write_string(0, 0, title, fmt["title"])
        for n, (label, value) in enumerate(params, start=1):
            sheet.write_string(n, 0, f"{label}：{value}", fmt["param"])
        header_row = len(params) + 2
        headers = label_headers + SUMMARY_HEADERS + ["金额×年利率", "期限月数合计"]
        for col, header in enumerate(headers):
            sheet.write_string(header_row, col, header, fmt["header"])
        return header_row

    def figures(sheet, row, first, f):
        sheet.write_number(row, first, f.count, fmt["int"])
        sheet.write_number(row, first + 1, float(f.amount), fmt["money"])
        sheet.write_number(row, first + 2, float(f.average), fmt["money"])
        if f.rate is not None:
            sheet.write_number(row, first + 3, float(f.rate), fmt["rate"])
        if f.term is not None:
            sheet.write_number(row, first + 4, float(f.term), fmt["percent"])
        sheet.write_number(row, first + 5, float(f.rate_weight), fmt["money"])
        sheet.write_number(row, first + 6, float(f.term_months), fmt["percent"])

    def formulas(sheet, row, first, top, bottom, f, style):
        """SUBTOTAL(9, …) of rows top..bottom (0-based) and the averages from the sums."""
        from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

        def span(col):
            letter = xl_col_to_name(col)
            return f"{letter}{top + 1}:{letter}{bottom + 1}"

        n, amount, weight, months = (xl_rowcol_to_cell(row, first + k) for k in (0, 1, 5, 6))
        sheet.write_formula(row, first, f"=SUBTOTAL(9,{span(first)})", fmt[style + "int"], f.count)
        sheet.write_formula(row, first + 1, f"=SUBTOTAL(9,{span(first + 1)})", fmt[style + "money"], float(f.amount))
        sheet.write_formula(row, first + 2, f"=IF({n}=0,0,ROUND({amount}/{n},2))", fmt[style + "money"],
                            float(f.average))
        sheet.write_formula(row, first + 3, f'=IF({amount}=0,"",ROUND({weight}/{amount},4))', fmt[style + "rate"],
                            float(f.rate) if f.rate is not None else "")
        sheet.write_formula(row, first + 4, f'=IF({n}=0,"",ROUND({months}/{n},2))', fmt[style + "percent"],
                            float(f.term) if f.term is not None else "")
        sheet.write_formula(row, first + 5, f"=SUBTOTAL(9,{span(first + 5)})", fmt[style + "money"],
                            float(f.rate_weight))
        sheet.write_formula(row, first + 6, f"=SUBTOTAL(9,{span(first + 6)})", fmt[style + "percent"],
                            float(f.term_months))

    def finish(sheet, header_row, label_count):
        widths = [10, 18][:label_count] + [8, 18, 16, 12, 12, 18, 12]
        for col, width in enumerate(widths):
            hidden = col >= label_count + 5
            sheet.set_column(col, col, width, None, {"hidden": True} if hidden else {})
        sheet.freeze_panes(header_row + 1, 0)
        sheet.set_landscape()
        sheet.set_paper(9)
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(header_row)

    # sheet 1: month × product, month subtotals, grand total
    sheet = book.add_worksheet("按月份和产品")
    header_row = head(sheet, "贷款发放报表（按月份和产品）", ["月份", "贷款产品"])
    row = first_data = header_row + 1
    for block in report.months:
        top = row
        for r in block.rows:
            text(sheet, row, 0, block.month)
            text(sheet, row, 1, r.label)
            figures(sheet, row, 2, r.figures)
            row += 1
        text(sheet, row, 0, block.month, "sub_text")
        text(sheet, row, 1, "小计", "sub_text")
        formulas(sheet, row, 2, top, row - 1, block.subtotal, "sub_")
        row += 1
    text(sheet, row, 0, "合计", "tot_text")
    text(sheet, row, 1, "", "tot_text")
    formulas(sheet, row, 2, first_data, max(first_data, row - 1), report.total, "tot_")
    sheet.autofilter(header_row, 0, max(header_row, row - 1), 6)
    finish(sheet, header_row, 2)

    # sheet 2: by branch, grand total
    sheet = book.add_worksheet("按机构")
    header_row = head(sheet, "贷款发放报表（按机构）", ["机构"])
    row = first_data = header_row + 1
    for r in report.branches:
        text(sheet, row, 0, r.label)
        figures(sheet, row, 1, r.figures)
        row += 1
    text(sheet, row, 0, "合计", "tot_text")
    formulas(sheet, row, 1, first_data, max(first_data, row - 1), report.total, "tot_")
    sheet.autofilter(header_row, 0, max(header_row, row - 1), 5)
    finish(sheet, header_row, 1)
    book.close()
    return buffer.getvalue()


# -- 业务分析 (chart data) ------------------------------------------------------------------------
ANALYSIS_MONTHS = 12


def month_windows(as_of, months=ANALYSIS_MONTHS):
    """The ``months`` calendar months ending with the month of ``as_of``, whole months."""
    windows = []
    for back in range(months - 1, -1, -1):
        start = common.add_months(common.month_start(as_of), -back)
        windows.append((start, common.month_end(start)))
    return windows


def _by_month(column):
    return extract("year", column).label("y"), extract("month", column).label("m")


def _monthly(query, columns, *measures):
    """{"YYYY-MM": (measures…)}: ``query`` grouped by the calendar month of ``columns``."""
    y, m = columns
    rows = db.session.execute(query.add_columns(*measures).group_by(y, m)).all()
    return {f"{int(r[0]):04d}-{int(r[1]):02d}": tuple(r[2:]) for r in rows}


def _needs_loan(filters, user):
    """Whether a flow query must join the loan: for the data scope or a filter."""
    return common.scope_condition(user) is not None or any(
        (filters.branch_id, filters.product_id, filters.officer_id, filters.status, filters.keyword))


def _with_loan(query, loan_id, filters, user):
    """Join the loan (and the customer for a keyword) and filter, when the scope or a filter needs it."""
    if not _needs_loan(filters, user):
        return query
    query = query.join(Loan, Loan.id == loan_id)
    if filters.keyword:
        query = query.join(Customer, Customer.id == Loan.customer_id)
    return _loan_filters(query, filters, user)


def monthly_flows(filters, user, windows):
    """Per calendar month of ``windows``: registered (amount, count), disbursed (amount, count),
    principal recovered, due (scheduled principal + interest), repaid (what the receipts put
    on principal and interest, 罚息 and 复利 included: the receipts' stored totals, the sums of
    their lines) and unpaid (what is still owed on the installments due in the month: the
    待还款 figure). Each is one query grouped by month, whatever the number of months."""
    first, last = windows[0][0], windows[-1][1]
    ym = _by_month(Loan.created_at)
    reg = select(*ym).select_from(Loan).where(Loan.created_at >= _day_start(first),
                                              Loan.created_at < _day_start(last + timedelta(days=1)))
    if filters.keyword:
        reg = reg.join(Customer, Customer.id == Loan.customer_id)
    registered = _monthly(_loan_filters(reg, filters, user), ym, func.sum(Loan.amount), func.count())

    ym = _by_month(Disbursement.disbursed_on)
    paid = select(*ym).select_from(Disbursement).where(common.between(Disbursement.disbursed_on, first, last))
    disbursed = _monthly(_with_loan(paid, Disbursement.loan_id, filters, user), ym, func.sum(Disbursement.amount),
                         func.count())

    ym = _by_month(Repayment.received_on)
    rec = select(*ym).select_from(Repayment).where(common.between(Repayment.received_on, first, last),
                                                   repayments.standing())
    received = _monthly(_with_loan(rec, Repayment.loan_id, filters, user), ym, func.sum(Repayment.principal_amount),
                        func.sum(Repayment.principal_amount + Repayment.interest_amount))

    ym = _by_month(Installment.due_date)
    owed = (Installment.principal - Installment.principal_paid + Installment.interest - Installment.interest_paid
            - Installment.interest_waived)
    unpaid = Installment.paid_off_on.is_(None) & (Loan.status == (filters.status or "active"))
    due = (select(*ym).select_from(Installment).join(Loan, Loan.id == Installment.loan_id)
           .where(common.between(Installment.due_date, first, last)))
    if filters.keyword:
        due = due.join(Customer, Customer.id == Loan.customer_id)
    dues = _monthly(_loan_filters(due, filters, user, DISBURSED_STATUSES), ym,
                    func.sum(Installment.principal + Installment.interest),
                    func.sum(case((unpaid, owed), else_=literal(0))))
    result = []
    for start, _end in windows:
        key = f"{start:%Y-%m}"
        r_amount, r_count = registered.get(key, (0, 0))
        d_amount, d_count = disbursed.get(key, (0, 0))
        principal, repaid = received.get(key, (0, 0))
        scheduled, still = dues.get(key, (0, 0))
        result.append({"registered": (money(r_amount), int(r_count)), "disbursed": (money(d_amount), int(d_count)),
                       "recovered": money(principal), "repaid": money(repaid), "due": money(scheduled),
                       "unpaid": money(still)})
    return result


def analysis(filters, user):
    """Every chart's data as JSON-able values (amounts as strings of Decimals)."""
    windows = month_windows(filters.as_of)
    flows = monthly_flows(filters, user, windows)

    def as_strings(values):
        return [str(v) for v in values]

    overdue_groups, _n, _totals = summary(TABS["overdue"], filters, user)
    lending = disbursement_summary(filters, user)
    return {
        "as_of": filters.as_of.isoformat(), "start": filters.start.isoformat(), "end": filters.end.isoformat(),
        "months": [f"{s:%Y-%m}" for s, _ in windows],
        "monthly": {"registered": as_strings(f["registered"][0] for f in flows),
                    "registered_count": [f["registered"][1] for f in flows],
                    "disbursed": as_strings(f["disbursed"][0] for f in flows),
                    "disbursed_count": [f["disbursed"][1] for f in flows],
                    "recovered": as_strings(f["recovered"] for f in flows)},
        "due_repaid": {"due": as_strings(f["due"] for f in flows), "repaid": as_strings(f["repaid"] for f in flows),
                       "unpaid": as_strings(f["unpaid"] for f in flows)},
        "overdue_bands": [{"code": g.code, "name": g.label, "count": g.count, "principal": str(g.sums["principal"]),
                           "interest": str(g.sums["interest"]), "penalty": str(g.sums["penalty"]),
                           "compound": str(g.sums["compound"])} for g in overdue_groups],
        "by_product": [{"name": r.label, "value": str(r.figures.amount), "count": r.figures.count}
                       for r in lending.products],
        "by_branch": [{"name": r.label, "value": str(r.figures.amount), "count": r.figures.count}
                      for r in lending.branches],
    }


def analysis_defaults(as_of):
    """The 业务分析 page's period: from the start of the year to the statistics date."""
    return date(as_of.year, 1, 1)
