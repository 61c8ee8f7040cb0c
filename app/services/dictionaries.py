"""字典 lookups: code → label for one dictionary, read once per request."""
from flask import g, has_request_context
from sqlalchemy import select

from app.extensions import db
from app.models import DictItem, DictType


def labels(dict_code):
    cache = g.setdefault("_dict_labels", {}) if has_request_context() else {}
    if dict_code not in cache:
        cache[dict_code] = dict(db.session.execute(
            select(DictItem.code, DictItem.label).join(DictType).where(DictType.code == dict_code)).all())
    return cache[dict_code]


def label_of(dict_code, code):
    if not code:
        return ""
    return labels(dict_code).get(code, code)


def item(dict_code, code):
    return db.session.execute(
        select(DictItem).join(DictType).where(DictType.code == dict_code, DictItem.code == code)).scalar_one_or_none()
