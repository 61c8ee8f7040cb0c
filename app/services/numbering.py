"""Generated numbers such as KH202611280001 (customers) and DK202611280001 (loans).

One counter row per prefix and day. The row is created with INSERT … ON CONFLICT DO
NOTHING and bumped with an UPDATE … RETURNING, both single statements: on PostgreSQL the
UPDATE holds the row lock until the caller's transaction ends, on SQLite writers are
serialised, so two clerks saving at once never get the same number.
"""
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import NumberSequence


def next_number(prefix, on, width=4):
    """``prefix`` + yyyymmdd + a counter that restarts every day, e.g. KH202611280001."""
    day = f"{on:%Y%m%d}"
    return f"{prefix}{day}{next_value(prefix, day):0{width}d}"


def next_value(prefix, key):
    """The next value of the counter (prefix, key), starting at 1 (key: a day, a year …)."""
    day = key
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(NumberSequence).values(prefix=prefix, day=day, value=0)
                       .on_conflict_do_nothing(index_elements=["prefix", "day"]))
    value = db.session.execute(
        update(NumberSequence)
        .where(NumberSequence.prefix == prefix, NumberSequence.day == day)
        .values(value=NumberSequence.value + 1)
        .returning(NumberSequence.value)
    ).scalar_one()
    return value
