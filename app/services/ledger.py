"""总账 (the double-entry ledger): posting and reversing vouchers, balances and reports.

Every money movement of the business modules is written here as a voucher (凭证) whose
journal lines (分录) balance: Σ debit = Σ credit. ``post`` and ``reverse`` only flush; the
caller commits together with the business change, so the business row, its voucher and the
audit rows (written by the session listener in ``app.services.audit``) land together or not
at all (DOMAIN.md §0). A posted voucher is never edited or deleted: ``reverse`` writes a
voucher with the sides swapped.

Balances are signed in the account's normal direction: debit − credit for a debit-normal
account (assets, expenses), credit − debit for a credit-normal one (liabilities, equity,
income, and the contra asset 1304 贷款损失准备). Every query is one SQL aggregate (or a
window function for a running balance); nothing loops over journal lines in Python.

Lines are posted to leaf accounts only; a parent account's balance is its subtree's.

期末结算 lock: no voucher (a reversal included) may be dated on or before the end of a
closed period (``PeriodClose.status == "closed"``; see app/services/period_close.py). The
check runs before anything is written (in the same query as the chart checks) and again
right after the voucher is flushed: on PostgreSQL a period close holds a lock on the
voucher table, so a posting that raced the close waits for it and then sees the period
closed. The second check is the one correctness rests on (see ``_post``).
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Numeric, bindparam, case, func, inspect, or_, select, text, type_coerce

from app.domain.errors import DomainError
from app.extensions import db
from app.models import FundAccount, JournalLine, LedgerAccount, Voucher
from app.models.finance import ACCOUNT_CATEGORIES, FUND_KINDS, NORMAL_SIDES
from app.models.servicing import PeriodClose
from app.services import audit, numbering, settings

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
#: The largest amount NUMERIC(18, 2) holds.
MAX_AMOUNT = Decimal("9999999999999999.99")
MONEY = Numeric(18, 2)
VOUCHER_PREFIX = "PZ"

# -- the seeded chart (小企业会计准则 style codes) ---------------------------------------
CASH = "1001"
BANK = "1002"
INTEREST_RECEIVABLE = "1132"
OTHER_RECEIVABLES = "1221"
MARGIN_PAID = "1031"
LOAN_PRINCIPAL = "1301"
LOAN_LOSS_RESERVE = "1304"
SHORT_TERM_BORROWING = "2001"
DEPOSITS_RECEIVED = "2203"
OTHER_PAYABLES = "2241"
PAID_IN_CAPITAL = "4001"
INTEREST_INCOME = "6011"
FEE_INCOME = "6021"
PENALTY_INCOME = "6051"
NON_OPERATING_INCOME = "6301"
ADMIN_EXPENSES = "6602"
FINANCE_EXPENSES = "6603"
IMPAIRMENT_LOSS = "6701"

#: (code, name, category, normal side): added by ``seed_chart`` when the code is missing.
CHART = [
    (CASH, "库存现金", "asset", "debit"),
    (BANK, "银行存款", "asset", "debit"),
    (INTEREST_RECEIVABLE, "应收利息", "asset", "debit"),
    (MARGIN_PAID, "存出保证金", "asset", "debit"),
    (OTHER_RECEIVABLES, "其他应收款", "asset", "debit"),
    # Children per five-level class (正常/关注/次级/可疑/损失) come with the risk module.
    (LOAN_PRINCIPAL, "贷款本金", "asset", "debit"),
    (LOAN_LOSS_RESERVE, "贷款损失准备", "asset", "credit"),  # contra asset: credit-normal
    (SHORT_TERM_BORROWING, "短期借款", "liability", "credit"),
    (DEPOSITS_RECEIVED, "存入保证金", "liability", "credit"),
    (OTHER_PAYABLES, "其他应付款", "liability", "credit"),
    (PAID_IN_CAPITAL, "实收资本（股金）", "equity", "credit"),
    (INTEREST_INCOME, "利息收入", "income", "credit"),
    (FEE_INCOME, "手续费及佣金收入", "income", "credit"),
    (PENALTY_INCOME, "罚息收入", "income", "credit"),
    (NON_OPERATING_INCOME, "营业外收入", "income", "credit"),
    (ADMIN_EXPENSES, "管理费用", "expense", "debit"),
    (FINANCE_EXPENSES, "财务费用", "expense", "debit"),
    (IMPAIRMENT_LOSS, "资产减值损失", "expense", "debit"),
]
#: (name, kind, ledger account code): added by ``seed_chart`` when the name is missing.
FUND_ACCOUNTS = [
    ("库存现金", "cash", CASH),
    ("基本存款账户", "bank", BANK),
    ("股东股金", "capital", PAID_IN_CAPITAL),
]
#: What a fund account of each kind may be tied to: (category, normal side).
FUND_KIND_ACCOUNTS = {"cash": ("asset", "debit"), "bank": ("asset", "debit"), "capital": ("equity", "credit")}


@dataclass(frozen=True)
class Line:
    """One journal line to post. ``account`` is a code ("1301") or a LedgerAccount, or None
    with a ``fund_account``: the fund account's ledger account (read with the other
    accounts, no lazy load); exactly one of ``debit`` and ``credit`` is a positive Decimal
    with at most two places. ``fund_account`` (a FundAccount) must be tied to ``account``."""

    account: object
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    memo: str = None
    loan_id: int = None
    fund_account: object = None


# -- pure checks ---------------------------------------------------------------------
def _amount(value, no, side):
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise DomainError(f"第 {no} 条分录的{side}金额必须是 Decimal 数值（收到 {type(value).__name__}）", "lines")
    if not value.is_finite():
        raise DomainError(f"第 {no} 条分录的{side}金额无效：{value}", "lines")
    if value < 0:
        raise DomainError(f"第 {no} 条分录的{side}金额不能为负数：{value}", "lines")
    if value > MAX_AMOUNT:
        raise DomainError(f"第 {no} 条分录的{side}金额 {value} 超过上限 {MAX_AMOUNT:,.2f}", "lines")
    if value != value.quantize(CENT):
        raise DomainError(f"第 {no} 条分录的{side}金额 {value} 超过两位小数（精确到分）", "lines")
    return value.quantize(CENT)


def _checked(lines):
    """[(line, debit, credit)] with amounts at two places, or a DomainError."""
    lines = list(lines)
    if len(lines) < 2:
        raise DomainError("一张凭证至少要有两条分录（一借一贷）", "lines")
    result = []
    for no, line in enumerate(lines, 1):
        if not isinstance(line, Line):
            raise DomainError(f"第 {no} 条分录格式不对", "lines")
        debit, credit = _amount(line.debit, no, "借方"), _amount(line.credit, no, "贷方")
        if debit > 0 and credit > 0:
            raise DomainError(f"第 {no} 条分录借方 {debit:,.2f}、贷方 {credit:,.2f} 都有金额：一条分录只能记借方或贷方",
                              "lines")
        if debit == 0 and credit == 0:
            raise DomainError(f"第 {no} 条分录金额为零：借方或贷方必须有一方大于零", "lines")
        if line.memo is not None and len(str(line.memo)) > 200:
            raise DomainError(f"第 {no} 条分录的摘要超过 200 字", "lines")
        if line.loan_id is not None and (isinstance(line.loan_id, bool) or not isinstance(line.loan_id, int)):
            raise DomainError(f"第 {no} 条分录的贷款编号无效：{line.loan_id!r}", "lines")
        result.append((line, debit, credit))
    total_debit = sum((d for _l, d, _c in result), ZERO)
    total_credit = sum((c for _l, _d, c in result), ZERO)
    if total_debit != total_credit:
        raise DomainError(f"借贷不平衡：借方合计 {total_debit:,.2f}，贷方合计 {total_credit:,.2f}，"
                          f"相差 {abs(total_debit - total_credit):,.2f}", "lines")
    return result


def check_lines(lines):
    """The checks that need no database; returns (Σ debit, Σ credit), which are equal."""
    checked = _checked(lines)
    total = sum((d for _l, d, _c in checked), ZERO)
    return total, total


# -- posting -------------------------------------------------------------------------
def _line_account_key(line):
    """What names a line's account: a code, a LedgerAccount, or (account None) the fund
    account's ledger account."""
    if line.account is None and isinstance(line.fund_account, FundAccount):
        return ("id", line.fund_account.ledger_account_id)
    if isinstance(line.account, LedgerAccount):
        return ("id", line.account.id)
    if isinstance(line.account, str):
        return ("code", line.account.strip())
    return None


