"""Benchmark of the report centre (报表中心, issue #11) on the 100,000-loan portfolio.

    python bench/reports.py                     # PostgreSQL (DATABASE_URL or microloan_bench_reports)
    python bench/reports.py --keep              # reuse the portfolio of the previous run
    python bench/reports.py --loans 20000       # a smaller portfolio
    python bench/reports.py --sqlite            # the same on a SQLite file, too

Set-up (not timed): bench/batch.py's ``fresh_schema`` and ``seed`` (100,000 active loans,
~1.2 million installments), then set-based INSERT … SELECT statements add what the reports
read and batch.py does not write: one payout per loan (disbursement, voucher, Dr 1301 /
Cr 1002) and one receipt per paid installment (repayment, its 本金/利息 lines, voucher, Dr
1002 / Cr 1301 + 6011), and the nightly batch runs once for the date (classes, provisions).
The database name must start with ``microloan_bench``: its schema is DROPPED.

Timed (server time through Flask's test client, signed in as a Manager who sees every
branch): the home page with the dashboard cards, the dashboard chart data, each report page,
and — in a fresh process so its peak memory is its own — the full loan-ledger export.
Targets: dashboard ≤ 300 ms, each report ≤ 1 s, ledger export ≤ 15 s and < 300 MB.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("MICROLOAN_INSTANCE_DIR", tempfile.mkdtemp(prefix="microloan-bench-"))

from sqlalchemy import text  # noqa: E402

import batch as batch_bench  # noqa: E402  (bench/batch.py)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/microloan_bench_reports"
AS_OF = batch_bench.AS_OF
LAST_MONTH_END = AS_OF.replace(day=1) - timedelta(days=1)
PASSWORD = "Bench@12345"
DASHBOARD_MS, REPORT_MS, EXPORT_S, EXPORT_MB = 300, 1000, 15, 300


def seed_ledger(app):
    """Payouts and receipts for the seeded loans, set-based (PostgreSQL and SQLite)."""
    from app.extensions import db

    with app.app_context():
        ids = dict(db.session.execute(text("SELECT code, id FROM ledger_account")).all())
        fund = db.session.execute(text("SELECT id FROM fund_account WHERE kind = 'bank' ORDER BY id LIMIT 1")).scalar()
        p = {"loan": ids["1301"], "bank": ids["1002"], "interest": ids["6011"], "capital": ids["4001"], "fund": fund}
        pad = "lpad(CAST({} AS TEXT), 9, '0')" if db.engine.dialect.name == "postgresql" else "printf('%09d', {})"
        statements = [
            # capital so the funds are positive
            "INSERT INTO voucher (voucher_no, business_date, description, source_type, created_at) "
            "VALUES ('PC000000001', '2024-01-01', '股东注资', 'capital', CURRENT_TIMESTAMP)",
            "INSERT INTO journal_line (voucher_id, account_id, fund_account_id, debit, credit) "
            "SELECT id, :bank, :fund, 100000000000, 0 FROM voucher WHERE voucher_no = 'PC000000001'",
            "INSERT INTO journal_line (voucher_id, account_id, debit, credit) "
            "SELECT id, :capital, 0, 100000000000 FROM voucher WHERE voucher_no = 'PC000000001'",
            # payouts
            f"INSERT INTO voucher (voucher_no, business_date, description, source_type, source_id, created_at) "
            f"SELECT 'PD' || {pad.format('id')}, start_date, '放款', 'disbursement', id, CURRENT_TIMESTAMP FROM loan",
            "INSERT INTO disbursement (loan_id, amount, disbursed_on, fund_account_id, receiving_bank, "
            "receiving_account_name, receiving_account_no, voucher_id, created_at) "
            "SELECT l.id, l.amount, l.start_date, :fund, '工商银行', '压测客户', '6222020200112233445', v.id, "
            "CURRENT_TIMESTAMP FROM loan l JOIN voucher v ON v.source_type = 'disbursement' AND v.source_id = l.id",
            "INSERT INTO journal_line (voucher_id, account_id, loan_id, debit, credit) "
            "SELECT v.id, :loan, l.id, l.amount, 0 FROM loan l "
            "JOIN voucher v ON v.source_type = 'disbursement' AND v.source_id = l.id",
            "INSERT INTO journal_line (voucher_id, account_id, fund_account_id, debit, credit) "
            "SELECT v.id, :bank, :fund, 0, l.amount FROM loan l "
            "JOIN voucher v ON v.source_type = 'disbursement' AND v.source_id = l.id",
            # receipts: one per paid installment (paid on its due date)
            f"INSERT INTO voucher (voucher_no, business_date, description, source_type, source_id, created_at) "
            f"SELECT 'PR' || {pad.format('id')}, due_date, '收款', 'bench_receipt', id, CURRENT_TIMESTAMP "
            f"FROM installment WHERE paid_off_on IS NOT NULL",
            f"INSERT INTO repayment (receipt_no, loan_id, kind, amount, received_on, fund_account_id, payer, "
            f"idempotency_key, voucher_id, created_at) "
            f"SELECT 'SK' || {pad.format('i.id')}, i.loan_id, 'repayment', i.principal + i.interest, i.due_date, :fund, "
            f"'压测客户', 'bench-' || CAST(i.id AS TEXT), v.id, CURRENT_TIMESTAMP FROM installment i "
            f"JOIN voucher v ON v.source_type = 'bench_receipt' AND v.source_id = i.id",
            "INSERT INTO repayment_line (repayment_id, installment_id, seq, component, amount) "
            "SELECT r.id, i.id, i.seq, 'principal', i.principal FROM repayment r "
            "JOIN voucher v ON v.id = r.voucher_id JOIN installment i ON i.id = v.source_id "
            "WHERE v.source_type = 'bench_receipt' AND i.principal > 0",
            "INSERT INTO repayment_line (repayment_id, installment_id, seq, component, amount) "
            "SELECT r.id, i.id, i.seq, 'interest', i.interest FROM repayment r "
            "JOIN voucher v ON v.id = r.voucher_id JOIN installment i ON i.id = v.source_id "
            "WHERE v.source_type = 'bench_receipt' AND i.interest > 0",
            "INSERT INTO journal_line (voucher_id, account_id, fund_account_id, debit, credit) "
            "SELECT v.id, :bank, :fund, i.principal + i.interest, 0 FROM installment i "
            "JOIN voucher v ON v.source_type = 'bench_receipt' AND v.source_id = i.id",
            "INSERT INTO journal_line (voucher_id, account_id, loan_id, debit, credit) "
            "SELECT v.id, :loan, i.loan_id, 0, i.principal FROM installment i "
            "JOIN voucher v ON v.source_type = 'bench_receipt' AND v.source_id = i.id WHERE i.principal > 0",
            "INSERT INTO journal_line (voucher_id, account_id, loan_id, debit, credit) "
            "SELECT v.id, :interest, i.loan_id, 0, i.interest FROM installment i "
            "JOIN voucher v ON v.source_type = 'bench_receipt' AND v.source_id = i.id WHERE i.interest > 0",
            "ANALYZE",
        ]
        for statement in statements:
            names = [k for k in p if f":{k}" in statement]
            db.session.execute(text(statement), {k: p[k] for k in names})
        db.session.commit()
        # The rows went in by SQL, past ledger.post and repayments.new_receipt.
        from app.services import ledger, repayments

        ledger.rebuild_stored_balances()
        repayments.rebuild_receipt_totals()
        db.session.execute(text(_receipt_totals_backfill()))   # 罚息 / 复利 / installments (migration 0023)
        db.session.commit()
        counts = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("disbursement", "repayment", "repayment_line", "voucher", "journal_line")}
    return counts


def _receipt_totals_backfill():
    """Migration 0023's UPDATE: the receipts' 罚息, 复利 and installment counts from their lines."""
    import importlib.util

    path = ROOT / "migrations" / "versions" / "0023_repaid_report_totals.py"
    spec = importlib.util.spec_from_file_location("migration_0023", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BACKFILL


def ensure_user(app):
    from app.extensions import db
    from app.models import Branch
    from app.services.setup import ensure_user as make

    with app.app_context():
        head = db.session.execute(text("SELECT id FROM branch ORDER BY id LIMIT 1")).scalar()
        make("bench_manager", ["Manager"], PASSWORD, "经理", "压测", branch=db.session.get(Branch, head))


URLS = [
    ("dashboard: home page (cards)", "/", DASHBOARD_MS),
    ("dashboard: chart data", "/dashboard/data/", DASHBOARD_MS),
    ("贷款业务结构表", "/reports/regulatory/structure/balance/", REPORT_MS),
    ("发放贷款结构表", "/reports/regulatory/structure/disbursement/", REPORT_MS),
    ("月度统计表", "/reports/regulatory/monthly/", REPORT_MS),
    ("贷款快报", "/reports/regulatory/flash/", REPORT_MS),
    ("小额贷款台账 (page 1)", "/reports/loans/table/ledger/", REPORT_MS),
    ("小额贷款台账 (page 100)", "/reports/loans/table/ledger/?page=100", REPORT_MS),
    ("未回收贷款查询", "/reports/loans/table/unrecovered/", REPORT_MS),
    ("贷款发放明细表 (本年)", f"/reports/loans/table/disbursements/?start={AS_OF.year}-01-01", REPORT_MS),
    ("贷款回收报表 (本月)", f"/reports/loans/table/recoveries/?start={AS_OF:%Y-%m}-01", REPORT_MS),
    ("借出利息收回统计 (本月)", f"/reports/loans/table/interest_received/?start={AS_OF:%Y-%m}-01", REPORT_MS),
    ("应收利息", "/reports/loans/table/interest_receivable/", REPORT_MS),
    ("未发放贷款查询", "/reports/loans/table/undisbursed/", REPORT_MS),
    ("贷款情况统计表", "/reports/loans/statistics/", REPORT_MS),
    # 贷款业务统计 (the tab's summary and first page)
    ("贷款业务统计 登记贷款 (本年)", f"/reports/statistics/list/?tab=registered&start={AS_OF.year}-01-01", REPORT_MS),
    ("贷款业务统计 待还款 (本月)", "/reports/statistics/list/?tab=pending", REPORT_MS),
    ("贷款业务统计 已还款 (本月)", "/reports/statistics/list/?tab=repaid", REPORT_MS),
    ("贷款业务统计 已还款 (本年)", f"/reports/statistics/list/?tab=repaid&start={AS_OF.year}-01-01", REPORT_MS),
    ("贷款业务统计 已还款 (本年, 第50页)", f"/reports/statistics/list/?tab=repaid&start={AS_OF.year}-01-01&page=50",
     REPORT_MS),
    ("贷款业务统计 逾期 (统计日)", "/reports/statistics/list/?tab=overdue", REPORT_MS),
    ("贷款业务统计 逾期 (上月末)", f"/reports/statistics/list/?tab=overdue&as_of={LAST_MONTH_END}", REPORT_MS),
    ("贷款业务统计 到期 (本月)", "/reports/statistics/list/?tab=maturity", REPORT_MS),
    ("贷款业务统计 到期 (本年)", f"/reports/statistics/list/?tab=maturity&start={AS_OF.year}-01-01"
                            f"&end={AS_OF.year}-12-31", REPORT_MS),
    ("贷款业务统计 即将到期", "/reports/statistics/list/?tab=upcoming", REPORT_MS),
    ("业务分析 chart data", "/reports/analysis/data/", REPORT_MS),
    ("贷款发放报表", "/reports/disbursement-summary/list/", REPORT_MS),
    # 财务报表 (Finance sees them; the manager too)
    ("收支汇总统计 (本月)", "/reports/finance/summary/", REPORT_MS),
    ("收支汇总统计 (本年)", f"/reports/finance/summary/?start={AS_OF.year}-01-01", REPORT_MS),
    ("收支明细 (本月)", "/reports/finance/detail/", REPORT_MS),
    ("项目收付流水账 (本月, 全部项目)", "/reports/finance/journal/", REPORT_MS),
    ("未归还客户保证金统计", "/reports/finance/deposits/", REPORT_MS),
    ("资金分布", "/reports/funds/list/", REPORT_MS),
]


def time_pages(url, repeat=3):
    from app import create_app

    app = create_app("default", SQLALCHEMY_DATABASE_URI=url, UPLOAD_FOLDER=tempfile.mkdtemp(),
                     WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    client = app.test_client()
    r = client.post("/login/", data={"username": "bench_manager", "password": PASSWORD})
    assert r.status_code == 302, "login failed"
    results = []
    for label, path, target in URLS:
        best = None
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (path, response.status_code)
            best = elapsed if best is None else min(best, elapsed)
        results.append((label, best, target))
    return results


def child_export(url):
    """In a fresh process: the whole loan ledger to an .xlsx file (what the export job runs)."""
    from flask import g
    from sqlalchemy import select

    from app.extensions import db
    from app.models import AppUser
    from app.services.reports import business

    app = batch_bench.make_app(url)
    with app.test_request_context():
        g.user = db.session.execute(select(AppUser).where(AppUser.username == "bench_manager")).scalar_one()
        path = Path(tempfile.mkdtemp()) / "ledger.xlsx"
        started = time.perf_counter()
        with open(path, "wb") as fh:
            business.workbook("ledger", business.Filters(as_of=AS_OF), g.user, output=fh)
        seconds = time.perf_counter() - started
        rows = business.count("ledger", business.Filters(as_of=AS_OF), g.user)
    print(json.dumps({"seconds": seconds, "peak_mb": batch_bench.peak_mb(), "rows": rows,
                      "size_mb": path.stat().st_size / 1e6}))


def bench(url, loans, label, keep=False):
    app = batch_bench.make_app(url)
    started = time.perf_counter()
    if not keep:
        admin_id = batch_bench.fresh_schema(app)
        count, installments = batch_bench.seed(app, admin_id, loans)
        counts = seed_ledger(app)
        print(f"[{label}] portfolio: {count:,} loans, {installments:,} installments, "
              f"{counts['repayment']:,} receipts, {counts['journal_line']:,} journal lines")
        batch_bench.timed_run(url, AS_OF)
        ensure_user(app)
        print(f"    set-up {time.perf_counter() - started:.0f} s (incl. one nightly batch)")
    print(f"[{label}] server time, best of 3 (target: dashboard ≤ {DASHBOARD_MS} ms, reports ≤ {REPORT_MS} ms)")
    for name, ms, target in time_pages(url):
        print(f"    {name:<32} {ms:8.0f} ms   target ≤ {target} ms  {'OK' if ms <= target else 'MISSED'}")
    out = subprocess.run([sys.executable, __file__, "--child-export", url], check=True, capture_output=True,
                         text=True, env=os.environ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    ok = result["seconds"] <= EXPORT_S and result["peak_mb"] < EXPORT_MB
    print(f"    {'小额贷款台账 export':<32} {result['seconds']:8.2f} s    {result['rows']:,} rows, "
          f"{result['size_mb']:.1f} MB file, peak {result['peak_mb']:.0f} MB   "
          f"target ≤ {EXPORT_S} s, < {EXPORT_MB} MB  {'OK' if ok else 'MISSED'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sqlite", action="store_true", help="also run on a SQLite file")
    parser.add_argument("--keep", action="store_true", help="reuse the portfolio of the previous PostgreSQL run")
    parser.add_argument("--child-export", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_export:
        return child_export(args.child_export)
    url = (args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_URL).replace("postgres://", "postgresql://")
    batch_bench.ensure_database(url)
    bench(url, args.loans, "PostgreSQL", keep=args.keep)
    if args.sqlite:
        path = Path(tempfile.mkdtemp(prefix="microloan-bench-")) / "bench.db"
        bench(f"sqlite:///{path}", args.loans, "SQLite")


if __name__ == "__main__":
    main()
