"""正常还款 on PostgreSQL in four round trips and a commit (issue #8: ≥ 200 postings a second).

``repayments.post_repayment`` calls ``post`` first. It computes exactly what the ORM path
computes — with the same functions (``crystallise``, ``payable``, ``allocate``,
``apply_allocation``, ``cleared_receivable``, ``receipt_journal``, ``ledger._checked``),
run on plain rows instead of mapped objects — and writes the same rows, but as written-out
SQL instead of the unit of work, which costs most of a posting's time:

1. the loan row locked (``FOR UPDATE OF loan``) with its product's terms and the customer's
   name;
2. once the lock is held (a fresh snapshot: a twin that committed while we waited is seen),
   the installments, with the receipt already under the key, the last receipt date, the
   business date, the facts of every account a receipt may post to and the closed period
   locking the date on every row (uncorrelated subqueries: run once);
3. the voucher's and the receipt's numbers (the counters bumped in the ORM path's order) and
   the new rows' ids;
4. in one round trip: the voucher and its lines, the receipt and its lines, the changed
   installments, the audit rows (built by ``audit`` from the same objects), the loan's and
   the fund account's stored balances and the closed-period check that must follow the
   voucher's INSERT (``ledger._post`` says why).

Anything off the common path — no such loan, a loan not 在贷, a replayed key, a chart or
period problem, a date that is not a date, a receipt that pays the loan off (closing it
writes more: status, 结清证明) — returns None having written nothing, and the ORM path
runs in the same transaction and says what is wrong (or does the rest). A DomainError both
paths raise (a date, an amount, a payer) is raised here with the same words.

``tests/integration/test_posting_fast.py`` posts the same receipts both ways and compares
every row written, the audit rows included.
"""
import re
from datetime import date, datetime
from types import SimpleNamespace

from flask import current_app
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.domain.servicing import allocate
from app.extensions import db
from app.models import FundAccount, JournalLine, Loan, Voucher
from app.models.servicing import Repayment
from app.services import audit, ledger, numbering, settings

#: Tests switch it off to post the same receipts through the ORM path.
ENABLED = True

INSTALLMENT_READ = ("id", "seq", "start_date", "due_date", "principal", "interest", "balance", "principal_paid",
                    "interest_paid", "interest_waived", "penalty", "penalty_paid", "penalty_waived", "compound",
                    "compound_paid", "compound_waived", "accrued_to", "paid_off_on", "penalty_pending",
                    "compound_pending", "interest_accrued")
#: The loan's own figures, on every installment's row.
LOAN_READ = ("loan.loan_no", "loan.status", "loan.annual_rate", "loan.amount", "loan.method", "customer.name",
             "loan_product.penalty_markup_pct", "loan_product.day_basis", "loan_product.grace_days",
             "loan_product.allocation_order")
#: What a receipt may change on an installment (crystallise, the allocation, 应收利息 cleared).
INSTALLMENT_WRITTEN = ("penalty", "compound", "accrued_to", "penalty_pending", "compound_pending", "principal_paid",
                       "interest_paid", "penalty_paid", "compound_paid", "paid_off_on", "interest_accrued")
#: Every account a receipt's voucher may name by code (``repayments.credit_lines``).
CODES = (ledger.LOAN_PRINCIPAL, ledger.INTEREST_RECEIVABLE, ledger.INTEREST_INCOME, ledger.PENALTY_INCOME,
         ledger.FEE_INCOME)

_LOCK = "SELECT 1 FROM loan WHERE loan.id = %(loan_id)s::integer FOR UPDATE"

_READ = (
    "SELECT " + ", ".join(f"i.{c}" for c in INSTALLMENT_READ) + ", "
    "(SELECT r.id FROM repayment r WHERE r.idempotency_key = %(key)s::varchar), "
    "(SELECT max(r.received_on) FROM repayment r WHERE r.loan_id = %(loan_id)s::integer AND r.voucher_id NOT IN "
    " (SELECT v.reversal_of_id FROM voucher v WHERE v.reversal_of_id IS NOT NULL)), "
    "(SELECT s.value_type FROM setting s WHERE s.key = 'business_date'), "
    "(SELECT s.value FROM setting s WHERE s.key = 'business_date'), "
    "(SELECT json_agg(json_build_array(a.id, a.code, a.is_active, "
    "   EXISTS (SELECT 1 FROM ledger_account c WHERE c.parent_id = a.id), "
    "   EXISTS (SELECT 1 FROM fund_account f WHERE f.ledger_account_id = a.id AND f.kind IN ('cash', 'bank')), "
    "   a.id IN (WITH RECURSIVE t(id) AS (SELECT p.id FROM ledger_account p WHERE p.code = %(principal)s::varchar "
    "     UNION ALL SELECT c.id FROM ledger_account c JOIN t ON c.parent_id = t.id) SELECT id FROM t))) "
    " FROM ledger_account a WHERE a.code = ANY(%(codes)s::varchar[]) OR a.id = %(fund_ledger_id)s::integer), "
    "(SELECT p.period FROM period_close p WHERE p.status = 'closed' AND p.period_end >= %(on)s::date "
    " ORDER BY p.period_end LIMIT 1), "
    + ", ".join(LOAN_READ) + " "
    "FROM installment i JOIN loan ON loan.id = i.loan_id JOIN loan_product ON loan_product.id = loan.product_id "
    "JOIN customer ON customer.id = loan.customer_id WHERE i.loan_id = %(loan_id)s::integer ORDER BY i.seq")