def _chart_facts(lines, business_date=None):
    """One round trip for everything ``_post`` checks before writing: the lines' accounts
    (by code or id) with, per account, whether it has children, whether a cash or bank
    fund account is tied to it and whether it is 1301 贷款本金 or under it (for the stored
    loan balances, ``_record_moves``), and — when ``business_date`` is given — the closed
    period locking that date (``closed_period_of``). Returns (the key of each line —
    ("code", code) or ("id", id), None when the line names no account —, {key: (account,
    has_children, has_funds, is_principal)}, the closed period or None)."""
    keys = [_line_account_key(line) for line in lines]
    codes = sorted({k for kind, k in filter(None, keys) if kind == "code"})
    ids = sorted({k for kind, k in filter(None, keys) if kind == "id" and k is not None})
    facts, closed = {}, None
    if codes or ids:
        rows = db.session.execute(_chart_facts_query(), {"codes": codes, "ids": ids, "on": business_date})
        for account, children, funds, principal, period in rows:
            facts[("code", account.code)] = facts[("id", account.id)] = (account, bool(children), bool(funds),
                                                                         bool(principal))
            closed = period
    elif business_date is not None:
        closed = closed_period_of(business_date)
    return keys, facts, closed


_STATEMENTS = {}


def _principal_tree():
    """1301 and every account under it (a recursive CTE: the chart may nest any depth)."""
    top = select(LedgerAccount.id.label("id")).where(LedgerAccount.code == LOAN_PRINCIPAL) \
        .cte("principal_tree", recursive=True)
    sub = LedgerAccount.__table__.alias("sub")
    return top.union_all(select(sub.c.id).where(sub.c.parent_id == top.c.id))


def _chart_facts_query():
    """Built once (a statement reused is compiled once and its cache key memoized)."""
    query = _STATEMENTS.get("chart_facts")
    if query is None:
        child = LedgerAccount.__table__.alias("child")
        has_children = select(child.c.id).where(child.c.parent_id == LedgerAccount.id).exists()
        has_funds = select(FundAccount.id).where(FundAccount.ledger_account_id == LedgerAccount.id,
                                                 FundAccount.kind.in_(("cash", "bank"))).exists()
        tree = _principal_tree()
        is_principal = LedgerAccount.id.in_(select(tree.c.id))
        query = _STATEMENTS["chart_facts"] = select(
            LedgerAccount, has_children.label("has_children"), has_funds.label("has_funds"),
            is_principal.label("is_principal"),
            _closed_period_query(bindparam("on", type_=Date)).scalar_subquery().label("closed"),
        ).where(or_(LedgerAccount.code.in_(bindparam("codes", expanding=True)),
                    LedgerAccount.id.in_(bindparam("ids", expanding=True))))
    return query


def _resolve_accounts(lines, facts=None):
    """The LedgerAccount of each line, checked: exists, active, leaf. ``facts``: what
    ``_chart_facts`` returned for these lines (read when not given)."""
    keys, by_key, _closed = facts if facts is not None else _chart_facts(lines)
    accounts = []
    for no, (line, key) in enumerate(zip(lines, keys), 1):
        if key is None:
            raise DomainError(f"第 {no} 条分录没有科目", "lines")
        found = by_key.get(key)
        if found is None:
            if isinstance(line.account, LedgerAccount):   # not in the database (yet): as before, no leaf check
                account = line.account
            else:
                raise DomainError(f"第 {no} 条分录的科目 {line.account if line.account is not None else ''} 不存在",
                                  "lines")
        else:
            account = line.account if isinstance(line.account, LedgerAccount) else found[0]
        if not account.is_active:
            raise DomainError(f"第 {no} 条分录的科目 {account} 已停用", "lines")
        accounts.append(account)
    for no, (key, account) in enumerate(zip(keys, accounts), 1):
        found = by_key.get(key)
        if found is not None and found[1]:
            raise DomainError(f"第 {no} 条分录的科目 {account} 有下级科目，请记入末级科目", "lines")
    return accounts


