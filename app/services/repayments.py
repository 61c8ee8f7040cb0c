"""收款: what a loan owes on a date, receipts allocated to it, the payoff quote (结清试算) and
settlement (结清). DOMAIN.md §3 and §4.

Every posting is one transaction: the loan row is locked first (``loans.lock``), the
installments are updated, one voucher carries every component to its account, and the
receipt (``Repayment``) keeps the allocation line by line. A receipt's idempotency key is
unique: the same key twice returns the first receipt and posts nothing.

Penalty (罚息) and compound interest (复利) are charged on demand: an installment's charges
are *crystallised* (added to ``penalty`` / ``compound`` and ``accrued_to`` moved on) at
every posting, so a partial payment changes the base from that day on and nothing is
charged twice. Until the grace days are exceeded nothing is charged; after that, penalty
counts from the day after the due date.
"""
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, event, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from app.domain.errors import DomainError
from app.domain.money import ZERO, round_money
from app.domain.servicing import Owed, allocate, compound_interest, overdue_days, penalty_interest
from app.extensions import db
from app.models import FundAccount, Installment, JournalLine, Loan, Setting, Voucher
from app.models.servicing import COMPONENT_LABELS, Repayment, RepaymentLine, ScheduleRevision
from app.services import contracts, ledger, loans, numbering, repayments_fast, settings

RECEIPT_PREFIX = "HK"
PAYABLE_STATUSES = ("active",)
#: Income account of each charged component.
INCOME_ACCOUNTS = {"interest": ledger.INTEREST_INCOME, "penalty": ledger.PENALTY_INCOME,
                   "compound": ledger.PENALTY_INCOME, "prepayment_fee": ledger.FEE_INCOME}


# -- what is owed ------------------------------------------------------------------------
def _rate_terms(loan):
    product = loan.product
    return Decimal(loan.annual_rate), Decimal(product.penalty_markup_pct), int(product.day_basis), int(
        product.grace_days or 0)


def _outstanding(value, *paid):
    return value - sum((p or ZERO for p in paid), ZERO)


def penalty_base(item):
    return _outstanding(item.principal, item.principal_paid)


def interest_base(item):
    return _outstanding(item.interest, item.interest_paid, item.interest_waived)


def pending_charges(loan, item, as_of):
    """(罚息, 复利) earned since the last crystallisation up to ``as_of``, not yet on the row."""
    if item.paid_off_on is not None or as_of <= item.due_date:
        return ZERO, ZERO
    rate, markup, basis, grace = _rate_terms(loan)
    if overdue_days(item.due_date, as_of) <= grace:
        return ZERO, ZERO
    start = item.accrued_to or item.due_date
    days = (as_of - start).days
    if days <= 0:
        return ZERO, ZERO
    return (penalty_interest(penalty_base(item), rate, markup, days, basis),
            compound_interest(interest_base(item), rate, markup, days, basis))


@dataclass
class InstallmentStatus:
    """One installment as of a date: the schedule, what is paid, what is still owed."""

    item: Installment
    as_of: date
    penalty: Decimal
    compound: Decimal

    @property
    def seq(self):
        return self.item.seq

    @property
    def due_date(self):
        return self.item.due_date

    @property
    def principal_due(self):
        return penalty_base(self.item)

    @property
    def interest_due(self):
        return interest_base(self.item)

    @property
    def paid(self):
        i = self.item
        return sum((i.principal_paid or ZERO, i.interest_paid or ZERO, i.penalty_paid or ZERO, i.compound_paid or ZERO),
                   ZERO)

    @property
    def total_due(self):
        return self.principal_due + self.interest_due + self.penalty + self.compound

    @property
    def overdue_days(self):
        if self.item.paid_off_on is not None:
            return 0
        return overdue_days(self.item.due_date, self.as_of)

    @property
    def state(self):
        if self.item.paid_off_on is not None:
            return "paid"
        if self.item.due_date < self.as_of:
            return "overdue"
        if self.item.due_date == self.as_of:
            return "due"
        return "partly_paid" if self.paid > 0 else "not_due"

    @property
    def state_label(self):
        return {"paid": "已还清", "overdue": "逾期", "due": "今日到期", "partly_paid": "部分还款",
                "not_due": "未到期"}[self.state]


def schedule_status(loan, as_of=None):
    """Every installment of the loan as of ``as_of`` (default: the business date)."""
    as_of = as_of or settings.business_date()
    rows = []
    for item in loan.installments:
        new_penalty, new_compound = pending_charges(loan, item, as_of)
        rows.append(InstallmentStatus(
            item, as_of,
            penalty=_outstanding(item.penalty, item.penalty_paid, item.penalty_waived) + new_penalty,
            compound=_outstanding(item.compound, item.compound_paid, item.compound_waived) + new_compound))
    return rows


