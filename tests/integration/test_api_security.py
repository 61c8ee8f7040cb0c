"""API access and data scope (issue #14 §2), generated from the app's own OpenAPI spec.

Every operation in ``/api/v1/_openapi`` (read as the admin) is mapped to its Flask route,
view and permission, so an API registered tomorrow is covered the day it lands:

- an operation the spec lacks but the router has fails ``test_the_spec_lists_every_api_route``;
- anonymous → 401, with a token and with a session cookie;
- every built-in role: without the permission → 403 (what FAB 5 answers, everywhere);
  with it → neither 401 nor 403;
- data scope: users of branch A (北京) of every branch-scoped role guess the ids of a branch-B
  (上海) customer, loan, receipt and intermediary in every operation with a path id: 403 or
  404, never the data, nothing changed; every list and ``_info`` of theirs holds none of the
  branch-B rows (the branch-B names, numbers and ID numbers are "canaries" searched for in
  every body), counts only their own rows, and ``q`` filters on a branch-B value find nothing.
  Each resource of the spec must be classified as branch-scoped or company-wide below.
"""
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db

from ..conftest import TEST_PASSWORD, TEST_USERS, login, reset_database

# -- classification of the spec's resources (/api/v1/<resource>/…) ---------------------

#: resource → the kind of branch-scoped row its path ids name.
SCOPED = {"customer": "customer", "loan": "loan", "loans": "loan", "intermediary": "intermediary"}
#: resource → why it is not branch-scoped.
COMPANY_WIDE = {
    "bank": "partner banks are shared by the company",
    "loan_product": "products are shared by the company",
    "schedule": "a calculator: stores nothing",
    "menu": "the caller's own menu",
    "security": "FAB's JWT login and refresh",
    "sms": "the SMS gateway's callback, checked by its own token",
    "_openapi": "the API description",
}
#: Operations anyone may call (no FAB permission): (method, path) → what guards them.
PUBLIC = {
    ("POST", "/api/v1/security/login"): "user name and password",
    ("POST", "/api/v1/security/refresh"): "a refresh token",
    ("GET", "/api/v1/sms/callback/{token}"): "the shared SMS_CALLBACK_TOKEN",
    ("POST", "/api/v1/sms/callback/{token}"): "the shared SMS_CALLBACK_TOKEN",
}
#: Branch-A (北京) users, one per branch-scoped built-in role (the Admin and the Manager
#: see every branch: they are the control group).
BRANCH_A_USERS = {"officer_a": "LoanOfficer", "risk_a": "RiskReviewer", "approver_a": "Approver",
                  "finance_a": "Finance", "archivist_a": "Archivist"}
MISSING_ID = 987654321


@dataclass(frozen=True)
class Operation:
    method: str
    path: str        # as in the spec: /api/v1/customer/{pk}
    view: str        # FAB's class permission name
    permission: str  # can_… (None: public)
    params: tuple    # path parameter names

    @property
    def resource(self):
        parts = self.path.split("/")
        return parts[3] if self.path.startswith("/api/v1/") else parts[-1]

    def url(self, value=MISSING_ID):
        return re.sub(r"\{(\w+)\}", lambda m: {"version": "v1", "token": "x"}.get(m.group(1), str(value)), self.path)

    def __str__(self):
        return f"{self.method} {self.path}"


# -- helpers ----------------------------------------------------------------------------

def token(client, username):
    response = client.post("/api/v1/security/login", json={
        "username": username, "password": TEST_PASSWORD, "provider": "db", "refresh": False})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def call(client, op, value=MISSING_ID, headers=None, body=None, query=None):
    url = op.url(value) + (f"?q={query}" if query else "")
    kwargs = {"headers": headers or {}}
    if op.method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {} if body is None else body
    return client.open(url, method=op.method, **kwargs)


def is_json(response):
    try:
        json.loads(response.get_data(as_text=True))
    except ValueError:
        return False
    return response.mimetype == "application/json"


def granted(app, username):
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        result = {(pv.permission.name, pv.view_menu.name) for role in user.roles for pv in role.permissions}
        db.session.remove()
    return result


