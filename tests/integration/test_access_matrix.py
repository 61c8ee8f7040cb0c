"""Access-control matrix generated from the registered views and APIs.

For every GET route without URL arguments: anonymous users are sent to the login page (or
get 401 from an API), a role without the route's permission gets 403, a role with it gets
the page. New views are covered the day they are registered; a route without a permission
check fails the test unless it is on the short public list below.
"""
import pytest
from flask_appbuilder.api import BaseApi

from app.security import ROLE_NAMES

from ..conftest import TEST_USERS

PUBLIC_ENDPOINTS = {
    "static", "appbuilder.static", "AppAuthDBView.login", "AppAuthDBView.logout",
    "HomeIndexView.index", "UtilView.back", "LocaleView.index",
    "SwaggerView.show", "OpenApi.get", "MenuApi.get_menu_data",
}


def protected_routes(app):
    """[(url, view, permission, is_api)] for every argument-free GET route."""
    views = {view.blueprint.name: view for view in app.appbuilder.baseviews
             if getattr(view, "blueprint", None) is not None}
    routes, unprotected = [], []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        blueprint, _, method_name = rule.endpoint.partition(".")
        view = views.get(blueprint)
        if view is None:
            unprotected.append(rule.rule)
            continue
        method = getattr(view, method_name, None)
        if not hasattr(method, "_permission_name"):
            unprotected.append(rule.rule)
            continue
        permission = "can_" + view.get_method_permission(method_name)
        routes.append((rule.rule, view.class_permission_name, permission, isinstance(view, BaseApi)))
    return routes, unprotected


def role_permissions(app, username):
    sm = app.appbuilder.sm
    user = sm.find_user(username=username)
    return {(pv.permission.name, pv.view_menu.name) for role in user.roles for pv in role.permissions}


def test_every_route_is_protected(app):
    with app.app_context():
        routes, unprotected = protected_routes(app)
    assert routes, "no routes found"
    assert unprotected == [], f"routes without a permission check: {unprotected}"


def test_anonymous_is_sent_to_login(app):
    client = app.test_client()
    with app.app_context():
        routes, _ = protected_routes(app)
    failures = []
    for url, _view, _perm, is_api in routes:
        response = client.get(url)
        expected = (401,) if is_api else (302,)
        if response.status_code not in expected or (
                not is_api and "/login/" not in response.headers.get("Location", "")):
            failures.append((url, response.status_code))
    assert failures == []


@pytest.mark.parametrize("username", sorted(TEST_USERS))
def test_role_matrix(app, login_as, username):
    client = login_as(username)
    with app.app_context():
        routes, _ = protected_routes(app)
        granted = role_permissions(app, username)
    failures = []
    allowed_count = 0
    for url, view, permission, _is_api in routes:
        allowed = (permission, view) in granted
        allowed_count += allowed
        status = client.get(url).status_code
        if allowed and status not in (200, 302):
            failures.append((url, permission, "expected access", status))
        if not allowed and status != 403:
            failures.append((url, permission, "expected 403", status))
    assert failures == []
    assert allowed_count > 0  # every role can open something (its home and profile at least)


def test_builtin_roles_exist_with_chinese_names(app):
    with app.app_context():
        sm = app.appbuilder.sm
        for code, name in ROLE_NAMES.items():
            assert sm.find_role(name) is not None, code


def test_officer_menu_shows_only_permitted_entries(app, login_as):
    officer = login_as("officer_a").get("/").get_data(as_text=True)
    admin = login_as("admin").get("/").get_data(as_text=True)
    assert "/settingview/list/" not in officer
    assert "/auditlogview/list/" not in officer
    assert "/users/list/" not in officer
    for url in ("/settingview/list/", "/auditlogview/list/", "/users/list/", "/branchview/list/"):
        assert url in admin
