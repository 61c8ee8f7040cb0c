"""Hints for SQLite's query planner, which (unlike PostgreSQL's) cannot be told which index to
drive a query from: a column written as an expression (``loan.status || ''``, ``loan_id + 0``)
is one it cannot look up in an index, so it picks the plan through the index that is left.
Used where the lists and the dashboard walk unpaid installments by due date (the partial
index ix_installment_unpaid_due_date) rather than every active loan first."""
from sqlalchemy import Integer

from app.extensions import db


def unindexed(column):
    """``column`` as an expression SQLite cannot use an index for (on SQLite only; the same
    values: + 0 on integers, || '' on text)."""
    if db.session.get_bind().dialect.name != "sqlite":
        return column
    return column + 0 if isinstance(column.type, Integer) else column.concat("")
