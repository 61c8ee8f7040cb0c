"""API fuzzing (issue #14 §3): schemathesis against the app's own OpenAPI spec.

The spec is read from ``/api/v1/_openapi`` as the admin sees it, and every operation in it
is exercised in-process through the WSGI app (``schemathesis.openapi.from_wsgi``: no
network, no server) with schema-conforming and schema-violating requests (schemathesis'
positive and negative modes). Path ids are drawn at random and from a small seeded
portfolio (a customer with an active loan and its receipt, a draft, a bank, an
intermediary), so that PUT and POST bodies reach real rows. Twice: as a branch officer (the
data scope's code paths) and as the admin (every operation). A new API is fuzzed the day
it is registered.

The checks: no 5xx; every 4xx answer is a JSON object with a non-empty ``message``.
Bounded and derandomized (the same requests on every run, no shrinking, no deadline), so
the file runs in about a minute; a failure lists the requests that failed.
"""
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from app.extensions import db

from ..conftest import TEST_PASSWORD, login, reset_database

#: Requests per operation and generation mode, by user.
EXAMPLES = {"officer_a": 6, "admin": 12}
#: Operations sent last (they may delete what the others use).
LAST = ("DELETE",)


@pytest.fixture(autouse=True)
def _baseline():
    """Overrides the per-test reset of tests/integration/conftest.py: the module's two
    tests share ``seeded``, which is reset when the module ends."""
    yield


def token(client, username):
    response = client.post("/api/v1/security/login", json={
        "username": username, "password": TEST_PASSWORD, "provider": "db", "refresh": False})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def reset(app):
    with app.app_context():
        reset_database()


@pytest.fixture(scope="module")
def seeded(app, request):
    """{resource: [ids of existing rows]}: what path ids are drawn from besides chance."""
    request.addfinalizer(lambda: reset(app))  # also when the set-up fails half-way
    from sqlalchemy import select

    from app.models import Loan, LoanProduct

    from .servicing_helpers import active_loan, capital, due_date, on, repay
    from .test_loans import BUSINESS_DATE

    capital(app)
    loan_id = active_loan(app, lambda username: login(app.test_client(), username))
    due = due_date(app, loan_id, 1)
    on(app, due)
    repay(app, loan_id, "1000.00", due)
    client = app.test_client()
    auth = token(client, "admin")
    bank = client.post("/api/v1/bank/", json={"name": "招商银行"}, headers=auth).get_json()["id"]
    agent = client.post("/api/v1/intermediary/", json={"name": "某某咨询", "commission_rate": "1.5"},
                        headers=auth).get_json()["id"]
    with app.app_context():
        customer_id = db.session.get(Loan, loan_id).customer_id
        products = db.session.execute(select(LoanProduct.id).order_by(LoanProduct.id)).scalars().all()
        db.session.remove()
    draft = client.post("/api/v1/loan/", headers=token(client, "officer_a"), json={
        "customer": customer_id, "product": products[0], "amount": "50000", "term": 6, "annual_rate": "10",
        "method": "equal_installment", "start_date": BUSINESS_DATE.isoformat(), "purpose": "working_capital",
        "guarantee_types": "unsecured"})
    assert draft.status_code == 201, draft.get_json()
    loans = [loan_id, draft.get_json()["id"]]
    return {"customer": [customer_id], "loan": loans, "loans": loans, "loan_product": products[:2],
           "bank": [bank], "intermediary": [agent]}


def problem(response):
    """What is wrong with an answer (None when nothing is)."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.content[:300]!r}"
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return f"{response.status_code}, not JSON: {response.content[:200]!r}"
    if not isinstance(body, dict) or body.get("message") in (None, "", {}, []):
        return f"{response.status_code}, no message: {str(body)[:200]}"
    return None


def describe(case):
    body = case.body if isinstance(case.body, (dict, list, str, int, float, bool, type(None))) else "…"
    return f"{case.method} {case.formatted_path} query={case.query} body={str(body)[:300]}"


def fuzz(app, seeded, username):
    """Every operation of the spec, ``EXAMPLES[username]`` requests per mode; returns the
    failures and the number of requests sent."""
    client = app.test_client()
    auth = token(client, username)
    schema = schemathesis.openapi.from_wsgi("/api/v1/_openapi", app, headers=token(client, "admin"))
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: (op.method.upper() in LAST, op.path, op.method))
    failures, sent = [], 0
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        parts = operation.path.split("/")
        ids = seeded.get(parts[3], []) if operation.path.startswith("/api/v1/") else []
        strategies = []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(operation.as_strategy(generation_mode=mode))
            if len(names) == 1 and ids:
                strategies.append(st.sampled_from(ids).flatmap(
                    lambda value, mode=mode: operation.as_strategy(
                        generation_mode=mode, path_parameters={names[0]: value})))

        @settings(max_examples=EXAMPLES[username] * 2, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(strategies))
        def run(case):
            nonlocal sent
            sent += 1
            # Our token replaces whatever Authorization the case carries (the spec's security).
            response = case.call(headers=auth)
            found = problem(response)
            if found:
                failures.append(f"{describe(case)} → {found}")

        run()
    return failures, sent


@pytest.mark.parametrize("username", ["officer_a", "admin"])
def test_no_5xx_and_every_4xx_is_json_with_a_message(app, seeded, username):
    failures, sent = fuzz(app, seeded, username)
    assert sent >= 30 * EXAMPLES[username]
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:30])