@pytest.fixture(scope="module")
def spec(app):
    client = app.test_client()
    response = client.get("/api/v1/_openapi", headers=token(client, "admin"))
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture(scope="module")
def operations(app, spec):
    """Every operation of the spec with the view and permission of its route."""
    views = {view.blueprint.name: view for view in app.appbuilder.baseviews
             if getattr(view, "blueprint", None) is not None}
    adapter = app.url_map.bind("localhost")
    result = []
    for path, item in spec["paths"].items():
        for method in item:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            op = Operation(method.upper(), path, "", None, tuple(re.findall(r"\{(\w+)\}", path)))
            endpoint, _args = adapter.match(op.url(), method=op.method)
            blueprint, _, name = endpoint.partition(".")
            view = views[blueprint]
            protected = hasattr(getattr(view, name), "_permission_name")
            result.append(Operation(op.method, path, view.class_permission_name,
                                    "can_" + view.get_method_permission(name) if protected else None, op.params))
    assert len(result) > 20
    return result


# -- the spec covers the router ----------------------------------------------------------

def test_the_spec_lists_every_api_route(app, operations):
    """A route under /api/ that the spec lacks would escape every generated test."""
    in_spec = {(op.method, op.url()) for op in operations}
    adapter = app.url_map.bind("localhost")
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint.endswith(".static"):
            continue
        url = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "v1" if m.group(2) == "version" else
                     ("x" if m.group(2) == "token" else str(MISSING_ID)), rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, url) not in in_spec and adapter.match(url, method=method)[0] == rule.endpoint:
                missing.append(f"{method} {rule.rule}")
    assert missing == []


def test_every_resource_is_classified(operations):
    resources = {op.resource for op in operations}
    unknown = resources - set(SCOPED) - set(COMPANY_WIDE)
    assert unknown == set(), f"classify these API resources in SCOPED or COMPANY_WIDE: {unknown}"
    unprotected = {(op.method, op.path) for op in operations if op.permission is None}
    assert unprotected == set(PUBLIC), "an API operation without a FAB permission check"


# -- authentication and permissions --------------------------------------------------------

def test_anonymous_gets_401(app, operations):
    client = app.test_client()
    failures = []
    for op in operations:
        if op.permission is None:
            continue
        for headers in ({}, {"Authorization": "Basic YWRtaW46eA=="}):
            response = call(client, op, headers=headers)
            if response.status_code != 401 or not is_json(response):
                failures.append((str(op), headers, response.status_code, response.get_data(as_text=True)[:100]))
    assert failures == []


def test_bad_tokens_are_401_with_a_message(app, operations):
    client = app.test_client()
    op = next(op for op in operations if op.path == "/api/v1/customer/" and op.method == "GET")
    failures = []
    for headers in ({}, {"Authorization": "Bearer abc"}, {"Authorization": "Bearer a.b.c"},
                    {"Authorization": "Bearer " + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}):
        response = call(client, op, headers=headers)
        body = response.get_json(silent=True) or {}
        if response.status_code != 401 or not body.get("message"):
            failures.append((headers, response.status_code, body))
    assert failures == []


@pytest.mark.parametrize("username", sorted(TEST_USERS))
def test_role_matrix(app, operations, username):
    """Token and session cookie alike: no permission → 403 with a JSON message; the
    permission → past the check (the missing id or the empty body then answers)."""
    rights = granted(app, username)
    token_client = app.test_client()
    auth = token(token_client, username)
    session_client = login(app.test_client(), username)
    failures, allowed_count = [], 0
    for op in operations:
        if op.permission is None:
            continue
        allowed = (op.permission, op.view) in rights
        allowed_count += allowed
        for client, headers in ((token_client, auth), (session_client, {})):
            response = call(client, op, headers=headers)
            status = response.status_code
            if allowed and (status in (401, 403) or status >= 500 or not is_json(response)):
                failures.append((str(op), "token" if headers else "session", "expected access", status))
            if not allowed and (status != 403 or not (response.get_json(silent=True) or {}).get("message")):
                failures.append((str(op), "token" if headers else "session", "expected 403", status))
    assert failures == []
    if username in ("admin", "finance", "officer_a"):
        assert allowed_count > 5


# -- data scope ---------------------------------------------------------------------------

@dataclass
class World:
    """Rows of branch A (北京, officer_a) and branch B (上海, officer_b)."""

    a: dict      # kind → id
    b: dict
    canaries: list   # text of branch B's rows that no branch-A user may ever see
    b_values: dict   # filterable column → a branch-B value


def _branch_id(code):
    from app.models import Branch

    return db.session.execute(select(Branch.id).where(Branch.code == code)).scalar_one()


def reset(app):
    with app.app_context():
        reset_database()


