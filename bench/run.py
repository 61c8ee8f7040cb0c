"""Benchmark suite (issue #13): every figure beside its target, on a generated portfolio.

    python bench/run.py                      # PostgreSQL: DATABASE_URL or microloan_bench_gen
    python bench/run.py --sqlite             # a SQLite file (instance/microloan_bench.db) instead
    python bench/run.py --regenerate         # drop the database's schema and generate again
    python bench/run.py --quick              # without the repayment benchmarks (own databases, minutes)
    python bench/run.py --only pages,batch   # some sections: generator, schedule, pages, batch,
                                             # repayments, reports

The database (its name must start with ``microloan_bench`` on PostgreSQL) is used as it is
when it holds a generated portfolio; otherwise its schema is DROPPED, rebuilt by ``init``
and filled by ``flask demo generate`` (``--customers 60000 --loans 100000 --seed 42
--as-of 2026-11-30``; timed: the generator's own target). Then:

* schedule engine throughput (bench/schedule.py, run as a subprocess);
* server time through Flask's test client (best of 5 after one warm-up, plus the number of
  SQL statements) of the first page and a filtered page of the customer, loan, installment,
  receipt and voucher lists as each role sees them (客户经理 of one branch, 风控, 财务,
  管理层), the loan page, the customer page and the home dashboard;
* the nightly batch: the generator's first run for the date (from ``batch_run``) and a
  re-run of the same date in a child process with its peak memory (bench/batch.py --child);
* repayment posting, sequential and 8 concurrent API clients on gunicorn (bench/repayments.py
  and bench/repayments_api.py as subprocesses on their own databases; PostgreSQL only);
* each report page and the loan-ledger export, when bench/reports.py is there (its URL list
  and its ``--child-export``).

Prints one table and writes the figures to ``bench/results/<timestamp>.json``.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))
os.environ.setdefault("MICROLOAN_INSTANCE_DIR", tempfile.mkdtemp(prefix="microloan-bench-"))

from sqlalchemy import event, inspect, text  # noqa: E402

import batch as batch_bench  # noqa: E402  (bench/batch.py)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/microloan_bench_gen"
DEFAULT_SQLITE = ROOT / "instance" / "microloan_bench.db"
AS_OF = date(2026, 11, 30)
PASSWORD = "Bench@12345"          # the same as bench/reports.py (its user bench_manager)
PAGE_MS, REPORT_MS, GENERATOR_S = 300, 1000, 600
SECTIONS = ("generator", "schedule", "pages", "batch", "repayments", "reports")

# username → (role code, branch code: None = head office)
USERS = {
    "bench_officer": ("LoanOfficer", "GEN01"),
    "bench_risk": ("RiskReviewer", None),
    "bench_finance": ("Finance", None),
    "bench_manager": ("Manager", None),
}
ROLE_LABELS = {"bench_officer": "客户经理(一个营业部)", "bench_risk": "风控审查", "bench_finance": "财务",
               "bench_manager": "管理层(全部机构)"}

# (label, path, users): {customer_id}, {loan_id}, {officer_id} are filled in from the data.
PAGES = [
    ("首页仪表盘 home dashboard", "/", ("bench_officer", "bench_manager")),
    ("全部客户 first page", "/customerview/list/", ("bench_officer", "bench_manager")),
    ("全部客户 name starts with 王", "/customerview/list/?_flt_0_name=王", ("bench_officer", "bench_manager")),
    ("全部客户 sorted by name, page 50", "/customerview/list/?_oc_CustomerView=name&_od_CustomerView=asc"
                                   "&page_CustomerView=50", ("bench_manager",)),
    ("个人客户 first page", "/customerpersonview/list/", ("bench_officer", "bench_manager")),
    ("企业客户 mobile starts with 139", "/customercompanyview/list/?_flt_0_mobile=139", ("bench_manager",)),
    ("所有项目 first page", "/loanview/list/", ("bench_officer", "bench_risk", "bench_manager")),
    ("所有项目 status = active, by amount", "/loanview/list/?_flt_3_status=active&_oc_LoanView=amount"
                                         "&_od_LoanView=desc", ("bench_officer", "bench_risk", "bench_manager")),
    ("所有项目 customer contains 张", "/loanview/list/?_flt_0_customer_id=张", ("bench_officer", "bench_manager")),
    ("所有项目 officer = one officer", "/loanview/list/?_flt_0_officer={officer_id}", ("bench_manager",)),
    ("我创建的项目 first page", "/loanmineview/list/", ("bench_officer",)),
    ("历史项目 first page", "/loanhistoryview/list/", ("bench_manager",)),
    ("逾期未还款查询 first page", "/overdue/", ("bench_officer", "bench_risk", "bench_manager")),
    ("逾期未还款查询 > 90 days", "/overdue/?days=90", ("bench_risk", "bench_manager")),
    ("将到期还款查询 first page", "/duesoon/", ("bench_officer", "bench_manager")),
    ("收款单 first page", "/repaymentlistview/list/", ("bench_finance", "bench_manager")),
    ("收款单 received on a date", "/repaymentlistview/list/?_flt_0_received_on=2026-11-20", ("bench_finance",)),
    ("收款单 page 200", "/repaymentlistview/list/?page_RepaymentListView=200", ("bench_finance",)),
    ("凭证 first page", "/voucherview/list/", ("bench_finance",)),
    ("凭证 business date", "/voucherview/list/?_flt_0_business_date=2026-11-20", ("bench_finance",)),
    ("分录 first page", "/voucherlineview/list/", ("bench_finance",)),
    ("五级分类变动 first page", "/classificationchangeview/list/", ("bench_risk",)),
    ("贷后检查任务 first page", "/postloantaskview/list/", ("bench_officer", "bench_risk")),
    ("保证人 first page", "/guarantorview/list/", ("bench_officer", "bench_risk")),
    ("抵质押物 first page", "/collateralview/list/", ("bench_officer", "bench_risk")),
    ("项目详情 loan page", "/loanview/show/{loan_id}", ("bench_officer", "bench_manager")),
    ("客户视图 customer page", "/customerview/show/{customer_id}", ("bench_officer", "bench_manager")),
]


class Results:
    def __init__(self):
        self.rows = []

    def add(self, section, what, measured, target, ok, role="", **extra):
        self.rows.append(dict(section=section, what=what, role=role, measured=measured, target=target,
                              ok=ok, **extra))
        status = "" if ok is None else ("OK" if ok else "MISSED")
        print(f"  {section:<10} {what:<38} {role:<16} {measured:>26}   {target:<22} {status}", flush=True)


def make_app(url):
    from app import create_app

    return create_app("default", SQLALCHEMY_DATABASE_URI=url, UPLOAD_FOLDER=tempfile.mkdtemp(),
                      WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, AUTH_RATE_LIMITED=False)


def has_portfolio(app):
    from app.extensions import db

    with app.app_context():
        if not inspect(db.engine).has_table("loan"):
            return False
        found = db.session.execute(text("SELECT count(*) FROM branch WHERE code = 'GEN01'")).scalar()
        db.session.remove()
        return bool(found)


def generate(url, args, results):
    """Fresh schema, then the generator (timed)."""
    from app.extensions import db
    from app.services.generator import generate as run_generator

    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
    app = make_app(url)
    batch_bench.fresh_schema(app)
    with app.app_context():
        summary = run_generator(customers=args.customers, loans=args.loans, seed=args.seed, as_of=AS_OF,
                                progress=lambda message: print("    " + message, flush=True))
        db.session.remove()
    for line in summary.lines():
        print("    " + line)
    results.add("generator", f"{args.loans:,} loans, {summary.installments:,} installments", f"{summary.seconds:.0f} s",
                f"≤ {GENERATOR_S} s", summary.seconds <= GENERATOR_S, steps=summary.steps,
                counts=summary.counts, seconds=summary.seconds)


def ensure_users(app):
    from app.extensions import db
    from app.models import Branch
    from app.services.setup import ensure_user

    with app.app_context():
        head = db.session.execute(text("SELECT id FROM branch WHERE parent_id IS NULL ORDER BY id")).scalar()
        for username, (role, code) in USERS.items():
            branch_id = head
            if code:
                branch_id = db.session.execute(text("SELECT id FROM branch WHERE code = :c"), {"c": code}).scalar() \
                    or head
            ensure_user(username, [role], PASSWORD, username, "压测", branch=db.session.get(Branch, branch_id))
        db.session.remove()


def sample_ids(app):
    """A typical active loan (the most installments and receipts) of GEN01 and its customer."""
    from app.extensions import db

    with app.app_context():
        row = db.session.execute(text(
            "SELECT l.id, l.customer_id, l.officer_id FROM loan l JOIN branch b ON b.id = l.branch_id "
            "WHERE b.code = 'GEN01' AND l.status = 'active' AND l.overdue_days > 0 "
            "ORDER BY l.term DESC, l.id LIMIT 1")).first() or db.session.execute(text(
                "SELECT id, customer_id, officer_id FROM loan WHERE status = 'active' ORDER BY id LIMIT 1")).first()
        db.session.remove()
    return {"loan_id": row[0], "customer_id": row[1], "officer_id": row[2]}


class StatementCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0
        event.listen(engine, "before_cursor_execute", self.before)

    def before(self, *args, **kwargs):
        self.count += 1

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self.before)


def time_get(client, path, repeat=5):
    """(best ms, status, 0): one warm-up, then ``repeat`` timed requests (the best: the machine is shared)."""
    response = client.get(path)
    if response.status_code != 200:
        return None, response.status_code, 0
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        best = elapsed if best is None else min(best, elapsed)
    return best, response.status_code, 0


def bench_pages(url, results):
    from app.extensions import db

    app = make_app(url)
    ensure_users(app)
    ids = sample_ids(app)
    with app.app_context():
        counter = StatementCounter(db.engine)
    try:
        for username in USERS:
            client = app.test_client()
            reply = client.post("/login/", data={"username": username, "password": PASSWORD})
            if reply.status_code != 302:
                results.add("pages", "login failed", username, "", False, role=ROLE_LABELS[username])
                continue
            for label, path, users in PAGES:
                if username not in users:
                    continue
                path = path.format(**ids)
                ms, status, _ = time_get(client, path)
                if ms is None:
                    results.add("pages", label, f"HTTP {status}", f"≤ {PAGE_MS} ms", False, role=ROLE_LABELS[username],
                                path=path)
                    continue
                before = counter.count
                client.get(path)
                statements = counter.count - before
                results.add("pages", label, f"{ms:,.0f} ms · {statements} SQL", f"≤ {PAGE_MS} ms", ms <= PAGE_MS,
                            role=ROLE_LABELS[username], path=path, ms=round(ms, 1), statements=statements)
    finally:
        counter.close()


def bench_schedule(results):
    out = subprocess.run([sys.executable, str(BENCH / "schedule.py"), "--count", "300"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    for line in out.splitlines():
        if line.startswith("equal_installment"):
            numbers = re.findall(r"[\d,]+(?:\.\d+)?", line)
            per_second = float(numbers[-2].replace(",", ""))
            results.add("schedule", "360-period 等额本息 schedules / s", f"{per_second:,.0f} /s", "≥ 1,000 /s",
                        per_second >= 1000, per_second=per_second, us_per_installment=float(numbers[-1]))


def bench_batch(url, results):
    from app.extensions import db

    app = make_app(url)
    with app.app_context():
        first = db.session.execute(text(
            "SELECT as_of, seconds FROM batch_run WHERE status = 'success' ORDER BY id LIMIT 1")).first()
        last = db.session.execute(text("SELECT max(as_of) FROM batch_run WHERE status = 'success'")).scalar()
        loans = db.session.execute(text("SELECT count(*) FROM loan WHERE status = 'active'")).scalar()
        db.session.remove()
    if first is not None:
        seconds = float(first[1])
        results.add("batch", f"first run {first[0]} (by the generator)", f"{seconds:.2f} s",
                    f"≤ {batch_bench.TARGET_SECONDS} s", seconds <= batch_bench.TARGET_SECONDS, seconds=seconds)
    if last is None:
        return
    last = last if isinstance(last, date) else date.fromisoformat(str(last))
    report = batch_bench.timed_run(url, last)
    per_second = loans / report["seconds"] if report["seconds"] else 0
    ok = report["seconds"] <= batch_bench.TARGET_SECONDS and report["peak_mb"] < batch_bench.TARGET_MB
    results.add("batch", f"re-run {last}, {loans:,} active loans",
                f"{report['seconds']:.2f} s · {report['peak_mb']:.0f} MB",
                f"≤ {batch_bench.TARGET_SECONDS} s, < {batch_bench.TARGET_MB} MB", ok, seconds=report["seconds"],
                peak_mb=report["peak_mb"], loans_per_second=per_second,
                steps={s["step"]: s["seconds"] for s in report["steps"]})


def _run_script(name, *arguments, env=None):
    process = subprocess.run([sys.executable, str(BENCH / name), *arguments], capture_output=True, text=True,
                             cwd=ROOT, env=env or os.environ)
    if process.returncode:
        raise RuntimeError(f"{name} failed: {process.stderr.strip().splitlines()[-1:]}")
    return process.stdout


def bench_repayments(url, results, loans):
    """Each script on its own database next to ours (``<name>_rep``, ``<name>_api``: DROPPED)."""
    from sqlalchemy.engine import make_url

    base = make_url(url)
    rep_url = base.set(database=f"{base.database}_rep").render_as_string(hide_password=False)
    env = dict(os.environ, DATABASE_URL=base.set(database=f"{base.database}_api").render_as_string(
        hide_password=False))
    try:
        out = _run_script("repayments.py", "--loans", str(loans), "--database-url", rep_url)
        match = re.search(r"([\d.]+) ms each, ([\d,]+) postings/s", out)
        rate = float(match.group(2).replace(",", ""))
        results.add("repayments", f"{loans:,} sequential postings", f"{rate:,.0f} /s · {match.group(1)} ms",
                    "≥ 200 /s", rate >= 200, per_second=rate, ms=float(match.group(1)))
    except Exception as exc:  # noqa: BLE001  (a missing server is reported, not fatal)
        results.add("repayments", "sequential postings", "failed", "≥ 200 /s", False, error=str(exc))
    try:
        out = _run_script("repayments_api.py", "--threads", "8", env=env)
        p50 = float(re.search(r"p50 ([\d.]+)", out).group(1))
        p95 = float(re.search(r"p95 ([\d.]+)", out).group(1))
        throughput = float(re.search(r"throughput ([\d.]+)", out).group(1))
        results.add("repayments", "8 API clients, gunicorn 4 workers", f"p50 {p50:.0f} · p95 {p95:.0f} ms",
                    "p95 ≤ 200 ms", p95 <= 200, p50=p50, p95=p95, throughput=throughput,
                    consistent="INCONSISTENT" not in out)
    except Exception as exc:  # noqa: BLE001
        results.add("repayments", "8 API clients", "failed", "p95 ≤ 200 ms", False, error=str(exc))


def bench_reports(url, results):
    try:
        import reports as reports_bench  # bench/reports.py (the reports engineer's)
        urls = reports_bench.URLS
    except Exception as exc:  # noqa: BLE001
        results.add("reports", "bench/reports.py not available", str(exc)[:40], "", None)
        return
    app = make_app(url)
    client = app.test_client()
    assert client.post("/login/", data={"username": "bench_manager", "password": PASSWORD}).status_code == 302
    for label, path, target in urls:
        if path in ("/",):
            continue
        ms, status, _ = time_get(client, path)
        if ms is None:
            results.add("reports", label, f"HTTP {status}", f"≤ {target} ms", False, role="管理层", path=path)
        else:
            results.add("reports", label, f"{ms:,.0f} ms", f"≤ {target} ms", ms <= target, role="管理层", path=path,
                        ms=round(ms, 1))
    try:
        out = _run_script("reports.py", "--child-export", url)
        report = json.loads(out.strip().splitlines()[-1])
        ok = report["seconds"] <= reports_bench.EXPORT_S and report["peak_mb"] < reports_bench.EXPORT_MB
        results.add("reports", f"小额贷款台账 export, {report['rows']:,} rows",
                    f"{report['seconds']:.1f} s · {report['peak_mb']:.0f} MB",
                    f"≤ {reports_bench.EXPORT_S} s, < {reports_bench.EXPORT_MB} MB", ok, **report)
    except Exception as exc:  # noqa: BLE001
        results.add("reports", "小额贷款台账 export", "failed", "", False, error=str(exc))


def describe(url):
    from app.extensions import db

    app = make_app(url)
    with app.app_context():
        counts = {t: db.session.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                  for t in ("customer", "loan", "installment", "repayment", "voucher", "journal_line")}
        server = db.session.execute(text("SHOW server_version")).scalar() \
            if db.engine.dialect.name == "postgresql" else db.session.execute(text("SELECT sqlite_version()")).scalar()
        dialect = db.engine.dialect.name
        db.session.remove()
    return dialect, server, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sqlite", nargs="?", const=str(DEFAULT_SQLITE), default=None,
                        help=f"run on a SQLite file (default {DEFAULT_SQLITE})")
    parser.add_argument("--regenerate", action="store_true", help="drop the schema and generate the portfolio again")
    parser.add_argument("--customers", type=int, default=60000)
    parser.add_argument("--loans", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="skip the repayment benchmarks")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--repayment-loans", type=int, default=10000)
    args = parser.parse_args()
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    if args.quick:
        sections.discard("repayments")
    if args.sqlite:
        url = f"sqlite:///{Path(args.sqlite).resolve()}"
    else:
        url = (args.database_url or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL).replace(
            "postgres://", "postgresql://")
        batch_bench.ensure_database(url)
    results = Results()
    started = time.perf_counter()
    print(f"MicroLoan benchmark suite — {url}")
    print(f"  {'section':<10} {'what':<38} {'role':<16} {'measured':>26}   {'target':<22} status")
    if args.regenerate or not has_portfolio(make_app(url)):
        generate(url, args, results)
    elif "generator" in sections:
        results.add("generator", "portfolio already generated (reused)", "—", f"≤ {GENERATOR_S} s", None)
    if "schedule" in sections:
        bench_schedule(results)
    if "pages" in sections:
        bench_pages(url, results)
    if "batch" in sections:
        bench_batch(url, results)
    if "repayments" in sections:
        if url.startswith("postgresql"):
            bench_repayments(url, results, args.repayment_loans)
        else:
            results.add("repayments", "PostgreSQL only (gunicorn, row locks)", "—", "", None)
    if "reports" in sections:
        bench_reports(url, results)
    dialect, server, counts = describe(url)
    missed = [r for r in results.rows if r["ok"] is False]
    print(f"\n{len(results.rows)} figures, {len(missed)} missed, {time.perf_counter() - started:.0f} s; "
          f"{dialect} {server}; " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{datetime.now():%Y%m%d-%H%M%S}-{dialect}.json"
    path.write_text(json.dumps({
        "started": datetime.now().isoformat(timespec="seconds"), "database": dialect, "server": server,
        "python": platform.python_version(), "cpus": os.cpu_count(), "as_of": AS_OF.isoformat(), "counts": counts,
        "results": results.rows}, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    print(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