def _check_fund_accounts(lines, accounts, facts=None):
    """A line on the ledger account of a cash or bank fund account (1001, 1002 …) names the
    fund account, so cash and bank balances always add up to their ledger accounts (a
    disbursement checks the fund account's balance). A named fund account must be tied to
    the line's account. On 4001 the capital fund account is optional."""
    keys, by_key, _closed = facts if facts is not None else _chart_facts(lines)
    for no, (line, account, key) in enumerate(zip(lines, accounts, keys), 1):
        fund = line.fund_account
        if fund is None:
            found = by_key.get(key)
            if found is not None and found[2]:
                raise DomainError(f"第 {no} 条分录记入科目 {account}，必须指明资金账户", "lines")
            continue
        if not isinstance(fund, FundAccount):
            raise DomainError(f"第 {no} 条分录的资金账户无效", "lines")
        if fund.ledger_account_id != account.id:
            raise DomainError(f"第 {no} 条分录的资金账户“{fund.name}”对应科目 {fund.ledger_account}，"
                              f"与分录科目 {account} 不符", "lines")
        if not fund.is_active:
            raise DomainError(f"第 {no} 条分录的资金账户“{fund.name}”已停用", "lines")


def _text(value, limit, label, field_name, required=True):
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        raise DomainError(f"请填写{label}", field_name)
    if limit and len(text) > limit:
        raise DomainError(f"{label}不能超过 {limit} 字（现 {len(text)} 字）", field_name)
    return text


def _source(source):
    if source is None:
        return None, None
    try:
        source_type, source_id = source
    except (TypeError, ValueError):
        raise DomainError("业务来源应为（类型, 编号）", "source") from None
    source_type = _text(source_type, 40, "业务来源类型", "source")
    if source_id is not None and (isinstance(source_id, bool) or not isinstance(source_id, int)):
        raise DomainError(f"业务来源编号无效：{source_id!r}", "source")
    return source_type, source_id


def _closed_period_query(business_date):
    return (select(PeriodClose.period).where(PeriodClose.status == "closed", PeriodClose.period_end >= business_date)
            .order_by(PeriodClose.period_end).limit(1))


def closed_period_of(business_date):
    """The closed period (e.g. "2026-03") that locks ``business_date``, or None."""
    query = _STATEMENTS.get("closed_period")
    if query is None:
        query = _STATEMENTS["closed_period"] = _closed_period_query(bindparam("on", type_=Date))
    return db.session.execute(query, {"on": business_date}).scalar_one_or_none()


def check_open(business_date, period=False):
    """Refuse a posting date on or before the end of a closed period (期末结账后不能再记账).
    ``period``: the closed period already read in this statement's place (None: open)."""
    if period is False:
        period = closed_period_of(business_date)
    if period is not None:
        raise DomainError(f"{period} 已结账，不能记账到 {business_date.isoformat()}；请使用本期日期或请管理员反结账",
                          "business_date")


def _post(description, lines, user, business_date, source, reversal_of=None, reason=None, numbers=(), attach=None,
          recheck_at_commit=False):
    description = _text(description, 200, "凭证摘要", "description")
    checked = _checked(lines)
    lines = [line for line, _d, _c in checked]
    if business_date is None:
        business_date = settings.business_date()
    date_ok = not isinstance(business_date, datetime) and isinstance(business_date, date)
    # One query for the chart checks and the first closed-period check.
    facts = _chart_facts(lines, business_date if date_ok else None)
    accounts = _resolve_accounts(lines, facts)
    _check_fund_accounts(lines, accounts, facts)
    if not date_ok:
        raise DomainError(f"记账日期无效：{business_date!r}", "business_date")
    # First closed-period check: a date already locked is refused before anything is
    # written (so a caller that catches the DomainError has nothing half-posted).
    check_open(business_date, facts[2])
    source_type, source_id = _source(source)
    # Every check has passed: only now is anything written (the number counters first: the
    # voucher's, then any the caller's document needs, in one statement). The counter is a
    # Core statement: no autoflush, the caller's pending changes go out with the voucher in
    # the one flush below.
    voucher_no, *others = numbering.next_numbers(
        [(VOUCHER_PREFIX, business_date)] + [(prefix, business_date) for prefix in numbers])
    voucher = Voucher(
        voucher_no=voucher_no, business_date=business_date,
        description=description, source_type=source_type, source_id=source_id,
        created_by_id=getattr(user, "id", None), created_at=datetime.now(),
        reversal_of_id=reversal_of.id if reversal_of is not None else None, reason=reason)
    for (line, debit, credit), account in zip(checked, accounts):
        voucher.lines.append(JournalLine(
            loan_id=line.loan_id, debit=debit, credit=credit, memo=(line.memo or None), **_line_refs(line, account)))
    db.session.add(voucher)
    if attach is not None:
        attach(voucher, *others)   # the business document that refers to the voucher: same flush
    db.session.flush()
    _record_moves(voucher.lines, [facts[1].get(key, (None,) * 4)[3] for key in facts[0]])
    # The check that matters for correctness: it runs after the INSERT INTO voucher. On
    # PostgreSQL a period close takes LOCK TABLE voucher IN SHARE ROW EXCLUSIVE MODE, which
    # conflicts with the ROW EXCLUSIVE lock of that INSERT: a posting racing a close either
    # inserted first (the close waits for it, and the posting is in the close's report) or
    # waited for the close to commit, and this statement — a fresh READ COMMITTED snapshot
    # taken after the wait — sees the period closed. The check above cannot replace it
    # (it ran before the lock); it only spares the writes in the common case.
    # ``recheck_at_commit``: the same check, run by the commit (``_apply_moves``) inside a
    # statement it sends anyway — a later statement of the same transaction, so the same
    # argument holds — for a caller whose commit refuses it all on a DomainError.
    if recheck_at_commit:
        db.session.info.setdefault(_RECHECK, []).append(business_date)
    else:
        check_open(business_date)
    return voucher


def _line_refs(line, account):
    """A journal line's account and fund account: by id when they have one (no relationship
    bookkeeping, no cascade walk at the flush), else as objects (not flushed yet)."""
    fund = line.fund_account
    refs = {"account_id": account.id} if account.id is not None else {"account": account}
    if fund is not None:
        refs.update({"fund_account_id": fund.id} if fund.id is not None else {"fund_account": fund})
    return refs


def post(description, lines, user, business_date=None, source=None, numbers=(), attach=None,
         recheck_at_commit=False):
    """Post a balanced voucher and return it (flushed, not committed: the caller commits).

    ``lines``: two or more :class:`Line`; ``business_date`` defaults to the business date
    (营业日期); ``source`` = (type, id) of the business document, e.g. ("loan_disbursement", 12).
    Refused with a DomainError (and nothing written) when the lines do not balance, an
    amount is not a positive two-place Decimal on exactly one side, an account or fund
    account is missing, inactive or does not match, or the date lies in a closed period.

    ``numbers``: prefixes of the caller's own document numbers (e.g. "HK" for a receipt),
    drawn for ``business_date`` in the voucher number's statement, once every check has
    passed. ``attach(voucher, *those numbers)``: called before the voucher is flushed, to
    add the business document referring to it, so that both go out in one flush.
    ``recheck_at_commit``: the closed-period check that must follow the voucher's INSERT
    runs at the commit, folded into the fund account's balance UPDATE (one statement
    fewer), and a period closed meanwhile makes the commit raise the DomainError: only for
    a caller that commits at once and rolls back on any error (``repayments.committed``).
    """
    return _post(description, lines, user, business_date, source, numbers=numbers, attach=attach,
                 recheck_at_commit=recheck_at_commit)