def payable(loan, as_of):
    """What a regular repayment may cover on ``as_of``: every unpaid installment due on or
    before that day, and the next one not yet due (a borrower may pay an installment early,
    as scheduled; paying more than that is a prepayment)."""
    rows = [r for r in schedule_status(loan, as_of) if r.item.paid_off_on is None and r.total_due > 0]
    due = [r for r in rows if r.due_date <= as_of]
    upcoming = [r for r in rows if r.due_date > as_of][:1]
    return due + upcoming


@dataclass
class Summary:
    """The loan page's figures as of a date."""

    as_of: date
    principal_outstanding: Decimal = ZERO
    overdue_principal: Decimal = ZERO
    overdue_interest: Decimal = ZERO
    penalty: Decimal = ZERO
    compound: Decimal = ZERO
    due_now: Decimal = ZERO            # everything due on or before as_of
    overdue_days: int = 0              # of the oldest overdue installment
    next_due_date: date = None
    next_due_amount: Decimal = ZERO
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO


def summary(loan, as_of=None):
    as_of = as_of or settings.business_date()
    result = Summary(as_of=as_of)
    for row in schedule_status(loan, as_of):
        result.principal_paid += row.item.principal_paid or ZERO
        result.interest_paid += row.item.interest_paid or ZERO
        if row.item.paid_off_on is not None:
            continue
        result.principal_outstanding += row.principal_due
        if row.due_date <= as_of:
            result.due_now += row.total_due
            result.penalty += row.penalty
            result.compound += row.compound
            if row.due_date < as_of:
                result.overdue_principal += row.principal_due
                result.overdue_interest += row.interest_due
                result.overdue_days = max(result.overdue_days, row.overdue_days)
        elif result.next_due_date is None:
            result.next_due_date, result.next_due_amount = row.due_date, row.total_due
    return result


# -- posting -------------------------------------------------------------------------------
def check_key(key):
    key = (key or "").strip()
    if not key:
        raise DomainError("缺少幂等键（idempotency key），请刷新页面后重新提交", "idempotency_key")
    if len(key) > 64:
        raise DomainError("幂等键不能超过 64 个字符", "idempotency_key")
    return key


def by_key(key):
    return db.session.execute(select(Repayment).where(Repayment.idempotency_key == key)).scalar_one_or_none()


def replay(existing, loan_id, amount=None):
    """The receipt already posted under a key: refused when the key came with another loan
    or amount (``amount`` None: any amount, e.g. a settlement, whose amount is computed)."""
    if existing.loan_id != loan_id or (amount is not None and existing.amount != amount):
        raise DomainError(f"该幂等键已用于收款单 {existing.receipt_no}（项目 {existing.loan.loan_no}，"
                          f"金额 {existing.amount:,.2f} 元），不能用于另一笔收款", "idempotency_key")
    db.session.info.setdefault(_REPLAYED, set()).add(existing.id)
    return existing


_REPLAYED = "microloan.replayed_receipts"


def was_replayed(receipt):
    """Whether this session's posting returned ``receipt`` for a key used before (it posted
    nothing) rather than posting it: the API answers 200 instead of 201 without looking the
    key up again."""
    return receipt.id in db.session.info.get(_REPLAYED, ())


def check_money(amount, label="收款金额"):
    """A positive amount in yuan with at most two places (text may carry thousands commas)."""
    if isinstance(amount, str):
        amount = amount.replace(",", "").strip()
    if amount is None or amount == "":
        raise DomainError(f"请填写{label}", "amount")
    if isinstance(amount, (float, bool)) or not isinstance(amount, (Decimal, int, str)):
        raise DomainError(f"{label}无效", "amount")
    try:
        amount = Decimal(amount)
    except ArithmeticError:
        raise DomainError(f"{label}无效", "amount") from None
    if not amount.is_finite() or amount <= 0:
        raise DomainError(f"{label}必须大于 0", "amount")
    if amount != round_money(amount):
        raise DomainError(f"{label}最多两位小数（精确到分）", "amount")
    return amount.quantize(Decimal("0.01"))


_UNREAD = object()


def check_date(loan, received_on, last=_UNREAD):
    """The receipt date, checked: not after the business date, not before the payout, not
    before the loan's last receipt (``last``: that date when the caller has read it after
    taking the loan lock, None when there is no receipt yet)."""
    if received_on is None:
        raise DomainError("请填写收款日期", "received_on")
    if isinstance(received_on, str):
        try:
            received_on = date.fromisoformat(received_on)
        except ValueError:
            raise DomainError(f"收款日期“{received_on}”无效，格式为 YYYY-MM-DD", "received_on") from None
    today = settings.business_date()
    if received_on > today:
        raise DomainError(f"收款日期 {received_on} 不能晚于营业日期 {today}", "received_on")
    if loan.installments and received_on < loan.installments[0].start_date:
        raise DomainError(f"收款日期 {received_on} 不能早于放款日期 {loan.installments[0].start_date}", "received_on")
    if last is _UNREAD:
        last = last_receipt_date(loan.id)
    if last is not None and received_on < last:
        raise DomainError(f"收款日期 {received_on} 早于该项目最近一笔收款的日期 {last}；"
                          "收款须按日期顺序登记，如需补登请先冲销后面的收款", "received_on")
    return received_on