@pytest.fixture(scope="module")
def world(app, request):
    """Built once for the module's read-only tests; the database is reset afterwards."""
    request.addfinalizer(lambda: reset(app))  # also when the set-up fails half-way
    from app.models import Branch, Customer, Intermediary, Loan
    from app.models.servicing import Repayment
    from app.services import disbursement
    from app.services.setup import ensure_user

    from .servicing_helpers import capital, due_date, finance_user, fund, on, repay
    from .test_loans import BUSINESS_DATE, create_loan, make_customer, set_setting

    set_setting(app, "business_date", BUSINESS_DATE.isoformat())
    with app.app_context():
        bj = db.session.get(Branch, _branch_id("BJ"))
        for username, role in BRANCH_A_USERS.items():
            ensure_user(username, [role], TEST_PASSWORD, username, "测试", branch=bj)
        db.session.remove()
    capital(app)
    admin = app.test_client()
    auth = token(admin, "admin")
    ids = {}
    for branch, officer in (("a", "officer_a"), ("b", "officer_b")):
        name = "京测试客户" if branch == "a" else "沪测试客户"
        customer_id = make_customer(app, name=name, officer=officer, documents=False)
        loan_id = create_loan(app, login(app.test_client(), officer), customer_id,
                              officer=officer, guarantee_types=["unsecured"], annual_rate="12")
        with app.app_context():
            db.session.get(Loan, loan_id).status = "ready_to_disburse"
            db.session.commit()
            disbursement.disburse(loan_id, finance_user(), fund(), BUSINESS_DATE, "工商银行", name,
                                  "6222020200112233445")
            branch_id = _branch_id("BJ" if branch == "a" else "SH")
            db.session.remove()
        response = admin.post("/api/v1/intermediary/", headers=auth, json={
            "name": "京测试中介" if branch == "a" else "沪测试中介", "branch": branch_id,
            "contact_phone": "13700137000"})
        assert response.status_code == 201, response.get_json()
        ids[branch] = {"customer": customer_id, "loan": loan_id, "intermediary": response.get_json()["id"]}
    due = due_date(app, ids["b"]["loan"], 1)
    on(app, due)
    repay(app, ids["b"]["loan"], "1000.00", due)
    with app.app_context():
        customer = db.session.get(Customer, ids["b"]["customer"])
        loan = db.session.get(Loan, ids["b"]["loan"])
        receipt = db.session.execute(select(Repayment).where(Repayment.loan_id == loan.id)).scalar_one()
        agent = db.session.get(Intermediary, ids["b"]["intermediary"])
        canaries = [customer.name, customer.customer_no, customer.id_number, loan.loan_no, receipt.receipt_no,
                    agent.name, "officer_b"]
        b_values = {"name": [customer.name, agent.name], "customer_no": [customer.customer_no],
                    "id_number": [customer.id_number], "loan_no": [loan.loan_no], "receipt_no": [receipt.receipt_no]}
        db.session.remove()
    return World(ids["a"], ids["b"], canaries, b_values)


def _state(app, world):
    """Branch B's rows as stored, and the ledger's row counts: a refused request changes none."""
    from app.models import Customer, Installment, Intermediary, JournalLine, Loan, Voucher
    from app.models.servicing import Repayment

    with app.app_context():
        customer = db.session.get(Customer, world.b["customer"])
        loan = db.session.get(Loan, world.b["loan"])
        agent = db.session.get(Intermediary, world.b["intermediary"])
        state = {
            "customer": (customer.name, customer.mobile, customer.version),
            "loan": (loan.status, loan.amount, loan.version,
                     str(sum((i.principal_paid for i in loan.installments), Decimal(0)))),
            "intermediary": (agent.name, agent.commission_rate),
            **{model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
               for model in (Customer, Loan, Intermediary, Repayment, Voucher, JournalLine, Installment)},
        }
        db.session.remove()
    return state


def _leaks(response, world):
    text = response.get_data(as_text=True)
    body = response.get_json(silent=True)
    if body is not None:  # Flask writes Chinese as \uXXXX escapes
        text = json.dumps(body, ensure_ascii=False, default=str)
    return [c for c in world.canaries if c and c in text]


#: Bodies that would change the row if the scope check were missing.
WRITE_BODIES = {
    ("PUT", "customer"): {"mobile": "13900139000"},
    ("PUT", "intermediary"): {"name": "改名"},
    ("PUT", "loan"): {"amount": "50000"},
}


