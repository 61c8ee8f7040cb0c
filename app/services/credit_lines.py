"""授信: customer credit lines and the bank credit lines granted to us.

Customer credit lines (客户授信)::

    save_draft (the officer fills the application) → submit → 审批中
    → the ``credit_line`` workflow → 生效 / 已退回 / 已否决
    → freeze (冻结) / unfreeze, close (关闭); a line past its end date counts as 已到期

A loan may draw on an active line of its own customer (``Loan.credit_line_id``). What a line
has used is a SQL sum over its loans, never a stored counter:

- revolving (循环授信): the full amount of its loans in approval or approved but not yet paid
  out, plus the outstanding principal of its active loans — a repaid or settled loan gives
  its principal back;
- non-revolving (一次性授信): the amount of every loan ever drawn on it, except drafts,
  returned and rejected ones.

``check_loan`` (hooked into ``loans.LOAN_CHECKS``) refuses a loan above the available amount,
on a line that is not active or has expired, outside the line's dates, for another customer
or for a product the line does not cover: at save, at submission and again when the loan
approval ends approved. The line row is locked (PostgreSQL) while the check runs, so two
loans submitted at once on one line take turns.

Bank credit lines (银行授信): limit, term and rate of a line a bank granted to us, and its
drawdowns and repayments (BankDrawdown); the drawn balance is their sum. Every new drawdown
is checked against the line's limit and the funding-leverage rule (DOMAIN.md §6: bank and
shareholder borrowing ≤ ``funding_leverage_multiple`` × ``net_assets``), then posted: Dr 银行存款
/ Cr 短期借款 for a drawdown (the reverse for a repayment), the margin against 存出保证金 and
the interest paid to 财务费用.
"""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import url_for
from sqlalchemy import case, func, select, update

from app.domain import workflow as flow
from app.domain.errors import DomainError
from app.domain.money import ZERO
from app.extensions import db
from app.models import Customer, FundAccount, Installment, Loan
from app.models.credit_line import (
    BANK_ENTRY_KINDS, CREDIT_LINE_STATUSES, BankCreditLine, BankDrawdown, CreditLine,
)
from app.services import ledger, loans, numbering, settings, workflow
from app.services.scope import apply_scope, can_see_branch

LINE_PREFIX = "SX"
CENT = Decimal("0.01")
HUNDRED = Decimal("100")
#: Loans that use a revolving line with their full amount (not yet paid out).
PENDING_STATUSES = loans.COMMITTED_STATUSES
#: Loans that never used a non-revolving line.
NOT_DRAWN_STATUSES = ("draft", "returned", "rejected")
CONDITION_FIELDS = {"amount": "授信额度（元）", "revolving": "是否循环（是/否）", "customer_kind": "客户类型",
                    "term_days": "授信期限（天）"}


def _postgres():
    return db.session.get_bind().dialect.name == "postgresql"


def _money(value):
    return Decimal(value if value is not None else 0).quantize(CENT)


def _check_amount(value, label, field):
    if value is None:
        raise DomainError(f"请填写{label}", field)
    value = Decimal(value)
    if value <= 0:
        raise DomainError(f"{label}必须大于 0", field)
    if value != value.quantize(CENT):
        raise DomainError(f"{label}最多两位小数（精确到分）", field)
    return value


def _optional_amount(value, label, field):
    """An amount that may be left empty (zero), else positive with at most two decimals."""
    if value in (None, ""):
        return Decimal("0.00")
    value = Decimal(value)
    if value < 0:
        raise DomainError(f"{label}不能为负数", field)
    if value != value.quantize(CENT):
        raise DomainError(f"{label}最多两位小数（精确到分）", field)
    return value


# -- customer credit lines: usage ---------------------------------------------------------
@dataclass
class Usage:
    limit: Decimal
    used: Decimal
    available: Decimal