# The counters in the order every posting bumps them (voucher first, ``ledger._post``).
_NUMBERS = (
    "WITH n AS (INSERT INTO number_sequence (prefix, day, value) VALUES (%(voucher_prefix)s::varchar, "
    " %(day)s::varchar, 1), (%(receipt_prefix)s::varchar, %(day)s::varchar, 1) ON CONFLICT (prefix, day) "
    " DO UPDATE SET value = number_sequence.value + 1 RETURNING prefix, value) "
    "SELECT (SELECT value FROM n WHERE prefix = %(voucher_prefix)s::varchar), "
    "(SELECT value FROM n WHERE prefix = %(receipt_prefix)s::varchar), "
    "nextval(pg_get_serial_sequence('voucher', 'id')), nextval(pg_get_serial_sequence('repayment', 'id')), "
    "ARRAY(SELECT nextval(pg_get_serial_sequence('journal_line', 'id')) "
    " FROM generate_series(1, %(journal)s::integer)), "
    "ARRAY(SELECT nextval(pg_get_serial_sequence('repayment_line', 'id')) FROM generate_series(1, %(lines)s::integer))")


def _unnest(columns):
    """unnest over parallel arrays, one per (parameter, SQL type)."""
    return "unnest(" + ", ".join(f"%({name})s::{kind}[]" for name, kind in columns) + ")"


_JOURNAL = (("jl_id", "integer"), ("jl_account", "integer"), ("jl_fund", "integer"), ("jl_loan", "integer"),
            ("jl_debit", "numeric"), ("jl_credit", "numeric"), ("jl_memo", "varchar"))
_LINES = (("rl_id", "integer"), ("rl_installment", "integer"), ("rl_seq", "integer"), ("rl_component", "varchar"),
          ("rl_amount", "numeric"))
_INSTALLMENTS = (("i_id", "integer"),) + tuple(
    (f"i_{c}", "date" if c in ("accrued_to", "paid_off_on") else "numeric") for c in INSTALLMENT_WRITTEN)
_AUDIT = tuple((f"a_{c}", kind) for c, kind in (
    ("created_at", "timestamp"), ("user_id", "integer"), ("username", "varchar"), ("action", "varchar"),
    ("table_name", "varchar"), ("row_id", "varchar"), ("changes", "text"), ("ip", "varchar")))
#: The receipt's columns with their SQL types.
RECEIPT = (("id", "integer"), ("receipt_no", "varchar"), ("loan_id", "integer"), ("kind", "varchar"),
           ("amount", "numeric"), ("received_on", "date"), ("fund_account_id", "integer"), ("payer", "varchar"),
           ("idempotency_key", "varchar"), ("voucher_id", "integer"), ("remarks", "varchar"),
           ("created_by_id", "integer"), ("created_at", "timestamp"), ("principal_amount", "numeric"),
           ("interest_amount", "numeric"), ("penalty_amount", "numeric"), ("compound_amount", "numeric"),
           ("installment_count", "integer"))

