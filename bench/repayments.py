"""Benchmark of repayment posting on PostgreSQL: 10,000 sequential ``post_repayment`` calls.

Run ``python bench/repayments.py`` (``--loans N`` to change the count, ``--profile`` to
print the cProfile hotspots of the timed loop). The database is DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/microloan_bench: it is created when missing and its
schema is DROPPED and rebuilt by ``init_all`` (what ``flask init`` runs), so never point it
at a database you care about. The instance directory is a temporary one.

Set-up (not timed): N active loans of 50,000–99,000 yuan, 12 months 等额本息 at 12 %, paid
out on 2026-01-15, are written with bulk INSERTs (customers, loans, installments from the
schedule engine, one disbursement voucher Dr 1301 / Cr 1002 each, the Disbursement rows);
the shareholders' capital goes in through ``ledger.post``. The ledger is checked to
balance before the run.

Timed: for every loan, in its own app context (a fresh session, as a web request would
have), ``repayments.post_repayment`` of installment 1 in full on its due date: lock, the
allocation, one voucher, the receipt, commit. On PostgreSQL that is the SQL path
(``app/services/repayments_fast.py``: three round trips and the commit); ``--orm`` times the
ORM path instead (``repayments_fast.ENABLED = False``), which SQLite and the uncommon cases use. Prints postings per second (target ≥ 200/s)
and the total time, the SQL statements and the CPU time of this process per posting with
the load average (on a shared machine the wall clock is noisy: statements and CPU are the
steadier figures), then checks that the ledger still balances: every voucher, the
totals, 1301 against the installments and the bank against payouts and receipts.
"""

import argparse
import cProfile
import io
import os
import platform
import pstats
import secrets
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MICROLOAN_INSTANCE_DIR", tempfile.mkdtemp(prefix="microloan-bench-"))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/microloan_bench"
TARGET_PER_SECOND = 200
DISBURSED_ON = date(2026, 1, 15)
CAPITAL = Decimal("2000000000.00")
ZERO = Decimal("0.00")
BATCH = 2000


def database_url(args):
    url = args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    url = url.replace("postgres://", "postgresql://", 1)
    if make_url(url).get_backend_name() != "postgresql":
        sys.exit(f"bench/repayments.py runs on PostgreSQL only, not {make_url(url).get_backend_name()}")
    return url


