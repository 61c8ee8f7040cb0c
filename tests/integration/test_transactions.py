"""Transactions and SAVEPOINTs behave the same on SQLite as on PostgreSQL.

Python's sqlite3 driver opens transactions on its own (only before INSERT/UPDATE/DELETE,
never before a SAVEPOINT), so without the app's engine hooks (``app.factory``) a SAVEPOINT
issued first became the outer transaction and its RELEASE committed for good. These tests
start with the SAVEPOINT on purpose, and count rows on a separate connection, which sees
only what was really committed.
"""
import pytest
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import DictType

PREFIX = "TXTEST_"


def committed_codes():
    """Codes of the test's dict_type rows as another connection sees them (committed only)."""
    with db.engine.connect() as conn:
        return sorted(conn.execute(
            select(DictType.code).where(DictType.code.like(f"{PREFIX}%"))
        ).scalars())


def add(code):
    db.session.add(DictType(code=PREFIX + code, name="事务测试"))
    db.session.flush()


def session_codes():
    return sorted(db.session.execute(
        select(DictType.code).where(DictType.code.like(f"{PREFIX}%"))
    ).scalars())


@pytest.fixture
def tx_ctx(app_ctx):
    """An app context whose test rows are removed afterwards, whatever the test did."""
    db.session.remove()
    assert committed_codes() == []
    yield app_ctx
    db.session.rollback()
    db.session.execute(delete(DictType).where(DictType.code.like(f"{PREFIX}%")))
    db.session.commit()
    db.session.remove()
    assert committed_codes() == []


def test_released_savepoints_are_undone_by_the_outer_rollback(tx_ctx):
    # The SAVEPOINT is the very first statement of the transaction: the pysqlite trap.
    with db.session.begin_nested():
        add("A")
    with db.session.begin_nested():
        add("B")
    assert session_codes() == [PREFIX + "A", PREFIX + "B"]
    assert committed_codes() == []  # RELEASE SAVEPOINT committed nothing
    db.session.rollback()
    assert session_codes() == []
    assert committed_codes() == []


def test_a_rolled_back_savepoint_undoes_only_its_own_rows(tx_ctx):
    add("OUTER")
    with db.session.begin_nested():
        add("KEPT")
    savepoint = db.session.begin_nested()
    add("UNDONE_1")
    add("UNDONE_2")
    savepoint.rollback()
    with db.session.begin_nested():
        add("AFTER")
    expected = sorted(PREFIX + c for c in ("OUTER", "KEPT", "AFTER"))
    assert session_codes() == expected
    assert committed_codes() == []
    db.session.commit()
    assert committed_codes() == expected


def test_core_connection_savepoint_then_rollback(tx_ctx):
    """The same on a plain engine connection (Core), which the app's scripts use."""
    table = DictType.__table__
    with db.engine.connect() as conn:
        with conn.begin() as outer:
            with conn.begin_nested():
                conn.execute(table.insert().values(code=PREFIX + "CORE", name="事务测试"))
            assert conn.execute(select(func.count()).select_from(table)
                                .where(table.c.code == PREFIX + "CORE")).scalar() == 1
            outer.rollback()
    assert committed_codes() == []
