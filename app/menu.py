"""菜单管理: FAB's menu with an admin's stored overrides applied at render time.

Overrides (label, order, hidden) are keyed by the menu entry's name. Hiding is cosmetic:
permissions still decide what a user may open.
"""
import copy

from flask import g, has_request_context
from flask_appbuilder.menu import Menu
from sqlalchemy import select


def load_overrides():
    from app.extensions import db
    from app.models import MenuOverride

    return {row.name: row for row in db.session.execute(select(MenuOverride)).scalars()}


def apply_overrides(items, overrides):
    """A new list of menu items with labels, order and visibility overridden."""
    result = []
    for position, item in enumerate(items):
        override = overrides.get(item.name)
        if override is not None and override.hidden:
            continue
        clone = copy.copy(item)
        if override is not None and override.label:
            clone.label = override.label
        if item.childs:
            clone.childs = apply_overrides(item.childs, overrides)
        order = override.sort_order if override is not None and override.sort_order is not None else None
        result.append((order if order is not None else position * 10, position, clone))
    result.sort(key=lambda t: (t[0], t[1]))
    return [clone for _, _, clone in result]


class OverridableMenu(Menu):
    def get_list(self):
        if not has_request_context():
            return self.menu
        cached = g.get("_menu_list")
        if cached is None:
            cached = apply_overrides(self.menu, load_overrides())
            g._menu_list = cached
        return cached

    def all_entries(self, items=None, parent=None):
        """(name, label, category) for every entry, for the menu management screen."""
        entries = []
        for item in items if items is not None else self.menu:
            if item.name == "-":
                continue
            entries.append((item.name, str(item.label), parent))
            if item.childs:
                entries.extend(self.all_entries(item.childs, item.name))
        return entries
