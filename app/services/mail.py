"""邮件: compose to users or customers (or typed addresses), an outbox with each e-mail's status
(sent, or failed with the SMTP error) and resend.

Delivery uses Flask-Mail with the SMTP settings of the app configuration (MAIL_SERVER,
MAIL_PORT, MAIL_USE_TLS / MAIL_USE_SSL, MAIL_USERNAME, MAIL_PASSWORD, MAIL_DEFAULT_SENDER),
read at each send so a changed configuration needs no restart of a worker's app. With
MAIL_SUPPRESS_SEND nothing is delivered and the e-mail is marked failed, so an outbox
never claims a delivery that did not happen.
"""
import re
from datetime import datetime, timedelta

from flask import current_app
from flask_mail import Connection, Message as MailMessage
from sqlalchemy import select, update

from app.domain.errors import DomainError
from app.extensions import db, mail
from app.models import AppUser, Customer
from app.models.messages import EmailMessage

ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def check_address(address, field="addresses"):
    value = (address or "").strip()
    if not ADDRESS.match(value):
        raise DomainError(f"邮箱地址“{address}”格式不正确", field)
    return value


def parse_addresses(text):
    return [check_address(p) for p in re.split(r"[\s,，;；]+", text or "") if p]


def compose(user, subject, body, user_ids=(), customer_ids=(), addresses="", draft=False, reminder_id=None):
    """One outbox row per recipient (queued, or draft). Commits; returns the rows."""
    try:
        subject, body = (subject or "").strip(), (body or "").strip()
        if not subject:
            raise DomainError("请填写邮件主题", "subject")
        if len(subject) > 200:
            raise DomainError("邮件主题不能超过 200 个字", "subject")
        if not body:
            raise DomainError("请填写邮件内容", "body")
        targets = [(a, None, None, None) for a in parse_addresses(addresses)]
        for user_id in user_ids or ():
            target = db.session.get(AppUser, int(user_id))
            if target is None:
                raise DomainError("所选用户不存在", "users")
            if not target.email or not ADDRESS.match(target.email):
                raise DomainError(f"用户“{target.real_name or target.username}”没有有效的邮箱地址", "users")
            targets.append((target.email, target.real_name or target.username, target.id, None))
        for customer_id in customer_ids or ():
            customer = db.session.get(Customer, int(customer_id))
            if customer is None:
                raise DomainError("所选客户不存在", "customer")
            if not customer.email or not ADDRESS.match(customer.email):
                raise DomainError(f"客户“{customer.name}”没有登记有效的邮箱地址", "customer")
            targets.append((customer.email, customer.name, None, customer.id))
        if not targets:
            raise DomainError("请选择收件人或填写邮箱地址", "addresses")
        rows = []
        for address, name, user_id, customer_id in targets:
            row = EmailMessage(to_address=address, to_name=name, user_id=user_id, customer_id=customer_id,
                               subject=subject, body=body, status="draft" if draft else "queued",
                               reminder_id=reminder_id, created_by_id=getattr(user, "id", None))
            db.session.add(row)
            rows.append(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return rows


def queue(address, subject, body, name=None, user_id=None, customer_id=None, reminder_id=None):
    """Add one queued e-mail in the caller's transaction (flush only)."""
    row = EmailMessage(to_address=check_address(address), to_name=name, user_id=user_id, customer_id=customer_id,
                       subject=subject[:200], body=body, status="queued", reminder_id=reminder_id)
    db.session.add(row)
    db.session.flush()
    return row


def _deliver(row):
    config = current_app.config
    state = mail.init_mail(config, current_app.debug, current_app.testing)
    if state.suppress:
        raise RuntimeError("邮件发送已关闭（MAIL_SUPPRESS_SEND）")
    sender = config.get("MAIL_DEFAULT_SENDER") or "microloan@localhost"
    message = MailMessage(subject=row.subject, recipients=[(row.to_name, row.to_address) if row.to_name
                                                           else row.to_address],
                          body=row.body, sender=sender, charset="utf-8")
    with Connection(state) as connection:   # this state, not the one made at start-up
        connection.send(message)


#: How long a sender may hold an e-mail in "sending" before it is taken to have died.
SENDING_LEASE_SECONDS = 600
INTERRUPTED = "发送过程中断（发送进程退出），邮件可能已发出也可能未发出：请核实后再重发"


def send_one(email_id):
    """Deliver one queued e-mail; its status becomes sent, or failed with the error.
    Claimed by one UPDATE (queued → sending, with the time) so two workers never send it twice."""
    claimed = db.session.execute(
        update(EmailMessage).where(EmailMessage.id == email_id, EmailMessage.status == "queued")
        .values(status="sending", claimed_at=datetime.now()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed != 1:
        return None
    row = db.session.get(EmailMessage, email_id)
    db.session.refresh(row)
    row.attempts = (row.attempts or 0) + 1
    try:
        _deliver(row)
    except Exception as exc:  # SMTP refusals, connection errors: recorded on the row
        row.status, row.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
    else:
        row.status, row.error, row.sent_at = "sent", None, datetime.now()
    db.session.commit()
    return row.status


def recover_interrupted(now=None):
    """E-mails left "sending" past the lease: their sender died mid-delivery (worker killed,
    connection lost). Whether the server took them cannot be known, so they are marked
    failed with the reason (kept, resendable by a person), never sent again by themselves.
    Returns how many."""
    now = now or datetime.now()
    stale = (EmailMessage.status == "sending") & (
        EmailMessage.claimed_at.is_(None) | (EmailMessage.claimed_at <= now - timedelta(seconds=SENDING_LEASE_SECONDS)))
    count = db.session.execute(update(EmailMessage).where(stale).values(status="failed", error=INTERRUPTED)
                               .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if count:
        current_app.logger.warning("Mail: %s e-mail(s) interrupted while sending marked failed", count)
    return count


def dispatch(limit=200, now=None):
    """Send the queued e-mails (after settling the sends that were interrupted)."""
    interrupted = recover_interrupted(now)
    ids = db.session.execute(select(EmailMessage.id).where(EmailMessage.status == "queued")
                             .order_by(EmailMessage.id).limit(limit)).scalars().all()
    db.session.commit()
    counts = {"interrupted": interrupted} if interrupted else {}
    for email_id in ids:
        status = send_one(email_id)
        if status:
            counts[status] = counts.get(status, 0) + 1
    return counts


def resend(email_id):
    row = db.session.get(EmailMessage, email_id)
    if row is None or row.status not in ("failed", "draft"):
        raise DomainError("只有发送失败的邮件或草稿可以发送")
    row.status, row.error = "queued", None
    db.session.commit()
    return row
