"""财务报表 and 台账 (issue #11 §5–6): 收支汇总统计, 收支明细, 未归还客户保证金统计,
未收回银行保证金统计, 资金分布, 项目收付流水账, 银行授信统计, 银行合作统计.

Money in and out is read from the ledger: a movement is a journal line on a cash or bank
fund account (资金账户: 1001 / 1002 lines always name one). Its business kind comes from the
other lines of its voucher: per voucher and kind the net of those lines (credit − debit) —
a receipt's 1301 credit is 收回本金, its 6011 / 1132 credit 收回利息, 6051 罚息 (and 复利),
6021 / 1221 手续费, 2203 保证金 (in when received, out when returned), 1301 in a payout's
voucher 放款, anything else 其他. Netting per voucher keeps non-cash pairs out (the review fee
booked at payout, Dr 1221 / Cr 6021, nets to zero). A voucher balances, so its kinds add up
to its net cash movement; where cash moved on both sides or not at all against the kinds (a
deposit offset at settlement, a transfer between two fund accounts) the difference is shown
on its own line (调整), so the by-kind totals always equal the fund accounts' debits and
credits.

Data scope: a movement of a loan counts when the user may see the loan (and it is of the
branch filtered on); the company's own movements (capital, expenses, transfers: vouchers of
no loan) belong to the head office and count for a user who sees every branch or whose
branches include a top-level one, when no branch is filtered on. A partial view (a branch
filter, or a user who does not see every branch) shows no opening balance: its balances
are the running sum of the period's movements that count, from zero.
Fund balances (资金分布) and the bank ledgers are company figures: not scoped (who may open
them is a role question, see app/security.py).

The bank figures come from the bank borrowing register (``BankDrawdown``): drawdowns less
repayments, the margin deposit paid with a drawdown and recovered with a repayment, and the
interest paid (``margin_amount`` / ``interest_amount``, migration 0018).

Every figure is an SQL aggregate; money is Decimal.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, false, func, insert, literal, or_, select, type_coerce
from sqlalchemy.orm import aliased

from app.domain.errors import DomainError
from app.extensions import db
from app.models import (AppUser, Branch, Customer, FundAccount, GeneratedDocument, JournalLine, Loan, MonthFundFlow,
                        Voucher)
from app.models.credit_line import BANK_LINE_STATUSES, BankCreditLine, BankDrawdown
from app.models.customer import Bank
from app.models.finance import FUND_KINDS
from app.models.loan import LOAN_STATUSES
from app.models.servicing import REQUEST_KINDS, Repayment, ServicingRequest
from app.services import ledger, settings
from app.services.excel import Column
from app.services.reports import common
from app.services.reports.common import MONEY, ZERO, money, pct

STREAM_ROWS = 2000
CASH_KINDS = ("cash", "bank")

# -- business kinds of a movement -------------------------------------------------------------
KINDS = [
    ("disbursement", "放款"), ("principal", "收回本金"), ("interest", "收回利息"), ("penalty", "罚息"),
    ("fee", "手续费"), ("deposit", "保证金收取/退还"), ("borrowing", "银行借款/还款"),
    ("bank_margin", "银行保证金存出/收回"), ("bank_interest", "支付银行利息"), ("other", "其他"),
]
ADJUSTMENT = ("adjustment", "调整：保证金抵扣、资金账户间调拨")
#: kind → the ledger accounts (with their sub-accounts) whose lines belong to it
KIND_ACCOUNTS = {
    "principal": (ledger.LOAN_PRINCIPAL,),
    "interest": (ledger.INTEREST_RECEIVABLE, ledger.INTEREST_INCOME),
    "penalty": (ledger.PENALTY_INCOME,),
    "fee": (ledger.FEE_INCOME, ledger.OTHER_RECEIVABLES),
    "deposit": (ledger.DEPOSITS_RECEIVED,),
    "borrowing": (ledger.SHORT_TERM_BORROWING,),
    "bank_margin": (ledger.MARGIN_PAID,),
    "bank_interest": (ledger.FINANCE_EXPENSES,),
}
#: the kinds that are one set of accounts each (all but 放款/收回本金, split by source, and 其他)
ACCOUNT_KINDS = ("interest", "penalty", "fee", "deposit", "borrowing", "bank_margin", "bank_interest")
#: the breakdown columns of the project journal (kinds with 放款 and 收回本金 as one 本金 column)
JOURNAL_PARTS = [("principal", "本金"), ("interest", "利息"), ("penalty", "罚息"), ("fee", "手续费"),
                 ("deposit", "保证金"), ("other", "其他")]


def _sum(expr):
    return type_coerce(func.coalesce(func.sum(expr), 0), MONEY)


def _ids(*codes):
    ids = []
    for code in codes:
        try:
            ids += ledger.subtree_ids(ledger.get_account(code))
        except DomainError:     # an account an admin removed from the chart: nothing posted to it
            continue
    return ids


def kind_sets():
    """{kind: [ledger account ids]} for the kinds that have accounts."""
    return {kind: _ids(*codes) for kind, codes in KIND_ACCOUNTS.items()}


def kind_expression(sets=None, source_type=None):
    """SQL: the kind of a non-cash line; ``source_type``: its voucher's source type
    (default: Voucher.source_type, Voucher joined)."""
    sets = sets or kind_sets()
    source_type = Voucher.source_type if source_type is None else source_type
    whens = [(JournalLine.account_id.in_(sets["principal"] or [-1]),
              case((source_type == "disbursement", literal("disbursement")), else_=literal("principal")))]
    for kind in ACCOUNT_KINDS:
        whens.append((JournalLine.account_id.in_(sets[kind] or [-1]), literal(kind)))
    return case(*whens, else_=literal("other"))


def cash_fund_ids():
    """Every cash and bank fund account (inactive ones too: their past lines count)."""
    return list(db.session.execute(select(FundAccount.id).where(FundAccount.kind.in_(CASH_KINDS))
                                   .order_by(FundAccount.id)).scalars())


def _is_cash(fund_ids):
    return JournalLine.fund_account_id.in_(fund_ids or [-1])


def _not_cash(fund_ids):
    return or_(JournalLine.fund_account_id.is_(None), JournalLine.fund_account_id.not_in(fund_ids or [-1]))


# -- filters --------------------------------------------------------------------------------
@dataclass
class Filters:
    start: date = None
    end: date = None
    as_of: date = None
    branch_id: int = None
    fund_account_id: int = None
    bank_id: int = None
    loan_id: int = None
    keyword: str = None
    show_all: bool = False

    def period(self, default_start=True):
        """(start, end): the month to the business date by default; ``default_start``
        False leaves an empty start open (from the first voucher)."""
        today = settings.business_date()
        end = self.end or today
        start = self.start or (common.month_start(end) if default_start else None)
        if start is not None and start > end:
            raise DomainError(f"开始日期 {start} 不能晚于结束日期 {end}", "start")
        return start, end

    def day(self):
        return self.as_of or settings.business_date()

    def params(self, period=True, as_of=False, default_start=True):
        items = []
        if period:
            start, end = self.period(default_start)
            items.append(("期间", f"{start or '不限'} 至 {end}"))
        if as_of:
            items.append(("统计日期", self.day().isoformat()))
        if self.branch_id:
            branch = db.session.get(Branch, self.branch_id)
            items.append(("机构", branch.name if branch else self.branch_id))
        if self.fund_account_id:
            fund = db.session.get(FundAccount, self.fund_account_id)
            items.append(("资金账户", fund.name if fund else self.fund_account_id))
        if self.bank_id:
            bank = db.session.get(Bank, self.bank_id)
            items.append(("银行", str(bank) if bank else self.bank_id))
        if self.loan_id:
            loan = db.session.get(Loan, self.loan_id)
            items.append(("项目", f"{loan.loan_no} {loan.customer.name}" if loan else self.loan_id))
        if self.keyword:
            items.append(("关键字", self.keyword))
        items.append(("单位", "元"))
        return items


def sees_company(user):
    """Whether the user sees the company's own movements (capital, expenses, transfers
    between fund accounts: vouchers of no loan): those belong to the head office, so a user
    who sees every branch or whose branches include a top-level one (总部) does."""
    from app.services.scope import visible_branch_ids

    ids = visible_branch_ids(user)
    if ids is None:
        return True
    roots = db.session.execute(select(Branch.id).where(Branch.parent_id.is_(None))).scalars()
    return any(root in ids for root in roots)


def limited(user):
    """True when the user may not see every loan (his branches are not all of them)."""
    from app.services.scope import visible_branch_ids

    ids = visible_branch_ids(user)
    if ids is None:
        return False
    every = set(db.session.execute(select(Branch.id)).scalars())
    return not every <= set(ids)


def _restricted(filters, user):
    """True when some movements are left out: a limited data scope or a branch filter.
    Balances are then the running sum of what is shown, from zero at the period's start."""
    return bool(filters.branch_id) or limited(user)