def ensure_database(url):
    """CREATE DATABASE when it does not exist (through the maintenance database)."""
    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                              {"name": target.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            print(f"created database {target.database}")
    engine.dispose()


def fresh_schema(app):
    """Drop everything and build the schema and reference data the way ``flask init`` does."""
    from app.extensions import db
    from app.services.setup import init_all

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.session.remove()
        admin, _ = init_all(secrets.token_urlsafe(12) + "Aa1!")
        admin_id = admin.id
        db.session.remove()
    return admin_id


def amount_of(n):
    """Loan n's principal: 50,000 to 99,000 yuan."""
    return Decimal(50000 + (n % 50) * 1000)


def seed(app, admin_id, count):
    """Capital through the ledger service, then ``count`` active loans by bulk INSERT.
    Returns (bank fund account id, {loan id: installment 1 total})."""
    from flask import g

    from app.domain.schedule import LoanTerms, generate_schedule
    from app.extensions import db
    from app.models import AppUser, Customer, Installment, JournalLine, LedgerAccount, Loan, Voucher
    from app.models.finance import FundAccount
    from app.models.loan import LoanStatusChange
    from app.models.product import LoanProduct
    from app.models.servicing import Disbursement
    from app.models.system import NumberSequence
    from app.services import ledger, settings

    with app.app_context():
        user = g.user = db.session.get(AppUser, admin_id)
        settings.set_value("business_date", DISBURSED_ON.isoformat())
        bank = db.session.execute(select(FundAccount).where(FundAccount.kind == "bank")
                                  .order_by(FundAccount.id)).scalars().first()
        ledger.post("股东注资", [ledger.Line(bank.ledger_account, debit=CAPITAL, fund_account=bank),
                             ledger.Line(ledger.PAID_IN_CAPITAL, credit=CAPITAL)], user,
                    business_date=date(2026, 1, 1))
        db.session.commit()
        product = db.session.execute(select(LoanProduct).where(LoanProduct.code == "GRJYD")).scalar_one()
        principal_account = db.session.execute(select(LedgerAccount.id).where(
            LedgerAccount.code == ledger.LOAN_PRINCIPAL)).scalar_one()
        bank_id, bank_account, branch_id = bank.id, bank.ledger_account_id, user.branch_id

        def next_id(model):
            return (db.session.execute(select(func.max(model.id))).scalar() or 0) + 1

        schedules = {}
        for amount in {amount_of(n) for n in range(min(count, 50))}:
            schedules[amount] = generate_schedule(LoanTerms(principal=amount, annual_rate=Decimal("12"), term=12,
                                                            method="equal_installment", start_date=DISBURSED_ON))
        customer0, loan0, voucher0 = next_id(Customer), next_id(Loan), next_id(Voucher)
        installment_id, line_id, disbursement0 = next_id(Installment), next_id(JournalLine), next_id(Disbursement)
        now = datetime.now()
        first_totals = {}
        for start in range(0, count, BATCH):
            customers, loans, installments, vouchers, lines, payouts, changes = [], [], [], [], [], [], []
            for n in range(start, min(start + BATCH, count)):
                amount = amount_of(n)
                loan_id, customer_id, voucher_id = loan0 + n, customer0 + n, voucher0 + n
                customers.append(dict(id=customer_id, customer_no=f"KHB{n:08d}", kind="person", name=f"压测客户{n}",
                                      branch_id=branch_id, officer_id=admin_id, created_at=now, updated_at=now))
                loans.append(dict(id=loan_id, loan_no=f"DKB{n:08d}", customer_id=customer_id, product_id=product.id,
                                  amount=amount, term=12, annual_rate=Decimal("12"), method="equal_installment",
                                  start_date=DISBURSED_ON, purpose="working_capital", guarantee_types="unsecured",
                                  officer_id=admin_id, branch_id=branch_id, status="active", created_at=now,
                                  created_by_id=admin_id, updated_at=now))
                for row in schedules[amount]:
                    installments.append(dict(id=installment_id, loan_id=loan_id, seq=row.seq,
                                             start_date=row.start_date, due_date=row.due_date,
                                             principal=row.principal, interest=row.interest, total=row.total,
                                             balance=row.balance))
                    installment_id += 1
                first_totals[loan_id] = schedules[amount][0].total
                vouchers.append(dict(id=voucher_id, voucher_no=f"PZB{n:08d}", business_date=DISBURSED_ON,
                                     description=f"放款 DKB{n:08d} 压测客户{n}", source_type="disbursement",
                                     source_id=loan_id, created_by_id=admin_id, created_at=now))
                lines.append(dict(id=line_id, voucher_id=voucher_id, account_id=principal_account, loan_id=loan_id,
                                  fund_account_id=None, debit=amount, credit=ZERO, memo="贷款本金"))
                lines.append(dict(id=line_id + 1, voucher_id=voucher_id, account_id=bank_account, loan_id=None,
                                  fund_account_id=bank_id, debit=ZERO, credit=amount, memo="付 压测客户"))
                line_id += 2
                payouts.append(dict(id=disbursement0 + n, loan_id=loan_id, amount=amount, disbursed_on=DISBURSED_ON,
                                    fund_account_id=bank_id, receiving_bank="工商银行",
                                    receiving_account_name=f"压测客户{n}", receiving_account_no="6222020200112233445",
                                    voucher_id=voucher_id, created_by_id=admin_id, created_at=now))
                changes.append(dict(loan_id=loan_id, from_status="ready_to_disburse", to_status="active",
                                    user_id=admin_id, changed_at=now, comment="压测放款"))
            for model, rows in ((Customer, customers), (Loan, loans), (Installment, installments),
                                (Voucher, vouchers), (JournalLine, lines), (Disbursement, payouts),
                                (LoanStatusChange, changes)):
                db.session.execute(insert(model.__table__), rows)
        for model in (Customer, Loan, Installment, Voucher, JournalLine, Disbursement):
            table = model.__tablename__
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
        # Receipts and vouchers posted later number on their own days; nothing to align.
        assert not db.session.execute(select(NumberSequence).where(NumberSequence.prefix == "HK")).first()
        ledger.rebuild_stored_balances()      # the bulk rows went past ledger.post
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
    return bank_id, first_totals


def check_books(app, label, bank_id, received=ZERO, expect_receipts=0):
    """Assert that the ledger balances; print one line."""
    from app.extensions import db
    from app.models import Installment, JournalLine
    from app.models.finance import FundAccount
    from app.models.servicing import Disbursement, Repayment
    from app.services import ledger

    with app.app_context():
        debit, credit = ledger.totals()
        unbalanced = db.session.execute(text(
            "SELECT count(*) FROM (SELECT voucher_id FROM journal_line GROUP BY voucher_id "
            "HAVING sum(debit) <> sum(credit)) AS t")).scalar()
        principal = ledger.account_balance(ledger.LOAN_PRINCIPAL)
        schedule = db.session.execute(select(func.coalesce(func.sum(
            Installment.principal - Installment.principal_paid), 0))).scalar()
        paid_out = db.session.execute(select(func.coalesce(func.sum(Disbursement.amount), 0))).scalar()
        bank = ledger.fund_balance(db.session.get(FundAccount, bank_id))
        assert ledger.balance_differences() == [], "stored balances differ from the journal"
        receipts = db.session.execute(select(func.count()).select_from(Repayment)).scalar()
        receipt_sum = db.session.execute(select(func.coalesce(func.sum(Repayment.amount), 0))).scalar()
        lines = db.session.execute(select(func.count()).select_from(JournalLine)).scalar()
        db.session.remove()
    problems = []
    if debit != credit:
        problems.append(f"Σ debit {debit} ≠ Σ credit {credit}")
    if unbalanced:
        problems.append(f"{unbalanced} vouchers do not balance")
    if principal != schedule:
        problems.append(f"1301 {principal} ≠ installments' principal outstanding {schedule}")
    if bank != CAPITAL - paid_out + received:
        problems.append(f"bank {bank} ≠ capital − payouts + receipts {CAPITAL - paid_out + received}")
    if receipts != expect_receipts or receipt_sum != received:
        problems.append(f"{receipts} receipts of {receipt_sum}, expected {expect_receipts} of {received}")
    verdict = "balanced" if not problems else "NOT BALANCED: " + "; ".join(problems)
    print(f"ledger {label}: Σ debit = Σ credit = {debit:,.2f} over {lines:,} lines; 1301 = {principal:,.2f}; "
          f"bank {bank:,.2f} — {verdict}")
    return not problems


class StatementCounter:
    """How many SQL statements the timed loop sends (always on: a counter costs nothing)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.count = engine, 0
        event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, *args):
        self.count += 1

    def stop(self):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self.seen)


class SqlTimer:
    """Time every SQL statement of the timed loop (``--sql``): the statements that cost most."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.totals, self.counts, self.started = engine, {}, {}, {}
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self.started[id(cursor)] = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        elapsed = time.perf_counter() - self.started.pop(id(cursor), time.perf_counter())
        key = " ".join(statement.split())[:150]
        self.totals[key] = self.totals.get(key, 0) + elapsed
        self.counts[key] = self.counts.get(key, 0) + 1

    def report(self, postings, top=15):
        total = sum(self.totals.values())
        print(f"\n-- SQL: {sum(self.counts.values()) / postings:.1f} statements and "
              f"{total / postings * 1000:.2f} ms in the database per posting; the costliest --")
        for key, seconds in sorted(self.totals.items(), key=lambda kv: -kv[1])[:top]:
            print(f"{seconds / postings * 1000:7.2f} ms/posting {self.counts[key] / postings:5.1f}×  {key}")


def post_all(app, admin_id, bank_id, first_totals, profile=False):
    """The timed loop; returns (postings, seconds, Σ received, profiler or None)."""
    from flask import g

    from app.extensions import db
    from app.models import AppUser
    from app.models.finance import FundAccount
    from app.services import repayments, settings

    due = date(2026, 2, 15)
    with app.app_context():
        settings.set_value("business_date", due.isoformat())
        db.session.remove()
    profiler = cProfile.Profile() if profile else None
    received = ZERO
    items = sorted(first_totals.items())
    began, cpu_began = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for n, (loan_id, amount) in enumerate(items, 1):
        with app.app_context():
            g.user = user = db.session.get(AppUser, admin_id)
            receipt = repayments.post_repayment(loan_id, amount, due, db.session.get(FundAccount, bank_id), user,
                                                uuid.uuid4().hex)
            assert receipt.amount == amount
            db.session.remove()
        received += amount
        if n % 2000 == 0:
            print(f"  {n:>6,} posted, {n / (time.perf_counter() - began):,.0f}/s so far", flush=True)
    if profiler:
        profiler.disable()
    return len(items), time.perf_counter() - began, time.process_time() - cpu_began, received, profiler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=10000, help="loans, and so postings (default 10,000)")
    parser.add_argument("--database-url", help=f"PostgreSQL URL (default: DATABASE_URL or {DEFAULT_URL})")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed loop and print the hotspots")
    parser.add_argument("--orm", action="store_true", help="time the ORM path (not the SQL path)")
    parser.add_argument("--sql", action="store_true", help="time every SQL statement of the timed loop")
    parser.add_argument("--sql-top", type=int, default=15, help="with --sql: how many statements to list (default 15)")
    args = parser.parse_args()
    if args.orm:
        from app.services import repayments_fast

        repayments_fast.ENABLED = False
    url = database_url(args)
    ensure_database(url)

    from app import create_app

    app = create_app("default", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        from app.extensions import db

        server = db.session.execute(text("SHOW server_version")).scalar()
        db.session.remove()
    print(f"Python {platform.python_version()}, PostgreSQL {server}, {make_url(url).render_as_string()}")

    began = time.perf_counter()
    admin_id = fresh_schema(app)
    bank_id, first_totals = seed(app, admin_id, args.loans)
    print(f"set-up: schema + {args.loans:,} active loans by bulk INSERT in {time.perf_counter() - began:.1f} s")
    ok = check_books(app, "before", bank_id)

    sql = None
    if args.sql:
        with app.app_context():
            from app.extensions import db

            sql = SqlTimer(db.engine)
    with app.app_context():
        from app.extensions import db

        counter = StatementCounter(db.engine)
    count, seconds, cpu, received, profiler = post_all(app, admin_id, bank_id, first_totals, args.profile)
    counter.stop()
    if sql:
        from sqlalchemy import event

        event.remove(sql.engine, "before_cursor_execute", sql.before)
        event.remove(sql.engine, "after_cursor_execute", sql.after)
    rate = count / seconds
    verdict = "OK" if rate >= TARGET_PER_SECOND else "MISSED"
    path = "ORM path" if args.orm else "SQL path"
    print(f"\n{count:,} sequential post_repayment calls ({path}; installment 1 in full, each its own session and "
          f"transaction): {seconds:.1f} s total, {seconds / count * 1000:.2f} ms each, {rate:,.0f} postings/s")
    print(f"per posting: {counter.count / count:.1f} SQL statements (the loop's own 2 reads of the user and the fund "
          f"account included), {cpu / count * 1000:.2f} ms CPU in this process (Python and the driver; "
          f"{' profiled' if profiler else 'not profiled'}); load average {os.getloadavg()[0]:.2f}")
    print(f"target: ≥ {TARGET_PER_SECOND} postings/s — {verdict}")
    ok = check_books(app, "after", bank_id, received, count) and ok

    if sql:
        sql.report(count, args.sql_top)
    if profiler:
        for title, order, restriction in (("the app's functions by cumulative time", "cumulative", "/app/"),
                                          ("everything by own time", "tottime", "")):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats(order)
            stats.print_stats(restriction, 30) if restriction else stats.print_stats(30)
            print(f"\n-- cProfile: {title} --\n" + out.getvalue().replace(str(Path(__file__).parent.parent), ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
