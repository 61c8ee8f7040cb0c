"""Generated numbers such as KH202611280001 (customers) and DK202611280001 (loans).

One counter row per prefix and day, bumped by a single statement

    INSERT … VALUES (prefix, day, 1) ON CONFLICT (prefix, day)
    DO UPDATE SET value = number_sequence.value + 1 RETURNING value

on PostgreSQL and on SQLite ≥ 3.35 (RETURNING). On PostgreSQL the statement holds the
row lock until the caller's transaction ends (a concurrent first insert of the same key
waits for the winner and then updates), on SQLite writers are serialised, so two clerks
saving at once never get the same number. Older SQLite builds fall back to INSERT … ON
CONFLICT DO NOTHING followed by UPDATE … RETURNING (two statements, same guarantee).

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


def next_value(prefix, key):
    """The next value of the counter (prefix, key), starting at 1 (key: a day, a year …)."""
    day = key
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql" or (dialect == "sqlite" and SQLITE_UPSERT_RETURNING):
        return db.session.execute(_UPSERT, {"prefix": prefix, "day": day}).scalar_one()
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(_TABLE).values(prefix=prefix, day=day, value=0)
                       .on_conflict_do_nothing(index_elements=["prefix", "day"]))
    return db.session.execute(
        update(_TABLE).where(_TABLE.c.prefix == prefix, _TABLE.c.day == day)
        .values(value=_TABLE.c.value + 1).returning(_TABLE.c.value)).scalar_one()