def check_fund_account(fund_account):
    if fund_account is None or not fund_account.is_active or fund_account.kind not in ("cash", "bank"):
        raise DomainError("请选择收款的现金或银行账户", "fund_account")


def standing():
    """SQL condition on Repayment: not reversed by 收款冲正 (its voucher has no reversal).
    NOT IN over the few reversal vouchers (read through the reversal_of_id index), not NOT
    EXISTS, which PostgreSQL runs as an anti-join over the whole voucher table."""
    return Repayment.voucher_id.not_in(select(Voucher.reversal_of_id).where(Voucher.reversal_of_id.is_not(None)))


def last_receipt_date(loan_id):
    return db.session.execute(select(func.max(Repayment.received_on)).where(
        Repayment.loan_id == loan_id, standing())).scalar()


_KEY_AND_LAST_DATE = None


def key_and_last_date(key, loan_id):
    """(the receipt already posted under ``key`` or None, the loan's last receipt date or
    None) in one round trip, which also reads the business date (营业日期) into this
    request's parameter cache (``settings.prime``: ``check_date`` then needs no query).
    Call it *after* ``loans.lock``: the statement's snapshot is then taken once the lock is
    held, so a twin or an earlier receipt that committed while we waited is seen (on
    PostgreSQL, folding these reads into the locking SELECT would not do: its snapshot
    predates the wait)."""
    global _KEY_AND_LAST_DATE
    if _KEY_AND_LAST_DATE is None:   # built once: compiled once, cache key memoized
        found = select(Repayment.id).where(Repayment.idempotency_key == bindparam("key")).scalar_subquery()
        last = select(func.max(Repayment.received_on)).where(Repayment.loan_id == bindparam("loan_id"), standing()) \
            .scalar_subquery()
        _KEY_AND_LAST_DATE = select(
            found.label("receipt_id"), last.label("last_date"),
            settings.setting_column("business_date", Setting.value_type).label("date_type"),
            settings.setting_column("business_date", Setting.value).label("date_value"))
    receipt_id, last_date, date_type, date_value = db.session.execute(
        _KEY_AND_LAST_DATE, {"key": key, "loan_id": loan_id}).one()
    settings.prime("business_date", date_type, date_value)
    if isinstance(last_date, str):   # SQLite hands a bare scalar subquery back as text
        last_date = date.fromisoformat(last_date)
    return (db.session.get(Repayment, receipt_id) if receipt_id is not None else None), last_date


_LOCK_WITH_KEY = {}


def lock_with_key(loan_id, key):
    """``loans.lock`` and ``key_and_last_date`` in two statements instead of three: the loan
    locked (SELECT … FOR UPDATE OF loan on PostgreSQL, the product and the customer's name
    joined, as ``loans.lock``), then — once the lock is held, so with a snapshot taken after
    any wait — its installments with the receipt already posted under ``key``, the loan's
    last receipt date and the business date on every row (uncorrelated subqueries: run
    once). Returns (loan with its installments loaded, that receipt or None, last date or
    None)."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    locking = loans.lock_query(lazyload)
    reading = _LOCK_WITH_KEY.get(postgres)
    if reading is None:   # built once per dialect: compiled once, cache key memoized
        found = select(Repayment.id).where(Repayment.idempotency_key == bindparam("key")).scalar_subquery()
        last = select(func.max(Repayment.received_on)).where(Repayment.loan_id == bindparam("loan_id"), standing()) \
            .scalar_subquery()
        reading = (select(Installment, found.label("receipt_id"), last.label("last_date"),
                          settings.setting_column("business_date", Setting.value_type).label("date_type"),
                          settings.setting_column("business_date", Setting.value).label("date_value"))
                   .where(Installment.loan_id == bindparam("loan_id")).order_by(Installment.seq)
                   .execution_options(populate_existing=True))
        _LOCK_WITH_KEY[postgres] = reading
    loan = db.session.execute(locking, {"loan_id": loan_id}).unique().scalar_one_or_none()
    if loan is None:
        raise DomainError("项目不存在")
    rows = db.session.execute(reading, {"loan_id": loan_id, "key": key}).all()
    set_committed_value(loan, "installments", [row[0] for row in rows])
    if not rows:   # no installment to carry the figures
        again, last_date = key_and_last_date(key, loan_id)
        return loan, again, last_date
    _item, receipt_id, last_date, date_type, date_value = rows[0]
    settings.prime("business_date", date_type, date_value)
    if isinstance(last_date, str):   # SQLite hands a bare scalar subquery back as text
        last_date = date.fromisoformat(last_date)
    return loan, (db.session.get(Repayment, receipt_id) if receipt_id is not None else None), last_date


def fees_outstanding(loan):
    """The loan's income fees receivable (due_on set, account income) not yet collected."""
    return [fee for fee in loan.fees if fee.due_on is not None and fee.account == "income" and fee.outstanding > 0]