def reverse(voucher, reason, user, business_date=None):
    """冲销: a new voucher with every line's sides swapped, dated on the business date,
    linked to the original (``reversal_of``) and carrying the reason. A voucher is reversed
    at most once, and a reversal is never reversed (post a new voucher instead). The
    reversal's own date must be open (a voucher of a closed period is corrected in the
    current period, never in the closed one).

    Users reach this through approval: a 凭证冲销 request (app/services/ledger_reversal.py)
    calls it when approved; business modules call it for their own documents.
    """
    reason = _text(reason, 2000, "冲销原因", "reason")
    # Lock the original (PostgreSQL; SQLite serialises writers) so two clerks cannot both
    # pass the check below; the unique reversal_of_id is the last guard.
    original = db.session.execute(
        select(Voucher).where(Voucher.id == voucher.id).with_for_update()).scalar_one_or_none()
    if original is None:
        raise DomainError("凭证不存在")
    if original.reversal_of_id is not None:
        raise DomainError(f"凭证 {original.voucher_no} 是冲销凭证，不能再冲销；如需更正请另做凭证")
    existing = db.session.execute(
        select(Voucher).where(Voucher.reversal_of_id == original.id)).scalar_one_or_none()
    if existing is not None:
        raise DomainError(f"凭证 {original.voucher_no} 已被凭证 {existing.voucher_no} 冲销，不能重复冲销")
    lines = [Line(account=line.account, debit=line.credit, credit=line.debit, memo=line.memo, loan_id=line.loan_id,
                  fund_account=line.fund_account) for line in original.lines]
    source = (original.source_type, original.source_id) if original.source_type else None
    description = f"冲销 {original.voucher_no}：{original.description}"[:200]
    return _post(description, lines, user, business_date, source, reversal_of=original, reason=reason)


# -- balances ------------------------------------------------------------------------
def _money(value):
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return value.quantize(CENT)


def _sum(expr):
    return type_coerce(func.coalesce(func.sum(expr), 0), MONEY)


def _signed(normal_side, net):
    """debit − credit → the balance in the account's normal direction."""
    return net if normal_side == "debit" else -net


def get_account(account):
    """A LedgerAccount from itself or its code."""
    if isinstance(account, LedgerAccount):
        return account
    found = db.session.execute(select(LedgerAccount).where(LedgerAccount.code == str(account).strip())
                               ).scalar_one_or_none()
    if found is None:
        raise DomainError(f"科目 {account} 不存在")
    return found


def _children_map():
    children = defaultdict(list)
    for account_id, parent_id in db.session.execute(select(LedgerAccount.id, LedgerAccount.parent_id)):
        if parent_id is not None:
            children[parent_id].append(account_id)
    return children


def subtree_ids(account):
    """The account's id and its descendants' (the chart is small: one query)."""
    children = _children_map()
    ids, todo = [], [account.id]
    while todo:
        current = todo.pop()
        ids.append(current)
        todo.extend(children.get(current, ()))
    return ids


def _net(where, as_of=None):
    query = select(_sum(JournalLine.debit - JournalLine.credit)).where(*where)
    if as_of is not None:
        query = query.join(Voucher, Voucher.id == JournalLine.voucher_id).where(Voucher.business_date <= as_of)
    return _money(db.session.execute(query).scalar())


def account_balance(account, as_of=None):
    """The balance of an account (and its subtree) at the end of ``as_of`` (default: all)."""
    account = get_account(account)
    return _signed(account.normal_side, _net([JournalLine.account_id.in_(subtree_ids(account))], as_of))


def fund_balance(fund_account, as_of=None):
    """The balance of a fund account: its lines, signed like its ledger account."""
    side = db.session.execute(select(LedgerAccount.normal_side).where(
        LedgerAccount.id == fund_account.ledger_account_id)).scalar_one()
    return _signed(side, _net([JournalLine.fund_account_id == fund_account.id], as_of))


def fund_balances(fund_accounts, as_of=None):
    """{fund account id: balance} for many fund accounts in one grouped query."""
    fund_accounts = list(fund_accounts)
    ids = [f.id for f in fund_accounts]
    if not ids:
        return {}
    query = (select(JournalLine.fund_account_id, LedgerAccount.normal_side,
                    _sum(JournalLine.debit - JournalLine.credit))
             .join(FundAccount, FundAccount.id == JournalLine.fund_account_id)
             .join(LedgerAccount, LedgerAccount.id == FundAccount.ledger_account_id)
             .where(JournalLine.fund_account_id.in_(ids))
             .group_by(JournalLine.fund_account_id, LedgerAccount.normal_side))
    if as_of is not None:
        query = query.join(Voucher, Voucher.id == JournalLine.voucher_id).where(Voucher.business_date <= as_of)
    result = {fid: ZERO for fid in ids}
    for fund_id, side, net in db.session.execute(query):
        result[fund_id] = _signed(side, _money(net))
    return result


def voucher_amounts(voucher_ids):
    """{voucher id: Σ debit} for many vouchers in one grouped query."""
    ids = list(voucher_ids)
    if not ids:
        return {}
    query = (select(JournalLine.voucher_id, _sum(JournalLine.debit)).where(JournalLine.voucher_id.in_(ids))
             .group_by(JournalLine.voucher_id))
    return {voucher_id: _money(amount) for voucher_id, amount in db.session.execute(query)}


def loan_principal_outstanding(loan_id, as_of=None):
    """贷款本金余额 of one loan: the balance of its lines on 1301 (and 1301's subtree)."""
    account = get_account(LOAN_PRINCIPAL)
    return _signed(account.normal_side, _net(
        [JournalLine.account_id.in_(subtree_ids(account)), JournalLine.loan_id == loan_id], as_of))


def totals(as_of=None):
    """(Σ debit, Σ credit) over every line up to ``as_of``: equal in a sound ledger."""
    query = select(_sum(JournalLine.debit), _sum(JournalLine.credit))
    if as_of is not None:
        query = query.join(Voucher, Voucher.id == JournalLine.voucher_id).where(Voucher.business_date <= as_of)
    debit, credit = db.session.execute(query).one()
    return _money(debit), _money(credit)