def used_amount(line, exclude_loan_id=None):
    """What the loans drawing on ``line`` use of it (two SQL sums for a revolving line, one
    for a non-revolving line); ``exclude_loan_id``: leave out the loan being checked."""
    others = [Loan.credit_line_id == line.id]
    if exclude_loan_id:
        others.append(Loan.id != exclude_loan_id)
    if not line.revolving:
        drawn = db.session.execute(select(func.coalesce(func.sum(Loan.amount), 0)).where(
            Loan.status.notin_(NOT_DRAWN_STATUSES), *others)).scalar()
        return _money(drawn)
    pending = db.session.execute(select(func.coalesce(func.sum(Loan.amount), 0)).where(
        Loan.status.in_(PENDING_STATUSES), *others)).scalar()
    outstanding = db.session.execute(
        select(func.coalesce(func.sum(Installment.principal - Installment.principal_paid), 0))
        .join(Loan, Loan.id == Installment.loan_id).where(Loan.status == "active", *others)).scalar()
    return _money(pending) + _money(outstanding)


def usage(line, exclude_loan_id=None):
    limit = _money(line.limit_amount)
    used = used_amount(line, exclude_loan_id)
    return Usage(limit=limit, used=used, available=max(limit - used, ZERO))


def is_expired(line, as_of=None):
    return line.end_date is not None and line.end_date < (as_of or settings.business_date())


def effective_status(line, as_of=None):
    """The status to show: an active or frozen line past its end date is 已到期."""
    if line.status in ("active", "frozen") and is_expired(line, as_of):
        return "expired"
    return line.status


def effective_status_label(line, as_of=None):
    status = effective_status(line, as_of)
    return CREDIT_LINE_STATUSES.get(status, status)


def expire(as_of=None):
    """Mark the active and frozen lines whose end date has passed as 已到期 (one UPDATE; the
    nightly batch may call it). Returns the number of lines changed."""
    as_of = as_of or settings.business_date()
    result = db.session.execute(update(CreditLine).where(
        CreditLine.status.in_(("active", "frozen")), CreditLine.end_date < as_of)
        .values(status="expired", version=CreditLine.version + 1).execution_options(synchronize_session=False))
    return result.rowcount


def loans_of(line):
    """The loans drawing on the line with what each uses of it: [(loan, outstanding, counted)]."""
    rows = db.session.execute(select(Loan).where(Loan.credit_line_id == line.id).order_by(Loan.id)).scalars().all()
    outstanding = dict(db.session.execute(
        select(Installment.loan_id, func.sum(Installment.principal - Installment.principal_paid))
        .join(Loan, Loan.id == Installment.loan_id)
        .where(Loan.credit_line_id == line.id, Loan.status == "active").group_by(Installment.loan_id)).all())
    result = []
    for loan in rows:
        left = _money(outstanding.get(loan.id)) if loan.status == "active" else None
        if line.revolving:
            counted = _money(loan.amount) if loan.status in PENDING_STATUSES else (left or ZERO)
        else:
            counted = ZERO if loan.status in NOT_DRAWN_STATUSES else _money(loan.amount)
        result.append((loan, left, counted))
    return result


def lines_of_customer(customer_id):
    return db.session.execute(select(CreditLine).where(CreditLine.customer_id == customer_id)
                              .order_by(CreditLine.id.desc())).scalars().all()


def customer_summary(customer_id):
    """The customer page's 授信 section: each line with its usage."""
    return [(line, effective_status_label(line), usage(line)) for line in lines_of_customer(customer_id)]


def usable_lines(customer_id, term="", user=None, limit=20):
    """The loan form's picker: active, unexpired lines of one customer in the user's scope."""
    today = settings.business_date()
    query = (select(CreditLine).where(CreditLine.customer_id == customer_id, CreditLine.status == "active",
                                      CreditLine.end_date >= today)
             .order_by(CreditLine.end_date, CreditLine.id).limit(limit))
    term = (term or "").strip()
    if term:
        query = query.where(CreditLine.line_no.like(f"%{term}%"))
    return db.session.execute(apply_scope(query, CreditLine.branch_id, user)).scalars().all()