def paid_off(loan):
    """Every installment paid off and no income fee left to collect: the loan may close."""
    return all(i.paid_off_on is not None for i in loan.installments) and not fees_outstanding(loan)


def crystallise(loan, as_of):
    """Move every overdue installment's pending 罚息/复利 onto the row, up to ``as_of``."""
    grace = _rate_terms(loan)[3]
    for item in loan.installments:
        if item.paid_off_on is not None or overdue_days(item.due_date, as_of) <= grace:
            continue
        penalty, compound = pending_charges(loan, item, as_of)
        item.penalty = (item.penalty or ZERO) + penalty
        item.compound = (item.compound or ZERO) + compound
        item.accrued_to = as_of
        item.penalty_pending = item.compound_pending = ZERO   # the batch's figure is now on the row


def owed_of(rows):
    return [Owed(seq=r.seq, due_date=r.due_date, principal=r.principal_due, interest=r.interest_due,
                 penalty=r.penalty, compound=r.compound) for r in rows]


PAID_COLUMNS = {"principal": "principal_paid", "interest": "interest_paid", "penalty": "penalty_paid",
                "compound": "compound_paid"}


def apply_allocation(loan, allocation, received_on):
    """Add the allocated amounts to the installments; returns the RepaymentLines (unsaved)."""
    by_seq = {i.seq: i for i in loan.installments}
    lines = []
    for seq, component, amount in allocation.lines:
        item = by_seq[seq]
        column = PAID_COLUMNS[component]
        setattr(item, column, (getattr(item, column) or ZERO) + amount)
        lines.append(RepaymentLine(installment_id=item.id, seq=seq, component=component, amount=amount))
    for item in loan.installments:
        mark_paid(item, received_on)
    return lines


def mark_paid(item, on):
    if item.paid_off_on is None and penalty_base(item) == 0 and interest_base(item) == 0 and \
            _outstanding(item.penalty, item.penalty_paid, item.penalty_waived) == 0 and \
            _outstanding(item.compound, item.compound_paid, item.compound_waived) == 0:
        item.paid_off_on = on


def credit_lines(loan, lines, from_receivable=ZERO):
    """The voucher's credit side for allocated RepaymentLines: 本金 → 1301, 利息 → 1132 (the
    part booked as receivable) and 6011, 罚息/复利 → 6051, 违约金 → 6021."""
    totals = {}
    for line in lines:
        totals[line.component] = totals.get(line.component, ZERO) + line.amount
    result = []
    if totals.get("principal"):
        result.append(ledger.Line(ledger.LOAN_PRINCIPAL, credit=totals["principal"], loan_id=loan.id, memo="收回本金"))
    interest = totals.get("interest", ZERO)
    if from_receivable:
        result.append(ledger.Line(ledger.INTEREST_RECEIVABLE, credit=from_receivable, loan_id=loan.id,
                                  memo="收回应收利息"))
    if interest - from_receivable > 0:
        result.append(ledger.Line(ledger.INTEREST_INCOME, credit=interest - from_receivable, loan_id=loan.id,
                                  memo="利息收入"))
    for component in ("penalty", "compound", "prepayment_fee"):
        if totals.get(component):
            result.append(ledger.Line(INCOME_ACCOUNTS[component], credit=totals[component], loan_id=loan.id,
                                      memo=COMPONENT_LABELS[component]))
    return result


def receipt_journal(loan, amount, fund_account, payer_name, lines):
    """A receipt's voucher lines: Dr the fund account's ledger account, Cr each component's."""
    return [ledger.Line(None, debit=amount, fund_account=fund_account,   # the fund account's ledger account
                        memo=f"收 {payer_name}")] + credit_lines(loan, lines, cleared_receivable(loan, lines))


def receipt_columns(loan_id, kind, amount, received_on, fund_account, payer, key, user, remarks, voucher_id,
                    receipt_no):
    """A receipt's own columns but its id, creation time and totals (``Repayment.set_totals``)."""
    return dict(receipt_no=receipt_no, loan_id=loan_id, kind=kind, amount=amount, received_on=received_on,
                fund_account_id=fund_account.id, payer=payer, idempotency_key=key, voucher_id=voucher_id,
                remarks=check_remarks(remarks), created_by_id=getattr(user, "id", None))


def new_receipt(loan, kind, amount, received_on, fund_account, payer, key, user, remarks, lines, voucher,
                receipt_no=None):
    """The receipt (added to the session, not flushed). ``voucher`` may be still unflushed
    (``ledger.post``'s ``attach``): the relationship fills voucher_id at the flush.
    ``receipt_no``: drawn by the caller with the voucher's number, else drawn here."""
    receipt = Repayment(voucher=voucher, **receipt_columns(
        loan.id, kind, amount, received_on, fund_account, payer, key, user, remarks, voucher.id,
        receipt_no or numbering.next_number(RECEIPT_PREFIX, received_on)))
    receipt.lines.extend(lines)
    receipt.set_totals(lines)
    db.session.add(receipt)
    return receipt