# -- reports -------------------------------------------------------------------------
def _split(net):
    """A debit − credit figure as (debit column, credit column)."""
    return (net, ZERO) if net >= 0 else (ZERO, -net)


def _direction(net):
    return "借" if net > 0 else "贷" if net < 0 else "平"


@dataclass
class TrialRow:
    """One row of the trial balance (科目余额表). Figures are debit − credit nets split into
    debit and credit columns; ``opening``/``closing`` are signed in the normal direction."""

    account: LedgerAccount
    level: int
    is_leaf: bool
    opening_net: Decimal = ZERO
    period_debit: Decimal = ZERO
    period_credit: Decimal = ZERO

    @property
    def closing_net(self):
        return self.opening_net + self.period_debit - self.period_credit

    @property
    def opening_debit(self):
        return _split(self.opening_net)[0]

    @property
    def opening_credit(self):
        return _split(self.opening_net)[1]

    @property
    def closing_debit(self):
        return _split(self.closing_net)[0]

    @property
    def closing_credit(self):
        return _split(self.closing_net)[1]

    @property
    def opening(self):
        return _signed(self.account.normal_side, self.opening_net)

    @property
    def closing(self):
        return _signed(self.account.normal_side, self.closing_net)

    @property
    def opening_direction(self):
        return _direction(self.opening_net)

    @property
    def closing_direction(self):
        return _direction(self.closing_net)

    @property
    def is_zero(self):
        return not (self.opening_net or self.period_debit or self.period_credit)


@dataclass
class TrialTotals:
    opening_debit: Decimal = ZERO
    opening_credit: Decimal = ZERO
    period_debit: Decimal = ZERO
    period_credit: Decimal = ZERO
    closing_debit: Decimal = ZERO
    closing_credit: Decimal = ZERO

    @property
    def balanced(self):
        return (self.opening_debit == self.opening_credit and self.period_debit == self.period_credit
                and self.closing_debit == self.closing_credit)


@dataclass
class TrialBalance:
    start: date
    end: date
    rows: list = field(default_factory=list)
    totals: TrialTotals = field(default_factory=TrialTotals)

    @property
    def balanced(self):
        return self.totals.balanced


def _check_period(start, end):
    for value, name, label in ((start, "start", "开始日期"), (end, "end", "结束日期")):
        if isinstance(value, datetime) or not isinstance(value, date):
            raise DomainError(f"请填写有效的{label}", name)
    if start > end:
        raise DomainError(f"开始日期 {start} 不能晚于结束日期 {end}", "start")


def trial_balance(start, end, include_zero=False):
    """试算平衡表 for [start, end]: per account the opening balance (before ``start``), the
    period's debits and credits and the closing balance, parents summing their subtrees;
    totals over the top-level accounts, which balance in a sound ledger. Accounts without
    any figure are left out unless ``include_zero`` (active accounts) is set."""
    _check_period(start, end)
    before = Voucher.business_date < start
    query = (select(JournalLine.account_id,
                    _sum(case((before, JournalLine.debit - JournalLine.credit), else_=0)),
                    _sum(case((before, 0), else_=JournalLine.debit)),
                    _sum(case((before, 0), else_=JournalLine.credit)))
             .join(Voucher, Voucher.id == JournalLine.voucher_id)
             .where(Voucher.business_date <= end)
             .group_by(JournalLine.account_id))
    own = {account_id: (_money(o), _money(d), _money(c)) for account_id, o, d, c in db.session.execute(query)}
    accounts = list(db.session.execute(select(LedgerAccount).order_by(LedgerAccount.code)).scalars())
    children = defaultdict(list)
    for account in accounts:
        if account.parent_id is not None:
            children[account.parent_id].append(account)

    rows, totals = [], TrialTotals()

    def visit(account, level):
        row = TrialRow(account, level, not children.get(account.id))
        o, d, c = own.get(account.id, (ZERO, ZERO, ZERO))
        row.opening_net, row.period_debit, row.period_credit = o, d, c
        rows.append(row)
        for child in children.get(account.id, ()):
            child_row = visit(child, level + 1)
            row.opening_net += child_row.opening_net
            row.period_debit += child_row.period_debit
            row.period_credit += child_row.period_credit
        return row

    roots = [a for a in accounts if a.parent_id is None]
    for root in roots:
        row = visit(root, 1)
        totals.opening_debit += row.opening_debit
        totals.opening_credit += row.opening_credit
        totals.period_debit += row.period_debit
        totals.period_credit += row.period_credit
        totals.closing_debit += row.closing_debit
        totals.closing_credit += row.closing_credit
    if not include_zero:
        rows = [r for r in rows if not r.is_zero]
    else:
        rows = [r for r in rows if r.account.is_active or not r.is_zero]
    return TrialBalance(start, end, rows, totals)


@dataclass
class DetailRow:
    line_id: int
    voucher_id: int
    voucher_no: str
    business_date: date
    description: str
    memo: str
    account_code: str
    debit: Decimal
    credit: Decimal
    balance: Decimal  # running, in the account's normal direction
    direction: str


@dataclass
class AccountDetail:
    account: LedgerAccount
    start: date
    end: date
    opening: Decimal
    period_debit: Decimal
    period_credit: Decimal
    closing: Decimal
    rows: list

    @property
    def normal_side_label(self):
        return NORMAL_SIDES.get(self.account.normal_side, "")


def account_detail(account, start, end):
    """明细账 of an account (and its subtree) for [start, end]: the opening balance, every
    line in date order with the running balance (a SQL window sum), the period's totals and
    the closing balance, balances in the account's normal direction."""
    _check_period(start, end)
    account = get_account(account)
    ids = subtree_ids(account)
    before = Voucher.business_date < start
    opening_net, period_debit, period_credit = (_money(v) for v in db.session.execute(
        select(_sum(case((before, JournalLine.debit - JournalLine.credit), else_=0)),
               _sum(case((before, 0), else_=JournalLine.debit)),
               _sum(case((before, 0), else_=JournalLine.credit)))
        .join(Voucher, Voucher.id == JournalLine.voucher_id)
        .where(JournalLine.account_id.in_(ids), Voucher.business_date <= end)).one())
    order = (Voucher.business_date, Voucher.id, JournalLine.id)
    running = type_coerce(func.sum(JournalLine.debit - JournalLine.credit).over(order_by=order), MONEY)
    query = (select(JournalLine.id, Voucher.id, Voucher.voucher_no, Voucher.business_date, Voucher.description,
                    JournalLine.memo, LedgerAccount.code, JournalLine.debit, JournalLine.credit, running)
             .join(Voucher, Voucher.id == JournalLine.voucher_id)
             .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
             .where(JournalLine.account_id.in_(ids), Voucher.business_date >= start, Voucher.business_date <= end)
             .order_by(*order))
    side = account.normal_side
    rows = []
    for line_id, voucher_id, voucher_no, day, description, memo, code, debit, credit, run in db.session.execute(query):
        net = opening_net + _money(run)
        rows.append(DetailRow(line_id, voucher_id, voucher_no, day, description, memo or "", code, _money(debit),
                              _money(credit), _signed(side, net), _direction(net)))
    closing_net = opening_net + period_debit - period_credit
    return AccountDetail(account, start, end, _signed(side, opening_net), period_debit, period_credit,
                         _signed(side, closing_net), rows)