# -- customer credit lines: application and approval ----------------------------------------
def check_line(line):
    """The application's own fields; raises DomainError naming the field."""
    customer = line.customer or (db.session.get(Customer, line.customer_id) if line.customer_id else None)
    if customer is None:
        raise DomainError("请选择授信客户", "customer")
    if customer.status != "active":
        raise DomainError(f"客户“{customer.name}”已停用，不能授信", "customer")
    from app.services import customers as customer_service

    customer_service.ensure_not_blacklisted(customer)
    limit = _check_amount(line.limit_amount, "授信额度", "limit_amount")
    net_assets = Decimal(settings.get("net_assets") or 0)
    pct = Decimal(settings.get("single_borrower_limit_pct") or 0)
    cap = (net_assets * pct / HUNDRED).quantize(CENT)
    if net_assets > 0 and pct > 0 and limit > cap:
        raise DomainError(f"授信额度 {limit:,.2f} 元超过单户贷款余额上限 {cap:,.2f} 元"
                          f"（上年末净资产 {net_assets:,.2f} 元 × {pct.normalize():f}%）", "limit_amount")
    if line.start_date is None:
        raise DomainError("请填写授信起始日", "start_date")
    if line.end_date is None:
        raise DomainError("请填写授信到期日", "end_date")
    if line.end_date < line.start_date:
        raise DomainError("授信到期日不能早于起始日", "end_date")
    today = settings.business_date()
    if line.end_date < today:
        raise DomainError(f"授信到期日 {line.end_date:%Y-%m-%d} 已早于营业日期 {today:%Y-%m-%d}", "end_date")
    if line.revolving is None:
        line.revolving = False
    for product in line.products or []:
        if not product.is_enabled:
            raise DomainError(f"贷款产品“{product.name}”已停用，不能列入授信适用产品", "products")
    return customer


def save_draft(line, user):
    """Validate a new or edited application, number it; the caller commits (FAB's datamodel
    does for forms)."""
    if line.id and not line.is_editable:
        raise DomainError(f"授信 {line.line_no} 当前状态为“{line.status_label}”，不能修改")
    customer = check_line(line)
    if not can_see_branch(customer.branch_id, user):
        raise DomainError("只能为本机构的客户申请授信", "customer")
    line.branch_id = customer.branch_id
    line.status = line.status or "draft"
    if not line.line_no:
        line.line_no = numbering.next_number(LINE_PREFIX, settings.business_date())
        line.created_by_id = getattr(user, "id", None)
        db.session.add(line)
    db.session.flush()
    return line


def create(user, customer, limit_amount, start_date, end_date, revolving=True, products=(), remarks=None):
    """A new application as a draft (service entry point for tests, the API and imports);
    commits."""
    line = CreditLine(customer=customer, limit_amount=limit_amount, start_date=start_date, end_date=end_date,
                      revolving=revolving, remarks=remarks)
    line.products = list(products)
    try:
        save_draft(line, user)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return line


def _lock(line_id):
    query = select(CreditLine).where(CreditLine.id == line_id).execution_options(populate_existing=True)
    if _postgres():
        query = query.with_for_update()
    line = db.session.execute(query).scalar_one_or_none()
    if line is None:
        raise DomainError("授信不存在")
    return line


def can_handle(line, user):
    return can_see_branch(line.branch_id, user)


def submit(line_id, user, opinion=None):
    """提交审批: the draft (or returned) application starts the ``credit_line`` flow; commits."""
    try:
        line = _lock(line_id)
        if not line.is_editable:
            raise DomainError(f"授信 {line.line_no} 当前状态为“{line.status_label}”，不能提交")
        if not can_handle(line, user):
            raise DomainError("无权办理该客户的授信")
        check_line(line)
        line.status = "in_approval"
        line.submitted_at = datetime.now()
        db.session.flush()
        workflow.start("credit_line", line, user, opinion)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return line