def rebuild_receipt_totals():
    """Set every receipt's stored totals (Repayment.set_totals) from its lines (after a bulk
    load that wrote receipts by SQL). One UPDATE; the caller commits."""
    from app.models.servicing import INTEREST_COMPONENTS, LOAN_COMPONENTS

    def lines(*columns, components):
        return select(*columns).where(RepaymentLine.repayment_id == Repayment.id,
                                      RepaymentLine.component.in_(components)).scalar_subquery()

    def part(*components):
        return func.coalesce(lines(func.sum(RepaymentLine.amount), components=components), 0)

    installments = lines(func.count(func.distinct(func.coalesce(RepaymentLine.installment_id, 0))),
                         components=LOAN_COMPONENTS)
    db.session.execute(Repayment.__table__.update().values(
        principal_amount=part("principal"), interest_amount=part(*INTEREST_COMPONENTS),
        penalty_amount=part("penalty"), compound_amount=part("compound"), installment_count=installments))


#: Characters no text field takes (PostgreSQL refuses NUL; the others are typing accidents).
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_payer(loan, payer):
    payer = (payer or "").strip() or loan.customer.name
    if len(payer) > 100:
        raise DomainError("付款人不能超过 100 字", "payer")
    if CONTROL_CHARS.search(payer):
        raise DomainError("付款人不能包含控制字符", "payer")
    return payer


def check_remarks(remarks):
    """A receipt's remarks (String(300)): refused when too long, never cut."""
    remarks = (remarks or "").strip()
    if len(remarks) > 300:
        raise DomainError(f"备注不能超过 300 字（现 {len(remarks)} 字）", "remarks")
    if CONTROL_CHARS.search(remarks):
        raise DomainError("备注不能包含控制字符", "remarks")
    return remarks or None


def committed(work, key, loan_id, amount=None):
    """Run ``work`` (which flushes everything) and commit. A concurrent twin with the same
    key loses on the unique index: roll back and return the winner's receipt."""
    try:
        result = work()
        if repayments_fast.written(result):
            db.session.commit()
            return repayments_fast.attach(result)
        commit_keeping(result)
        return result
    except IntegrityError:
        db.session.rollback()
        existing = by_key(key)
        if existing is None:
            raise
        return replay(existing, loan_id, amount)
    except Exception:
        db.session.rollback()
        raise


def _kept(session, receipt):
    """What a posting's commit keeps loaded: the receipt with its lines and its voucher
    (rows never changed once posted: a correction is a reversal), and the loan and the fund
    account as the posting left them (the loan locked by ``loans.lock`` until the commit).
    Returns [(object, relationships kept besides its columns)]."""
    kept = [(receipt, ("lines", "voucher"))]
    loaded = sa_inspect(receipt).dict
    kept += [(line, ()) for line in loaded.get("lines", ())]
    if loaded.get("voucher") is not None:
        kept.append((loaded["voucher"], ()))
    for model, row_id in ((Loan, receipt.loan_id), (FundAccount, receipt.fund_account_id)):
        obj = session.identity_map.get(session.identity_key(model, row_id))
        if obj is not None:
            kept.append((obj, ()))
    return kept


_KEEP, _KEPT = "microloan.keep_receipt", "microloan.kept_values"
_COLUMN_KEYS = {}


def _loaded_values(obj, relationships):
    """The object's loaded columns (and the named relationships) as they are now."""
    state = sa_inspect(obj)
    keys = _COLUMN_KEYS.get(state.mapper)
    if keys is None:
        keys = _COLUMN_KEYS[state.mapper] = tuple(attr.key for attr in state.mapper.column_attrs)
    loaded = state.dict
    return {key: loaded[key] for key in keys + relationships if key in loaded}


def _take_kept_values(session):
    """``after_commit``: the rows are committed, the session not yet expired. What is
    loaded now is what the database holds (the stored balances the commit updated by SQL
    are already expired by the ledger, so they are not in it)."""
    receipt = session.info.pop(_KEEP, None)
    if receipt is not None:
        session.info[_KEPT] = [(obj, _loaded_values(obj, rels)) for obj, rels in _kept(session, receipt)]


def commit_keeping(receipt):
    """Commit, then put back what the posting wrote (``_kept``) as committed: the caller
    reads it at once (the API's answer, the receipt page) and would otherwise start a
    transaction just to read back what it has just written (the loan's reload alone
    re-reads its installments, the loader options of ``loans.lock`` riding along). The
    commit itself expires the session as always; the rest is read afresh when next used."""
    session = db.session()
    if not session.expire_on_commit or not isinstance(receipt, Repayment):
        session.commit()
        return
    if not event.contains(Session, "after_commit", _take_kept_values):
        event.listen(Session, "after_commit", _take_kept_values)
    session.info[_KEEP] = receipt
    try:
        session.commit()
    finally:
        session.info.pop(_KEEP, None)
        kept = session.info.pop(_KEPT, None)
    for obj, values in kept or ():
        for key, value in values.items():
            set_committed_value(obj, key, value)