def default_period(on=None):
    """(first day of the month, the day): the report period when none is given."""
    on = on or settings.business_date()
    return on.replace(day=1), on


# -- the chart and fund accounts -----------------------------------------------------
def seed_chart():
    """Add the accounts of CHART and the fund accounts of FUND_ACCOUNTS that are missing
    (by code / by name); an admin's edits stay. Flushes; the caller commits. Returns how
    many rows were added."""
    accounts = {a.code: a for a in db.session.execute(select(LedgerAccount)).scalars()}
    added = 0
    for code, name, category, side in CHART:
        if code not in accounts:
            accounts[code] = LedgerAccount(code=code, name=name, category=category, normal_side=side, is_active=True)
            db.session.add(accounts[code])
            added += 1
    db.session.flush()
    have = set(db.session.execute(select(FundAccount.name)).scalars())
    for name, kind, code in FUND_ACCOUNTS:
        if name not in have:
            db.session.add(FundAccount(name=name, kind=kind, ledger_account=accounts[code], is_active=True))
            added += 1
    db.session.flush()
    return added


def _has_lines(column, value):
    return db.session.execute(select(JournalLine.id).where(column == value).limit(1)).first() is not None


def check_account(values, pk=None):
    """The rules of the chart-of-accounts form (add when ``pk`` is None, else edit).
    ``values``: code, name, category, normal_side, parent (LedgerAccount or None), is_active."""
    with db.session.no_autoflush:
        code = _text(values.get("code"), 20, "科目代码", "code")
        if not code.isdigit() or len(code) < 4:
            raise DomainError("科目代码只能是数字，至少 4 位（如 1001、130101）", "code")
        same = db.session.execute(select(LedgerAccount).where(LedgerAccount.code == code)).scalar_one_or_none()
        if same is not None and same.id != (int(pk) if pk else None):
            raise DomainError(f"科目代码 {code} 已被“{same.name}”使用", "code")
        _text(values.get("name"), 100, "科目名称", "name")
        category, side = values.get("category"), values.get("normal_side")
        if category not in ACCOUNT_CATEGORIES:
            raise DomainError("请选择科目类别", "category")
        if side not in NORMAL_SIDES:
            raise DomainError("请选择余额方向", "normal_side")
        parent = values.get("parent")
        if parent is not None:
            if not code.startswith(parent.code) or len(code) <= len(parent.code):
                raise DomainError(f"下级科目的代码必须以上级科目代码 {parent.code} 开头且更长", "code")
            if parent.category != category:
                raise DomainError(f"下级科目的类别必须与上级科目 {parent} 相同（{parent.category_label}）", "category")
            # Lines go to leaf accounts: a fund account's ledger account must stay a leaf,
            # or the fund account could no longer be posted to.
            tied = db.session.execute(select(FundAccount.name).where(FundAccount.ledger_account_id == parent.id)
                                      .limit(1)).scalar_one_or_none()
            if tied is not None:
                raise DomainError(f"科目 {parent} 已对应资金账户“{tied}”，不能增加下级科目；"
                                  "请为新账户另设科目", "parent")
        if not pk:
            return
        old = db.session.execute(select(LedgerAccount.code, LedgerAccount.category, LedgerAccount.normal_side,
                                        LedgerAccount.is_active).where(LedgerAccount.id == int(pk))).one_or_none()
        if old is None:
            raise DomainError("科目不存在")
        system_codes = {c for c, *_rest in CHART}
        used = _has_lines(JournalLine.account_id, int(pk))
        if code != old.code and (used or old.code in system_codes):
            raise DomainError(f"科目 {old.code} {'已有分录' if used else '是系统科目'}，不能修改科目代码", "code")
        if used and (category != old.category or side != old.normal_side):
            raise DomainError(f"科目 {old.code} 已有分录，不能修改类别或余额方向", "category")
        if old.is_active and not values.get("is_active"):
            account = db.session.get(LedgerAccount, int(pk))
            balance = _signed(old.normal_side, _net([JournalLine.account_id.in_(subtree_ids(account))]))
            if balance:
                raise DomainError(f"科目 {old.code} 余额为 {balance:,.2f}，余额为零后才能停用", "is_active")


def check_fund_account(values, pk=None):
    """The rules of the fund-account form. ``values``: name, kind, ledger_account,
    bank_name, account_no, is_active."""
    with db.session.no_autoflush:
        name = _text(values.get("name"), 100, "账户名称", "name")
        same = db.session.execute(select(FundAccount).where(FundAccount.name == name)).scalar_one_or_none()
        if same is not None and same.id != (int(pk) if pk else None):
            raise DomainError(f"已有名为“{name}”的资金账户", "name")
        kind = values.get("kind")
        if kind not in FUND_KINDS:
            raise DomainError("请选择账户类型", "kind")
        account = values.get("ledger_account")
        if account is None:
            raise DomainError("请选择对应科目", "ledger_account")
        category, side = FUND_KIND_ACCOUNTS[kind]
        if account.category != category or account.normal_side != side:
            raise DomainError(f"{FUND_KINDS[kind]}账户应对应{ACCOUNT_CATEGORIES[category]}类、"
                              f"{NORMAL_SIDES[side]}方余额的科目，{account} 不符", "ledger_account")
        if not account.is_active:
            raise DomainError(f"科目 {account} 已停用", "ledger_account")
        if account.children:
            raise DomainError(f"科目 {account} 有下级科目，请选择末级科目", "ledger_account")
        if kind == "bank" and not (values.get("account_no") or "").strip():
            raise DomainError("银行账户请填写账号", "account_no")
        if not pk:
            return
        old = db.session.execute(select(FundAccount.ledger_account_id, FundAccount.is_active)
                                 .where(FundAccount.id == int(pk))).one_or_none()
        if old is None:
            raise DomainError("资金账户不存在")
        if account.id != old.ledger_account_id and _has_lines(JournalLine.fund_account_id, int(pk)):
            raise DomainError("该资金账户已有分录，不能更换对应科目", "ledger_account")
        if old.is_active and not values.get("is_active"):
            balance = fund_balance(db.session.get(FundAccount, int(pk)))
            if balance:
                raise DomainError(f"该资金账户余额为 {balance:,.2f}，余额为零后才能停用", "is_active")


