"""Generated numbers such as KH202611280001 (customers) and DK202611280001 (loans).

One counter row per prefix and day, bumped by a single statement

    INSERT … VALUES (prefix, day, 1) ON CONFLICT (prefix, day)
    DO UPDATE SET value = number_sequence.value + 1 RETURNING value

on PostgreSQL and on SQLite ≥ 3.35 (RETURNING). On PostgreSQL the statement holds the
row lock until the caller's transaction ends (a concurrent first insert of the same key
waits for the winner and then updates), on SQLite writers are serialised, so two clerks
saving at once never get the same number. Older SQLite builds fall back to INSERT … ON
CONFLICT DO NOTHING followed by UPDATE … RETURNING (two statements, same guarantee).

``next_numbers`` draws several counters (e.g. a voucher's and its receipt's) in one such
statement, the rows locked in the order given (callers keep one order, e.g. voucher
before receipt, so two transactions never wait on each other's counters crosswise).

The statements are Core statements on the table: they neither autoflush the session nor
scan its identity map, so pending ORM changes go out with the caller's next flush.
"""
import sqlite3

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import NumberSequence

_TABLE = NumberSequence.__table__
#: SQLite's RETURNING (needed by the one-statement upsert) came with 3.35.
SQLITE_UPSERT_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)


def next_number(prefix, on, width=4):
    """``prefix`` + yyyymmdd + a counter that restarts every day, e.g. KH202611280001."""
    day = f"{on:%Y%m%d}"
    return f"{prefix}{day}{next_value(prefix, day):0{width}d}"


#: The one-statement bump, same text on PostgreSQL and SQLite ≥ 3.35 (a text() statement
#: is compiled once and cached; the dialects' on_conflict_do_update constructs are not).
_UPSERT = text("INSERT INTO number_sequence (prefix, day, value) VALUES (:prefix, :day, 1) "
               "ON CONFLICT (prefix, day) DO UPDATE SET value = number_sequence.value + 1 "
               "RETURNING value")


def next_numbers(requests, width=4):
    """The next number of each (prefix, day) of ``requests`` (distinct pairs), in one
    statement where the database can (else one per counter), e.g.
    ``next_numbers([("PZ", on), ("HK", on)])`` → ["PZ202602150001", "HK202602150001"]."""
    keys = [(prefix, f"{on:%Y%m%d}") for prefix, on in requests]
    if len(set(keys)) != len(keys):
        raise ValueError(f"the same counter twice in one statement: {keys}")
    if len(keys) == 1 or not _one_statement():
        values = [next_value(prefix, day) for prefix, day in keys]
    else:
        params = {}
        for n, (prefix, day) in enumerate(keys):
            params[f"prefix{n}"], params[f"day{n}"] = prefix, day
        got = {(prefix, day): value for prefix, day, value in db.session.execute(_upsert_many(len(keys)), params)}
        values = [got[key] for key in keys]
    return [f"{prefix}{day}{value:0{width}d}" for (prefix, day), value in zip(keys, values)]


def formatted(prefix, on, value, width=4):
    """The number a counter's ``value`` of day ``on`` makes, e.g. PZ202602150001."""
    return f"{prefix}{on:%Y%m%d}{value:0{width}d}"


_UPSERT_MANY = {}


def _upsert_many(count):
    """The multi-row bump (one text() per row count, compiled once). RETURNING's row order
    is not guaranteed: the rows come back with their keys."""
    statement = _UPSERT_MANY.get(count)
    if statement is None:
        rows = ", ".join(f"(:prefix{n}, :day{n}, 1)" for n in range(count))
        statement = _UPSERT_MANY[count] = text(
            f"INSERT INTO number_sequence (prefix, day, value) VALUES {rows} "
            "ON CONFLICT (prefix, day) DO UPDATE SET value = number_sequence.value + 1 "
            "RETURNING prefix, day, value")
    return statement


def _one_statement():
    dialect = db.session.get_bind().dialect.name
    return dialect == "postgresql" or (dialect == "sqlite" and SQLITE_UPSERT_RETURNING)


def next_value(prefix, key):
    """The next value of the counter (prefix, key), starting at 1 (key: a day, a year …)."""
    day = key
    if _one_statement():
        return db.session.execute(_UPSERT, {"prefix": prefix, "day": day}).scalar_one()
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(_TABLE).values(prefix=prefix, day=day, value=0)
                       .on_conflict_do_nothing(index_elements=["prefix", "day"]))
    return db.session.execute(
        update(_TABLE).where(_TABLE.c.prefix == prefix, _TABLE.c.day == day)
        .values(value=_TABLE.c.value + 1).returning(_TABLE.c.value)).scalar_one()