#: The writes, sent in one round trip; the last one's row comes back (the closed period).
_WRITES = (
    "INSERT INTO voucher (id, voucher_no, business_date, description, source_type, source_id, created_by_id, "
    "created_at) VALUES (%(voucher_id)s::integer, %(voucher_no)s::varchar, %(on)s::date, %(description)s::varchar, "
    "'repayment', %(loan_id)s::integer, %(user_id)s::integer, %(now)s::timestamp)",
    "INSERT INTO journal_line (id, voucher_id, account_id, fund_account_id, loan_id, debit, credit, memo) "
    "SELECT j.id, %(voucher_id)s::integer, j.account_id, j.fund_account_id, j.loan_id, j.debit, j.credit, j.memo "
    "FROM " + _unnest(_JOURNAL) + " AS j(id, account_id, fund_account_id, loan_id, debit, credit, memo)",
    "INSERT INTO repayment (" + ", ".join(c for c, _k in RECEIPT) + ") VALUES ("
    + ", ".join(f"%(r_{c})s::{kind}" for c, kind in RECEIPT) + ")",
    "INSERT INTO repayment_line (id, repayment_id, installment_id, seq, component, amount) "
    "SELECT l.id, %(r_id)s::integer, l.installment_id, l.seq, l.component, l.amount FROM "
    + _unnest(_LINES) + " AS l(id, installment_id, seq, component, amount)",
    "UPDATE installment SET " + ", ".join(f"{c} = v.{c}" for c in INSTALLMENT_WRITTEN) + " FROM "
    + _unnest(_INSTALLMENTS) + " AS v(id, " + ", ".join(INSTALLMENT_WRITTEN) + ") WHERE installment.id = v.id",
    "INSERT INTO audit_log (created_at, user_id, username, action, table_name, row_id, changes, ip) "
    "SELECT * FROM " + _unnest(_AUDIT),
    "UPDATE loan SET updated_at = %(now)s::timestamp, "
    "principal_balance = loan.principal_balance + %(loan_delta)s::numeric "
    "WHERE loan.id = %(loan_id)s::integer AND %(loan_delta)s::numeric <> 0",
    "UPDATE fund_account SET posted_net = fund_account.posted_net + %(amount)s::numeric "
    "WHERE fund_account.id = %(fund_id)s::integer "
    "RETURNING (SELECT p.period FROM period_close p WHERE p.status = 'closed' AND p.period_end >= %(on)s::date "
    "ORDER BY p.period_end LIMIT 1)",
)


class Prepared:
    """A statement prepared on the server once per connection (PREPARE): planning these
    statements cost more than running them. ``sql`` writes every parameter as
    ``%(name)s::type``; ``call`` is the EXECUTE that runs it, with the same parameters."""

    _PARAMETER = re.compile(r"%\((\w+)\)s::(\w+(?:\[\])?)")

    def __init__(self, name, sql):
        names = []
        for found, _kind in self._PARAMETER.findall(sql):
            if found not in names:
                names.append(found)
        kinds = dict(self._PARAMETER.findall(sql))
        self.name = name
        self.prepare = f"PREPARE {name} AS " + self._PARAMETER.sub(
            lambda m: f"${names.index(m.group(1)) + 1}::{m.group(2)}", sql)
        self.call = f"EXECUTE {name}(" + ", ".join(f"%({n})s::{kinds[n]}" for n in names) + ")"


#: Bump the suffix when a statement changes: a connection prepared by an older text keeps it.
_VERSION = "v1"
LOCK = Prepared(f"microloan_receipt_lock_{_VERSION}", _LOCK)
READ = Prepared(f"microloan_receipt_read_{_VERSION}", _READ)
NUMBERS = Prepared(f"microloan_receipt_numbers_{_VERSION}", _NUMBERS)
WRITES = [Prepared(f"microloan_receipt_write{n}_{_VERSION}", sql) for n, sql in enumerate(_WRITES)]
WRITE_CALL = ";\n".join(statement.call for statement in WRITES)
_PREPARED_KEY = "microloan.prepared_statements"


def _prepare(connection):
    """PREPARE the statements this connection has not prepared yet (they outlive transactions,
    a rolled-back one included, and live as long as the connection)."""
    done = connection.info.setdefault(_PREPARED_KEY, set())
    missing = [statement for statement in (LOCK, READ, NUMBERS, *WRITES) if statement.name not in done]
    if missing:
        connection.exec_driver_sql(";\n".join(statement.prepare for statement in missing))
        done.update(statement.name for statement in missing)


def applies():
    """PostgreSQL through psycopg2, unless switched off (config SQL_POSTING=0: a connection
    pooler in transaction mode, where a prepared statement may be on another connection)."""
    if not ENABLED or not current_app.config.get("SQL_POSTING", True):
        return False
    dialect = db.session.get_bind().dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg2"


def post(loan_id, key, amount, received_on, fund_account, user, payer, remarks):
    """The receipt, written (not yet in the session: the caller commits, then ``attach``), or
    None when the ORM path must run (nothing written)."""
    from app.services import repayments

    if not isinstance(received_on, date) or isinstance(received_on, datetime) or not isinstance(
            fund_account, FundAccount):
        return None
    connection = db.session.connection()
    _prepare(connection)
    return _post(repayments, connection, loan_id, key, amount, received_on, fund_account, user, payer, remarks)


