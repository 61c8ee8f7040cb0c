"""What the database alone allows for sequential postings: the floor under bench/repayments.py.

Run ``python bench/posting_floor.py`` (``--loans N``, default 2,000; ``--orm`` for the ORM
path's statements). On the database DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/microloan_bench_floor (its schema is DROPPED and rebuilt):

1. N loans are set up as in bench/repayments.py and installment 1 of each is posted through
   ``repayments.post_repayment`` (each its own session and transaction), every statement of
   each posting recorded with its parameters;
2. the schema and the same loans are built again and the recorded statements are replayed
   with raw psycopg2 — the same rows written, no Flask, no SQLAlchemy, no business logic —
   one transaction per posting;
3. a durable commit of a one-row INSERT is timed, and the same with synchronous_commit off.

Prints postings per second for (1) and (2), and what a commit's WAL flush costs here: the
posting rate can never exceed (2), whatever the application does.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("MICROLOAN_INSTANCE_DIR", tempfile.mkdtemp(prefix="microloan-floor-"))

import psycopg2  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import repayments as bench  # noqa: E402  (bench/repayments.py: the same set-up and loop)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/microloan_bench_floor"
#: The timed loop's own reads (the user and the fund account, as a web request loads them).
LOOP_READS = ("SELECT ab_user", "SELECT fund_account.id AS", "SELECT setting", "UPDATE setting")


def record(app, admin_id, bank_id, totals):
    """Post through the app; returns (rate, [[(statement, parameters)] per posting])."""
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    postings, current = [], []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(LOOP_READS):
            current.append((statement, parameters))

    def committed(conn):
        if current:
            postings.append(list(current))
            current.clear()

    event.listen(engine, "before_cursor_execute", seen)
    event.listen(engine, "commit", committed)
    try:
        count, seconds, _cpu, _received, _profiler = bench.post_all(app, admin_id, bank_id, totals)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        event.remove(engine, "commit", committed)
    return count / seconds, postings


def replay(dsn, postings):
    """The recorded statements again, raw; returns (postings per second, round trips each)."""
    connection = psycopg2.connect(dsn)
    cursor = connection.cursor()
    for posting in postings:   # statements prepared on the recording connection: once, untimed
        for statement, _parameters in posting:
            if statement.startswith("PREPARE"):
                cursor.execute(statement)
    connection.commit()
    trips = 0
    began = time.perf_counter()
    for posting in postings:
        for statement, parameters in posting:
            if statement.startswith("PREPARE"):
                continue
            (cursor.executemany if isinstance(parameters, list) else cursor.execute)(statement, parameters)
            trips += 1
        connection.commit()
    seconds = time.perf_counter() - began
    connection.close()
    return len(postings) / seconds, trips / len(postings)


def commit_cost(dsn, rounds=2000):
    """Milliseconds per one-row INSERT + commit, durable and with synchronous_commit off."""
    connection = psycopg2.connect(dsn)
    cursor = connection.cursor()
    cursor.execute("CREATE TABLE IF NOT EXISTS floor_probe_durable (n integer)")
    connection.commit()
    figures = []
    for setting in ("on", "off"):
        cursor.execute(f"SET synchronous_commit = {setting}")
        began = time.perf_counter()
        for n in range(rounds):
            cursor.execute("INSERT INTO floor_probe_durable (n) VALUES (%s)", (n,))
            connection.commit()
        figures.append((time.perf_counter() - began) / rounds * 1000)
    cursor.execute("DROP TABLE floor_probe_durable")
    connection.commit()
    connection.close()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=2000)
    parser.add_argument("--orm", action="store_true", help="the ORM path's statements (not the SQL path's)")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    if args.orm:
        from app.services import repayments_fast

        repayments_fast.ENABLED = False
    url = (args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_URL).replace("postgres://", "postgresql://")
    bench.ensure_database(url)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    from app import create_app

    app = create_app("default", SQLALCHEMY_DATABASE_URI=url)
    admin_id = bench.fresh_schema(app)
    bank_id, totals = bench.seed(app, admin_id, args.loans)
    rate, postings = record(app, admin_id, bank_id, totals)
    path = "ORM path" if args.orm else "SQL path"
    print(f"through the app ({path}): {rate:,.0f} postings/s ({1000 / rate:.2f} ms each)")

    admin_id = bench.fresh_schema(app)   # the same loans again, for the replay
    bench.seed(app, admin_id, args.loans)
    floor, trips = replay(dsn, postings)
    print(f"the same statements replayed with raw psycopg2: {floor:,.0f} postings/s ({1000 / floor:.2f} ms each, "
          f"{trips:.1f} round trips + the commit)")
    durable, relaxed = commit_cost(dsn)
    print(f"one-row INSERT + commit: {durable:.2f} ms durable (synchronous_commit on), {relaxed:.2f} ms with "
          f"synchronous_commit off — the WAL flush costs {durable - relaxed:.2f} ms of every posting here")
    print(f"so ≥ 200 postings/s needs the database below 5 ms a posting: here it takes {1000 / floor:.2f} ms alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
