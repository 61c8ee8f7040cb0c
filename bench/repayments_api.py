"""Benchmark of the 收款 REST API under concurrency: gunicorn with 4 workers on PostgreSQL,
8 client threads posting receipts to ``POST /api/v1/loans/<id>/repayments``.

Run ``python bench/repayments_api.py`` (PostgreSQL on 127.0.0.1 as user postgres; the
database ``microloan_bench_api`` is created, or emptied, for the run). Options: ``--loans N``
active loans (default 100), ``--posts K`` receipts per loan (default 4), ``--threads``,
``--workers``, ``--amount`` per receipt. ``DATABASE_URL`` picks another database; its name
must start with ``microloan_bench`` because the run drops everything in it.

Steps: migrate with ``flask --app run init`` (MICROLOAN_INSTANCE_DIR in a temporary
directory), create the users, capital and N disbursed loans through the services, move the
business date to the first due date, start gunicorn, log in once at
``/api/v1/security/login`` (JWT) and share the token. Receipts of one loan are spread over
the threads in random order, so two threads often post to the same loan at once: the row
lock (SELECT … FOR UPDATE) serialises them. At the end it checks that every 201 is one
receipt, that a replayed key posted nothing, and that the ledger balances. Prints
throughput and p50/p95/p99 latency. Figures, not assertions (ARCHITECTURE.md).
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/microloan_bench_api"
PASSWORD = "Bench@12345"
START = date(2026, 3, 16)
FIRST_DUE = date(2026, 4, 16)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(url):
    """Create the database if missing and empty it (only a microloan_bench* database)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("microloan_bench"):
        sys.exit(f"refusing to empty database {name!r}: its name must start with microloan_bench")
    from sqlalchemy import create_engine, text

    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run_init(env):
    flask = ROOT / ".venv" / "bin" / "flask"
    command = [str(flask) if flask.exists() else "flask", "--app", "run", "init"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def seed(loan_count):
    """Users, capital and ``loan_count`` disbursed loans (100,000 at 12 %, 12 months 等额本息)."""
    from flask import g
    from sqlalchemy import select

    from app import create_app
    from app.domain.identity import complete_id_number
    from app.extensions import db
    from app.models import Branch, Customer, Loan, LoanProduct
    from app.models.finance import FundAccount
    from app.services import customers, disbursement, ledger, loans, settings
    from app.services.setup import ensure_user

    app = create_app()
    with app.app_context():
        head = db.session.execute(select(Branch).where(Branch.parent_id.is_(None)).order_by(Branch.id)).scalars().first()
        finance, _ = ensure_user("bench_finance", ["Finance"], PASSWORD, "财务", "压测", branch=head)
        officer, _ = ensure_user("bench_officer", ["LoanOfficer"], PASSWORD, "经理", "压测", branch=head)
        db.session.commit()
        settings.set_value("business_date", START.isoformat())
        g.user = finance
        bank = db.session.execute(select(FundAccount).where(FundAccount.kind == "bank")
                                  .order_by(FundAccount.id)).scalars().first()
        ledger.post("股东注资", [ledger.Line(bank.ledger_account, debit=Decimal(loan_count) * 100000 + 1000000,
                                         fund_account=bank),
                             ledger.Line("4001", credit=Decimal(loan_count) * 100000 + 1000000)], finance,
                    business_date=START)
        db.session.commit()
        product = db.session.execute(select(LoanProduct).where(LoanProduct.code == "GRJYD")).scalar_one()
        loan_ids = []
        for n in range(loan_count):
            birth = date.fromordinal(date(1975, 1, 1).toordinal() + n)
            g.user = officer
            customer = Customer(kind="person", name=f"压测客户{n:04d}", mobile="13800138000",
                                id_number=complete_id_number(f"110105{birth:%Y%m%d}{n % 1000:03d}"))
            customer.officer = officer
            customers.prepare(customer, officer)
            db.session.add(customer)
            db.session.flush()
            loan = Loan(customer=customer, product=product, amount=Decimal("100000"), term=12,
                        annual_rate=Decimal("12"), method="equal_installment", start_date=START,
                        purpose="working_capital", guarantee_types="unsecured", officer=officer)
            loans.save_draft(loan, officer)
            loan.status = "ready_to_disburse"
            db.session.commit()
            g.user = finance
            disbursement.disburse(loan.id, finance, bank, START, "工商银行", customer.name, "6222020200112233445")
            loan_ids.append(loan.id)
        settings.set_value("business_date", FIRST_DUE.isoformat())
        return loan_ids, bank.id


def check(loan_ids):
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models.servicing import Repayment
    from app.services import ledger

    app = create_app()
    with app.app_context():
        receipts = db.session.execute(select(func.count()).select_from(Repayment)
                                      .where(Repayment.loan_id.in_(loan_ids))).scalar_one()
        debit, credit = ledger.totals()
        return receipts, debit, credit


def start_gunicorn(env, port, workers, app_spec="app:create_app()"):
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn) if gunicorn.exists() else "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--timeout", "120", "--log-level", "warning", app_spec],
        cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    sys.exit("gunicorn did not start within 60 s")


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=100)
    parser.add_argument("--posts", type=int, default=4, help="receipts per loan")
    parser.add_argument("--amount", default="2000.00", help="amount of each receipt")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--replays", type=int, default=20, help="receipts posted a second time with the same key")
    parser.add_argument("--app", default="app:create_app()",
                        help="gunicorn's application (default app:create_app()), e.g. to measure a variant")
    args = parser.parse_args()
    if Decimal(args.amount) * args.posts > Decimal("17769.76"):
        sys.exit("--amount × --posts must stay within two installments (17,769.76): more would be a prepayment")

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    instance = tempfile.mkdtemp(prefix="microloan-bench-api-")
    env = dict(os.environ, DATABASE_URL=url, MICROLOAN_INSTANCE_DIR=instance, MICROLOAN_CONFIG="default",
               SECRET_KEY=uuid.uuid4().hex, ADMIN_PASSWORD=PASSWORD, MAIL_SUPPRESS_SEND="1")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "MICROLOAN_INSTANCE_DIR", "MICROLOAN_CONFIG",
                                           "SECRET_KEY", "MAIL_SUPPRESS_SEND")})
    process = None
    try:
        t0 = time.perf_counter()
        prepare_database(url)
        run_init(env)
        t1 = time.perf_counter()
        loan_ids, bank_id = seed(args.loans)
        t2 = time.perf_counter()
        print(f"setup: migrate {t1 - t0:.1f} s, {args.loans} loans created and disbursed in {t2 - t1:.1f} s")

        port = free_port()
        process = start_gunicorn(env, port, args.workers, args.app)
        status, payload = request(port, "POST", "/api/v1/security/login",
                                  {"username": "bench_finance", "password": PASSWORD, "provider": "db"})
        if status != 200:
            sys.exit(f"login failed: {status} {payload[:200]!r}")
        auth = {"Authorization": "Bearer " + json.loads(payload)["access_token"]}

        jobs = [(loan_id, uuid.uuid4().hex) for loan_id in loan_ids for _ in range(args.posts)]
        random.seed(1)
        random.shuffle(jobs)
        # Workers pop from the end: the last jobs go first, and their keys come again at the
        # very end (a replay must answer 200 and post nothing).
        replays = jobs[len(jobs) - args.replays:] if args.replays else []
        jobs = replays + jobs
        lock = threading.Lock()
        latencies, statuses, errors = [], {}, []

        def worker():
            while True:
                with lock:
                    if not jobs:
                        return
                    loan_id, key = jobs.pop()
                body = {"amount": args.amount, "date": FIRST_DUE.isoformat(), "fund_account_id": bank_id,
                        "idempotency_key": key}
                started = time.perf_counter()
                code, reply = request(port, "POST", f"/api/v1/loans/{loan_id}/repayments", body, auth)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[code] = statuses.get(code, 0) + 1
                    if code not in (200, 201) and len(errors) < 5:
                        errors.append((code, reply[:300]))

        total = len(jobs)
        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started

        receipts, debit, credit = check(loan_ids)
        ms = [x * 1000 for x in latencies]
        print(f"gunicorn {args.workers} workers, {args.threads} client threads, PostgreSQL, "
              f"{args.loans} loans × {args.posts} receipts + {len(replays)} replays = {total} requests")
        print(f"wall {wall:.2f} s, throughput {total / wall:.1f} requests/s")
        print(f"latency ms: p50 {statistics.median(ms):.1f}, p95 {percentile(ms, 95):.1f}, "
              f"p99 {percentile(ms, 99):.1f}, max {max(ms):.1f}")
        print(f"status codes: {dict(sorted(statuses.items()))}")
        print(f"receipts in the database: {receipts} (expected {args.loans * args.posts}); "
              f"ledger Σdebit {debit:,.2f} = Σcredit {credit:,.2f}: {debit == credit}")
        for code, reply in errors:
            print(f"  error {code}: {reply.decode(errors='replace')}")
        ok = receipts == args.loans * args.posts and statuses.get(201, 0) == receipts and debit == credit
        print("consistent" if ok else "INCONSISTENT")
        return 0 if ok else 1
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