# -- stored balances: Loan.principal_balance and FundAccount.posted_net ---------------------
# Each posting records what its lines move; the session applies it just before COMMIT, in the
# same transaction (so the stored figures are exactly the committed journal's), in id order
# (two transactions never wait on each other's rows in opposite orders), and holds the fund
# account's row lock only for the commit itself. A rollback drops what was recorded.
_PENDING = "microloan.ledger_pending"


def _record_moves(lines, principal=None):
    """Note what ``lines`` (flushed JournalLines) move. ``principal``: per line, whether its
    account is 1301 or under it, as read with the chart checks (None: not known, read at
    commit)."""
    pending = db.session.info.setdefault(_PENDING, [])
    flags = principal if principal is not None else [None] * len(lines)
    pending.extend((line.account_id, line.loan_id, line.fund_account_id, line.debit - line.credit, flag)
                   for line, flag in zip(lines, flags))


_RECHECK = "microloan.ledger_recheck"


def _one_trip(session):
    """Whether the commit's writes can go to the server in one round trip: psycopg2 sends a
    statement text holding several statements in one ``execute`` (its parameters bound as
    for any statement) and hands back the last one's rows."""
    dialect = session.get_bind().dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg2"


# The commit's writes of one posting in one round trip (``apply_moves_with``): the
# transaction's audit rows (one INSERT of parallel arrays), the loan's stored balance when it
# moved, the fund account's with the deferred closed-period check riding on it (RETURNING:
# the last statement's rows are what comes back). Plain literals, every value a bound
# parameter; the order is ``_apply_moves``'s: the loan row first, then the fund account.
_COMMIT_WRITES = {
    True: text(
        "INSERT INTO audit_log (created_at, user_id, username, action, table_name, row_id, changes, ip) "
        "SELECT * FROM unnest(CAST(:created_at AS timestamp[]), CAST(:user_id AS integer[]), "
        "CAST(:username AS varchar[]), CAST(:action AS varchar[]), CAST(:table_name AS varchar[]), "
        "CAST(:row_id AS varchar[]), CAST(:changes AS text[]), CAST(:ip AS varchar[]));\n"
        "UPDATE loan SET updated_at = :updated_at, principal_balance = loan.principal_balance + :loan_delta "
        "WHERE loan.id = :loan_id;\n"
        "UPDATE fund_account SET posted_net = fund_account.posted_net + :fund_delta WHERE fund_account.id = :fund_id "
        "RETURNING (SELECT period_close.period FROM period_close WHERE period_close.status = 'closed' "
        "AND period_close.period_end >= :on ORDER BY period_close.period_end LIMIT 1)"),
    False: text(
        "INSERT INTO audit_log (created_at, user_id, username, action, table_name, row_id, changes, ip) "
        "SELECT * FROM unnest(CAST(:created_at AS timestamp[]), CAST(:user_id AS integer[]), "
        "CAST(:username AS varchar[]), CAST(:action AS varchar[]), CAST(:table_name AS varchar[]), "
        "CAST(:row_id AS varchar[]), CAST(:changes AS text[]), CAST(:ip AS varchar[]));\n"
        "UPDATE fund_account SET posted_net = fund_account.posted_net + :fund_delta WHERE fund_account.id = :fund_id "
        "RETURNING (SELECT period_close.period FROM period_close WHERE period_close.status = 'closed' "
        "AND period_close.period_end >= :on ORDER BY period_close.period_end LIMIT 1)"),
}


def apply_moves_with(session, audit_rows):
    """The commit's writes of a posting in one round trip on PostgreSQL (psycopg2): the
    transaction's ``audit_rows`` (``audit._before_commit``), then what ``_apply_moves``
    would send — when it would send exactly one fund account's UPDATE carrying the
    deferred closed-period check, after at most one loan's (a receipt). Returns False,
    having sent and taken nothing, otherwise (the caller writes its rows itself and the
    moves are applied as always)."""
    if not audit_rows or not _one_trip(session):
        return False
    pending, recheck = session.info.get(_PENDING), session.info.get(_RECHECK)
    if not pending or not recheck or any(flag is None and loan_id is not None for _a, loan_id, _f, _n, flag in pending):
        return False
    loans, funds = _nets(pending, frozenset())
    if len(loans) > 1 or len(funds) != 1:
        return False
    session.info.pop(_PENDING, None)
    session.info.pop(_RECHECK, None)
    recheck_on = min(recheck)
    params = {column: [row[column] for row in audit_rows] for column in audit.COLUMNS}
    (fund_id, fund_delta), = funds.items()
    params.update(fund_id=fund_id, fund_delta=fund_delta, on=recheck_on)
    if loans:
        (loan_id, loan_delta), = loans.items()
        params.update(loan_id=loan_id, loan_delta=loan_delta, updated_at=datetime.now())
    closed = session.connection().execute(_COMMIT_WRITES[bool(loans)], params).scalar()
    check_open(recheck_on, closed)
    from app.models import Loan

    for loan_id in loans:
        _expire_updated(session, Loan, loan_id, ("principal_balance", "updated_at"))
    _expire_updated(session, FundAccount, fund_id, ("posted_net",))
    return True


def _nets(pending, principal):
    """{loan id: net} on loan principal and {fund account id: net} of the recorded moves,
    without the zero ones."""
    loans, funds = defaultdict(Decimal), defaultdict(Decimal)
    for account_id, loan_id, fund_id, net, flag in pending:
        if loan_id is not None and (flag if flag is not None else account_id in principal):
            loans[loan_id] += net
        if fund_id is not None:
            funds[fund_id] += net
    return {k: v for k, v in loans.items() if v}, {k: v for k, v in funds.items() if v}