def receipt_once(loan_id, key, amount, post):
    """Post a receipt under an idempotency key, once: a replay of ``key`` returns the first
    receipt (refused if it was for another loan or ``amount``; ``amount`` None: any);
    otherwise the loan is locked, ``post(loan)`` writes the receipt (flush only) and it all
    commits. A twin that committed while we waited for the lock is found after the lock."""
    existing = by_key(key)
    if existing is not None:
        return replay(existing, loan_id, amount)

    def work():
        loan = loans.lock(loan_id)
        again = by_key(key)
        if again is not None:
            return replay(again, loan_id, amount)
        return post(loan)

    return committed(work, key, loan_id, amount)


def post_repayment(loan_id, amount, received_on, fund_account, user, idempotency_key, payer=None, remarks=None):
    """正常还款: allocate ``amount`` over what is due (and the next installment) by the
    product's order, post the voucher and commit. Returns the Repayment; the same key again
    returns the first receipt. An amount above what may be paid is refused: that is a
    prepayment (提前还本申请) or a settlement."""
    key = check_key(idempotency_key)
    amount = check_money(amount)

    def work():
        if repayments_fast.applies():   # the same posting, written out as SQL (PostgreSQL)
            receipt = repayments_fast.post(loan_id, key, amount, received_on, fund_account, user, payer, remarks)
            if receipt is not None:
                return receipt
        # The key is looked up once, after the lock (not also before it): a twin that
        # committed while we waited for the lock is seen here, and one racing past this
        # point loses on the unique index (``committed``). A replay takes the lock too.
        loan, again, last = lock_with_key(loan_id, key)
        if again is not None:
            return replay(again, loan_id, amount)
        _check_payable(loan)
        on = check_date(loan, received_on, last)
        check_fund_account(fund_account)
        crystallise(loan, on)
        rows = payable(loan, on)
        if not rows:
            raise DomainError(f"项目 {loan.loan_no} 目前没有应还款项", "amount")
        allocation = allocate(amount, owed_of(rows), loan.product.allocation_order)
        lines = apply_allocation(loan, allocation, on)
        payer_name = check_payer(loan, payer)
        journal = receipt_journal(loan, amount, fund_account, payer_name, lines)
        made = []

        def attach(voucher, receipt_no):   # the receipt goes out in the voucher's flush: one flush in all
            made.append(new_receipt(loan, "repayment", amount, on, fund_account, payer_name, key, user, remarks,
                                    lines, voucher, receipt_no=receipt_no))

        # The installments' changes need not be flushed before the ledger's reads (chart,
        # closed period): they go out in the voucher's flush, one flush instead of two. The
        # receipt's number is drawn with the voucher's (one statement, voucher first: the
        # order every posting bumps the two counters in).
        with db.session.no_autoflush:
            ledger.post(f"收款 {loan.loan_no} {loan.customer.name}", journal, user, business_date=on,
                        source=("repayment", loan.id), numbers=(RECEIPT_PREFIX,), attach=attach,
                        recheck_at_commit=True)   # ``committed`` rolls back if the commit refuses
        receipt = made[0]
        # A duplicate key fails in that flush (or at the commit), in ``committed``. The loan
        # closes only when nothing is owed: income fees still receivable keep it open
        # (collecting the last one closes it: fees.collect).
        if paid_off(loan):
            close_loan(loan, on, user, f"最后一期还清，收款单 {receipt.receipt_no}")
        return receipt

    return committed(work, key, loan_id, amount)


def _check_payable(loan):
    if loan.status not in PAYABLE_STATUSES:
        raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，不能登记还款")


#: Called as hook(loan, on, user) when a loan is settled, inside its transaction (the archive
#: proposes returning the collateral certificates).
LOAN_CLOSED_HOOKS = []


def close_loan(loan, on, user, comment):
    before = loan.status
    loan.status = "settled"
    loan.closed_on = on
    loans.record_status(loan, before, "settled", user, comment)
    db.session.flush()
    contracts.generate_stage(loan, "settlement", user)   # 结清证明
    for hook in LOAN_CLOSED_HOOKS:
        hook(loan, on, user)


# -- payoff quote and settlement -------------------------------------------------------------
def accrued_interest(loan, item, on):
    """Interest of a not-yet-due installment earned up to ``on`` (算头不算尾), by days on the
    product's basis, never more than the scheduled interest (DOMAIN.md §4: early repayment
    pays interest only to the repayment day)."""
    if on <= item.start_date or on >= item.due_date:
        return item.interest if on >= item.due_date else ZERO
    days = (on - item.start_date).days
    base = Decimal(loan.amount) if loan.method == "flat" else item.balance + item.principal
    earned = round_money(base * Decimal(loan.annual_rate) / 100 * days / Decimal(loan.product.day_basis))
    return min(earned, item.interest)