def _loan_condition(filters, user):
    """Conditions on Loan: the data scope (when it leaves loans out) and the branch filter."""
    conditions = []
    scope = common.scope_condition(user) if limited(user) else None
    if scope is not None:
        conditions.append(scope)
    if filters.branch_id:
        conditions.append(Loan.branch_id == filters.branch_id)
    return conditions


def voucher_loans(start=None, end=None, name="vl"):
    """Subquery (voucher_id, loan_id): the vouchers whose lines name exactly one loan."""
    query = (select(JournalLine.voucher_id.label("voucher_id"), func.min(JournalLine.loan_id).label("loan_id"))
             .join(Voucher, Voucher.id == JournalLine.voucher_id).where(JournalLine.loan_id.is_not(None)))
    if start is not None:
        query = query.where(Voucher.business_date >= start)
    if end is not None:
        query = query.where(Voucher.business_date <= end)
    return (query.group_by(JournalLine.voucher_id)
            .having(func.min(JournalLine.loan_id) == func.max(JournalLine.loan_id)).subquery(name))


def _scoped_lines(query, filters, user, start=None, end=None):
    """Restrict a query over JournalLine ⋈ Voucher to the vouchers of the loans the user may
    see (and of the branch filter), plus, for a head-office user without a branch filter,
    the vouchers of no loan; a user who sees every branch keeps every voucher."""
    if not _restricted(filters, user):
        return query
    vl = voucher_loans(start, end, "svl")
    query = query.outerjoin(vl, vl.c.voucher_id == JournalLine.voucher_id).outerjoin(Loan, Loan.id == vl.c.loan_id)
    own = and_(vl.c.loan_id.is_not(None), *_loan_condition(filters, user))
    if not filters.branch_id and sees_company(user):
        return query.where(or_(own, vl.c.loan_id.is_(None)))
    return query.where(own)


def _cash_lines(columns, filters, user, start=None, end=None, fund_ids=None, when=None):
    """SELECT ``columns`` over the cash and bank lines dated in [start, end] (and ``when``, a
    condition on the voucher date) within scope."""
    fund_ids = cash_fund_ids() if fund_ids is None else fund_ids
    query = (select(*columns).select_from(JournalLine).join(Voucher, Voucher.id == JournalLine.voucher_id)
             .where(_is_cash(fund_ids)))
    dates = []
    if when is not None:
        dates.append(when)
    if filters.fund_account_id:
        query = query.where(JournalLine.fund_account_id == filters.fund_account_id)
    if start is not None:
        dates.append(Voucher.business_date >= start)
    if end is not None:
        dates.append(Voucher.business_date <= end)
    return _scoped_lines(query.where(*dates), filters, user, start, end)


# -- 收支汇总统计 ------------------------------------------------------------------------------
@dataclass
class FundFlow:
    """One fund account over the period: opening, in, out, closing."""

    id: int
    name: str
    kind: str
    opening: Decimal = ZERO
    money_in: Decimal = ZERO
    money_out: Decimal = ZERO
    lines: int = 0          # movements in the period

    @property
    def closing(self):
        return self.opening + self.money_in - self.money_out

    @property
    def kind_label(self):
        return FUND_KINDS.get(self.kind, self.kind)


@dataclass
class KindFlow:
    key: str
    label: str
    by_fund: dict = field(default_factory=dict)    # fund id → [in, out]

    @property
    def money_in(self):
        return sum((v[0] for v in self.by_fund.values()), ZERO)

    @property
    def money_out(self):
        return sum((v[1] for v in self.by_fund.values()), ZERO)

    @property
    def net(self):
        return self.money_in - self.money_out

    def of(self, fund_id):
        return self.by_fund.get(fund_id, [ZERO, ZERO])


@dataclass
class IncomeSummary:
    start: date
    end: date
    funds: list           # FundFlow
    kinds: list           # KindFlow, the 调整 row last when there is one
    filters: Filters = None
    scoped: bool = False

    @property
    def total_in(self):
        return sum((f.money_in for f in self.funds), ZERO)

    @property
    def total_out(self):
        return sum((f.money_out for f in self.funds), ZERO)

    @property
    def opening(self):
        return sum((f.opening for f in self.funds), ZERO)

    @property
    def closing(self):
        return sum((f.closing for f in self.funds), ZERO)


def _frozen_months(filters, user, start, end):
    """Month ends of the whole months inside [start, end] whose flows are frozen (locked by a
    period close, app.services.month_end); none for a restricted view (its own lines only)."""
    from app.services import month_end

    if start is None or _restricted(filters, user):
        return []
    ends, day = [], common.month_end(start)
    while day <= end:
        if common.month_start(day) >= start:
            ends.append(day)
        day = common.month_end(day + timedelta(days=1))
    return sorted(month_end.frozen(ends))


def _live_dates(start, end, frozen):
    """SQL condition on Voucher.business_date: in [start, end] but in none of the ``frozen`` months."""
    ranges, cursor = [], start
    for day in frozen:
        if cursor < common.month_start(day):
            ranges.append((cursor, common.month_start(day) - timedelta(days=1)))
        cursor = day + timedelta(days=1)
    if cursor <= end:
        ranges.append((cursor, end))
    return or_(false(), *[common.between(Voucher.business_date, a, b) for a, b in ranges])


def _frozen_flows(frozen, kinds, fund_id=None):
    """{(fund account id, kind): (in, out, lines)} summed over the ``frozen`` months."""
    query = (select(MonthFundFlow.fund_account_id, MonthFundFlow.kind, _sum(MonthFundFlow.money_in),
                    _sum(MonthFundFlow.money_out), func.coalesce(func.sum(MonthFundFlow.lines), 0))
             .where(MonthFundFlow.month_end.in_(frozen), MonthFundFlow.kind.in_(kinds))
             .group_by(MonthFundFlow.fund_account_id, MonthFundFlow.kind))
    if fund_id:
        query = query.where(MonthFundFlow.fund_account_id == fund_id)
    return {(fid, kind): (money(i), money(o), int(n)) for fid, kind, i, o, n in db.session.execute(query)}


