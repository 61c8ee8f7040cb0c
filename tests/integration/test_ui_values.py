"""What the generated CRUD screens show people (issue #14, leftovers): no raw Python values.

- Optional relation drop-downs (FAB's QuerySelectField) had a blank choice labelled "__None";
  it is now ``<option value="">`` (select2's placeholder 请选择), and a blank saves NULL.
- List and show pages printed True/False/None; booleans are 是/否 and nothing is an empty
  cell (``ReadableViewMixin`` in app/views/base.py).

The walks cover every registered ModelView, so a view added tomorrow is checked the day it
lands.
"""
import html as html_lib
import re

import pytest
from flask import url_for
from flask_appbuilder import ModelView
from sqlalchemy import select

from tests.integration.test_customers import make_id, person_form, user_id

RAW_VALUES = {"True", "False", "None"}


def _model_views(app):
    return [view for view in app.appbuilder.baseviews if isinstance(view, ModelView)]


def _url(app, endpoint, **values):
    with app.test_request_context():
        try:
            return url_for(endpoint, **values)
        except Exception:  # noqa: BLE001 - the view has no such route
            return None


def _decoded(page):
    """The page with FAB's JSON-embedded widgets (search filters) decoded, so an option
    written as \\u003eX\\u003c is seen as >X<."""
    return page.replace("\\u003c", "<").replace("\\u003e", ">").replace('\\"', '"')


def _raw_blank_labels(page):
    return re.findall(r"<option[^>]*>\s*__None\s*</option>", _decoded(page))


def _options(page, name):
    """[(attributes, label)] of the options of the drop-down ``name``."""
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select_html, f"no drop-down {name}"
    return [(attrs.strip(), label) for attrs, label in re.findall(r"<option([^>]*)>([^<]*)</option>", select_html.group(1))]


def _cells(page):
    """The text of every table cell (list rows, show pages), tags stripped."""
    cells = re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


@pytest.fixture
def demo_data(app):
    """The demo data set (users, customers of every kind, loans at every stage, vouchers)."""
    from app.extensions import db
    from app.services import demo

    with app.app_context():
        demo.load_demo("Demo@12345")
        demo.load_demo_customers()
        demo.load_demo_loans()
        db.session.remove()


# -- the blank choice ---------------------------------------------------------------------
@pytest.mark.parametrize("path, field", [
    ("/customerpersonview/add", "intermediary"),
    ("/customercompanyview/add", "intermediary"),
    ("/loanview/add", "intermediary"),
    ("/branchview/add", "parent"),
    ("/intermediaryview/add", "branch"),
])
def test_optional_relation_offers_an_empty_blank_choice(login_as, path, field):
    page = login_as("admin").get(path).get_data(as_text=True)
    assert _options(page, field)[0] == ('selected value=""', "")
    assert "__None" not in page
    assert re.search(rf'<select[^>]*data-placeholder="请选择"[^>]*name="{field}"', page)  # select2 shows it


@pytest.mark.parametrize("path", ["/collateralview/add", "/guarantorview/add", "/loanfeeview/add"])
def test_loan_part_forms_show_no_raw_blank_choice(login_as, path):
    response = login_as("admin").get(path)
    assert response.status_code == 200
    assert "__None" not in response.get_data(as_text=True)


def _intermediary(app, name="王中介"):
    from app.extensions import db
    from app.models import Branch, Intermediary

    with app.app_context():
        branch = db.session.execute(select(Branch).where(Branch.code == "BJ")).scalar_one()
        row = Intermediary(name=name, branch=branch, is_active=True)
        db.session.add(row)
        db.session.commit()
        return row.id


def _customer(app, id_number):
    from app.extensions import db
    from app.models import Customer

    with app.app_context():
        row = db.session.execute(select(Customer).where(Customer.id_number == id_number)).scalar_one()
        return row.id, row.intermediary_id


def test_customer_form_saves_a_blank_intermediary_as_null(app, login_as):
    client = login_as("officer_a")
    id_number = make_id("19850615", "131")
    form = person_form(user_id(app, "officer_a"), id_number=id_number, intermediary="")
    assert client.post("/customerpersonview/add", data=form).status_code == 302
    assert _customer(app, id_number)[1] is None


def test_customer_edit_sets_and_clears_the_intermediary(app, login_as):
    client = login_as("officer_a")
    broker = _intermediary(app)
    id_number = make_id("19850615", "131")
    form = person_form(user_id(app, "officer_a"), id_number=id_number, intermediary="")
    client.post("/customerpersonview/add", data=form)
    customer_id = _customer(app, id_number)[0]
    assert client.post(f"/customerpersonview/edit/{customer_id}",
                       data=dict(form, intermediary=str(broker))).status_code == 302
    assert _customer(app, id_number)[1] == broker
    assert client.post(f"/customerpersonview/edit/{customer_id}", data=form).status_code == 302
    assert _customer(app, id_number)[1] is None


def _intermediary_branch(app, intermediary_id):
    from app.extensions import db
    from app.models import Intermediary

    with app.app_context():
        return db.session.get(Intermediary, intermediary_id).branch_id