def _body(op, app):
    if op.method == "POST" and op.path.endswith("/repayments"):
        from .servicing_helpers import bank_id

        return {"amount": "100.00", "fund_account_id": bank_id(app), "idempotency_key": uuid.uuid4().hex}
    return WRITE_BODIES.get((op.method, op.resource), {})


def test_branch_a_cannot_reach_branch_b_rows_by_id(app, operations, world):
    """Every operation with a path id, every branch-scoped role: 403 or 404, no data, no change."""
    before = _state(app, world)
    by_id = [op for op in operations if op.params and op.resource in SCOPED]
    assert {op.resource for op in by_id} == set(SCOPED)
    failures = []
    for username in BRANCH_A_USERS:
        client = app.test_client()
        auth = token(client, username)
        for op in by_id:
            response = call(client, op, world.b[SCOPED[op.resource]], auth, _body(op, app))
            if response.status_code not in (403, 404) or not is_json(response) or _leaks(response, world):
                failures.append((username, str(op), response.status_code, _leaks(response, world)))
    assert failures == []
    assert _state(app, world) == before
    # The control group sees the same rows: the ids probed above are real.
    for username in ("admin", "manager"):
        client = app.test_client()
        auth = token(client, username)
        for op in by_id:
            if op.method == "GET":
                response = call(client, op, world.b[SCOPED[op.resource]], auth)
                if username == "manager" and response.status_code == 403:  # no permission at all
                    continue
                assert response.status_code == 200, (username, str(op), response.status_code)


def test_branch_a_lists_hold_only_branch_a_rows(app, operations, world):
    """Every GET without a path id (lists, _info, menu …): no branch-B text anywhere; the
    lists of branch-scoped resources count and return exactly the branch-A row."""
    listing = [op for op in operations if op.method == "GET" and not op.params and op.permission]
    failures = []
    for username in BRANCH_A_USERS:
        client = app.test_client()
        auth = token(client, username)
        for op in listing:
            response = call(client, op, headers=auth, query="(page_size:100)" if op.path.endswith("/") else None)
            if response.status_code == 403:
                continue
            if response.status_code != 200 or _leaks(response, world):
                failures.append((username, str(op), response.status_code, _leaks(response, world)))
                continue
            body = response.get_json()
            if op.resource in SCOPED and "count" in body:
                ids = [row.get("id") for row in body["result"]]
                if body["count"] != 1 or ids != [world.a[SCOPED[op.resource]]]:
                    failures.append((username, str(op), "rows", body["count"], ids))
    assert failures == []
    admin = app.test_client()
    auth = token(admin, "admin")
    for op in listing:
        if op.resource in SCOPED and op.path.endswith("/"):
            assert call(admin, op, headers=auth).get_json()["count"] == 2, str(op)


def _rison(value):
    return "'" + str(value).replace("!", "!!").replace("'", "!'") + "'"


def test_filters_on_branch_b_values_find_nothing(app, operations, world):
    """``q`` filters (every column a list offers that holds a canary, equal / contains)
    on branch-B values: the admin finds the row, branch-A users find nothing."""
    lists = [op for op in operations if op.method == "GET" and op.path.endswith("/") and op.resource in SCOPED]
    admin = app.test_client()
    admin_auth = token(admin, "admin")
    probes = []
    for op in lists:
        info = admin.get(op.path + "_info", headers=admin_auth).get_json()
        for column, operators in info["filters"].items():
            names = {o["operator"] for o in operators}
            for value in world.b_values.get(column, []):
                for opr in ("eq", "ct") if {"eq", "ct"} <= names else sorted(names & {"eq", "ct", "sw"})[:1]:
                    query = f"(filters:!((col:{column},opr:{opr},value:{_rison(value)})),page_size:100)"
                    if call(admin, op, headers=admin_auth, query=query).get_json()["count"] >= 1:
                        probes.append((op, query))
        # A relation filter on the branch-B customer.
        if "customer" in info["filters"]:
            query = f"(filters:!((col:customer,opr:rel_o_m,value:{world.b['customer']})))"
            assert call(admin, op, headers=admin_auth, query=query).get_json()["count"] == 1
            probes.append((op, query))
    assert len(probes) >= 6, probes
    failures = []
    for username in BRANCH_A_USERS:
        client = app.test_client()
        auth = token(client, username)
        for op, query in probes:
            response = call(client, op, headers=auth, query=query)
            if response.status_code == 403:
                continue
            if response.status_code != 200 or response.get_json()["count"] != 0 or _leaks(response, world):
                failures.append((username, str(op), query, response.status_code))
    assert failures == []


