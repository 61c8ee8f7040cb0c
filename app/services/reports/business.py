"""小贷业务报表: 小额贷款台账 (the loan ledger) and the paginated lists, each with filters,
totals over the whole filtered set, and an Excel export that streams.

A report is a ``ListReport``: its columns (app.services.excel.Column plus the SQL label the
value comes from), and ``query(filters, user, page_ids)`` building one SELECT whose labelled
columns match. A page first picks the ids of its rows (light query with LIMIT/OFFSET) and
then reads the figures for those ids only; the export runs the same SELECT over the whole
filtered set with a server-side cursor (``yield_per``), so memory stays flat.
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, or_, select

from app.domain.schedule import METHOD_LABELS
from app.extensions import db
from app.models import AppUser, Branch, Customer, FundAccount, Installment, Loan, LoanProduct
from app.models.customer import CUSTOMER_KINDS
from app.models.loan import GUARANTEE_TYPES, LOAN_STATUSES
from app.models.risk import CLASS_LABELS
from app.models.servicing import Disbursement, Repayment, RepaymentLine
from app.services import loans, repayments
from app.services.excel import Column
from app.services.reports import common
from app.services.reports.common import money

DISBURSED_STATUSES = ("active", "settled", "written_off", "closed")
UNDISBURSED_STATUSES = ("approved", "contracted", "disbursing", "ready_to_disburse")
STREAM_ROWS = 2000
#: Above this many filtered rows a page does not sum every row unless asked (?totals=1): the
#: sums read every row's figures, which the page itself does not need.
TOTALS_ROWS_LIMIT = 20000


@dataclass
class Filters:
    start: date = None
    end: date = None
    as_of: date = None
    branch_id: int = None
    product_id: int = None
    status: str = None
    keyword: str = None

    def params(self, report):
        items = []
        if report.period:
            items.append((report.period, f"{self.start or '不限'} 至 {self.end or '不限'}"))
        if report.uses_as_of:
            items.append(("统计日期", (self.as_of or common.as_of_or_today()).isoformat()))
        if self.branch_id:
            items.append(("机构", db.session.get(Branch, self.branch_id).name))
        if self.product_id:
            items.append(("产品", db.session.get(LoanProduct, self.product_id).name))
        if self.status:
            items.append(("状态", LOAN_STATUSES.get(self.status, self.status)))
        if self.keyword:
            items.append(("关键字", self.keyword))
        return items


@dataclass
class Field:
    key: str
    column: Column
    label_map: dict = None      # code → Chinese label, for code columns


@dataclass
class ListReport:
    code: str
    title: str
    fields: list
    query: object               # callable(filters, user, ids=None) → Select with labelled columns
    ids: object                 # callable(filters, user) → Select of the row ids in display order
    period: str = None          # caption of the date range filter, None: no range
    uses_as_of: bool = False
    statuses: dict = field(default_factory=dict)
    description: str = ""

    @property
    def columns(self):
        return [f.column for f in self.fields]

    def cells(self, mapping):
        return [common.cell(f, mapping[f.key]) for f in self.fields]


REPORTS = {}


def register(report):
    REPORTS[report.code] = report
    return report


def _loan_filters(query, filters, user, status_default=None):
    """The data scope and the common filters, on a query that joins Loan and Customer (also
    used by app/services/reports/statistics.py, whose filters add the officer)."""
    query = common.scoped(query, user)
    if filters.branch_id:
        query = query.where(Loan.branch_id == filters.branch_id)
    if filters.product_id:
        query = query.where(Loan.product_id == filters.product_id)
    if getattr(filters, "officer_id", None):
        query = query.where(Loan.officer_id == filters.officer_id)
    statuses = (filters.status,) if filters.status else status_default
    if statuses:
        query = query.where(Loan.status.in_(statuses))
    if filters.keyword:
        term = f"%{filters.keyword.strip()}%"
        query = query.where(or_(Loan.loan_no.like(term), Customer.name.like(term)))
    return query


def _date_range(query, column, filters):
    if filters.start:
        query = query.where(column >= filters.start)
    if filters.end:
        query = query.where(column <= filters.end)
    return query


# -- 小额贷款台账 / 未回收贷款查询 ----------------------------------------------------------------
def _installment_figures(as_of, ids=None):
    due = Installment.due_date <= as_of
    late = Installment.due_date < as_of
    interest_left = Installment.interest - Installment.interest_paid - Installment.interest_waived
    query = (select(
        Installment.loan_id,
        func.max(Installment.due_date).label("maturity"),
        func.sum(Installment.principal_paid).label("principal_paid"),
        func.sum(case((due, interest_left), else_=literal(0))).label("interest_receivable"),
        func.sum(case((late & Installment.paid_off_on.is_(None), Installment.principal - Installment.principal_paid),
                      else_=literal(0))).label("overdue_principal"),
        func.sum(case((late & Installment.paid_off_on.is_(None), interest_left), else_=literal(0)))
        .label("overdue_interest"),
        func.sum(Installment.penalty - Installment.penalty_paid - Installment.penalty_waived
                 + Installment.penalty_pending + Installment.compound - Installment.compound_paid
                 - Installment.compound_waived + Installment.compound_pending).label("charges"))
        .group_by(Installment.loan_id))
    if ids is not None:
        query = query.where(Installment.loan_id.in_(ids))
    return query.subquery("inst")


def _ledger_base(filters, user, statuses=DISBURSED_STATUSES):
    query = (select(Loan.id).select_from(Loan).join(Customer, Customer.id == Loan.customer_id)
             .join(Disbursement, Disbursement.loan_id == Loan.id))
    query = _loan_filters(query, filters, user, statuses)
    return _date_range(query, Disbursement.disbursed_on, filters)


def _ledger_ids(filters, user):
    return _ledger_base(filters, user).order_by(Disbursement.disbursed_on, Loan.id)


def _ledger_query(filters, user, ids=None, statuses=DISBURSED_STATUSES):
    as_of = filters.as_of or common.as_of_or_today()
    # nonzero: a loan without a balance row reads 0 (the outer join), so the stored balances
    # serve (no journal line read when as_of is on or after the last voucher's date).
    bal = common.balances([as_of], loan_ids=ids, nonzero=True)
    inst = _installment_figures(as_of, ids)
    query = (select(
        Loan.id.label("id"), Loan.loan_no.label("loan_no"), Customer.name.label("customer"),
        Customer.kind.label("kind"), Branch.name.label("branch"),
        func.coalesce(AppUser.real_name, AppUser.username).label("officer"), LoanProduct.name.label("product"),
        Loan.amount.label("amount"), Loan.annual_rate.label("rate"), Loan.term.label("term"),
        Loan.method.label("method"), Loan.guarantee_types.label("guarantee"), Disbursement.disbursed_on.label("paid_on"),
        inst.c.maturity, inst.c.principal_paid, func.coalesce(bal.c.b0, 0).label("balance"),
        inst.c.interest_receivable, inst.c.overdue_principal, inst.c.overdue_interest, inst.c.charges,
        Loan.overdue_days.label("overdue_days"), Loan.classification.label("class"), Loan.status.label("status"))
        .select_from(Loan).join(Customer, Customer.id == Loan.customer_id)
        .join(Disbursement, Disbursement.loan_id == Loan.id)
        .join(Branch, Branch.id == Loan.branch_id).join(LoanProduct, LoanProduct.id == Loan.product_id)
        .join(AppUser, AppUser.id == Loan.officer_id)
        .outerjoin(bal, bal.c.loan_id == Loan.id).outerjoin(inst, inst.c.loan_id == Loan.id))
    if ids is not None:
        return query.where(Loan.id.in_(ids))
    query = _loan_filters(query, filters, user, statuses)
    return _date_range(query, Disbursement.disbursed_on, filters).order_by(Disbursement.disbursed_on, Loan.id)


class _GuaranteeLabels(dict):
    def get(self, key, default=None):
        return "、".join(GUARANTEE_TYPES.get(g, g) for g in (key or "").split(",") if g)


LEDGER_FIELDS = [
    Field("loan_no", Column("业务编号", width=18)), Field("customer", Column("客户名称", width=20)),
    Field("kind", Column("借款人类型", width=10), CUSTOMER_KINDS), Field("branch", Column("机构", width=14)),
    Field("officer", Column("客户经理", width=10)), Field("product", Column("贷款产品", width=14)),
    Field("amount", Column("合同金额（元）", "money", total=True)), Field("rate", Column("年利率（%）", "rate")),
    Field("term", Column("期限（期）", "int")), Field("method", Column("还款方式", width=16), METHOD_LABELS),
    Field("guarantee", Column("担保方式", width=12), _GuaranteeLabels()),
    Field("paid_on", Column("放款日期", "date")), Field("maturity", Column("到期日", "date")),
    Field("principal_paid", Column("已还本金（元）", "money", total=True)),
    Field("balance", Column("本金余额（元）", "money", total=True)),
    Field("interest_receivable", Column("应收未收利息（元）", "money", total=True)),
    Field("overdue_principal", Column("逾期本金（元）", "money", total=True)),
    Field("overdue_interest", Column("逾期利息（元）", "money", total=True)),
    Field("charges", Column("罚息复利（元）", "money", total=True)),
    Field("overdue_days", Column("逾期天数", "int")), Field("class", Column("五级分类", width=8), CLASS_LABELS),
    Field("status", Column("状态", width=8), LOAN_STATUSES),
]

LEDGER = register(ListReport(
    "ledger", "小额贷款台账", LEDGER_FIELDS, _ledger_query, _ledger_ids, period="放款日期", uses_as_of=True,
    statuses={s: LOAN_STATUSES[s] for s in DISBURSED_STATUSES},
    description="每笔已放款贷款一行：主要条款、本金余额（总账 1301 截至统计日）、应收未收利息、逾期与五级分类。"))


def _unrecovered_ids(filters, user):
    return _ledger_base(filters, user, ("active",)).order_by(Disbursement.disbursed_on, Loan.id)


def _unrecovered_query(filters, user, ids=None):
    return _ledger_query(filters, user, ids, ("active",))


register(ListReport(
    "unrecovered", "未回收贷款查询", [f for f in LEDGER_FIELDS if f.key in (
        "loan_no", "customer", "branch", "officer", "product", "amount", "paid_on", "maturity", "balance",
        "interest_receivable", "overdue_principal", "overdue_days", "class")],
    _unrecovered_query, _unrecovered_ids, period="放款日期", uses_as_of=True,
    description="在贷（未结清）贷款的本金余额与逾期情况。"))


# -- 未发放贷款查询 ----------------------------------------------------------------------------
def _undisbursed_query(filters, user, ids=None):
    query = (select(Loan.id.label("id"), Loan.loan_no.label("loan_no"), Customer.name.label("customer"),
                    Branch.name.label("branch"), LoanProduct.name.label("product"), Loan.amount.label("amount"),
                    Loan.annual_rate.label("rate"), Loan.term.label("term"), Loan.created_at.label("created_at"),
                    Loan.status.label("status"))
             .select_from(Loan).join(Customer, Customer.id == Loan.customer_id)
             .join(Branch, Branch.id == Loan.branch_id).join(LoanProduct, LoanProduct.id == Loan.product_id))
    if ids is not None:
        return query.where(Loan.id.in_(ids))
    query = _loan_filters(query, filters, user, UNDISBURSED_STATUSES)
    return _date_range(query, func.date(Loan.created_at), filters).order_by(Loan.created_at, Loan.id)


def _undisbursed_ids(filters, user):
    query = _loan_filters(select(Loan.id).select_from(Loan).join(Customer, Customer.id == Loan.customer_id),
                          filters, user, UNDISBURSED_STATUSES)
    return _date_range(query, func.date(Loan.created_at), filters).order_by(Loan.created_at, Loan.id)


register(ListReport(
    "undisbursed", "未发放贷款查询", [
        Field("loan_no", Column("业务编号", width=18)), Field("customer", Column("客户名称", width=20)),
        Field("branch", Column("机构")), Field("product", Column("贷款产品")),
        Field("amount", Column("申请金额（元）", "money", total=True)), Field("rate", Column("年利率（%）", "rate")),
        Field("term", Column("期限（期）", "int")), Field("created_at", Column("登记时间", "datetime")),
        Field("status", Column("状态", width=10), LOAN_STATUSES)],
    _undisbursed_query, _undisbursed_ids, period="登记日期",
    statuses={s: LOAN_STATUSES[s] for s in UNDISBURSED_STATUSES},
    description="已批准尚未放款（含签约、放款审批中、待放款）的贷款。"))


# -- 贷款发放明细表 ----------------------------------------------------------------------------
def _disbursed_query(filters, user, ids=None):
    query = (select(Disbursement.id.label("id"), Disbursement.disbursed_on.label("paid_on"),
                    Loan.loan_no.label("loan_no"), Customer.name.label("customer"), Branch.name.label("branch"),
                    LoanProduct.name.label("product"), Disbursement.amount.label("amount"),
                    Loan.annual_rate.label("rate"), Loan.term.label("term"), Loan.guarantee_types.label("guarantee"),
                    FundAccount.name.label("fund"), Disbursement.receiving_bank.label("bank"),
                    Disbursement.receiving_account_name.label("account_name"))
             .select_from(Disbursement).join(Loan, Loan.id == Disbursement.loan_id)
             .join(Customer, Customer.id == Loan.customer_id).join(Branch, Branch.id == Loan.branch_id)
             .join(LoanProduct, LoanProduct.id == Loan.product_id)
             .join(FundAccount, FundAccount.id == Disbursement.fund_account_id))
    if ids is not None:
        return query.where(Disbursement.id.in_(ids))
    query = _loan_filters(query, filters, user)
    return _date_range(query, Disbursement.disbursed_on, filters).order_by(Disbursement.disbursed_on,
                                                                           Disbursement.id)


def _disbursed_ids(filters, user):
    query = (select(Disbursement.id).select_from(Disbursement).join(Loan, Loan.id == Disbursement.loan_id)
             .join(Customer, Customer.id == Loan.customer_id))
    query = _date_range(_loan_filters(query, filters, user), Disbursement.disbursed_on, filters)
    return query.order_by(Disbursement.disbursed_on, Disbursement.id)


register(ListReport(
    "disbursements", "贷款发放明细表", [
        Field("paid_on", Column("放款日期", "date")), Field("loan_no", Column("业务编号", width=18)),
        Field("customer", Column("客户名称", width=20)), Field("branch", Column("机构")),
        Field("product", Column("贷款产品")), Field("amount", Column("放款金额（元）", "money", total=True)),
        Field("rate", Column("年利率（%）", "rate")), Field("term", Column("期限（期）", "int")),
        Field("guarantee", Column("担保方式", width=12), _GuaranteeLabels()), Field("fund", Column("付款账户", width=16)),
        Field("bank", Column("收款开户行", width=16)), Field("account_name", Column("收款户名", width=16))],
    _disbursed_query, _disbursed_ids, period="放款日期", description="期间内每笔放款。"))


# -- 贷款回收报表 / 借出利息收回统计 -----------------------------------------------------------
def _component(name, *components):
    return func.coalesce(func.sum(case((RepaymentLine.component.in_(components), RepaymentLine.amount),
                                       else_=literal(0))), 0).label(name)


def _receipts_query(filters, user, ids=None):
    lines = (select(RepaymentLine.repayment_id, _component("principal", "principal"),
                    _component("interest", "interest"), _component("penalty", "penalty"),
                    _component("compound", "compound"),
                    func.coalesce(func.sum(case((RepaymentLine.component.not_in(
                        ("principal", "interest", "penalty", "compound")), RepaymentLine.amount), else_=literal(0))),
                        0).label("other"))
             .group_by(RepaymentLine.repayment_id))
    if ids is not None:
        lines = lines.where(RepaymentLine.repayment_id.in_(ids))
    lines = lines.subquery("lines")
    query = (select(Repayment.id.label("id"), Repayment.received_on.label("received_on"),
                    Repayment.receipt_no.label("receipt_no"), Loan.loan_no.label("loan_no"),
                    Customer.name.label("customer"), Branch.name.label("branch"), lines.c.principal,
                    lines.c.interest, lines.c.penalty, lines.c.compound, lines.c.other,
                    Repayment.amount.label("amount"))
             .select_from(Repayment).join(lines, lines.c.repayment_id == Repayment.id)
             .join(Loan, Loan.id == Repayment.loan_id).join(Customer, Customer.id == Loan.customer_id)
             .join(Branch, Branch.id == Loan.branch_id))
    if ids is not None:
        return query.where(Repayment.id.in_(ids))
    query = _loan_filters(query.where(repayments.standing()), filters, user)
    return _date_range(query, Repayment.received_on, filters).order_by(Repayment.received_on, Repayment.id)


def _receipts_ids(filters, user):
    query = (select(Repayment.id).select_from(Repayment).join(Loan, Loan.id == Repayment.loan_id)
             .join(Customer, Customer.id == Loan.customer_id).where(repayments.standing()))
    query = _date_range(_loan_filters(query, filters, user), Repayment.received_on, filters)
    return query.order_by(Repayment.received_on, Repayment.id)


register(ListReport(
    "recoveries", "贷款回收报表", [
        Field("received_on", Column("收款日期", "date")), Field("receipt_no", Column("收款单号", width=18)),
        Field("loan_no", Column("业务编号", width=18)), Field("customer", Column("客户名称", width=20)),
        Field("branch", Column("机构")), Field("principal", Column("收回本金（元）", "money", total=True)),
        Field("interest", Column("收回利息（元）", "money", total=True)),
        Field("penalty", Column("罚息（元）", "money", total=True)),
        Field("compound", Column("复利（元）", "money", total=True)),
        Field("other", Column("费用及其他（元）", "money", total=True)),
        Field("amount", Column("收款金额（元）", "money", total=True))],
    _receipts_query, _receipts_ids, period="收款日期", description="期间内的收款（已冲正的不计），按本金、利息、罚息、复利拆分。"))


def _interest_query(filters, user, ids=None):
    query = (select(Loan.id.label("id"), Loan.loan_no.label("loan_no"), Customer.name.label("customer"),
                    Branch.name.label("branch"), _component("interest", "interest"),
                    _component("penalty", "penalty"), _component("compound", "compound"),
                    _component("total", "interest", "penalty", "compound"),
                    func.count(func.distinct(Repayment.id)).label("receipts"))
             .select_from(RepaymentLine).join(Repayment, Repayment.id == RepaymentLine.repayment_id)
             .join(Loan, Loan.id == Repayment.loan_id).join(Customer, Customer.id == Loan.customer_id)
             .join(Branch, Branch.id == Loan.branch_id)
             .where(repayments.standing(), RepaymentLine.component.in_(("interest", "penalty", "compound"))))
    query = _date_range(query, Repayment.received_on, filters)
    if ids is not None:
        query = query.where(Loan.id.in_(ids))
    else:
        query = _loan_filters(query, filters, user)
    return query.group_by(Loan.id, Loan.loan_no, Customer.name, Branch.name).order_by(Loan.loan_no)


def _interest_ids(filters, user):
    query = (select(Loan.id).select_from(RepaymentLine).join(Repayment, Repayment.id == RepaymentLine.repayment_id)
             .join(Loan, Loan.id == Repayment.loan_id).join(Customer, Customer.id == Loan.customer_id)
             .where(repayments.standing(), RepaymentLine.component.in_(("interest", "penalty", "compound"))))
    query = _date_range(_loan_filters(query, filters, user), Repayment.received_on, filters)
    return query.group_by(Loan.id, Loan.loan_no).order_by(Loan.loan_no)


register(ListReport(
    "interest_received", "借出利息收回统计", [
        Field("loan_no", Column("业务编号", width=18)), Field("customer", Column("客户名称", width=20)),
        Field("branch", Column("机构")), Field("interest", Column("利息（元）", "money", total=True)),
        Field("penalty", Column("罚息（元）", "money", total=True)),
        Field("compound", Column("复利（元）", "money", total=True)),
        Field("total", Column("合计（元）", "money", total=True)), Field("receipts", Column("收款笔数", "int", total=True))],
    _interest_query, _interest_ids, period="收款日期", description="期间内每笔贷款收回的利息、罚息和复利。"))


# -- 应收利息 ---------------------------------------------------------------------------------
def _receivable_figures(as_of, ids=None):
    """Per loan: what its due, unpaid installments still owe (a paid-off row owes nothing),
    read through the partial index of unpaid installments (common.materialized)."""
    rows = select(
        Installment.loan_id, Installment.due_date,
        (Installment.interest - Installment.interest_paid - Installment.interest_waived).label("interest_left"),
        (Installment.penalty - Installment.penalty_paid - Installment.penalty_waived + Installment.penalty_pending
         + Installment.compound - Installment.compound_paid - Installment.compound_waived
         + Installment.compound_pending).label("charges"),
    ).where(Installment.due_date <= as_of, Installment.paid_off_on.is_(None))
    if ids is not None:
        rows = rows.where(Installment.loan_id.in_(ids))
    rows = common.materialized(rows, "receivable_rows")
    return (select(rows.c.loan_id, func.min(rows.c.due_date).label("earliest"),
                   func.sum(rows.c.interest_left).label("interest_receivable"),
                   func.sum(case((rows.c.due_date < as_of, rows.c.interest_left), else_=literal(0)))
                   .label("overdue_interest"),
                   func.sum(rows.c.charges).label("charges"))
            .group_by(rows.c.loan_id).subquery("inst"))


def _receivable_query(filters, user, ids=None):
    as_of = filters.as_of or common.as_of_or_today()
    inst = _receivable_figures(as_of, ids)
    query = (select(Loan.id.label("id"), Loan.loan_no.label("loan_no"), Customer.name.label("customer"),
                    Branch.name.label("branch"), inst.c.earliest, inst.c.interest_receivable,
                    inst.c.overdue_interest, inst.c.charges,
                    (inst.c.interest_receivable + inst.c.charges).label("total"))
             .select_from(Loan).join(Customer, Customer.id == Loan.customer_id)
             .join(Branch, Branch.id == Loan.branch_id).join(inst, inst.c.loan_id == Loan.id)
             .where(or_(inst.c.interest_receivable != 0, inst.c.charges != 0)))
    if ids is not None:
        return query.where(Loan.id.in_(ids))
    return _loan_filters(query, filters, user, ("active",)).order_by(Loan.loan_no)


def _receivable_ids(filters, user):
    return select(_receivable_query(filters, user).subquery().c.id)


register(ListReport(
    "interest_receivable", "应收利息", [
        Field("loan_no", Column("业务编号", width=18)), Field("customer", Column("客户名称", width=20)),
        Field("branch", Column("机构")), Field("earliest", Column("最早未还应还日", "date")),
        Field("interest_receivable", Column("应收未收利息（元）", "money", total=True)),
        Field("overdue_interest", Column("其中逾期利息（元）", "money", total=True)),
        Field("charges", Column("罚息复利（元）", "money", total=True)),
        Field("total", Column("合计（元）", "money", total=True))],
    _receivable_query, _receivable_ids, uses_as_of=True,
    description="在贷贷款截至统计日已到期未收的利息，及罚息、复利（含日终批处理计算的未结部分）。"))


# -- reading a list report ------------------------------------------------------------------
@dataclass
class Page:
    report: ListReport
    rows: list
    total_rows: int
    totals: dict
    page: int
    page_size: int

    @property
    def pages(self):
        return max(1, -(-self.total_rows // self.page_size))


def page(code, filters, user, page_no=1, page_size=50, with_totals=None):
    report = REPORTS[code]
    ids_query = report.ids(filters, user)
    id_sub = ids_query.order_by(None).subquery("ids")
    total_rows = db.session.execute(select(func.count()).select_from(id_sub)).scalar() or 0
    page_ids = [r[0] for r in db.session.execute(ids_query.limit(page_size).offset((page_no - 1) * page_size))]
    rows = []
    if page_ids:
        found = {r["id"]: r for r in db.session.execute(report.query(filters, user, page_ids)).mappings()}
        rows = [report.cells(found[i]) for i in page_ids if i in found]
    if with_totals is None:
        with_totals = total_rows <= TOTALS_ROWS_LIMIT
    return Page(report, rows, total_rows, totals(report, filters, user) if with_totals else None, page_no,
                page_size)


def totals(report, filters, user):
    """{key: Σ} over the whole filtered set, for the columns that add up (one aggregate)."""
    keys = [f.key for f in report.fields if f.column.total]
    if not keys:
        return {}
    sub = report.query(filters, user).order_by(None).subquery("all_rows")
    values = db.session.execute(select(*[func.coalesce(func.sum(sub.c[k]), 0) for k in keys])).one()
    return {k: (int(v) if f.column.kind == "int" else money(v))
            for k, v, f in zip(keys, values, [f for f in report.fields if f.column.total])}


def count(code, filters, user):
    report = REPORTS[code]
    return db.session.execute(select(func.count()).select_from(
        report.ids(filters, user).order_by(None).subquery())).scalar() or 0


def stream(code, filters, user):
    """Every row's cells (``ListReport.cells``), read with a server-side cursor in batches.
    Per row only what a cell needs: the columns are picked by position and each field's
    conversion (labels, money) is chosen once, not looked up per cell."""
    report = REPORTS[code]
    result = db.session.execute(report.query(filters, user).execution_options(yield_per=STREAM_ROWS))
    position = {key: n for n, key in enumerate(result.keys())}
    plan = [(position[f.key], common.converter(f)) for f in report.fields]
    for rows in result.partitions():
        for row in rows:
            yield [row[n] if convert is None else convert(row[n]) for n, convert in plan]


def workbook(code, filters, user, output=None):
    from app.services import excel

    report = REPORTS[code]
    params = filters.params(report)
    return excel.write_workbook(report.columns, stream(code, filters, user), report.title, params,
                                sheet_name=report.title, constant_memory=True, output=output)


def export_filters(values):
    """The filters of a queued export (reports.exports)."""
    from app.services.reports.exports import dates_from

    return Filters(**dates_from(values))


def export_title(code):
    return REPORTS[code].title


# -- 贷款情况统计表 (by branch) ------------------------------------------------------------------
@dataclass
class BranchRow:
    branch: str
    loans: int
    balance: Decimal
    overdue_loans: int
    overdue_balance: Decimal
    npl: Decimal
    disbursed: Decimal = Decimal("0.00")
    disbursed_count: int = 0
    recovered: Decimal = Decimal("0.00")


def loan_statistics(as_of=None, user=None):
    """贷款情况统计表: per branch, balances and counts at ``as_of`` with this month's flows."""
    from app.models.risk import NON_PERFORMING

    as_of = common.as_of_or_today(as_of)
    dates = common.ReportDates(as_of)
    bal = common.balances([as_of], nonzero=True)
    class_expr, class_sub = common.class_at(as_of, "scls")
    rows = common.overdue_rows(as_of, "late_rows", Installment.loan_id)
    late = select(rows.c.loan_id).group_by(rows.c.loan_id).subquery("late")
    inner = (select(Loan.branch_id, bal.c.b0, class_expr.label("k"), late.c.loan_id.label("late"))
             .select_from(bal).join(Loan, Loan.id == bal.c.loan_id).outerjoin(late, late.c.loan_id == Loan.id))
    if class_sub is not None:
        inner = inner.outerjoin(class_sub, class_sub.c.loan_id == Loan.id)
    inner = common.scoped(inner.where(bal.c.b0 != 0), user).subquery("s")
    query = (select(Branch.name, func.count(), func.sum(inner.c.b0),
                    func.count(inner.c.late), func.coalesce(func.sum(case((inner.c.late.is_not(None), inner.c.b0),
                                                                          else_=literal(0))), 0),
                    func.coalesce(func.sum(case((inner.c.k.in_(NON_PERFORMING), inner.c.b0), else_=literal(0))), 0))
             .select_from(inner).join(Branch, Branch.id == inner.c.branch_id).group_by(Branch.id, Branch.name)
             .order_by(Branch.id))
    rows = {name: BranchRow(name, n, money(b), on, money(ob), money(npl))
            for name, n, b, on, ob, npl in db.session.execute(query)}
    inside = and_(Disbursement.disbursed_on >= dates.month_start, Disbursement.disbursed_on <= as_of)
    flows = common.scoped(select(Branch.name, func.sum(Disbursement.amount), func.count())
                          .select_from(Disbursement).join(Loan, Loan.id == Disbursement.loan_id)
                          .join(Branch, Branch.id == Loan.branch_id).where(inside), user).group_by(Branch.name)
    for name, amount, n in db.session.execute(flows):
        row = rows.setdefault(name, BranchRow(name, 0, money(0), 0, money(0), money(0)))
        row.disbursed, row.disbursed_count = money(amount), n
    recovered = common.scoped(
        select(Branch.name, func.sum(RepaymentLine.amount)).select_from(RepaymentLine)
        .join(Repayment, Repayment.id == RepaymentLine.repayment_id).join(Loan, Loan.id == Repayment.loan_id)
        .join(Branch, Branch.id == Loan.branch_id)
        .where(RepaymentLine.component == "principal", Repayment.received_on >= dates.month_start,
               Repayment.received_on <= as_of, repayments.standing()), user).group_by(Branch.name)
    for name, amount in db.session.execute(recovered):
        row = rows.setdefault(name, BranchRow(name, 0, money(0), 0, money(0), money(0)))
        row.recovered = money(amount)
    return list(rows.values())


STATISTICS_COLUMNS = [Column("机构", width=16), Column("在贷笔数", "int", total=True),
                      Column("贷款余额（元）", "money", total=True), Column("本月发放笔数", "int", total=True),
                      Column("本月发放（元）", "money", total=True), Column("本月收回本金（元）", "money", total=True),
                      Column("逾期笔数", "int", total=True), Column("逾期贷款余额（元）", "money", total=True),
                      Column("不良贷款余额（元）", "money", total=True)]


def statistics_cells(row):
    return [row.branch, row.loans, row.balance, row.disbursed_count, row.disbursed, row.recovered,
            row.overdue_loans, row.overdue_balance, row.npl]


def loan_visible(loan_id, user):
    return loans.can_see(db.session.get(Loan, loan_id), user)