def fund_flows(filters, user, start, end):
    """[FundFlow] of the cash and bank accounts (or the one filtered): in and out over
    [start, end] within the user's scope, and the opening balance before ``start`` — for a
    restricted view (see ``_restricted``) zero: its balances run from the period's start.

    The opening balance is the account's whole balance (``FundAccount.posted_net``) less what
    moved since ``start``: the lines since ``start`` only, instead of a join of every line
    before ``start`` with its voucher."""
    fund_ids = cash_fund_ids()
    accounts = db.session.execute(select(FundAccount.id, FundAccount.name, FundAccount.kind, FundAccount.is_active)
                                  .where(FundAccount.id.in_(fund_ids or [-1]))
                                  .order_by(FundAccount.kind.desc(), FundAccount.id)).all()
    flows = {fid: FundFlow(fid, name, kind) for fid, name, kind, _active in accounts
             if not filters.fund_account_id or fid == filters.fund_account_id}
    active = {fid for fid, _n, _k, is_active in accounts if is_active}
    inside = Voucher.business_date <= end
    columns = [JournalLine.fund_account_id, _sum(case((inside, JournalLine.debit), else_=literal(0))),
               _sum(case((inside, JournalLine.credit), else_=literal(0))), _sum(JournalLine.debit - JournalLine.credit),
               func.sum(case((inside, 1), else_=0))]
    frozen = _frozen_months(filters, user, start, end)
    if frozen:      # the frozen months' sums, and the lines of the other days since start
        window = _cash_lines(columns, filters, user, fund_ids=fund_ids,
                             when=or_(_live_dates(start, end, frozen), Voucher.business_date > end))
    else:
        window = _cash_lines(columns, filters, user, start, None, fund_ids)
    since = {}
    for fid, debit, credit, net, lines in db.session.execute(window.group_by(JournalLine.fund_account_id)):
        if fid in flows:
            flows[fid].money_in, flows[fid].money_out = money(debit), money(credit)
            flows[fid].lines = int(lines or 0)
            since[fid] = money(net)
    for (fid, _kind), (money_in, money_out, lines) in _frozen_flows(frozen, ["all"]).items():
        if fid in flows:
            flows[fid].money_in += money_in
            flows[fid].money_out += money_out
            flows[fid].lines += lines
            since[fid] = since.get(fid, ZERO) + money_in - money_out
    if start is not None and not _restricted(filters, user):
        # The whole balance is the stored net the ledger keeps with each posting (checked nightly).
        whole = select(FundAccount.id, FundAccount.posted_net).where(FundAccount.id.in_(list(flows) or [-1]))
        for fid, net in db.session.execute(whole):
            flows[fid].opening = money(net) - since.get(fid, ZERO)
    return [f for f in flows.values()
            if f.id in active or f.opening or f.money_in or f.money_out or f.id == filters.fund_account_id]


def _voucher_kinds(filters, user, start, end, fund_ids, when=None):
    """Subquery, one row per voucher of the period that moves the cash or bank accounts (the
    filtered one): its fund account (the lowest id when several), its source, its loan, and
    per kind the net (credit − debit) of its other lines. One pass over the period's lines."""
    sets = kind_sets()
    cash = _is_cash(fund_ids)
    moving = JournalLine.fund_account_id == filters.fund_account_id if filters.fund_account_id else cash
    columns = [JournalLine.voucher_id.label("voucher_id"), Voucher.source_type.label("source_type"),
               func.min(case((moving, JournalLine.fund_account_id))).label("fund_id"),
               func.min(JournalLine.loan_id).label("loan_min"), func.max(JournalLine.loan_id).label("loan_max")]
    other = list(sets.values())
    for key in ("principal", *ACCOUNT_KINDS, "other"):
        if key == "other":
            match = JournalLine.account_id.not_in([i for ids in other for i in ids] or [-1])
        else:
            match = JournalLine.account_id.in_(sets[key] or [-1])
        columns.append(_sum(case((and_(_not_cash(fund_ids), match), JournalLine.credit - JournalLine.debit),
                                 else_=literal(0))).label(key))
    dates = when if when is not None else and_(Voucher.business_date >= start, Voucher.business_date <= end)
    query = (select(*columns).select_from(JournalLine).join(Voucher, Voucher.id == JournalLine.voucher_id)
             .where(dates).group_by(JournalLine.voucher_id, Voucher.source_type)
             .having(func.min(case((moving, JournalLine.fund_account_id))).is_not(None)))
    return query.subquery("vk")


def _voucher_scope(query, vk, filters, user):
    """Keep the vouchers of ``vk`` the user may see (see ``_scoped_lines``)."""
    if not _restricted(filters, user):
        return query
    single = and_(vk.c.loan_min.is_not(None), vk.c.loan_min == vk.c.loan_max)
    query = query.outerjoin(Loan, and_(single, Loan.id == vk.c.loan_min))
    own = and_(Loan.id.is_not(None), *_loan_condition(filters, user))
    if not filters.branch_id and sees_company(user):
        return query.where(or_(own, vk.c.loan_min.is_(None)))
    return query.where(own)


def kind_flows(vk, filters=None, user=None):
    """{(fund account id, kind): (in, out)} over the vouchers of ``vk`` (``_voucher_kinds``)
    the user may see: per voucher, a kind's net is money in when positive, out when negative."""
    paid_out = vk.c.source_type == "disbursement"
    columns = [vk.c.fund_id]
    for key, _label in KINDS:
        net = vk.c["principal" if key == "disbursement" else key]
        if key in ("disbursement", "principal"):
            net = case((paid_out if key == "disbursement" else ~paid_out, net), else_=literal(0))
        columns += [_sum(case((net > 0, net), else_=literal(0))), _sum(case((net < 0, -net), else_=literal(0)))]
    query = select(*columns).select_from(vk)
    if filters is not None:
        query = _voucher_scope(query, vk, filters, user)
    found = {}
    for row in db.session.execute(query.group_by(vk.c.fund_id)):
        for n, (key, _label) in enumerate(KINDS):
            money_in, money_out = money(row[1 + 2 * n]), money(row[2 + 2 * n])
            if money_in or money_out:
                found[(row[0], key)] = (money_in, money_out)
    return found


def freeze_month(month_end_day):
    """Write the month's MonthFundFlow rows (app.services.month_end, at freezing its end)."""
    start, end = common.month_start(month_end_day), month_end_day
    fund_ids = cash_fund_ids()
    everyone = Filters()
    rows = []
    lines = (select(JournalLine.fund_account_id, _sum(JournalLine.debit), _sum(JournalLine.credit), func.count())
             .join(Voucher, Voucher.id == JournalLine.voucher_id)
             .where(_is_cash(fund_ids), common.between(Voucher.business_date, start, end))
             .group_by(JournalLine.fund_account_id))       # every line: no data scope here
    for fid, debit, credit, n in db.session.execute(lines):
        rows.append({"fund_account_id": fid, "kind": "all", "money_in": money(debit), "money_out": money(credit),
                     "lines": int(n)})
    for (fid, key), (money_in, money_out) in kind_flows(_voucher_kinds(everyone, None, start, end, fund_ids)).items():
        rows.append({"fund_account_id": fid, "kind": key, "money_in": money_in, "money_out": money_out, "lines": 0})
    if rows:
        db.session.execute(insert(MonthFundFlow), [dict(r, month_end=end) for r in rows])


def income_summary(filters, user):
    """收支汇总统计: money in and out over the period by business kind and fund account."""
    start, end = filters.period()
    fund_ids = cash_fund_ids()
    funds = fund_flows(filters, user, start, end)
    # The frozen months' split is by the voucher's lowest cash account: not with a fund filter.
    frozen = [] if filters.fund_account_id else _frozen_months(filters, user, start, end)
    when = _live_dates(start, end, frozen) if frozen else None
    kinds = {key: KindFlow(key, label) for key, label in KINDS}
    for (fund_id, key), figures in kind_flows(_voucher_kinds(filters, user, start, end, fund_ids, when),
                                              filters, user).items():
        kinds[key].by_fund[fund_id] = list(figures)
    for (fund_id, key), (money_in, money_out, _n) in _frozen_flows(frozen, [k for k, _l in KINDS]).items():
        have = kinds[key].of(fund_id)
        kinds[key].by_fund[fund_id] = [have[0] + money_in, have[1] + money_out]
    rows = list(kinds.values())
    adjustment = KindFlow(*ADJUSTMENT)
    for f in funds:
        gap_in = f.money_in - sum((k.of(f.id)[0] for k in rows), ZERO)
        gap_out = f.money_out - sum((k.of(f.id)[1] for k in rows), ZERO)
        if gap_in or gap_out:
            adjustment.by_fund[f.id] = [gap_in, gap_out]
    if adjustment.by_fund:
        rows.append(adjustment)
    return IncomeSummary(start, end, funds, rows, filters, _restricted(filters, user))