def _finished(line, status, user, opinion):
    """The approval ended (same transaction as the last approval)."""
    if status == flow.APPROVED and is_expired(line):
        raise DomainError(f"授信 {line.line_no} 的到期日 {line.end_date:%Y-%m-%d} 已过，不能批准，请退回修改")
    line.decided_at = datetime.now()
    line.status = {flow.APPROVED: "active", flow.RETURNED: "returned", flow.REJECTED: "rejected"}[status]


def _manage(line_id, user, allowed, target, reason, verb):
    try:
        line = _lock(line_id)
        if not can_handle(line, user):
            raise DomainError("无权办理该客户的授信")
        if line.status not in allowed:
            raise DomainError(f"授信 {line.line_no} 当前状态为“{effective_status_label(line)}”，不能{verb}")
        reason = (reason or "").strip()
        if target in ("frozen", "closed") and not reason:
            raise DomainError(f"请填写{verb}原因", "reason")
        line.status = target
        line.status_reason = reason[:300] or None
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return line


def freeze(line_id, user, reason):
    """冻结: no new loan may draw on the line; its loans go on."""
    return _manage(line_id, user, ("active",), "frozen", reason, "冻结")


def unfreeze(line_id, user, reason=None):
    return _manage(line_id, user, ("frozen",), "active", reason, "解冻")


def close(line_id, user, reason):
    """关闭: the line ends for good (its loans go on)."""
    return _manage(line_id, user, ("active", "frozen", "expired"), "closed", reason, "关闭")


def delete_check(line):
    if line.status != "draft":
        raise DomainError(f"授信 {line.line_no} 当前状态为“{line.status_label}”，只有草稿可以删除")


# -- the loan hook ----------------------------------------------------------------------------
def check_loan(loan):
    """A loan drawing on a credit line: same customer, active and unexpired line, start date
    within the line's dates, a product the line covers, amount within what is available."""
    line = loan.credit_line
    if line is None and loan.credit_line_id:
        line = db.session.get(CreditLine, loan.credit_line_id)
    if line is None:
        return
    with db.session.no_autoflush:
        if line.id is not None:
            line = _lock(line.id)
        customer_id = loan.customer.id if loan.customer is not None else loan.customer_id
        if line.customer_id != customer_id:
            owner = line.customer.name if line.customer is not None else ""
            raise DomainError(f"授信 {line.line_no} 属于客户“{owner}”，不能用于其他客户的贷款", "credit_line")
        status = effective_status(line)
        if status == "expired":
            raise DomainError(f"授信 {line.line_no} 已于 {line.end_date:%Y-%m-%d} 到期，不能再用于贷款", "credit_line")
        if status != "active":
            raise DomainError(f"授信 {line.line_no} 当前状态为“{CREDIT_LINE_STATUSES.get(status, status)}”，"
                              "只有生效的授信可以用于贷款", "credit_line")
        if loan.start_date is not None and not line.start_date <= loan.start_date <= line.end_date:
            raise DomainError(f"放款日期 {loan.start_date:%Y-%m-%d} 不在授信 {line.line_no} 的期限 "
                              f"{line.start_date:%Y-%m-%d} 至 {line.end_date:%Y-%m-%d} 内", "credit_line")
        if line.products and loan.product is not None and loan.product not in line.products:
            raise DomainError(f"授信 {line.line_no} 仅适用于：{line.product_label}，不含产品“{loan.product.name}”",
                              "credit_line")
        amount = _money(loan.amount)
        current = usage(line, exclude_loan_id=loan.id)
        if amount > current.available:
            raise DomainError(
                f"贷款金额 {amount:,.2f} 元超过授信 {line.line_no} 的可用额度 {current.available:,.2f} 元"
                f"（授信额度 {current.limit:,.2f} 元，已用 {current.used:,.2f} 元）", "amount")


# -- bank credit lines ------------------------------------------------------------------------
def _signed_amount():
    return case((BankDrawdown.kind == "drawdown", BankDrawdown.amount), else_=-BankDrawdown.amount)


