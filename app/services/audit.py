"""日志: one session-level mechanism records every insert, update and delete.

Registered once on SQLAlchemy's Session class (``install``), so no view or service has to
remember to log. Rows are written on the same connection inside the same transaction as
the change they describe: a rolled-back change leaves no log row, a committed one always
has one.

The rows of a transaction's flushes are collected on the session and written with one
INSERT when it commits (``before_commit``, after a last flush), not one INSERT per flush;
inside a SAVEPOINT they are written at once, so a rolled-back savepoint takes its rows
with it. Consequence: until the commit, the transaction itself does not see its own
audit rows in ``audit_log``.
"""
import json
from datetime import date, datetime
from decimal import Decimal

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.models import AuditLog

# Tables whose churn is mechanical (permission sync) or that are the log itself.
EXCLUDED_TABLES = {
    "audit_log", "ab_permission", "ab_view_menu", "ab_permission_view", "ab_register_user",
}
# Columns that change on every login or are set automatically.
IGNORED_COLUMNS = {"last_login", "login_count", "fail_login_count", "changed_on", "changed_by_fk"}
MASKED_COLUMNS = {"password"}


def _plain(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return str(value)


def current_actor():
    """(user_id, username) of whoever is acting: the web user, or the job/CLI system user."""
    user = g.get("user") if has_app_context() else None
    try:
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id, user.username
    except Exception:  # a detached user after logout must not break logging
        pass
    return None, "system"


def _client_ip():
    return request.remote_addr if has_request_context() else None


def _changes(obj, action):
    state = inspect(obj)
    mapper = state.mapper
    changes = {}
    # An update changes only attributes with a committed (pre-change) value noted: the
    # others have no history to read (reading it for every column is most of the cost).
    touched = state.committed_state if action == "update" else None
    for attr in mapper.column_attrs:
        key = attr.key
        if key in IGNORED_COLUMNS:
            continue
        if action == "insert":
            value = state.attrs[key].value
            if value is not None:
                changes[key] = [None, "***" if key in MASKED_COLUMNS else _plain(value)]
            continue
        if touched is not None and key not in touched:
            continue
        hist = state.attrs[key].history
        if action == "delete":
            value = hist.deleted[0] if hist.deleted else state.attrs[key].value
            changes[key] = ["***" if key in MASKED_COLUMNS else _plain(value), None]
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if key in MASKED_COLUMNS:
                changes[key] = ["***", "***(已修改)"]
            elif _plain(old) != _plain(new):
                changes[key] = [_plain(old), _plain(new)]
    if action == "update":
        # many-to-many collections such as a user's roles or a role's permissions
        for rel in mapper.relationships:
            if not rel.uselist or rel.secondary is None:
                continue
            hist = state.attrs[rel.key].history
            if hist.added or hist.deleted:
                changes[rel.key] = [
                    [str(v) for v in hist.deleted] or None, [str(v) for v in hist.added] or None
                ]
    return changes


def _row_id(obj):
    # After a flush new rows have their keys but no identity yet: read the columns.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    if not key or all(part is None for part in key):
        return None
    return ",".join(str(part) for part in key)


#: Built once: a statement reused is compiled once and its cache key memoized.
_INSERT = AuditLog.__table__.insert()
_PENDING = "_audit_pending"       # session.info: rows collected, not yet written
_WRITING = "_audit_committing"    # session.info: the commit has begun; write at once


#: An audit row's columns (the keys of ``rows``'s dictionaries).
COLUMNS = ("created_at", "user_id", "username", "action", "table_name", "row_id", "changes", "ip")


def rows(entries):
    """The audit_log rows of (action, table, row id, changes) entries, by whoever is acting now."""
    user_id, username = current_actor()
    now = datetime.now()
    ip = _client_ip()
    return [
        {
            "created_at": now, "user_id": user_id, "username": username, "action": action,
            "table_name": table, "row_id": None if row_id is None else str(row_id), "ip": ip,
            "changes": json.dumps(changes, ensure_ascii=False, sort_keys=True),
        }
        for action, table, row_id, changes in entries
    ]


def insert_changes(obj):
    """What the log records of a new row: every column with a value (``obj``: a mapped object
    holding the row's values, e.g. one written by SQL rather than flushed)."""
    return _changes(obj, "insert")


def update_changes(old, new, keys):
    """What the log records of an update, from the values before and after ({key: value}):
    the columns whose value changed, as a flush records them."""
    return {key: [_plain(old[key]), _plain(new[key])] for key in keys
            if old[key] != new[key] and _plain(old[key]) != _plain(new[key])}


def _after_flush(session, flush_context):
    entries = []
    for action, objects in (("insert", session.new), ("update", session.dirty),
                            ("delete", session.deleted)):
        for obj in objects:
            table = getattr(obj, "__tablename__", None)
            if table is None or table in EXCLUDED_TABLES:
                continue
            if action == "update" and not session.is_modified(obj):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            entries.append((action, table, _row_id(obj), changes))
    if not entries:
        return
    written = rows(entries)
    if session.in_nested_transaction() or session.info.get(_WRITING):
        # Inside a SAVEPOINT the rows must be rolled back with it: write them now. After
        # the commit has begun (a flush of the commit itself) there is no later moment.
        session.connection().execute(_INSERT, written)
    else:
        session.info.setdefault(_PENDING, []).extend(written)


def _before_commit(session):
    """Write the rows collected by the transaction's flushes in one INSERT, inside it.

    ``before_commit`` runs before the commit's own flush, so flush here first: the rows
    of objects changed since the last flush are collected too. Any flush after this one
    (another listener dirtying the session) writes its rows at once (``_WRITING``)."""
    if session.in_nested_transaction():
        return   # a SAVEPOINT's release: its rows were written inside it
    session.flush()
    rows = session.info.pop(_PENDING, None)
    if rows:
        from app.services import ledger

        # With a posting's moves to apply (the stored balances' UPDATEs, ``ledger``) the
        # rows go in the same round trip, first; otherwise by themselves.
        if not ledger.apply_moves_with(session, rows):
            session.connection().execute(_INSERT, rows)
    session.info[_WRITING] = True


def _after_transaction_end(session, transaction):
    """The outer transaction is over (committed or rolled back): nothing carries over. A
    rolled-back transaction's collected rows are dropped with it."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_WRITING, None)


def log_event(session, action, user=None, username=None, detail=None):
    """Record an event that is not a row change (login, login failure, logout)."""
    session.add(AuditLog(
        created_at=datetime.now(),
        user_id=getattr(user, "id", None),
        username=username or getattr(user, "username", None),
        action=action,
        table_name="ab_user" if user is not None else None,
        row_id=str(user.id) if user is not None else None,
        changes=json.dumps(detail, ensure_ascii=False) if detail else None,
        ip=_client_ip(),
    ))
    session.commit()


_installed = False


def install():
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
        _installed = True
