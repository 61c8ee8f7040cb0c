"""Load test (issue #14 §7): 20 simulated users against gunicorn + PostgreSQL on loopback for
a bounded time, mixing list browsing, loan pages, the home dashboard and repayment postings.

    python bench/load.py                       # 20 users, 60 s, 4 gunicorn workers, 200 loans
    python bench/load.py --users 20 --seconds 120 --loans 300 --workers 4
    python bench/load.py --think 0             # no pause between requests: the server's capacity

The database is ``microloan_bench_load`` (DATABASE_URL to change it; its name must start with
``microloan_bench``: it is emptied). Set-up, not timed: migrate, users, capital and N loans
paid out through the services (bench/repayments_api.py's ``seed``), business date on the
first due date; then gunicorn starts. Each simulated user signs in through the login form
(its own session cookie and CSRF token, as a browser does) and loops, pausing 1–3 s between
requests as a person reading the page does (``--think MIN,MAX``; locust's ``between(1, 3)``):

* 45 % a list page (所有项目, in force only, 全部客户, 逾期未还款查询, 将到期还款查询; first or a later page),
* 30 % a loan's page (项目详情) picked at random,
* 15 % the home page (我的首页 with the dashboard cards for a manager, the due lists),
* 10 % a repayment through ``POST /api/v1/loans/<id>/repayments`` (JWT of a finance user),
  2,000.00 on a random loan with a fresh idempotency key (one in ten sent again for the same
  loan, as a double click does: must answer 200 and post nothing).

Prints requests/s, p50/p95/p99 latency per kind and overall, every status that is not a
success (an error is any 5xx, a failed sign-in, or a refused posting other than "more than is
due"), and checks afterwards that the ledger balances and that every 201 is one receipt.
Target (issue #14): zero errors, p95 ≤ 500 ms. Figures, not assertions.
"""
import argparse
import http.client
import http.cookies
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import repayments_api as api  # noqa: E402  (bench/repayments_api.py: database, seed, gunicorn)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/microloan_bench_load"
LISTS = ["/loanview/list/", "/customerview/list/", "/overdue/", "/duesoon/", "/loanview/list/?_flt_3_status=active",
         "/loanview/list/?page_LoanView=1", "/customerview/list/?page_CustomerView=1"]
