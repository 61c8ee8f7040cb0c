"""Benchmark of the nightly batch (日终批处理, issue #9): ``batch.run`` for one date over a
portfolio of 100,000 active loans and about 1.2 million installments.

    python bench/batch.py                       # PostgreSQL (DATABASE_URL or microloan_bench_batch)
    python bench/batch.py --sqlite              # the same portfolio in a SQLite file, too
    python bench/batch.py --loans 20000         # a smaller portfolio

The PostgreSQL database named by the URL is created when missing and its schema is DROPPED
and rebuilt, so never point it at a database you care about (the name must start with
``microloan_bench``). Set-up (not timed): the schema by ``init_all``, then bulk INSERTs of
customers, loans (6–24 months, 等额本息 / 等额本金 / 先息后本 at 8–18 %, paid out over the
last months so each is still active) and their schedules from the real engine; installments
due before the run date are paid on time, except that about 8 % of the loans stopped paying
at a point between 1 and 400 days ago (so every class from 关注 to 损失 occurs).

Timed, each in a fresh process so its peak memory is its own: the first run for the date
(every step), a re-run of the same date (idempotent: nothing changes) and the next day (a
normal night). Prints the seconds per step, loans per second and the peak memory
(target: ≤ 20 s, ≥ 5,000 loans/s, < 300 MB).
"""
import argparse
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MICROLOAN_INSTANCE_DIR", tempfile.mkdtemp(prefix="microloan-bench-"))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/microloan_bench_batch"
AS_OF = date(2026, 11, 30)
TARGET_SECONDS, TARGET_PER_SECOND, TARGET_MB = 20, 5000, 300
CHUNK = 5000
METHODS = ("equal_installment", "equal_principal", "interest_first")


def ensure_database(url):
    target = make_url(url)
    if not (target.database or "").startswith("microloan_bench"):
        sys.exit("the benchmark drops the schema: use a database whose name starts with microloan_bench")
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def make_app(url):
    from app import create_app

    return create_app("default", SQLALCHEMY_DATABASE_URI=url, UPLOAD_FOLDER=tempfile.mkdtemp())


def fresh_schema(app):
    from app.extensions import db
    from app.services.setup import init_all

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.session.remove()
        admin, _ = init_all(secrets.token_urlsafe(12) + "Aa1!")
        admin_id = admin.id
        db.session.remove()
    return admin_id


def portfolio(count, seed=42):
    """Yield (loan terms, missed_from_seq or None) for ``count`` loans, deterministically."""
    rng = random.Random(seed)
    for n in range(count):
        term = rng.choice((6, 9, 12, 12, 12, 18, 24))
        start = AS_OF - timedelta(days=rng.randint(10, term * 30 - 20))
        amount = Decimal(rng.randrange(20, 500)) * 1000
        rate = Decimal(rng.choice((8, 10, 12, 15, 18)))
        method = METHODS[n % 3] if n % 10 else "equal_principal"
        stops = rng.random() < 0.08
        yield n, term, start, amount, rate, method, stops, rng.randint(1, 400)


def seed(app, admin_id, count):
    """Bulk INSERT the portfolio; returns (loans, installments)."""
    from app.domain.schedule import LoanTerms, generate_schedule
    from app.extensions import db
    from app.models import AppUser, Customer, Installment, Loan
    from app.models.product import LoanProduct

    with app.app_context():
        user = db.session.get(AppUser, admin_id)
        branch_id = user.branch_id
        product_id = db.session.execute(select(LoanProduct.id).where(LoanProduct.code == "GRJYD")).scalar_one()
        now = datetime.now()
        cache, loan_id, inst_id, total = {}, 1, 1, 0
        customers, loans, installments = [], [], []

        def flush():
            for model, rows in ((Customer, customers), (Loan, loans), (Installment, installments)):
                if rows:
                    db.session.execute(insert(model.__table__), rows)
                rows.clear()
            db.session.commit()

        for n, term, start, amount, rate, method, stops, missed_days in portfolio(count):
            key = (term, start, amount, rate, method)
            rows = cache.get(key)
            if rows is None:
                rows = generate_schedule(LoanTerms(principal=amount, annual_rate=rate, term=term, method=method,
                                                   start_date=start))
                if len(cache) < 20000:
                    cache[key] = rows
            if n % 2 == 0:
                customers.append(dict(id=n // 2 + 1, customer_no=f"KHB{n // 2:08d}", kind="person",
                                      name=f"压测客户{n // 2}", branch_id=branch_id, officer_id=admin_id,
                                      created_at=now, updated_at=now))
            loans.append(dict(id=loan_id, loan_no=f"DKB{n:08d}", customer_id=n // 2 + 1, product_id=product_id,
                              amount=amount, term=term, annual_rate=rate, method=method, start_date=start,
                              purpose="working_capital", guarantee_types="unsecured", officer_id=admin_id,
                              branch_id=branch_id, status="active", created_at=now, created_by_id=admin_id,
                              updated_at=now))
            stop_before = AS_OF - timedelta(days=missed_days) if stops else AS_OF
            for row in rows:
                paid = row.due_date < stop_before
                installments.append(dict(
                    id=inst_id, loan_id=loan_id, seq=row.seq, start_date=row.start_date, due_date=row.due_date,
                    principal=row.principal, interest=row.interest, total=row.total, balance=row.balance,
                    principal_paid=row.principal if paid else 0, interest_paid=row.interest if paid else 0,
                    paid_off_on=row.due_date if paid else None))
                inst_id += 1
            loan_id += 1
            total += len(rows)
            if len(loans) >= CHUNK:
                flush()
        flush()
        if db.engine.dialect.name == "postgresql":
            for table in ("customer", "loan", "installment"):
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
    return count, total


