"""邮件 through a real SMTP listener on loopback (aiosmtpd): delivered, refused, unreachable."""
import email
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser
from app.models.messages import EmailMessage

from .message_helpers import in_process  # noqa: F401 (autouse: jobs run in-process)

from .test_loans import acting, make_customer

aiosmtpd = pytest.importorskip("aiosmtpd.controller")


class Handler:
    def __init__(self):
        self.messages = []
        self.refuse = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 Message accepted"


@pytest.fixture
def smtp(app):
    import socket

    with socket.socket() as probe:   # a free loopback port (aiosmtpd cannot take port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Handler()
    controller = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_SUPPRESS_SEND")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SUPPRESS_SEND=False)
    yield handler
    app.config.update(saved)
    controller.stop()


def _rows(app):
    with app.app_context():
        return [(r.to_address, r.status, r.error or "") for r in
                db.session.execute(select(EmailMessage).order_by(EmailMessage.id)).scalars()]


def test_delivered_to_users_customers_and_addresses(app, smtp):
    from app.services import mail

    customer_id = make_customer(app, name="诸葛亮", documents=False)
    with app.app_context():
        from app.models import Customer

        db.session.get(Customer, customer_id).email = "zhuge@example.com"
        db.session.execute(select(AppUser).where(AppUser.username == "manager")).scalar_one().email = "mgr@example.com"
        db.session.commit()
        manager_id = db.session.execute(select(AppUser.id).where(AppUser.username == "manager")).scalar_one()
    with acting(app, "officer_a") as user:
        mail.compose(user, "还款提醒", "您的借款本月到期。", user_ids=[manager_id], customer_ids=[customer_id],
                     addresses="other@example.com")
    with app.app_context():
        assert mail.dispatch() == {"sent": 3}
    assert sorted(to[0] for to, _msg in smtp.messages) == ["mgr@example.com", "other@example.com", "zhuge@example.com"]
    subject = str(make_header(decode_header(smtp.messages[0][1]["Subject"])))
    assert subject == "还款提醒"
    assert [s for _a, s, _e in _rows(app)] == ["sent", "sent", "sent"]


def test_refused_and_unreachable_are_recorded(app, smtp):
    from app.services import mail

    smtp.refuse.add("nobody@example.com")
    with acting(app, "officer_a") as user:
        mail.compose(user, "通知", "正文", addresses="nobody@example.com")
    with app.app_context():
        assert mail.dispatch() == {"failed": 1}
    (address, status, error), = _rows(app)
    assert status == "failed" and "550" in error

    # Resend after the mailbox exists.
    smtp.refuse.clear()
    with app.app_context():
        row_id = db.session.execute(select(EmailMessage.id)).scalar()
        mail.resend(row_id)
        assert mail.send_one(row_id) == "sent"
    assert len(smtp.messages) == 1

    app.config["MAIL_PORT"] = 9   # nothing listens there
    with acting(app, "officer_a") as user:
        (row,) = mail.compose(user, "通知2", "正文", addresses="x@example.com")
        row_id = row.id
    with app.app_context():
        assert mail.send_one(row_id) == "failed"
        assert "Connection refused" in db.session.get(EmailMessage, row_id).error or \
            "Errno" in db.session.get(EmailMessage, row_id).error


def test_mail_screens(app, login_as, smtp):
    officer = login_as("officer_a")
    r = officer.post("/mail/compose/", data={"addresses": "not-an-address", "subject": "S", "body": "B",
                                              "action": "send"})
    assert r.status_code == 200 and "格式不正确" in r.get_data(as_text=True)
    assert _rows(app) == []
    r = officer.post("/mail/compose/", data={"addresses": "a@example.com", "subject": "您好", "body": "正文",
                                              "action": "send"})
    assert r.status_code == 302
    assert [s for _a, s, _e in _rows(app)] == ["sent"] and len(smtp.messages) == 1
    assert "已发送" in officer.get("/mail/outbox/").get_data(as_text=True)


def test_an_email_left_sending_by_a_dead_sender_is_settled_not_resent(app, smtp):
    """A sender that died between the claim and the SMTP answer leaves the e-mail "sending":
    once the lease has passed, the next dispatch marks it failed with the reason (the server
    may have taken it) and does not send it again; a person resends it after checking."""
    from datetime import datetime, timedelta

    from app.services import mail

    with acting(app, "officer_a") as user:
        (row,) = mail.compose(user, "通知", "正文", addresses="a@example.com")
        row_id = row.id
    claimed = datetime(2026, 11, 30, 9, 0)
    with app.app_context():
        db.session.get(EmailMessage, row_id).status = "sending"     # as a killed sender leaves it
        db.session.get(EmailMessage, row_id).claimed_at = claimed
        db.session.commit()
        within = claimed + timedelta(seconds=mail.SENDING_LEASE_SECONDS - 1)
        assert mail.dispatch(now=within) == {}                          # still leased: left alone
        assert db.session.get(EmailMessage, row_id).status == "sending"
        assert mail.dispatch(now=claimed + timedelta(seconds=mail.SENDING_LEASE_SECONDS)) == {"interrupted": 1}
    (address, status, error), = _rows(app)
    assert status == "failed" and "请核实后再重发" in error and smtp.messages == []
    with app.app_context():
        mail.resend(row_id)
        assert mail.send_one(row_id) == "sent"
        assert db.session.get(EmailMessage, row_id).claimed_at is not None
    assert len(smtp.messages) == 1