@pytest.mark.parametrize("blank", ["", "__None"])
def test_a_blank_choice_clears_a_relation_on_edit(app, login_as, blank):
    """select2's clear button posts "" (FAB's field kept the old relation then); "__None",
    FAB's old blank value, still clears too."""
    client = login_as("admin")
    broker = _intermediary(app)
    assert _intermediary_branch(app, broker) is not None
    options = _options(client.get(f"/intermediaryview/edit/{broker}").get_data(as_text=True), "branch")
    assert options[0] == ('value=""', "") and any("selected" in attrs for attrs, _label in options[1:])
    data = {"name": "王中介", "branch": blank, "is_active": "y"}
    assert client.post(f"/intermediaryview/edit/{broker}", data=data).status_code == 302
    assert _intermediary_branch(app, broker) is None


def test_a_blank_parent_branch_saves_null_and_a_bad_id_is_refused(app, login_as):
    from app.extensions import db
    from app.models import Branch

    client = login_as("admin")
    data = {"code": "GZ", "name": "广州分公司", "parent": "", "is_active": "y", "sort_order": "30"}
    r = client.post("/branchview/add", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    with app.app_context():
        row = db.session.execute(select(Branch).where(Branch.code == "GZ")).scalar_one()
        assert row.parent_id is None
    r = client.post("/branchview/add", data=dict(data, code="SZ", name="深圳分公司", parent="999999"))
    assert r.status_code == 200                               # the form again, with its error
    with app.app_context():
        assert db.session.execute(select(Branch).where(Branch.code == "SZ")).scalar_one_or_none() is None


# -- every screen: list (cells, search filters), show (cells), add form (blank choices) -----
# Views still allowed to print raw values (none: FAB's user screens use ReadableViewMixin too).
PENDING = set()


def _walk(app, client):
    """{view: [(url, what was found)]} over every ModelView's list page, the show page of
    its first row and its add form; and the number of pages of each kind seen."""
    offenders, seen = {}, {"list": 0, "show": 0, "add": 0}
    for view in _model_views(app):
        listing_url = _url(app, f"{view.endpoint}.list")
        listing = client.get(listing_url) if listing_url else None
        if listing is None or listing.status_code != 200:
            continue
        pages = [("list", listing_url, listing)]
        show = re.search(r'href="([^"]*/show/[^"?]+)', listing.get_data(as_text=True))
        for kind, url in (("show", show and html_lib.unescape(show.group(1))), ("add", _url(app, f"{view.endpoint}.add"))):
            response = client.get(url) if url else None
            if response is not None and response.status_code == 200:
                pages.append((kind, url, response))
        for kind, url, response in pages:
            seen[kind] += 1
            page = response.get_data(as_text=True)
            found = [cell for cell in _cells(page) if cell in RAW_VALUES] if kind != "add" else []
            found += _raw_blank_labels(page) if kind != "show" else []
            if found:
                offenders.setdefault(view.__class__.__name__, []).append((url, found[:5]))
    return offenders, seen


@pytest.mark.dirty
def test_no_screen_prints_true_false_none_or_a_raw_blank_choice(app, login_as, demo_data):
    offenders, seen = _walk(app, login_as("admin"))
    assert seen["list"] >= 80 and seen["show"] >= 25 and seen["add"] >= 40, seen
    assert {k: v for k, v in offenders.items() if k not in PENDING} == {}


@pytest.mark.dirty
def test_user_screens_print_no_raw_values(app, login_as, demo_data):
    client = login_as("admin")
    for url in ("/users/list/", "/users/add", "/users/show/1", "/roles/show/1"):
        page = client.get(url).get_data(as_text=True)
        assert not [c for c in _cells(page) if c in RAW_VALUES] and not _raw_blank_labels(page)


def test_booleans_read_yes_or_no_and_nothing_is_an_empty_cell(app, login_as):
    client = login_as("admin")
    cells = _cells(client.get("/loanproductview/list/").get_data(as_text=True))
    assert "是" in cells and not RAW_VALUES & set(cells)
    # the head office has no parent branch: an empty cell, not "None"
    page = client.get("/branchview/show/1").get_data(as_text=True)
    assert not RAW_VALUES & set(_cells(page)) and "是" in _cells(page)


def test_readable_keeps_a_views_own_formatter_and_markup(app):
    from markupsafe import Markup

    from app.views.base import ReadableFormatters, readable

    with app.test_request_context(headers={"Accept-Language": "zh"}):
        formatters = ReadableFormatters({"amount": lambda v: f"{v:,.2f}", "flag": lambda v: None})
        assert formatters.get("amount")(1234.5) == "1,234.50"
        assert formatters.get("flag")(True) == ""             # the own formatter's None too
        assert str(formatters.get("other")(False)) == "否" and str(readable(True)) == "是"
        assert readable(None) == "" and readable(0) == 0 and readable("None") == "None"
        assert readable(["甲", None, True]) == "甲、、是"
        link = Markup('<a href="/x">x</a>')
        assert readable(link) is link


def test_customer_edit_changes_the_officer(app, login_as):
    """The officer picked on the edit form is saved (like the intermediary, it was at risk of
    being lost to an autoflush in customers.prepare)."""
    from app.extensions import db
    from app.models import Customer

    client = login_as("admin")
    id_number = make_id("19850615", "131")
    form = person_form(user_id(app, "officer_a"), id_number=id_number, intermediary="")
    assert client.post("/customerpersonview/add", data=form).status_code == 302
    customer_id = _customer(app, id_number)[0]
    response = client.post(f"/customerpersonview/edit/{customer_id}",
                           data=dict(form, officer=str(user_id(app, "officer_b"))))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Customer, customer_id).officer_id == user_id(app, "officer_b")