@dataclass
class Quote:
    """结清试算 for one date."""

    loan: Loan
    as_of: date
    principal: Decimal = ZERO
    interest: Decimal = ZERO
    penalty: Decimal = ZERO
    compound: Decimal = ZERO
    prepayment_fee: Decimal = ZERO
    fees: Decimal = ZERO
    deposit: Decimal = ZERO            # security deposit held, returned or offset
    interest_forgone: Decimal = ZERO   # scheduled interest not charged because settled early
    early: bool = False
    lines: list = field(default_factory=list)   # (installment, component, amount)

    @property
    def total(self):
        """What the borrower owes (before any deposit offset)."""
        return self.principal + self.interest + self.penalty + self.compound + self.prepayment_fee + self.fees

    def net(self, offset_deposit):
        return self.total - (min(self.deposit, self.total) if offset_deposit else ZERO)

    def as_dict(self):
        return {key: str(getattr(self, key)) for key in (
            "principal", "interest", "penalty", "compound", "prepayment_fee", "fees", "deposit", "interest_forgone",
            "total")} | {"as_of": self.as_of.isoformat(), "early": self.early, "loan_no": self.loan.loan_no}


def deposit_held(loan_id):
    """存入保证金 held for the loan: the balance of its lines on 2203."""
    account = ledger.get_account(ledger.DEPOSITS_RECEIVED)
    debit, credit = db.session.execute(
        select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
        .where(JournalLine.loan_id == loan_id, JournalLine.account_id == account.id)).one()
    return Decimal(credit) - Decimal(debit)


def quote(loan, as_of):
    """Principal, interest to ``as_of``, penalty, compound interest, prepayment fee, unpaid
    fees and the deposit held, for settling the loan on ``as_of``."""
    result = Quote(loan=loan, as_of=as_of)
    maturity = loan.maturity_date
    result.early = maturity is not None and as_of < maturity
    early_principal = ZERO
    for row in schedule_status(loan, as_of):
        item = row.item
        if item.paid_off_on is not None:
            continue
        if item.due_date <= as_of:
            interest = row.interest_due
        else:
            earned = accrued_interest(loan, item, as_of)
            interest = max(ZERO, earned - (item.interest_paid or ZERO) - (item.interest_waived or ZERO))
            result.interest_forgone += row.interest_due - interest
            early_principal += row.principal_due
        for component, amount in (("penalty", row.penalty), ("compound", row.compound), ("interest", interest),
                                  ("principal", row.principal_due)):
            if amount > 0:
                result.lines.append((item, component, amount))
                setattr(result, component, getattr(result, component) + amount)
    pct = Decimal(loan.product.prepayment_fee_pct or 0)
    if result.early and pct > 0 and early_principal > 0:
        result.prepayment_fee = round_money(early_principal * pct / 100)
    from app.services import fees   # fees → this module

    # receivable income fees, and per-period fees already due that the nightly batch has not
    # booked yet (``settle`` books them first)
    result.fees = sum((fee.outstanding for fee in loan.fees if fee.due_on is not None and fee.account == "income"),
                      ZERO) + fees.period_fees_due(loan, as_of)
    result.deposit = deposit_held(loan.id)
    return result


def snapshot(loan, reason, on, user):
    """Keep the schedule as it is now in the history (还款计划历史) before it is rewritten."""
    rows = [{
        "seq": i.seq, "start_date": i.start_date.isoformat(), "due_date": i.due_date.isoformat(),
        "principal": str(i.principal), "interest": str(i.interest), "total": str(i.total), "balance": str(i.balance),
        "principal_paid": str(i.principal_paid or ZERO), "interest_paid": str(i.interest_paid or ZERO),
    } for i in loan.installments]
    revision = (db.session.execute(select(func.max(ScheduleRevision.revision))
                                   .where(ScheduleRevision.loan_id == loan.id)).scalar() or 0) + 1
    db.session.add(ScheduleRevision(loan_id=loan.id, revision=revision, reason=reason[:200], effective_on=on,
                                    rows=json.dumps(rows, ensure_ascii=False), created_by_id=getattr(user, "id", None)))
    return revision