def bank_balance(line_id=None):
    """Drawn balance: drawdowns less repayments, of one bank line or of all of them."""
    query = select(func.coalesce(func.sum(_signed_amount()), 0))
    if line_id is not None:
        query = query.where(BankDrawdown.bank_credit_line_id == line_id)
    return _money(db.session.execute(query).scalar())


def bank_margin_held(line_id):
    """未收回银行保证金 of one bank line: margins paid with drawdowns less those recovered."""
    signed = case((BankDrawdown.kind == "drawdown", BankDrawdown.margin_amount), else_=-BankDrawdown.margin_amount)
    return _money(db.session.execute(select(func.coalesce(func.sum(signed), 0))
                                     .where(BankDrawdown.bank_credit_line_id == line_id)).scalar())


def bank_balances():
    """{bank line id: drawn balance} in one grouped query (the list page)."""
    return {line_id: _money(total) for line_id, total in db.session.execute(
        select(BankDrawdown.bank_credit_line_id, func.sum(_signed_amount()))
        .group_by(BankDrawdown.bank_credit_line_id))}


@dataclass
class FundingPosition:
    """融资杠杆: what we have borrowed against the limit of ``multiple`` × net assets."""

    borrowing: Decimal
    net_assets: Decimal
    multiple: Decimal
    limit: Decimal
    ratio_pct: Decimal | None        # borrowing / net assets, %
    headroom: Decimal

    @property
    def exceeded(self):
        return self.borrowing > self.limit


def funding_position(borrowing=None):
    borrowing = bank_balance() if borrowing is None else borrowing
    net_assets = _money(settings.get("net_assets") or 0)
    multiple = Decimal(settings.get("funding_leverage_multiple") or 0)
    limit = _money(net_assets * multiple)
    ratio = (borrowing * HUNDRED / net_assets).quantize(CENT) if net_assets > 0 else None
    return FundingPosition(borrowing=borrowing, net_assets=net_assets, multiple=multiple, limit=limit,
                           ratio_pct=ratio, headroom=max(limit - borrowing, ZERO))


def check_bank_line(line):
    if line.bank is None and not line.bank_id:
        raise DomainError("请选择银行", "bank")
    _check_amount(line.limit_amount, "授信额度", "limit_amount")
    if line.start_date is None:
        raise DomainError("请填写授信起始日", "start_date")
    if line.end_date is None:
        raise DomainError("请填写授信到期日", "end_date")
    if line.end_date < line.start_date:
        raise DomainError("授信到期日不能早于起始日", "end_date")
    if line.annual_rate is None:
        raise DomainError("请填写年利率", "annual_rate")
    if not ZERO <= Decimal(line.annual_rate) <= HUNDRED:
        raise DomainError("年利率应在 0 到 100 之间（%）", "annual_rate")
    if line.status not in ("active", "closed"):
        line.status = "active"
    if line.id:
        drawn = bank_balance(line.id)
        if Decimal(line.limit_amount) < drawn:
            raise DomainError(f"授信额度不能低于已提款余额 {drawn:,.2f} 元", "limit_amount")


def save_bank_line(line, user):
    """Validate a new or edited bank credit line; the caller commits."""
    check_bank_line(line)
    if not line.id:
        line.created_by_id = getattr(user, "id", None)


def _lock_bank_lines(line_id):
    """Lock every bank line (a handful of rows) so two drawdowns at once cannot both pass the
    funding-leverage check; returns the one the entry is for."""
    query = select(BankCreditLine).order_by(BankCreditLine.id).execution_options(populate_existing=True)
    if _postgres():
        query = query.with_for_update()
    lines = {line.id: line for line in db.session.execute(query).scalars()}
    if line_id not in lines:
        raise DomainError("请选择银行授信", "line")
    return lines[line_id]


