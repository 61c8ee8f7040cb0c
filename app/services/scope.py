"""数据权限 (data scope): which branches' customers and loans a user may see.

A user sees their own branch and the branches below it; a role holding the permission
``can_access_all_branches`` on ``DataScope`` (Admin and Manager by default, any role an
admin chooses) sees every branch. Views declare ``base_filters = scope_filters()``;
services call ``apply_scope``. Both end in the same query condition.
"""
from flask import current_app, g, has_app_context, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import select

from app.extensions import db
from app.models import Branch

SCOPE_PERMISSION = "can_access_all_branches"
SCOPE_VIEW = "DataScope"


def branch_subtree_ids(branch_id):
    """The branch and every branch below it (the tree is small: read it whole)."""
    children = {}
    for bid, parent_id in db.session.execute(select(Branch.id, Branch.parent_id)):
        children.setdefault(parent_id, []).append(bid)
    result, todo = [], [branch_id]
    while todo:
        current = todo.pop()
        result.append(current)
        todo.extend(children.get(current, []))
    return result


def sees_all_branches(user):
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    sm = current_app.appbuilder.sm
    if any(role.name == sm.auth_role_admin for role in user.roles):
        return True
    # One EXISTS over the user's roles (answered from the request's permission cache when it
    # holds these roles: app/security.py), not every role's ~200 permission rows loaded as
    # objects (a third of an API call's CPU).
    role_ids = [role.id for role in user.roles]
    return bool(role_ids) and sm.exist_permission_on_roles(SCOPE_VIEW, SCOPE_PERMISSION, role_ids)


def visible_branch_ids(user=None):
    """None when the user sees every branch, else the list of branch ids they see."""
    if user is None:
        # In the CLI and jobs the actor is g.user too (see setup.act_as_system).
        user = g.get("user") if has_app_context() else None
    cache = g.setdefault("_scope_cache", {}) if has_request_context() else {}
    key = getattr(user, "id", None)
    if key in cache:
        return cache[key]
    if sees_all_branches(user):
        ids = None
    elif user is None or not getattr(user, "branch_id", None):
        ids = []
    else:
        ids = branch_subtree_ids(user.branch_id)
    cache[key] = ids
    return ids


def apply_scope(query, column, user=None):
    """Restrict a SQLAlchemy query (or select) to rows whose ``column`` is a visible branch."""
    ids = visible_branch_ids(user)
    if ids is None:
        return query
    return query.filter(column.in_(ids)) if hasattr(query, "filter") else query.where(column.in_(ids))


def can_see_branch(branch_id, user=None):
    ids = visible_branch_ids(user)
    return ids is None or branch_id in ids


class BranchScopeFilter(BaseFilter):
    """FAB base filter: ``base_filters = [["branch_id", BranchScopeFilter, None]]``."""

    name = "数据权限"
    arg_name = None

    def apply(self, query, value):
        return apply_scope(query, getattr(self.model, self.column_name))


def scope_filters(column="branch_id"):
    return [[column, BranchScopeFilter, None]]


class CustomerScopeFilter(BaseFilter):
    """FAB base filter for rows that belong to a customer: the customer's branch decides."""

    name = "数据权限"
    arg_name = None

    def apply(self, query, value):
        from app.models import Customer

        ids = visible_branch_ids()
        if ids is None:
            return query
        column = getattr(self.model, self.column_name)
        return query.filter(column.in_(select(Customer.id).where(Customer.branch_id.in_(ids))))


def customer_scope_filters(column="customer_id"):
    return [[column, CustomerScopeFilter, None]]