def test_branch_b_ids_in_a_request_body_are_refused(app, world):
    """A branch-A officer naming branch-B rows in a body (customer, intermediary, officer,
    branch): a 422 naming the field, nothing saved."""
    from app.models import AppUser

    before = _state(app, world)
    client = app.test_client()
    auth = token(client, "officer_a")
    with app.app_context():
        officer_b = db.session.execute(select(AppUser.id).where(AppUser.username == "officer_b")).scalar_one()
        sh = _branch_id("SH")
        db.session.remove()
    from .test_loans import BUSINESS_DATE, product_id

    loan = {"customer": world.a["customer"], "product": product_id(app), "amount": "50000", "term": 6,
            "annual_rate": "10", "method": "equal_installment", "start_date": BUSINESS_DATE.isoformat(),
            "purpose": "working_capital", "guarantee_types": "unsecured"}
    cases = [
        ("post", "/api/v1/loan/", dict(loan, customer=world.b["customer"]), "customer"),
        ("post", "/api/v1/loan/", dict(loan, officer=officer_b), "officer"),
        ("post", "/api/v1/loan/", dict(loan, intermediary=world.b["intermediary"]), "intermediary"),
        ("put", f"/api/v1/customer/{world.a['customer']}", {"intermediary": world.b["intermediary"]}, "intermediary"),
        ("put", f"/api/v1/customer/{world.a['customer']}", {"officer": officer_b}, "officer"),
        ("put", f"/api/v1/intermediary/{world.a['intermediary']}", {"branch": sh}, "branch"),
        ("post", "/api/v1/intermediary/", {"name": "越权中介", "branch": sh}, "branch"),
    ]
    failures = []
    for method, url, body, field in cases:
        response = getattr(client, method)(url, json=body, headers=auth)
        message = (response.get_json(silent=True) or {}).get("message")
        if response.status_code != 422 or not isinstance(message, dict) or field not in message:
            failures.append((method, url, field, response.status_code, message))
    assert failures == []
    assert _state(app, world) == before


def test_a_request_body_cannot_create_related_rows(app, world):
    """A relation is the id of an existing row. marshmallow-sqlalchemy's own field would
    build a new row from an unknown id or an object: an officer could have created loan
    products, intermediaries or users through a loan or a customer."""
    from app.models import AppUser, Branch, Customer, Intermediary, Loan, LoanProduct

    from .test_loans import BUSINESS_DATE, product_id

    def counts():
        with app.app_context():
            result = [db.session.execute(select(func.count()).select_from(m)).scalar_one()
                      for m in (AppUser, Branch, Customer, Intermediary, Loan, LoanProduct)]
            db.session.remove()
        return result

    before = counts()
    client = app.test_client()
    auth = token(client, "officer_a")
    loan = {"customer": world.a["customer"], "product": product_id(app), "amount": "50000", "term": 6,
            "annual_rate": "10", "method": "equal_installment", "start_date": BUSINESS_DATE.isoformat(),
            "purpose": "working_capital", "guarantee_types": "unsecured"}
    fake_product = {"id": 9999, "code": "FAKE", "name": "伪造产品", "methods": "bullet", "min_amount": 1,
                    "max_amount": 10 ** 9, "min_term": 1, "max_term": 999, "min_rate": 0, "max_rate": 99}
    cases = [
        ("post", "/api/v1/loan/", dict(loan, product=fake_product), "product"),
        ("post", "/api/v1/loan/", dict(loan, product=9999), "product"),
        ("put", f"/api/v1/customer/{world.a['customer']}",
         {"intermediary": {"id": 9999, "name": "伪造中介", "commission_rate": 99}}, "intermediary"),
        ("put", f"/api/v1/customer/{world.a['customer']}", {"officer": {"id": 9999, "username": "hacker"}},
         "officer"),
        ("put", f"/api/v1/intermediary/{world.a['intermediary']}",
         {"branch": {"id": 9999, "code": "X", "name": "伪造"}}, "branch"),
    ]
    failures = []
    for method, url, body, field in cases:
        response = getattr(client, method)(url, json=body, headers=auth)
        message = (response.get_json(silent=True) or {}).get("message")
        if response.status_code != 422 or not isinstance(message, dict) or field not in message:
            failures.append((method, url, field, response.status_code, message))
    assert failures == []
    assert counts() == before
