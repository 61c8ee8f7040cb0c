"""系统参数: typed reads of Setting rows, the business date and the LPR table.

Values are cached in ``flask.g`` for one request (never in module state: many worker
processes share the database) and the cache is dropped whenever a Setting is written.
"""
from datetime import date

from flask import g, has_app_context
from sqlalchemy import event, select

from app.domain.errors import DomainError
from app.domain.parameters import parse_value
from app.extensions import db
from app.models import LprRate, Setting

_CACHE_KEY = "_settings_cache"


def _cache():
    if not has_app_context():
        return {}
    cache = g.get(_CACHE_KEY)
    if cache is None:
        cache = {}
        setattr(g, _CACHE_KEY, cache)
    return cache


def clear_cache():
    if has_app_context():
        g.pop(_CACHE_KEY, None)


def get(key, default=None):
    """The typed value of parameter ``key``; ``default`` when the row does not exist."""
    cache = _cache()
    if key in cache:
        return cache[key]
    row = db.session.execute(select(Setting).where(Setting.key == key)).scalar_one_or_none()
    if row is None:
        return default
    value = parse_value(row.value_type, row.value, label=row.label)
    cache[key] = value
    return value


def prime(key, value_type, raw):
    """Cache a parameter another statement has read alongside its own (``value_type`` None:
    the row does not exist), so ``get`` needs no query of its own in this request. A value
    already cached stays (one request sees one value); a value that does not parse is left
    to ``get``, which reports it."""
    cache = _cache()
    if key in cache or value_type is None or not has_app_context():
        return
    try:
        cache[key] = parse_value(value_type, raw, label=key)
    except DomainError:
        pass


def setting_column(key, column):
    """A scalar subquery of one column of parameter ``key``'s row (NULL when missing), to
    read a parameter inside another statement (``prime``)."""
    return select(column).where(Setting.key == key).scalar_subquery()


def set_value(key, raw):
    """Validate and store a new value; raises DomainError and changes nothing when bad."""
    row = db.session.execute(select(Setting).where(Setting.key == key)).scalar_one_or_none()
    if row is None:
        raise DomainError(f"参数 {key} 不存在", "key")
    parse_value(row.value_type, raw, row.min_value, row.max_value, label=row.label)
    row.value = (raw or "").strip()
    db.session.commit()
    clear_cache()
    return row


def business_date():
    """营业日期: the parameter, or today's date when it is left empty."""
    value = get("business_date")
    return value or date.today()


def lpr_on(on_date):
    """The LPR row in force on ``on_date`` (the latest change on or before it), or None."""
    return db.session.execute(
        select(LprRate).where(LprRate.effective_date <= on_date)
        .order_by(LprRate.effective_date.desc()).limit(1)
    ).scalar_one_or_none()


@event.listens_for(Setting, "after_update")
@event.listens_for(Setting, "after_insert")
def _drop_cache(mapper, connection, target):
    clear_cache()