MIX = [("list", 45), ("loan", 30), ("home", 15), ("repayment", 10)]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """One simulated user: a keep-alive connection, its cookies, a CSRF token."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()               # the server closed a keep-alive connection: once more
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie(header)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        return response.status, payload

    def login(self, username, password):
        status, page = self.send("GET", "/login/")
        token = CSRF.search(page.decode("utf-8", "replace"))
        form = {"username": username, "password": password}
        if token:
            form["csrf_token"] = token.group(1)
        status, _ = self.send("POST", "/login/", urlencode(form),
                              {"Content-Type": "application/x-www-form-urlencoded"})
        return status == 302


def seed(loan_count):
    """bench/repayments_api.py's loans and users, plus a manager who reads the dashboard."""
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import Branch
    from app.services.setup import ensure_user

    loan_ids, bank_id = api.seed(loan_count)
    app = create_app()
    with app.app_context():
        head = db.session.execute(select(Branch).where(Branch.parent_id.is_(None)).order_by(Branch.id)).scalars().first()
        ensure_user("bench_manager", ["Manager"], api.PASSWORD, "管理", "压测", branch=head)
        db.session.commit()
    return loan_ids, bank_id


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--loans", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--think", default="1,3", help="pause between a user's requests, MIN,MAX seconds (0: none)")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    instance = tempfile.mkdtemp(prefix="microloan-bench-load-")
    env = dict(os.environ, DATABASE_URL=url, MICROLOAN_INSTANCE_DIR=instance, MICROLOAN_CONFIG="default",
               SECRET_KEY=uuid.uuid4().hex, ADMIN_PASSWORD=api.PASSWORD, MAIL_SUPPRESS_SEND="1",
               RATELIMIT_ENABLED="0")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "MICROLOAN_INSTANCE_DIR", "MICROLOAN_CONFIG",
                                           "SECRET_KEY", "MAIL_SUPPRESS_SEND")})
    process = None
    try:
        t0 = time.perf_counter()
        api.prepare_database(url)
        api.run_init(env)
        loan_ids, bank_id = seed(args.loans)
        print(f"set-up {time.perf_counter() - t0:.0f} s: {args.loans} loans paid out")
        port = api.free_port()
        process = api.start_gunicorn(env, port, args.workers)
        status, payload = api.request(port, "POST", "/api/v1/security/login",
                                      {"username": "bench_finance", "password": api.PASSWORD, "provider": "db"})
        if status != 200:
            sys.exit(f"API sign-in failed: {status} {payload[:200]!r}")
        jwt = {"Authorization": "Bearer " + json.loads(payload)["access_token"], "Content-Type": "application/json"}

        lock = threading.Lock()
        timings = defaultdict(list)         # kind → [ms]
        problems = defaultdict(int)         # (kind, status) → count
        posted, replayed, refused = [], [0], [0]
        deadline = [None]
        kinds, weights = zip(*MIX)
        think = tuple(float(x) for x in (args.think.split(",") + [args.think])[:2]) if args.think != "0" else (0, 0)

        def user(n):
            rng = random.Random(n)
            browser = Browser(port)
            name = "bench_manager" if n % 4 == 0 else "bench_officer"
            if not browser.login(name, api.PASSWORD):
                with lock:
                    problems[("login", "refused")] += 1
                return
            sent = []                       # (loan id, key) of this user's postings
            while time.perf_counter() < deadline[0]:
                if think[1]:
                    time.sleep(rng.uniform(*think))
                kind = rng.choices(kinds, weights)[0]
                body, headers, method = None, None, "GET"
                if kind == "list":
                    path = rng.choice(LISTS)
                elif kind == "loan":
                    path = f"/loanview/show/{rng.choice(loan_ids)}"
                elif kind == "home":
                    path = "/"
                else:
                    method, headers = "POST", jwt
                    if sent and rng.random() < 0.1:
                        loan_id, key = rng.choice(sent)
                    else:
                        loan_id, key = rng.choice(loan_ids), uuid.uuid4().hex
                        sent.append((loan_id, key))
                    path = f"/api/v1/loans/{loan_id}/repayments"
                    body = json.dumps({"amount": "2000.00", "date": api.FIRST_DUE.isoformat(),
                                       "fund_account_id": bank_id, "idempotency_key": key})
                started = time.perf_counter()
                try:
                    code, reply = browser.send(method, path, body, headers)
                except OSError as exc:
                    code, reply = type(exc).__name__, b""
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    timings[kind].append(ms)
                    if kind == "repayment" and code == 201:
                        posted.append(json.loads(reply).get("receipt_no"))
                    elif kind == "repayment" and code == 200:
                        replayed[0] += 1
                    elif kind == "repayment" and code in (400, 422) and any(
                            text in reply.decode("utf-8", "replace") for text in ("超过应还合计", "没有应还款项")):
                        refused[0] += 1     # the loan is paid up to what is due: the service's refusal
                    elif code != 200:
                        problems[(kind, code)] += 1

        threads = [threading.Thread(target=user, args=(n,)) for n in range(args.users)]
        load_before = os.getloadavg()[0]
        deadline[0] = time.perf_counter() + args.seconds
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started

        receipts, debit, credit = api.check(loan_ids)
        everything = [ms for values in timings.values() for ms in values]
        print(f"{args.users} users for {args.seconds:.0f} s (pause {think[0]:g}–{think[1]:g} s) against gunicorn "
              f"({args.workers} workers) + PostgreSQL, load average before {load_before:.1f}")
        print(f"requests {len(everything):,} in {wall:.1f} s: {len(everything) / wall:.1f} requests/s")
        for kind in kinds:
            values = timings.get(kind) or [0]
            print(f"  {kind:<10} {len(timings.get(kind, [])):>6,}   p50 {statistics.median(values):7.1f} ms   "
                  f"p95 {api.percentile(values, 95):7.1f} ms   p99 {api.percentile(values, 99):7.1f} ms")
        print(f"  {'all':<10} {len(everything):>6,}   p50 {statistics.median(everything):7.1f} ms   "
              f"p95 {api.percentile(everything, 95):7.1f} ms   p99 {api.percentile(everything, 99):7.1f} ms   "
              f"target p95 ≤ 500 ms: {'OK' if api.percentile(everything, 95) <= 500 else 'MISSED'}")
        errors = sum(problems.values())
        print(f"receipts posted {len(posted):,} (+{replayed[0]} replays answered 200, {refused[0]} refused as more "
              f"than due); errors {errors} {dict(problems) if problems else ''}   target 0: "
              f"{'OK' if errors == 0 else 'MISSED'}")
        balanced = Decimal(debit) == Decimal(credit)
        print(f"ledger after: Σ debit {debit:,.2f} = Σ credit {credit:,.2f}: {'balanced' if balanced else 'NOT BALANCED'}; "
              f"receipts in the database {receipts:,} (every 201 once: "
              f"{'yes' if receipts == len(set(posted)) == len(posted) else 'NO'})")
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