def timed_run(url, day):
    """Run the batch for ``day`` in a child process; returns its JSON report."""
    out = subprocess.run([sys.executable, __file__, "--child", url, day.isoformat()], check=True,
                         capture_output=True, text=True, env=os.environ).stdout
    return json.loads(out.strip().splitlines()[-1])


def peak_mb():
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry the
    parent's peak across fork + exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(url, day):
    from app.services import batch
    from app.services.setup import act_as_system

    app = make_app(url)
    with app.app_context():
        user = act_as_system()
        started = time.perf_counter()
        runs = batch.run(date.fromisoformat(day), user=user, trigger="cli")
        seconds = time.perf_counter() - started
        from app.extensions import db
        from app.models import Loan
        from sqlalchemy import func
        classes = dict(db.session.execute(select(Loan.classification, func.count()).group_by(Loan.classification)).all())
        report = {"seconds": seconds, "runs": len(runs), "steps": batch.step_seconds(runs[-1]), "classes": classes,
                  "peak_mb": peak_mb()}
    print(json.dumps(report, ensure_ascii=False))


def report(label, loans, result):
    per_second = loans / result["seconds"] if result["seconds"] else 0
    steps = "  ".join(f"{s['label']} {s['seconds']:.2f}s/{s['count']:,}" for s in result["steps"])
    ok = result["seconds"] <= TARGET_SECONDS and result["peak_mb"] < TARGET_MB
    print(f"{label:<28} {result['seconds']:7.2f} s  {per_second:9,.0f} loans/s  peak {result['peak_mb']:6.0f} MB  "
          f"{'OK' if ok else 'MISSED'}\n    {steps}")


def reset_batch_state(app):
    """Undo what earlier runs wrote, keeping the portfolio (``--keep``): a quicker re-measure."""
    from app.extensions import db

    with app.app_context():
        for statement in ("DELETE FROM batch_run", "DELETE FROM classification_change",
                          "DELETE FROM provision_snapshot",
                          "UPDATE loan SET overdue_days = 0, classification = 'normal', non_accrual = false "
                          "WHERE overdue_days <> 0 OR classification <> 'normal' OR non_accrual",
                          "UPDATE installment SET overdue_days = 0, penalty_pending = 0, compound_pending = 0, "
                          "pending_as_of = NULL WHERE pending_as_of IS NOT NULL OR overdue_days <> 0"):
            db.session.execute(text(statement))
        db.session.commit()
        count = db.session.execute(text("SELECT count(*) FROM loan")).scalar()
        installments = db.session.execute(text("SELECT count(*) FROM installment")).scalar()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return count, installments


def bench(url, loans, label, keep=False):
    app = make_app(url)
    started = time.perf_counter()
    if keep:
        count, installments = reset_batch_state(app)
    else:
        admin_id = fresh_schema(app)
        count, installments = seed(app, admin_id, loans)
    print(f"[{label}] portfolio: {count:,} active loans, {installments:,} installments "
          f"(set-up {time.perf_counter() - started:.0f} s)")
    first = timed_run(url, AS_OF)
    print(f"    classes after the run: {first['classes']}")
    report(f"[{label}] first run {AS_OF}", count, first)
    report(f"[{label}] re-run {AS_OF}", count, timed_run(url, AS_OF))
    report(f"[{label}] next day", count, timed_run(url, AS_OF + timedelta(days=1)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sqlite", action="store_true", help="also run on a SQLite file")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the portfolio of the previous PostgreSQL run (only undo the batch's writes)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    url = (args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_URL).replace("postgres://", "postgresql://")
    print(f"nightly batch benchmark — targets: ≤ {TARGET_SECONDS} s, ≥ {TARGET_PER_SECOND:,} loans/s, "
          f"< {TARGET_MB} MB")
    ensure_database(url)
    bench(url, args.loans, "PostgreSQL", keep=args.keep)
    if args.sqlite:
        path = Path(tempfile.mkdtemp(prefix="microloan-bench-")) / "bench.db"
        bench(f"sqlite:///{path}", args.loans, "SQLite")


if __name__ == "__main__":
    main()
