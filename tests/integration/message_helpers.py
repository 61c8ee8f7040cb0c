"""Shared set-up for the message-center tests: a loopback HTTP SMS gateway, a loopback SMTP
server (aiosmtpd), and a small portfolio of active loans written directly (fast)."""
import threading

import pytest
import urllib.parse
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, Branch, Installment, Loan, LoanProduct

from .test_loans import make_customer

_LOAN_SEQ = iter(range(1, 100000))


class Gateway:
    """A loopback SMS gateway: records every request; answers ``fail_next`` requests with
    HTTP 500, then ``{"code": 0}`` (or ``answer``)."""

    def __init__(self):
        self.requests = []
        self.fail_next = 0
        self.answer = '{"code": 0, "msg": "ok"}'
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8") if length else ""
                query = urllib.parse.urlparse(self.path).query
                values = dict(urllib.parse.parse_qsl(body or query))
                gateway.requests.append({"method": self.command, "path": self.path, "values": values})
                if gateway.fail_next > 0:
                    gateway.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"busy")
                    return
                data = gateway.answer.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def mobiles(self):
        return [r["values"].get("mobile") for r in self.requests]


@contextmanager
def app_config(app, settings):
    """``app.config`` with ``settings`` for the block, restored after it."""
    saved = {k: app.config.get(k) for k in settings}
    app.config.update(settings)
    try:
        yield
    finally:
        app.config.update(saved)


@contextmanager
def loopback_gateway(app, **config):
    gateway = Gateway()
    gateway.thread.start()
    settings = {"SMS_BACKEND": "http", "SMS_HTTP_URL": gateway.url, "SMS_HTTP_METHOD": "POST",
                "SMS_HTTP_PARAMS": '{"account": "ml", "mobile": "{mobile}", "content": "{sign}{content}"}',
                "SMS_HTTP_SUCCESS": r'"code"\s*:\s*0', "SMS_SIGNATURE": "【测试小贷】", "SMS_HTTP_TIMEOUT": "5"}
    settings.update(config)
    try:
        with app_config(app, settings):
            yield gateway
    finally:
        gateway.server.shutdown()
        gateway.server.server_close()


def user_id(username):
    return db.session.execute(select(AppUser.id).where(AppUser.username == username)).scalar_one()


def portfolio_loan(app, name, dues, mobile="13800138000", officer="officer_a", amount="10000.00", paid_seqs=()):
    """An active loan of ``name`` whose installments fall due on ``dues`` (one each,
    1,000.00 principal + 50.00 interest); ``paid_seqs`` are paid off. Returns (loan id,
    customer id)."""
    customer_id = make_customer(app, name=name, officer=officer, documents=False)
    with app.app_context():
        from app.models import Customer

        customer = db.session.get(Customer, customer_id)
        customer.mobile = mobile
        officer_user = db.session.execute(select(AppUser).where(AppUser.username == officer)).scalar_one()
        product = db.session.execute(select(LoanProduct).where(LoanProduct.code == "GRJYD")).scalar_one()
        start = min(dues) - timedelta(days=30)
        loan = Loan(loan_no=f"DKT{next(_LOAN_SEQ):06d}", customer_id=customer_id, product_id=product.id,
                    amount=Decimal(amount), term=len(dues), annual_rate=Decimal("12"), method="equal_principal",
                    start_date=start, purpose="working_capital", officer_id=officer_user.id,
                    branch_id=officer_user.branch_id or db.session.execute(select(Branch.id)).scalars().first(),
                    status="active")
        db.session.add(loan)
        db.session.flush()
        previous = start
        for seq, due in enumerate(sorted(dues), start=1):
            paid = seq in paid_seqs
            db.session.add(Installment(
                loan_id=loan.id, seq=seq, start_date=previous, due_date=due, principal=Decimal("1000.00"),
                interest=Decimal("50.00"), total=Decimal("1050.00"), balance=Decimal("0.00"),
                principal_paid=Decimal("1000.00") if paid else 0, interest_paid=Decimal("50.00") if paid else 0,
                paid_off_on=due if paid else None))
            previous = due
        db.session.commit()
        return loan.id, customer_id


@pytest.fixture(autouse=True)
def in_process(app):
    """Jobs run in-process in these tests (as without REDIS_URL), whatever the environment
    says; the RQ test sets REDIS_URL itself."""
    saved = app.config.get("REDIS_URL")
    app.config["REDIS_URL"] = None
    yield
    app.config["REDIS_URL"] = saved