def summary_workbook(summary):
    from app.services import excel

    columns = [Column("业务类型", width=30), Column("收入合计", "money", total=True),
               Column("支出合计", "money", total=True), Column("收支净额", "money", total=True)]
    for f in summary.funds:
        columns += [Column(f"{f.name} 收入", "money", total=True), Column(f"{f.name} 支出", "money", total=True)]
    rows = []
    for k in summary.kinds:
        cells = [k.label, k.money_in, k.money_out, k.net]
        for f in summary.funds:
            cells += k.of(f.id)
        rows.append(cells)
    params = summary.filters.params() + [
        ("期初余额", "；".join(f"{f.name} {f.opening:,.2f}" for f in summary.funds) or "—"),
        ("期末余额", "；".join(f"{f.name} {f.closing:,.2f}" for f in summary.funds) or "—")]
    note = ("收入、支出为现金及银行账户的实际收付；按业务类型拆分取自同一凭证的对方科目。"
            + ("（仅含您可查看的贷款或所选机构的收付，期初按零计）" if summary.scoped else ""))
    return excel.write_workbook(columns, rows, "收支汇总统计", params, sheet_name="收支汇总统计", note=note)


# -- paged lists ------------------------------------------------------------------------------
@dataclass
class ListPage:
    title: str
    columns: list          # excel.Column
    rows: list             # cells, matching columns
    total_rows: int
    totals: dict           # column index → total
    page: int
    page_size: int
    extra: dict = field(default_factory=dict)

    @property
    def pages(self):
        return max(1, -(-self.total_rows // self.page_size))


def _count(query):
    return db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar() or 0


def _totals(query, names):
    if not names:
        return []
    sub = query.order_by(None).limit(None).offset(None).subquery("all_rows")
    return [money(v) for v in db.session.execute(select(*[_sum(sub.c[n]) for n in names])).one()]


# -- 收支明细 ----------------------------------------------------------------------------------
DETAIL_COLUMNS = [
    Column("资金账户", width=16), Column("日期", "date"), Column("凭证号", width=16), Column("单据号", width=18),
    Column("业务编号", width=18), Column("客户/往来单位", width=20), Column("业务类型", width=14),
    Column("摘要", width=30), Column("收入", "money", total=True), Column("支出", "money", total=True),
    Column("余额", "money"),
]


def document_kind(source_type, request_kind=None, reversal_of=None):
    """业务类型 of a voucher from its source (the labels of the project ledger)."""
    from app.services.fees import SOURCE_LABELS

    if source_type == "servicing_request":
        label = REQUEST_KINDS.get(request_kind, "贷后业务")
    else:
        label = SOURCE_LABELS.get(source_type) or ("其他" if not source_type else source_type)
    return label + ("（冲销）" if reversal_of else "")


def _facts(ids):
    """SELECT of the facts of the vouchers ``ids`` (a list or a SELECT of ids): number,
    source, description, the document (收款单号 — of the reversed receipt for a reversal —
    or 申请单号), the request kind, and the loan (业务编号, customer; the payer of a receipt
    when there is no loan)."""
    loan_of = (select(JournalLine.voucher_id.label("voucher_id"), func.min(JournalLine.loan_id).label("loan_id"))
               .where(JournalLine.voucher_id.in_(ids), JournalLine.loan_id.is_not(None))
               .group_by(JournalLine.voucher_id).subquery("loan_of"))
    direct, undone = aliased(Repayment), aliased(Repayment)
    return (select(Voucher.id.label("fact_id"), Voucher.voucher_no, Voucher.source_type,
                   Voucher.reversal_of_id.label("reversal_of"), Voucher.description,
                   func.coalesce(direct.receipt_no, undone.receipt_no, ServicingRequest.request_no).label("document"),
                   ServicingRequest.kind.label("request_kind"), Loan.loan_no,
                   func.coalesce(Customer.name, direct.payer, undone.payer).label("party"))
            .where(Voucher.id.in_(ids))
            .outerjoin(loan_of, loan_of.c.voucher_id == Voucher.id).outerjoin(Loan, Loan.id == loan_of.c.loan_id)
            .outerjoin(Customer, Customer.id == Loan.customer_id)
            .outerjoin(direct, direct.voucher_id == Voucher.id)
            .outerjoin(undone, undone.voucher_id == Voucher.reversal_of_id)
            .outerjoin(ServicingRequest, and_(Voucher.source_type == "servicing_request",
                                              ServicingRequest.id == Voucher.source_id)))


def voucher_facts(voucher_ids):
    """{voucher id: facts} for the rows of one page (see ``_facts``)."""
    ids = sorted(set(voucher_ids))
    return {r.fact_id: r for r in db.session.execute(_facts(ids))} if ids else {}


def _detail_query(filters, user):
    """The movements (cash and bank lines) of the period in order, each with the running sum
    of its fund account (a window over the period's lines)."""
    start, end = filters.period()
    order = (JournalLine.fund_account_id, Voucher.business_date, Voucher.id, JournalLine.id)
    running = type_coerce(func.sum(JournalLine.debit - JournalLine.credit).over(
        partition_by=JournalLine.fund_account_id, order_by=order[1:]), MONEY)
    return _cash_lines([JournalLine.id, JournalLine.fund_account_id.label("fund_id"),
                        Voucher.business_date.label("day"), Voucher.id.label("voucher_id"), JournalLine.memo,
                        JournalLine.debit.label("money_in"), JournalLine.credit.label("money_out"),
                        running.label("running")], filters, user, start, end).order_by(*order)


def _detail_cells(r, v, opening, names):
    return [names.get(r.fund_id, ""), r.day, v.voucher_no, v.document or "", v.loan_no or "", v.party or "",
            document_kind(v.source_type, v.request_kind, v.reversal_of), r.memo or v.description,
            money(r.money_in) or None, money(r.money_out) or None, opening.get(r.fund_id, ZERO) + money(r.running)]


def income_detail(filters, user, page_no=1, page_size=100):
    """收支明细: one row per movement, by fund account and date, with the running balance."""
    start, end = filters.period()
    funds = fund_flows(filters, user, start, end)
    opening = {f.id: f.opening for f in funds}
    names = {f.id: f.name for f in funds}
    query = _detail_query(filters, user)
    found = db.session.execute(query.limit(page_size).offset((page_no - 1) * page_size)).all()
    facts = voucher_facts(r.voucher_id for r in found)
    rows = [_detail_cells(r, facts[r.voucher_id], opening, names) for r in found]
    return ListPage("收支明细", DETAIL_COLUMNS, rows, sum(f.lines for f in funds),
                    {8: sum((f.money_in for f in funds), ZERO), 9: sum((f.money_out for f in funds), ZERO)},
                    page_no, page_size, {"funds": funds, "start": start, "end": end,
                                         "scoped": _restricted(filters, user)})


def detail_rows(filters, user):
    """Every row of the 收支明细, each fund account's block opened by its 期初余额 row: one
    streamed query with the vouchers' facts joined."""
    start, end = filters.period()
    funds = fund_flows(filters, user, start, end)
    opening = {f.id: f.opening for f in funds}
    names = {f.id: f.name for f in funds}
    core = _detail_query(filters, user).order_by(None).subquery("core")
    facts = _facts(select(core.c.voucher_id)).subquery("facts")
    query = (select(core, facts).join(facts, facts.c.fact_id == core.c.voucher_id)
             .order_by(core.c.fund_id, core.c.day, core.c.voucher_id, core.c.id))
    current = None
    for row in db.session.execute(query.execution_options(yield_per=STREAM_ROWS)):
        if row.fund_id != current:
            current = row.fund_id
            yield [names.get(row.fund_id, ""), start, "", "", "", "", "", "期初余额", None, None,
                   opening.get(row.fund_id, ZERO)]
        yield _detail_cells(row, row, opening, names)


def detail_workbook(filters, user, output=None):
    from app.services import excel

    return excel.write_workbook(DETAIL_COLUMNS, detail_rows(filters, user), "收支明细", filters.params(),
                                sheet_name="收支明细", constant_memory=True, output=output)


# -- 未归还客户保证金统计 -----------------------------------------------------------------------
DEPOSIT_COLUMNS = [
    Column("业务编号", width=18), Column("客户名称", width=20), Column("机构", width=14), Column("客户经理", width=10),
    Column("贷款状态", width=8), Column("首次收取日期", "date"), Column("最近变动日期", "date"),
    Column("已收保证金", "money", total=True), Column("已退还", "money", total=True),
    Column("抵扣及转出", "money", total=True), Column("保证金余额", "money", total=True),
]


def _customer_deposit_query(filters, user):
    """Per loan: 2203 credits (received), 2203 debits paid out in cash (returned: per voucher
    at most what left the cash and bank accounts in it) and the other debits (offset against
    the debt at settlement, transferred to income or to 其他应付款), up to ``as_of``."""
    as_of = filters.day()
    fund_ids = cash_fund_ids()
    dep = (select(JournalLine.voucher_id.label("voucher_id"), JournalLine.loan_id.label("loan_id"),
                  Voucher.business_date.label("day"), _sum(JournalLine.credit).label("received"),
                  _sum(JournalLine.debit).label("debits"))
           .join(Voucher, Voucher.id == JournalLine.voucher_id)
           .where(JournalLine.account_id.in_(_ids(ledger.DEPOSITS_RECEIVED) or [-1]),
                  JournalLine.loan_id.is_not(None), Voucher.business_date <= as_of)
           .group_by(JournalLine.voucher_id, JournalLine.loan_id, Voucher.business_date).subquery("dep"))
    paid_out = (select(JournalLine.voucher_id.label("voucher_id"), _sum(JournalLine.credit).label("out"))
                .where(_is_cash(fund_ids), JournalLine.voucher_id.in_(select(dep.c.voucher_id)))
                .group_by(JournalLine.voucher_id).subquery("paid_out"))
    out = func.coalesce(paid_out.c.out, 0)
    returned = case((out < dep.c.debits, out), else_=dep.c.debits)
    agg = (select(dep.c.loan_id, _sum(dep.c.received).label("received"), _sum(returned).label("returned"),
                  _sum(dep.c.debits - returned).label("offset"),
                  func.min(case((dep.c.received > 0, dep.c.day))).label("first_on"), func.max(dep.c.day).label("last_on"))
           .select_from(dep).outerjoin(paid_out, paid_out.c.voucher_id == dep.c.voucher_id)
           .group_by(dep.c.loan_id).subquery("deposits"))
    balance = (agg.c.received - agg.c.returned - agg.c.offset)
    query = (select(Loan.id, Loan.loan_no, Customer.name.label("customer"), Branch.name.label("branch"),
                    func.coalesce(AppUser.real_name, AppUser.username).label("officer"), Loan.status,
                    agg.c.first_on, agg.c.last_on, agg.c.received, agg.c.returned, agg.c.offset,
                    type_coerce(balance, MONEY).label("balance"))
             .select_from(agg).join(Loan, Loan.id == agg.c.loan_id).join(Customer, Customer.id == Loan.customer_id)
             .join(Branch, Branch.id == Loan.branch_id).join(AppUser, AppUser.id == Loan.officer_id)
             .where(*_loan_condition(filters, user)))
    if not filters.show_all:
        query = query.where(balance != 0)
    if filters.keyword:
        term = f"%{filters.keyword.strip()}%"
        query = query.where(or_(Loan.loan_no.like(term), Customer.name.like(term)))
    return query.order_by(agg.c.first_on, Loan.loan_no)


def _deposit_cells(r):
    return [r.loan_no, r.customer, r.branch, r.officer, LOAN_STATUSES.get(r.status, r.status), r.first_on,
            r.last_on, money(r.received), money(r.returned), money(r.offset), money(r.balance)]


def customer_deposits(filters, user, page_no=1, page_size=100):
    """未归还客户保证金统计: per loan, the security deposit received, returned (in cash),
    offset or transferred, and still held at the end of ``as_of``."""
    query = _customer_deposit_query(filters, user)
    rows = [_deposit_cells(r) for r in db.session.execute(query.limit(page_size).offset((page_no - 1) * page_size))]
    received, returned, offset, balance = _totals(query, ["received", "returned", "offset", "balance"])
    return ListPage("未归还客户保证金统计", DEPOSIT_COLUMNS, rows, _count(query),
                    {7: received, 8: returned, 9: offset, 10: balance}, page_no, page_size)


def customer_deposits_workbook(filters, user, output=None):
    from app.services import excel

    rows = (_deposit_cells(r) for r in db.session.execute(
        _customer_deposit_query(filters, user).execution_options(yield_per=STREAM_ROWS)))
    params = filters.params(period=False, as_of=True) + [("范围", "含余额为零的项目" if filters.show_all else "仅未归还（余额不为零）")]
    return excel.write_workbook(DEPOSIT_COLUMNS, rows, "未归还客户保证金统计", params, sheet_name="未归还客户保证金",
                                constant_memory=True, output=output)


# -- 资金分布 ---------------------------------------------------------------------------------
@dataclass
class FundBalance:
    id: int
    name: str
    kind: str
    bank_name: str
    account_no: str
    ledger_code: str
    is_active: bool
    balance: Decimal
    share: Decimal = None      # % of the cash and bank total (capital: of the capital total)

    @property
    def kind_label(self):
        return FUND_KINDS.get(self.kind, self.kind)


@dataclass
class LedgerCheck:
    """One ledger account tied to fund accounts: Σ of their balances against the account's."""

    code: str
    name: str
    funds: Decimal
    ledger: Decimal

    @property
    def difference(self):
        return self.ledger - self.funds


@dataclass
class FundDistribution:
    as_of: date
    rows: list                      # FundBalance, cash and bank first, then capital
    checks: list                    # LedgerCheck

    def of_kind(self, *kinds):
        return [r for r in self.rows if r.kind in kinds]

    def total(self, *kinds):
        return sum((r.balance for r in self.of_kind(*kinds)), ZERO)

    @property
    def available(self):
        """可用资金: cash and bank (the 贷款快报 and dashboard figure)."""
        return self.total(*CASH_KINDS)

    def chart(self):
        return [{"name": r.name, "value": str(r.balance)} for r in self.of_kind(*CASH_KINDS) if r.balance > 0]


def fund_distribution(as_of=None):
    """资金分布: the balance of every fund account at the end of ``as_of`` with its share,
    and each tied ledger account checked against the sum of its fund accounts. One grouped
    scan of the tied accounts' lines gives both (no voucher join when ``as_of`` is on or
    after the last voucher's date)."""
    from app.models import LedgerAccount

    as_of = as_of or settings.business_date()
    accounts = list(db.session.execute(select(FundAccount).order_by(FundAccount.id)).scalars())
    tied = {a.ledger_account_id for a in accounts}
    ledgers = {a.id: a for a in db.session.execute(select(LedgerAccount).where(
        LedgerAccount.id.in_(tied or [-1]))).scalars()}
    query = (select(JournalLine.account_id, JournalLine.fund_account_id, _sum(JournalLine.debit - JournalLine.credit))
             .where(JournalLine.account_id.in_(tied or [-1]))
             .group_by(JournalLine.account_id, JournalLine.fund_account_id))
    latest = common.last_voucher_date()
    if latest is not None and as_of < latest:
        query = query.join(Voucher, Voucher.id == JournalLine.voucher_id).where(Voucher.business_date <= as_of)
    nets, by_fund = {}, {}
    for account_id, fund_id, net in db.session.execute(query):
        nets[account_id] = nets.get(account_id, ZERO) + money(net)
        if fund_id is not None:
            by_fund[(account_id, fund_id)] = money(net)

    def signed(account_id, net):
        account = ledgers.get(account_id)
        return net if account is None or account.normal_side == "debit" else -net

    balances = {a.id: signed(a.ledger_account_id, by_fund.get((a.ledger_account_id, a.id), ZERO)) for a in accounts}
    rows = [FundBalance(a.id, a.name, a.kind, a.bank_name or "", a.account_no or "",
                        ledgers[a.ledger_account_id].code if a.ledger_account_id in ledgers else "", a.is_active,
                        balances[a.id])
            for a in accounts if a.is_active or balances[a.id]]
    order = {"cash": 0, "bank": 1, "capital": 2}
    rows.sort(key=lambda r: (order.get(r.kind, 3), r.id))
    for group in (CASH_KINDS, ("capital",)):
        members = [r for r in rows if r.kind in group]
        whole = sum((r.balance for r in members), ZERO)
        for r in members:
            r.share = pct(r.balance, whole) if whole > 0 else None
    checks = [LedgerCheck(account.code, account.name,
                          sum((balances[a.id] for a in accounts if a.ledger_account_id == account.id), ZERO),
                          signed(account.id, nets.get(account.id, ZERO)))
              for account in sorted(ledgers.values(), key=lambda x: x.code)]
    return FundDistribution(as_of, rows, checks)


DISTRIBUTION_COLUMNS = [Column("资金账户", width=20), Column("类型", width=8), Column("开户行", width=18),
                        Column("账号", width=22), Column("科目", width=8), Column("余额", "money", total=True),
                        Column("占比（%）", "percent")]


def distribution_workbook(report):
    from app.services import excel

    rows = [[r.name, r.kind_label, r.bank_name, r.account_no, r.ledger_code, r.balance, r.share]
            for r in report.of_kind(*CASH_KINDS)]
    capital = "；".join(f"{r.name} {r.balance:,.2f}" for r in report.of_kind("capital")) or "—"
    params = [("统计日期", report.as_of.isoformat()), ("可用资金（现金及银行存款）", f"{report.available:,.2f}"),
              ("股金", capital), ("单位", "元")]
    note = "；".join(f"科目 {c.code} {c.name}：账户合计 {c.funds:,.2f}，总账 {c.ledger:,.2f}"
                    + ("" if not c.difference else f"，差额 {c.difference:,.2f}") for c in report.checks)
    return excel.write_workbook(DISTRIBUTION_COLUMNS, rows, "资金分布", params, sheet_name="资金分布", note=note or None)


# -- 项目收付流水账 -----------------------------------------------------------------------------
JOURNAL_COLUMNS = [
    Column("日期", "date"), Column("业务编号", width=18), Column("客户名称", width=20), Column("凭证号", width=16),
    Column("单据号", width=18), Column("业务类型", width=14), Column("收入", "money", total=True),
    Column("支出", "money", total=True),
] + [Column(f"其中：{label}" if key == "principal" else label, "money", total=True) for key, label in JOURNAL_PARTS] + [
    Column("本金余额", "money")]
JOURNAL_TOTALS = ["money_in", "money_out"] + [f"part_{key}" for key, _label in JOURNAL_PARTS]


def _journal_agg(filters, user):
    """(subquery, start): one row per voucher of one loan (or of every loan) in the period
    that moves cash or principal: the cash in and out, its split by kind (+ in, − out) and
    the principal change. All loans: the vouchers whose lines name exactly one loan."""
    start, end = filters.period(default_start=not filters.loan_id)
    fund_ids = cash_fund_ids()
    sets = kind_sets()
    cash = _is_cash(fund_ids)
    kind = kind_expression(sets)
    parts = []
    for key, _label in JOURNAL_PARTS:
        match = kind.in_(("disbursement", "principal")) if key == "principal" else kind == key
        parts.append(_sum(case((and_(_not_cash(fund_ids), match), JournalLine.credit - JournalLine.debit),
                               else_=literal(0))).label(f"part_{key}"))
    money_in = _sum(case((cash, JournalLine.debit), else_=literal(0)))
    money_out = _sum(case((cash, JournalLine.credit), else_=literal(0)))
    change = _sum(case((JournalLine.account_id.in_(sets["principal"] or [-1]), JournalLine.debit - JournalLine.credit),
                       else_=literal(0)))
    loan_id = literal(filters.loan_id) if filters.loan_id else func.min(JournalLine.loan_id)
    query = (select(JournalLine.voucher_id.label("voucher_id"), Voucher.business_date.label("day"),
                    loan_id.label("loan_id"), money_in.label("money_in"), money_out.label("money_out"), *parts,
                    change.label("change"))
             .select_from(JournalLine).join(Voucher, Voucher.id == JournalLine.voucher_id)
             .where(Voucher.business_date <= end))
    if start is not None:
        query = query.where(Voucher.business_date >= start)
    if filters.loan_id:
        # this loan's vouchers, and of a voucher that names other loans too only its own lines
        query = query.where(JournalLine.voucher_id.in_(select(JournalLine.voucher_id).where(
            JournalLine.loan_id == filters.loan_id)),
            or_(JournalLine.loan_id.is_(None), JournalLine.loan_id == filters.loan_id))
    query = query.group_by(JournalLine.voucher_id, Voucher.business_date)
    if not filters.loan_id:
        query = query.having(func.min(JournalLine.loan_id) == func.max(JournalLine.loan_id))
    query = query.having(or_(money_in != 0, money_out != 0, change != 0))
    return query.subquery("agg"), start


def _journal_scoped(query, agg, filters, user):
    conditions = _loan_condition(filters, user)
    if conditions:
        query = query.join(Loan, Loan.id == agg.c.loan_id).where(*conditions)
    return query


def _journal_query(filters, user):
    """The page / export query over ``_journal_agg`` in date order; ``running`` is the
    loan's principal change so far in the period (the caller adds the balance before it)."""
    agg, start = _journal_agg(filters, user)
    running = type_coerce(func.sum(agg.c.change).over(partition_by=agg.c.loan_id,
                                                      order_by=(agg.c.day, agg.c.voucher_id)), MONEY)
    query = select(agg, running.label("running")).select_from(agg)
    return _journal_scoped(query, agg, filters, user).order_by(agg.c.day, agg.c.voucher_id), agg, start


def _journal_cells(r, v, loan_no, customer, opening):
    return ([r.day, loan_no, customer, v.voucher_no, v.document or "",
             document_kind(v.source_type, v.request_kind, v.reversal_of), money(r.money_in) or None,
             money(r.money_out) or None]
            + [money(getattr(r, f"part_{key}")) or None for key, _label in JOURNAL_PARTS]
            + [opening + money(r.running)])


def _openings(loan_ids, start):
    if start is None or not loan_ids:
        return {}
    sub = common.balances([start - timedelta(days=1)], loan_ids=list(loan_ids))
    return {loan_id: money(b) for loan_id, b in db.session.execute(select(sub.c.loan_id, sub.c.b0))}


def project_journal(filters, user, page_no=1, page_size=100):
    """项目收付流水账: every disbursement, receipt, fee, deposit and other movement of one loan
    (or of all the loans in scope) in date order, with the loan's principal balance after it."""
    query, agg, start = _journal_query(filters, user)
    # the count and the totals of the whole set ride along as window aggregates: one pass
    whole = [func.count().over().label("whole_count")] + [
        type_coerce(func.sum(agg.c[name]).over(), MONEY).label(f"whole_{name}") for name in JOURNAL_TOTALS]
    found = db.session.execute(query.add_columns(*whole).limit(page_size).offset((page_no - 1) * page_size)).all()
    facts = voucher_facts(r.voucher_id for r in found)
    loan_ids = {r.loan_id for r in found}
    names = {i: (no, name) for i, no, name in db.session.execute(
        select(Loan.id, Loan.loan_no, Customer.name).join(Customer, Customer.id == Loan.customer_id)
        .where(Loan.id.in_(loan_ids or [-1])))}
    opening = _openings(loan_ids, start)
    rows = [_journal_cells(r, facts[r.voucher_id], *names.get(r.loan_id, ("", "")), opening.get(r.loan_id, ZERO))
            for r in found]
    if found:
        figures = [found[0].whole_count] + [getattr(found[0], f"whole_{name}") for name in JOURNAL_TOTALS]
    else:       # a page past the end: count apart
        figures = db.session.execute(_journal_scoped(
            select(func.count(), *[_sum(agg.c[name]) for name in JOURNAL_TOTALS]).select_from(agg), agg, filters,
            user)).one()
    totals = [money(v) for v in figures[1:]]
    return ListPage("项目收付流水账", JOURNAL_COLUMNS, rows, int(figures[0] or 0),
                    dict(zip(range(6, 6 + len(totals)), totals)), page_no, page_size, {"start": start})


def journal_rows(filters, user):
    """Every row of the 项目收付流水账, streamed: the facts of each batch of vouchers read with
    one query (a join would mislead the planner: it cannot estimate the grouped rows), the
    balances before the period of every loan with one grouped scan."""
    query, _agg, start = _journal_query(filters, user)
    opening = {}
    if start is not None:
        loans_in = None if not filters.loan_id else [filters.loan_id]
        sub = common.balances([start - timedelta(days=1)], loan_ids=loans_in, name="before")
        opening = {loan_id: money(b) for loan_id, b in db.session.execute(select(sub.c.loan_id, sub.c.b0))}
    names = {}
    result = db.session.execute(query.execution_options(yield_per=STREAM_ROWS))
    for batch in result.partitions():
        facts = voucher_facts(r.voucher_id for r in batch)
        wanted = {r.loan_id for r in batch} - set(names)
        if wanted:
            names.update({i: (no, name) for i, no, name in db.session.execute(
                select(Loan.id, Loan.loan_no, Customer.name).join(Customer, Customer.id == Loan.customer_id)
                .where(Loan.id.in_(wanted)))})
        for r in batch:
            yield _journal_cells(r, facts[r.voucher_id], *names.get(r.loan_id, ("", "")),
                                 opening.get(r.loan_id, ZERO))


def journal_workbook(filters, user, output=None):
    from app.services import excel

    title = "项目收付流水账"
    return excel.write_workbook(JOURNAL_COLUMNS, journal_rows(filters, user), title,
                                filters.params(default_start=not filters.loan_id), sheet_name=title,
                                constant_memory=True, output=output)


# -- background exports (reports.exports: more rows than the threshold) ------------------------
def _export_query(code, filters, user):
    if code == "detail":
        return _detail_query(filters, user)
    if code == "deposits":
        return _customer_deposit_query(filters, user)
    if code == "journal":
        return _journal_query(filters, user)[0]
    raise KeyError(code)


def count(code, filters, user):
    """Rows the export of the list ``code`` (detail, deposits, journal) would write."""
    return _count(_export_query(code, filters, user))


def workbook(code, filters, user, output=None):
    writers = {"detail": detail_workbook, "deposits": customer_deposits_workbook, "journal": journal_workbook}
    return writers[code](filters, user, output=output)


def export_filters(values):
    from app.services.reports.exports import dates_from

    return Filters(**dates_from(values))


def export_title(code):
    return {"detail": "收支明细", "deposits": "未归还客户保证金统计", "journal": "项目收付流水账"}[code]


def find_loans(term, user, limit=20):
    """Loans in scope matching a typed 业务编号 / 合同编号 (exactly) or part of a loan number or
    customer name: [(id, loan_no, customer, amount)], exact matches first."""
    term = (term or "").strip()[:50]
    if not term:
        return []
    base = (select(Loan.id, Loan.loan_no, Customer.name, Loan.amount).join(Customer, Customer.id == Loan.customer_id)
            .where(Loan.status.in_(("active", "settled", "written_off", "closed"))))
    scope = common.scope_condition(user)
    if scope is not None:
        base = base.where(scope)
    contract = select(GeneratedDocument.loan_id).where(GeneratedDocument.contract_no == term)
    exact = db.session.execute(base.where(or_(Loan.loan_no == term, Loan.id.in_(contract))).limit(limit)).all()
    if exact:
        return exact
    like = f"%{term}%"
    return db.session.execute(base.where(or_(Loan.loan_no.like(like), Customer.name.like(like)))
                              .order_by(Loan.loan_no).limit(limit)).all()


# -- bank ledgers ----------------------------------------------------------------------------
def _bank_sums(as_of=None, start=None, end=None, name="bsum"):
    """Subquery per bank line: drawn, repaid, margin paid / recovered and interest paid, over
    the records dated in [start, end] (or up to ``as_of``)."""
    drawdown = BankDrawdown.kind == "drawdown"
    query = select(BankDrawdown.bank_credit_line_id.label("line_id"),
                   _sum(case((drawdown, BankDrawdown.amount), else_=literal(0))).label("drawn"),
                   func.sum(case((drawdown, 1), else_=0)).label("drawdowns"),
                   _sum(case((~drawdown, BankDrawdown.amount), else_=literal(0))).label("repaid"),
                   _sum(case((drawdown, BankDrawdown.margin_amount), else_=literal(0))).label("margin_paid"),
                   _sum(case((~drawdown, BankDrawdown.margin_amount), else_=literal(0))).label("margin_back"),
                   _sum(BankDrawdown.interest_amount).label("interest"),
                   func.max(case((BankDrawdown.margin_amount > 0, BankDrawdown.occurred_on))).label("margin_on"))
    if as_of is not None:
        query = query.where(BankDrawdown.occurred_on <= as_of)
    if start is not None:
        query = query.where(BankDrawdown.occurred_on >= start)
    if end is not None:
        query = query.where(BankDrawdown.occurred_on <= end)
    return query.group_by(BankDrawdown.bank_credit_line_id).subquery(name)


@dataclass
class BankLineRow:
    id: int
    bank_id: int
    bank: str
    contract_no: str
    limit: Decimal
    start: date
    end: date
    rate: Decimal
    status: str
    drawn: Decimal
    repaid: Decimal
    margin_paid: Decimal
    margin_back: Decimal
    margin_on: date = None

    @property
    def balance(self):
        return self.drawn - self.repaid

    @property
    def margin_held(self):
        return self.margin_paid - self.margin_back


@dataclass
class BankGroup:
    bank_id: int
    bank: str
    rows: list = field(default_factory=list)

    def total(self, name):
        return sum((getattr(r, name) for r in self.rows), ZERO)


def _bank_line_rows(as_of, filters):
    sums = _bank_sums(as_of=as_of)
    query = (select(BankCreditLine, Bank, sums.c.drawn, sums.c.repaid, sums.c.margin_paid, sums.c.margin_back,
                    sums.c.margin_on)
             .join(Bank, Bank.id == BankCreditLine.bank_id).outerjoin(sums, sums.c.line_id == BankCreditLine.id)
             .where(BankCreditLine.start_date <= as_of).order_by(Bank.name, Bank.id, BankCreditLine.end_date,
                                                                  BankCreditLine.id))
    if filters.bank_id:
        query = query.where(BankCreditLine.bank_id == filters.bank_id)
    return [BankLineRow(line.id, bank.id, str(bank), line.contract_no or "", money(line.limit_amount),
                        line.start_date, line.end_date, line.annual_rate, line.status, money(drawn), money(repaid),
                        money(paid), money(back), margin_on)
            for line, bank, drawn, repaid, paid, back, margin_on in db.session.execute(query)]


def _groups(rows):
    groups = {}
    for r in rows:
        groups.setdefault(r.bank_id, BankGroup(r.bank_id, r.bank)).rows.append(r)
    return list(groups.values())


@dataclass
class CreditLineRow(BankLineRow):
    as_of: date = None

    @property
    def effective_status(self):
        if self.status == "active" and self.end < self.as_of:
            return "expired"
        return self.status

    @property
    def status_label(self):
        return "已到期" if self.effective_status == "expired" else BANK_LINE_STATUSES.get(self.status, self.status)

    @property
    def available(self):
        return max(self.limit - self.balance, ZERO) if self.effective_status == "active" else ZERO

    @property
    def days_left(self):
        return (self.end - self.as_of).days if self.effective_status == "active" else None


@dataclass
class BankReport:
    """Bank lines at a date, grouped by bank (银行授信统计, 未收回银行保证金统计)."""

    as_of: date
    groups: list

    @property
    def rows(self):
        return [r for g in self.groups for r in g.rows]

    def total(self, name):
        return sum((getattr(r, name) for r in self.rows), ZERO)


def bank_credit(filters):
    """银行授信统计: each bank credit line at ``as_of``: limit, drawn, repaid, balance,
    available (an active line before its end date), expiry, by bank with totals."""
    as_of = filters.day()
    rows = [CreditLineRow(**vars(r), as_of=as_of) for r in _bank_line_rows(as_of, filters)]
    return BankReport(as_of, _groups(rows))


BANK_CREDIT_COLUMNS = [
    Column("银行", width=20), Column("授信合同编号", width=18), Column("授信额度", "money", total=True),
    Column("起始日", "date"), Column("到期日", "date"), Column("年利率（%）", "rate"), Column("状态", width=8),
    Column("累计提款", "money", total=True), Column("累计还款", "money", total=True),
    Column("借款余额", "money", total=True), Column("可用额度", "money", total=True),
    Column("剩余天数", "int"), Column("保证金余额", "money", total=True),
]


def bank_credit_workbook(report, filters):
    from app.services import excel

    rows = [[r.bank, r.contract_no, r.limit, r.start, r.end, r.rate, r.status_label, r.drawn, r.repaid, r.balance,
             r.available, r.days_left, r.margin_held] for r in report.rows]
    return excel.write_workbook(BANK_CREDIT_COLUMNS, rows, "银行授信统计", filters.params(period=False, as_of=True),
                                sheet_name="银行授信统计")


def bank_margins(filters):
    """未收回银行保证金统计: per bank line, the margin deposits paid to the bank with drawdowns,
    recovered with repayments and still held by the bank at the end of ``as_of``."""
    as_of = filters.day()
    rows = [r for r in _bank_line_rows(as_of, filters) if r.margin_held or (filters.show_all and r.margin_paid)]
    return BankReport(as_of, _groups(rows))


MARGIN_COLUMNS = [
    Column("银行", width=20), Column("授信合同编号", width=18), Column("授信到期日", "date"),
    Column("最近缴存日期", "date"), Column("借款余额", "money", total=True), Column("已缴保证金", "money", total=True),
    Column("已收回", "money", total=True), Column("未收回保证金", "money", total=True),
    Column("占借款余额（%）", "percent"),
]


def margin_cells(r):
    return [r.bank, r.contract_no, r.end, r.margin_on, r.balance, r.margin_paid, r.margin_back, r.margin_held,
            pct(r.margin_held, r.balance) if r.balance > 0 else None]


def margins_workbook(report, filters):
    from app.services import excel

    return excel.write_workbook(MARGIN_COLUMNS, [margin_cells(r) for r in report.rows], "未收回银行保证金统计",
                                filters.params(period=False, as_of=True), sheet_name="未收回银行保证金")


@dataclass
class BankCooperationRow:
    bank_id: int
    bank: str
    lines: int = 0                 # lines in force at the end of the period
    limit: Decimal = ZERO          # their limits
    drawn: Decimal = ZERO          # drawdowns in the period
    drawdowns: int = 0
    repaid: Decimal = ZERO         # repayments in the period
    interest: Decimal = ZERO       # interest paid in the period
    balance: Decimal = ZERO        # borrowing balance at the end
    margin_held: Decimal = ZERO    # margin deposits the bank holds at the end

    @property
    def available(self):
        return max(self.limit - self.balance, ZERO)


@dataclass
class BankCooperation:
    start: date
    end: date
    rows: list

    def total(self, name):
        return sum((getattr(r, name) for r in self.rows), Decimal(0) if name not in ("lines", "drawdowns") else 0)


def bank_cooperation(filters):
    """银行合作统计: per partner bank over the period: lines in force and their limits,
    drawdowns, repayments and interest paid in the period, and at its end the borrowing
    balance and the margin deposits the bank holds."""
    start, end = filters.period()
    banks = select(Bank.id, Bank.name, Bank.branch_name).order_by(Bank.name, Bank.id)
    if filters.bank_id:
        banks = banks.where(Bank.id == filters.bank_id)
    rows = {bid: BankCooperationRow(bid, f"{name}{branch or ''}") for bid, name, branch in db.session.execute(banks)}
    lines = (select(BankCreditLine.bank_id, func.count(), _sum(BankCreditLine.limit_amount))
             .where(BankCreditLine.status == "active", BankCreditLine.start_date <= end, BankCreditLine.end_date >= end)
             .group_by(BankCreditLine.bank_id))
    for bid, n, limit in db.session.execute(lines):
        if bid in rows:
            rows[bid].lines, rows[bid].limit = n, money(limit)
    period = _bank_sums(start=start, end=end, name="period")
    upto = _bank_sums(as_of=end, name="upto")
    for name, sums in (("period", period), ("upto", upto)):
        query = (select(BankCreditLine.bank_id, _sum(sums.c.drawn), func.coalesce(func.sum(sums.c.drawdowns), 0),
                        _sum(sums.c.repaid), _sum(sums.c.interest), _sum(sums.c.margin_paid - sums.c.margin_back))
                 .join(sums, sums.c.line_id == BankCreditLine.id).group_by(BankCreditLine.bank_id))
        for bid, drawn, count, repaid, interest, margin in db.session.execute(query):
            row = rows.get(bid)
            if row is None:
                continue
            if name == "period":
                row.drawn, row.drawdowns, row.repaid, row.interest = money(drawn), int(count), money(repaid), \
                    money(interest)
            else:
                row.balance, row.margin_held = money(drawn) - money(repaid), money(margin)
    shown = [r for r in rows.values() if r.lines or r.drawn or r.repaid or r.balance or r.margin_held or r.interest
             or filters.bank_id]
    return BankCooperation(start, end, shown)


COOPERATION_COLUMNS = [
    Column("银行", width=24), Column("有效授信笔数", "int", total=True), Column("授信额度", "money", total=True),
    Column("本期提款", "money", total=True), Column("提款笔数", "int", total=True), Column("本期还款", "money", total=True),
    Column("本期支付利息", "money", total=True), Column("期末借款余额", "money", total=True),
    Column("期末可用额度", "money", total=True), Column("期末保证金余额", "money", total=True),
]


def cooperation_cells(r):
    return [r.bank, r.lines, r.limit, r.drawn, r.drawdowns, r.repaid, r.interest, r.balance, r.available,
            r.margin_held]


def cooperation_workbook(report, filters):
    from app.services import excel

    return excel.write_workbook(COOPERATION_COLUMNS, [cooperation_cells(r) for r in report.rows], "银行合作统计",
                                filters.params(), sheet_name="银行合作统计")