def _apply_moves(session):
    pending = session.info.pop(_PENDING, None) or []
    recheck = session.info.pop(_RECHECK, None)
    # A closed period that locks any of the dates locks the earliest.
    recheck_on = min(recheck) if recheck else None
    if not pending and recheck_on is None:
        return
    # The chart is read again only when a loan's line came without the flag.
    principal = _principal_ids(session) if any(
        flag is None and loan_id is not None for _a, loan_id, _f, _n, flag in pending) else frozenset()
    loans, funds = _nets(pending, principal)
    from app.models import Loan

    for loan_id in sorted(loans):
        session.execute(_balance_updates()["loan"], {"row_id": loan_id, "delta": loans[loan_id]})
        _expire_updated(session, Loan, loan_id, ("principal_balance", "updated_at"))
    for fund_id in sorted(funds):
        params = {"row_id": fund_id, "delta": funds[fund_id]}
        if recheck_on is not None and session.get_bind().dialect.update_returning:
            # The deferred closed-period check rides on this UPDATE (RETURNING the period).
            closed = session.execute(_balance_updates()["fund_checked"], params | {"on": recheck_on}).scalar()
            check_open(recheck_on, closed)
            recheck_on = None
        else:
            session.execute(_balance_updates()["fund"], params)
        _expire_updated(session, FundAccount, fund_id, ("posted_net",))
    if recheck_on is not None:
        check_open(recheck_on)


def _expire_updated(session, model, row_id, attributes):
    """The UPDATEs above go past the objects: a loan or fund account loaded in the session
    has those attributes expired (read afresh when next used), even should the commit keep
    the object loaded (``repayments.commit_keeping``). An attribute with a change of its
    own still to flush is left alone."""
    obj = session.identity_map.get(session.identity_key(model, row_id))
    if obj is None:
        return
    state = inspect(obj)
    stale = [key for key in attributes if key in state.dict and not state.attrs[key].history.has_changes()]
    if stale:
        session.expire(obj, stale)


def _balance_updates():
    """The two stored-balance UPDATEs, built once (compiled once, cache key memoized)."""
    found = _STATEMENTS.get("balance_updates")
    if found is None:
        from app.models import Loan

        found = _STATEMENTS["balance_updates"] = {
            "loan": Loan.__table__.update().where(Loan.id == bindparam("row_id")).values(
                principal_balance=Loan.principal_balance + bindparam("delta", type_=MONEY)),
            "fund": FundAccount.__table__.update().where(FundAccount.id == bindparam("row_id")).values(
                posted_net=FundAccount.posted_net + bindparam("delta", type_=MONEY)),
        }
        found["fund_checked"] = found["fund"].returning(
            _closed_period_query(bindparam("on", type_=Date)).scalar_subquery())
    return found


def _principal_ids(session):
    """1301 and its sub-accounts, in one small query (the chart may change between commits)."""
    rows = session.execute(select(LedgerAccount.id, LedgerAccount.parent_id, LedgerAccount.code)).all()
    children = defaultdict(list)
    for account_id, parent_id, _code in rows:
        children[parent_id].append(account_id)
    found, todo = set(), [account_id for account_id, _p, code in rows if code == LOAN_PRINCIPAL]
    while todo:
        current = todo.pop()
        found.add(current)
        todo.extend(children.get(current, ()))
    return found


def _drop_moves(session, *args):
    session.info.pop(_PENDING, None)
    session.info.pop(_RECHECK, None)


def install_balance_keeping(session_class):
    """Called once by the app factory: the stored balances follow every commit."""
    from sqlalchemy import event

    if not event.contains(session_class, "before_commit", _apply_moves):
        event.listen(session_class, "before_commit", _apply_moves)
        event.listen(session_class, "after_rollback", _drop_moves)


def _stored_principal_query():
    principal = subtree_ids(get_account(LOAN_PRINCIPAL))
    return (select(JournalLine.loan_id, _sum(JournalLine.debit - JournalLine.credit).label("net"))
            .where(JournalLine.account_id.in_(principal), JournalLine.loan_id.is_not(None))
            .group_by(JournalLine.loan_id))


def _differs(stored, journal):
    # Rounded to the fen: SQLite adds NUMERIC columns as binary floats.
    return func.round(stored - func.coalesce(journal, 0), 2) != 0


def balance_differences(limit=20):
    """Loans and fund accounts whose stored balance differs from their journal lines:
    [(kind, id, stored, journal)], at most ``limit`` of each kind. Empty in a sound ledger."""
    from app.models import Loan

    journal = _stored_principal_query().subquery("j")
    loans = db.session.execute(
        select(Loan.id, Loan.principal_balance, func.coalesce(journal.c.net, 0))
        .outerjoin(journal, journal.c.loan_id == Loan.id)
        .where(_differs(Loan.principal_balance, journal.c.net)).order_by(Loan.id).limit(limit)).all()
    fund_net = (select(JournalLine.fund_account_id, _sum(JournalLine.debit - JournalLine.credit).label("net"))
                .where(JournalLine.fund_account_id.is_not(None)).group_by(JournalLine.fund_account_id).subquery("f"))
    funds = db.session.execute(
        select(FundAccount.id, FundAccount.posted_net, func.coalesce(fund_net.c.net, 0))
        .outerjoin(fund_net, fund_net.c.fund_account_id == FundAccount.id)
        .where(_differs(FundAccount.posted_net, fund_net.c.net)).order_by(FundAccount.id)
        .limit(limit)).all()
    return ([("loan", i, _money(s), _money(j)) for i, s, j in loans]
            + [("fund_account", i, _money(s), _money(j)) for i, s, j in funds])


def rebuild_stored_balances():
    """Set every stored balance from the journal (after a bulk load, or by the migration that
    adds them). Two set-based UPDATEs; the caller commits."""
    from app.models import Loan

    journal = _stored_principal_query().subquery("j")
    db.session.execute(Loan.__table__.update().values(principal_balance=func.coalesce(
        select(journal.c.net).where(journal.c.loan_id == Loan.id).scalar_subquery(), 0)))
    fund_net = (select(_sum(JournalLine.debit - JournalLine.credit))
                .where(JournalLine.fund_account_id == FundAccount.id).scalar_subquery())
    db.session.execute(FundAccount.__table__.update().values(posted_net=func.coalesce(fund_net, 0)))


def stored_fund_balances(fund_accounts):
    """{fund account id: balance now} from the stored nets (no journal scan)."""
    ids = [f.id for f in fund_accounts]
    if not ids:
        return {}
    rows = db.session.execute(select(FundAccount.id, LedgerAccount.normal_side, FundAccount.posted_net)
                              .join(LedgerAccount, LedgerAccount.id == FundAccount.ledger_account_id)
                              .where(FundAccount.id.in_(ids)))
    return {fid: _signed(side, _money(net)) for fid, side, net in rows}