def _post(repayments, connection, loan_id, key, amount, on, fund, user, payer, remarks):
    read = _read(repayments, connection, loan_id, key, fund, on)
    if read is None:
        return None
    loan, last, accounts = read
    items = loan.installments
    before = [dict(vars(item)) for item in items]

    # What the ORM path does, in its order (repayments.post_repayment).
    on = repayments.check_date(loan, on, last)
    repayments.check_fund_account(fund)
    repayments.crystallise(loan, on)
    due = repayments.payable(loan, on)
    if not due:
        return None
    allocation = allocate(amount, repayments.owed_of(due), loan.product.allocation_order)
    lines = repayments.apply_allocation(loan, allocation, on)
    if all(item.paid_off_on is not None for item in items):
        return None   # the loan closes: the ORM path
    payer = repayments.check_payer(loan, payer)
    journal = repayments.receipt_journal(loan, amount, fund, payer, lines)
    description = ledger._text(f"收款 {loan.loan_no} {loan.customer.name}", 200, "凭证摘要", "description")
    checked = ledger._checked(journal)
    remarks = repayments.check_remarks(remarks)

    # Every check has passed: the numbers and ids, then the rows as mapped objects (not in the
    # session), which give the INSERTs their values and the audit rows their changes.
    voucher_value, receipt_value, voucher_id, receipt_id, line_ids, receipt_line_ids = connection.exec_driver_sql(
        NUMBERS.call, {"voucher_prefix": ledger.VOUCHER_PREFIX, "receipt_prefix": repayments.RECEIPT_PREFIX,
                       "day": f"{on:%Y%m%d}", "journal": len(checked), "lines": len(lines)}).one()
    now = datetime.now()
    voucher = Voucher(id=voucher_id, voucher_no=numbering.formatted(ledger.VOUCHER_PREFIX, on, voucher_value),
                      business_date=on, description=description, source_type="repayment", source_id=loan_id,
                      created_by_id=getattr(user, "id", None), created_at=now, reversal_of_id=None, reason=None)
    journal_lines = [JournalLine(id=line_id, voucher_id=voucher_id, loan_id=line.loan_id, debit=debit, credit=credit,
                                 account_id=fund.ledger_account_id if line.account is None else accounts[line.account],
                                 fund_account_id=fund.id if line.fund_account else None, memo=line.memo or None)
                     for line_id, (line, debit, credit) in zip(line_ids, checked)]
    for line_id, line in zip(receipt_line_ids, lines):
        line.id, line.repayment_id, line.loan_fee_id = line_id, receipt_id, None
    receipt = Repayment(**repayments.receipt_columns(
        loan_id, "repayment", amount, on, fund, payer, key, user, remarks, voucher_id,
        numbering.formatted(repayments.RECEIPT_PREFIX, on, receipt_value)), id=receipt_id, created_at=now)
    receipt.set_totals(lines)
    set_committed_value(receipt, "lines", lines)
    set_committed_value(receipt, "voucher", voucher)
    set_committed_value(voucher, "lines", journal_lines)
    changed = [(item, old) for item, old in zip(items, before)
               if any(getattr(item, column) != old[column] for column in INSTALLMENT_WRITTEN)]
    principal_moved = sum((debit - credit for line, debit, credit in checked
                           if line.account == ledger.LOAN_PRINCIPAL and line.loan_id is not None), ledger.ZERO)

    closed = connection.exec_driver_sql(WRITE_CALL, _write_parameters(receipt, changed, principal_moved, fund)).scalar()
    ledger.check_open(on, closed)   # the check that must follow the voucher's INSERT
    session = db.session()
    if principal_moved:
        ledger._expire_updated(session, Loan, loan_id, ("principal_balance", "updated_at"))
    ledger._expire_updated(session, FundAccount, fund.id, ("posted_net",))
    receipt._written_by_sql = True   # not in the session yet: ``attach`` after the commit
    return receipt