def check_entry(entry, lock=False):
    """A drawdown or repayment against its bank line: dates, amount, the line's limit and, for
    a drawdown, the funding-leverage limit."""
    line_id = entry.line.id if entry.line is not None else entry.bank_credit_line_id
    if not line_id:
        raise DomainError("请选择银行授信", "line")
    line = _lock_bank_lines(line_id) if lock else db.session.get(BankCreditLine, line_id)
    if line is None:
        raise DomainError("请选择银行授信", "line")
    if entry.kind not in BANK_ENTRY_KINDS:
        raise DomainError("请选择记录类型（借款或还款）", "kind")
    amount = _check_amount(entry.amount, "金额", "amount")
    if entry.occurred_on is None:
        raise DomainError("请填写日期", "occurred_on")
    today = settings.business_date()
    if entry.occurred_on > today:
        raise DomainError(f"日期不能晚于营业日期 {today:%Y-%m-%d}", "occurred_on")
    try:
        ledger.check_open(entry.occurred_on)
    except DomainError as exc:   # the voucher would be refused: say so under the date
        raise DomainError(exc.message, "occurred_on") from None
    entry.margin_amount = _optional_amount(entry.margin_amount, "保证金", "margin_amount")
    entry.interest_amount = _optional_amount(entry.interest_amount, "支付利息", "interest_amount")
    drawn = bank_balance(line.id)
    if entry.kind == "repayment":
        if amount > drawn:
            raise DomainError(f"还款金额 {amount:,.2f} 元超过该授信的借款余额 {drawn:,.2f} 元", "amount")
        held = bank_margin_held(line.id)
        if entry.margin_amount > held:
            raise DomainError(f"收回保证金 {entry.margin_amount:,.2f} 元超过银行尚持有的保证金 {held:,.2f} 元",
                              "margin_amount")
        return line
    if line.status != "active":
        raise DomainError(f"银行授信“{line}”已终止，不能再提款", "line")
    if not line.start_date <= entry.occurred_on <= line.end_date:
        raise DomainError(f"提款日期 {entry.occurred_on:%Y-%m-%d} 不在授信期限 "
                          f"{line.start_date:%Y-%m-%d} 至 {line.end_date:%Y-%m-%d} 内", "occurred_on")
    if entry.due_date is not None and entry.due_date <= entry.occurred_on:
        raise DomainError("借款到期日应晚于提款日期", "due_date")
    limit = _money(line.limit_amount)
    if drawn + amount > limit:
        raise DomainError(f"提款后借款余额 {drawn + amount:,.2f} 元将超过该银行授信额度 {limit:,.2f} 元"
                          f"（可提 {max(limit - drawn, ZERO):,.2f} 元）", "amount")
    position = funding_position()
    after = position.borrowing + amount
    if after > position.limit:
        raise DomainError(
            f"融资杠杆超限：提款后银行及股东借款余额 {after:,.2f} 元将超过上限 {position.limit:,.2f} 元"
            f"（上年末净资产 {position.net_assets:,.2f} 元 × {position.multiple.normalize():f} 倍），"
            f"当前最多可再借 {position.headroom:,.2f} 元", "amount")
    return line


def bank_fund_account_ids():
    """SELECT of the active bank accounts' ids: money from a bank line goes through one of them
    (also the add form's choices)."""
    return select(FundAccount.id).where(FundAccount.kind == "bank", FundAccount.is_active.is_(True))


def bank_fund_accounts():
    return db.session.execute(select(FundAccount).where(FundAccount.id.in_(bank_fund_account_ids()))
                              .order_by(FundAccount.id)).scalars().all()


def entry_fund_account(entry):
    """The bank account of a record: the one picked, or the only active bank account."""
    fund = entry.fund_account
    if fund is None and entry.fund_account_id:
        fund = db.session.get(FundAccount, entry.fund_account_id)
    if fund is None:
        accounts = bank_fund_accounts()
        if len(accounts) != 1:
            raise DomainError("请选择该笔借款或还款的银行存款账户", "fund_account")
        fund = accounts[0]
    if fund.kind != "bank" or not fund.is_active:
        raise DomainError(f"资金账户“{fund.name}”不是在用的银行存款账户，请选择银行存款账户", "fund_account")
    return fund