def settle(loan_id, settled_on, fund_account, user, idempotency_key, offset_deposit=False, payer=None, remarks=None):
    """结清: post the whole quote for ``settled_on`` in one voucher, return (or offset) the
    deposit, close the loan and generate the 结清证明. Returns the Repayment (kind
    settlement); its amount is what the borrower pays (the quote less any offset)."""
    from app.services import fees   # fees → this module

    key = check_key(idempotency_key)

    def post(loan):
        _check_payable(loan)
        on = check_date(loan, settled_on)
        check_fund_account(fund_account)
        crystallise(loan, on)
        result = quote(loan, on)
        if result.total <= 0:
            raise DomainError(f"项目 {loan.loan_no} 已无欠款，无需结清")
        if fees.period_fees_due(loan, on):   # due per-period fees the batch has not booked yet
            fees.recognize_period_fees(on, user, loan_id=loan.id)
        offset = min(result.deposit, result.total) if offset_deposit else ZERO
        received = result.total - offset
        returned = result.deposit - offset
        snapshot(loan, "结清" + ("（提前）" if result.early else ""), on, user)
        lines = _apply_quote(loan, result, on)
        fee_lines = _settle_fees(loan)
        payer_name = check_payer(loan, payer)
        journal = []
        if received > 0:
            journal.append(ledger.Line(fund_account.ledger_account, debit=received, fund_account=fund_account,
                                       memo=f"收 {payer_name} 结清款"))
        if offset > 0:
            journal.append(ledger.Line(ledger.DEPOSITS_RECEIVED, debit=offset, loan_id=loan.id, memo="保证金抵扣欠款"))
        journal += credit_lines(loan, lines, cleared_receivable(loan, lines))
        if fee_lines:
            journal.append(ledger.Line(ledger.OTHER_RECEIVABLES, credit=sum((f.amount for f in fee_lines), ZERO),
                                       loan_id=loan.id, memo="收回应收费用"))
        if returned > 0:
            journal += [ledger.Line(ledger.DEPOSITS_RECEIVED, debit=returned, loan_id=loan.id, memo="退还保证金"),
                        ledger.Line(fund_account.ledger_account, credit=returned, fund_account=fund_account,
                                    memo=f"退还 {payer_name} 保证金")]
        voucher = ledger.post(f"结清 {loan.loan_no} {loan.customer.name}", journal, user, business_date=on,
                              source=("settlement", loan.id))
        receipt = new_receipt(loan, "settlement", received if received > 0 else ZERO, on, fund_account,
                               payer_name, key, user, remarks, lines + fee_lines, voucher)
        if offset > 0:
            receipt.lines.append(RepaymentLine(component="deposit", amount=-offset))
        db.session.flush()
        close_loan(loan, on, user, f"结清，收款单 {receipt.receipt_no}，凭证 {voucher.voucher_no}")
        return receipt

    return receipt_once(loan_id, key, None, post)


def _apply_quote(loan, result, on):
    """Mark the quote's amounts paid. Installments not yet due keep only the interest earned
    to ``on`` (the rest is not owed: DOMAIN.md §4); the old plan is in the history."""
    lines = []
    for item, component, amount in result.lines:
        column = PAID_COLUMNS[component]
        setattr(item, column, (getattr(item, column) or ZERO) + amount)
        lines.append(RepaymentLine(installment_id=item.id, seq=item.seq, component=component, amount=amount))
    for item in loan.installments:
        if item.paid_off_on is None and item.due_date > on:
            item.interest = (item.interest_paid or ZERO) + (item.interest_waived or ZERO)
            item.total = item.principal + item.interest
        mark_paid(item, on)
    if result.prepayment_fee:
        lines.append(RepaymentLine(component="prepayment_fee", amount=result.prepayment_fee))
    return lines


def cleared_receivable(loan, lines):
    """The interest of ``lines`` that clears 应收利息 rather than income."""
    by_id = {i.id: i for i in loan.installments}
    cleared = ZERO
    for line in lines:
        if line.component == "interest":
            item = by_id[line.installment_id]
            part = min(line.amount, item.interest_accrued or ZERO)
            item.interest_accrued = (item.interest_accrued or ZERO) - part
            cleared += part
    return cleared


def _settle_fees(loan):
    lines = []
    for fee in loan.fees:
        if fee.due_on is not None and fee.account == "income" and fee.outstanding > 0:
            lines.append(RepaymentLine(loan_fee_id=fee.id, component="fee", amount=fee.outstanding))
            fee.paid_amount = fee.amount
    return lines


# -- reading receipts -------------------------------------------------------------------------
def receipts_of(loan_id):
    return db.session.execute(select(Repayment).where(Repayment.loan_id == loan_id)
                              .order_by(Repayment.received_on, Repayment.id)).scalars().all()


def voucher_of(receipt):
    return db.session.get(Voucher, receipt.voucher_id)


@dataclass
class Overview:
    """The loan page's 贷后 tab: figures as of the business date, the schedule with paid and
    outstanding parts, receipts, schedule history and servicing requests."""

    summary: Summary
    rows: list
    receipts: list
    revisions: list
    requests: list


def overview(loan, as_of=None):
    from app.models.servicing import ServicingRequest

    as_of = as_of or settings.business_date()
    revisions = db.session.execute(select(ScheduleRevision).where(ScheduleRevision.loan_id == loan.id)
                                   .order_by(ScheduleRevision.revision.desc())).scalars().all()
    requests = db.session.execute(select(ServicingRequest).where(ServicingRequest.loan_id == loan.id)
                                  .order_by(ServicingRequest.id.desc())).scalars().all()
    return Overview(summary=summary(loan, as_of), rows=schedule_status(loan, as_of), receipts=receipts_of(loan.id),
                    revisions=revisions, requests=requests)


def revision_rows(revision):
    """A history entry's rows, amounts as Decimal."""
    rows = json.loads(revision.rows)
    for row in rows:
        for key in ("principal", "interest", "total", "balance", "principal_paid", "interest_paid"):
            row[key] = Decimal(row[key])
    return rows