def _read(repayments, connection, loan_id, key, fund, on):
    """(the loan as plain rows, its last receipt date, {code: account id}) — the lock taken —
    or None when the ORM path must answer."""
    # One round trip, two statements: the lock, then — a statement of its own, so its snapshot
    # is taken once the lock is held — the installments with everything else on every row.
    rows = connection.exec_driver_sql(LOCK.call + ";\n" + READ.call, {
        "key": key, "loan_id": loan_id, "codes": list(CODES), "fund_ledger_id": fund.ledger_account_id,
        "principal": ledger.LOAN_PRINCIPAL, "on": on}).fetchall()
    if not rows:
        return None   # no such loan, or no schedule
    width = len(INSTALLMENT_READ)
    (receipt_id, last, date_type, date_value, chart, closed, loan_no, status, rate, principal, method, name, markup,
     basis, grace, order) = rows[0][width:]
    if receipt_id is not None or closed is not None or status not in repayments.PAYABLE_STATUSES:
        return None   # a replay, a closed period, a loan not 在贷
    accounts = _chart(chart or [], fund)
    if accounts is None:
        return None
    settings.prime("business_date", date_type, date_value)
    loan = SimpleNamespace(
        id=loan_id, loan_no=loan_no, annual_rate=rate, amount=principal, method=method,
        installments=[SimpleNamespace(**dict(zip(INSTALLMENT_READ, row[:width]))) for row in rows],
        customer=SimpleNamespace(name=name),
        product=SimpleNamespace(penalty_markup_pct=markup, day_basis=basis, grace_days=grace, allocation_order=order))
    return loan, last, accounts


def _write_parameters(receipt, changed, principal_moved, fund):
    """The parameters of ``WRITE_CALL``: the receipt's rows and their audit rows."""
    voucher = receipt.voucher
    entries = [("insert", "voucher", voucher.id, audit.insert_changes(voucher))]
    entries += [("insert", "journal_line", line.id, audit.insert_changes(line)) for line in voucher.lines]
    entries.append(("insert", "repayment", receipt.id, audit.insert_changes(receipt)))
    entries += [("insert", "repayment_line", line.id, audit.insert_changes(line)) for line in receipt.lines]
    entries += [("update", "installment", item.id, audit.update_changes(old, vars(item), INSTALLMENT_WRITTEN))
                for item, old in changed]
    audit_rows = audit.rows(entries)
    params = {"voucher_id": voucher.id, "voucher_no": voucher.voucher_no, "on": voucher.business_date,
              "description": voucher.description, "loan_id": receipt.loan_id, "user_id": voucher.created_by_id,
              "now": voucher.created_at, "amount": receipt.amount, "fund_id": fund.id, "loan_delta": principal_moved}
    params.update(_columns(voucher.lines, ("id", "account_id", "fund_account_id", "loan_id", "debit", "credit",
                                           "memo"), _JOURNAL))
    params.update(_columns(receipt.lines, ("id", "installment_id", "seq", "component", "amount"), _LINES))
    params.update(_columns([item for item, _old in changed], ("id",) + INSTALLMENT_WRITTEN, _INSTALLMENTS))
    params.update({f"a_{column}": [row[column] for row in audit_rows] for column in audit.COLUMNS})
    params.update({f"r_{column}": getattr(receipt, column) for column, _kind in RECEIPT})
    return params


def written(receipt):
    """Whether ``receipt`` is one ``post`` wrote (not yet attached to the session)."""
    return getattr(receipt, "_written_by_sql", False)


def attach(receipt):
    """After the commit: the receipt, its lines and its voucher join the session as what they
    are, persistent and loaded (the caller reads them at once: the API's answer, the
    receipt page)."""
    del receipt._written_by_sql
    voucher = receipt.voucher
    for obj in (voucher, *voucher.lines, receipt, *receipt.lines):
        make_transient_to_detached(obj)
    db.session.add(receipt)
    return receipt


def _chart(facts, fund):
    """{code: account id} for ``CODES``, or None when anything would make ``ledger._post``
    refuse or do more: a missing or inactive account, one with sub-accounts, an account of a
    cash or bank fund account named without its fund account, loan principal (1301 or under
    it) anywhere but on 1301 itself."""
    by_code, by_id = {}, {}
    for account_id, code, active, children, funds, principal in facts:
        by_id[account_id] = (active, children, principal)
        if code in CODES:
            if not active or children or funds or principal != (code == ledger.LOAN_PRINCIPAL):
                return None
            by_code[code] = account_id
    fund_account = by_id.get(fund.ledger_account_id)
    if len(by_code) != len(CODES) or fund_account != (True, False, False):
        return None
    return by_code


def _columns(objects, attributes, spec):
    """Parallel arrays of ``attributes`` of ``objects``, named by ``spec``'s parameters."""
    return {name: [getattr(obj, attribute) for obj in objects] for (name, _kind), attribute in zip(spec, attributes)}