def entry_lines(entry, fund):
    """The journal lines of a bank record: the principal against 短期借款, the margin against
    存出保证金 and the interest paid to 财务费用, each against the bank account."""
    bank = fund.ledger_account
    amount, margin, interest = _money(entry.amount), _money(entry.margin_amount), _money(entry.interest_amount)
    if entry.kind == "drawdown":
        lines = [ledger.Line(bank, debit=amount, fund_account=fund, memo="银行借款提款"),
                 ledger.Line(ledger.SHORT_TERM_BORROWING, credit=amount, memo="银行借款提款")]
        if margin:
            lines += [ledger.Line(ledger.MARGIN_PAID, debit=margin, memo="存出银行保证金"),
                      ledger.Line(bank, credit=margin, fund_account=fund, memo="存出银行保证金")]
    else:
        lines = [ledger.Line(ledger.SHORT_TERM_BORROWING, debit=amount, memo="归还银行借款"),
                 ledger.Line(bank, credit=amount, fund_account=fund, memo="归还银行借款")]
        if margin:
            lines += [ledger.Line(bank, debit=margin, fund_account=fund, memo="收回银行保证金"),
                      ledger.Line(ledger.MARGIN_PAID, credit=margin, memo="收回银行保证金")]
    if interest:
        lines += [ledger.Line(ledger.FINANCE_EXPENSES, debit=interest, memo="支付银行借款利息"),
                  ledger.Line(bank, credit=interest, fund_account=fund, memo="支付银行借款利息")]
    return lines


def record(entry, user):
    """Check (with the bank lines locked), add a drawdown or repayment and post its voucher
    (dated the record's date: refused in a closed period); the caller commits."""
    with db.session.no_autoflush:   # the form may have linked the new entry to its line already
        line = check_entry(entry, lock=True)
        fund = entry_fund_account(entry)
    entry.line = line
    entry.fund_account = fund
    entry.remarks = (entry.remarks or "").strip() or None
    entry.created_by_id = getattr(user, "id", None)
    db.session.add(entry)
    db.session.flush()
    verb = "提款" if entry.kind == "drawdown" else "还款"
    entry.voucher = ledger.post(f"银行借款{verb} {line}"[:200], entry_lines(entry, fund), user,
                                business_date=entry.occurred_on, source=("bank_drawdown", entry.id))
    db.session.flush()
    return entry


def record_entry(line_id, kind, amount, occurred_on, user, remarks=None, due_date=None, fund_account_id=None):
    """Record one drawdown or repayment (service entry point); commits."""
    entry = BankDrawdown(bank_credit_line_id=line_id, kind=kind, amount=amount, occurred_on=occurred_on,
                         due_date=due_date, remarks=remarks, fund_account_id=fund_account_id)
    try:
        record(entry, user)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return entry


# -- registration -------------------------------------------------------------------------------
def _context(line):
    return {"amount": line.limit_amount, "revolving": "是" if line.revolving else "否",
            "customer_kind": line.customer.kind if line.customer is not None else "",
            "term_days": (line.end_date - line.start_date).days if line.start_date and line.end_date else 0}


def _title(line):
    name = line.customer.name if line.customer is not None else ""
    return f"授信申请 {line.line_no} {name} {line.limit_amount:,.2f} 元（{line.kind_label}）"


def _link(line):
    try:
        return url_for("CreditLineView.show", pk=line.id)
    except RuntimeError:  # outside a request (CLI, jobs)
        return f"/creditlineview/show/{line.id}"


def _register():
    workflow.register(workflow.BusinessType(
        code="credit_line", label="客户授信审批", model=CreditLine, context=_context, title=_title, link=_link,
        branch_of=lambda line: line.branch_id, on_finish=_finished, fields=CONDITION_FIELDS))
    if check_loan not in loans.LOAN_CHECKS:
        loans.LOAN_CHECKS.append(check_loan)


_register()
