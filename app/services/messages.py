"""系统短消息: compose to users, roles or departments (optionally about a loan or a customer),
inbox with unread count, sent, drafts (草稿箱), unsent (未发送: scheduled for later), read
receipts, and "delete for me".

``deliver`` is how the system writes a message (workflow notifications, reminders): one
message row, one recipient row per user, in the caller's transaction.
"""
import json
from datetime import datetime

from flask_appbuilder.security.sqla.models import assoc_user_role
from sqlalchemy import and_, func, or_, select, update

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Customer, Department, Loan, Notification
from app.models.messages import Message, MessageRecipient

MAX_SUBJECT = 200
FOLDERS = {"inbox": "收件箱", "sent": "已发送", "drafts": "草稿箱", "unsent": "未发送"}


def _ids(values):
    result = []
    for value in values or ():
        try:
            result.append(int(value))
        except (TypeError, ValueError):
            raise DomainError("收件人选择有误，请重新选择", "users") from None
    return sorted(set(result))


def resolve_audience(user_ids=(), role_ids=(), department_ids=()):
    """The active users chosen directly, holding one of the roles, or in one of the
    departments (sorted ids)."""
    ids = set(_ids(user_ids))
    role_ids, department_ids = _ids(role_ids), _ids(department_ids)
    if role_ids:
        ids |= set(db.session.execute(select(assoc_user_role.c.user_id)
                                      .where(assoc_user_role.c.role_id.in_(role_ids))).scalars())
    if department_ids:
        ids |= set(db.session.execute(select(AppUser.id).where(AppUser.department_id.in_(department_ids))).scalars())
    if not ids:
        return []
    return sorted(db.session.execute(select(AppUser.id).where(AppUser.id.in_(ids), AppUser.active.is_(True)))
                  .scalars())


def _audience_label(user_ids, role_ids, department_ids):
    from flask_appbuilder.security.sqla.models import Role

    parts = []
    if user_ids:
        users = db.session.execute(select(AppUser).where(AppUser.id.in_(user_ids))).scalars().all()
        parts.append("、".join(u.real_name or u.username for u in users))
    if role_ids:
        parts.append("角色：" + "、".join(db.session.execute(select(Role.name).where(Role.id.in_(role_ids))).scalars()))
    if department_ids:
        parts.append("部门：" + "、".join(
            db.session.execute(select(Department.name).where(Department.id.in_(department_ids))).scalars()))
    return "；".join(parts)[:500]


def link_for(loan_id=None, customer_id=None):
    if loan_id:
        return f"/loanview/show/{loan_id}"
    if customer_id:
        return f"/customerview/show/{customer_id}"
    return None


def compose(sender, subject, body="", user_ids=(), role_ids=(), department_ids=(), loan_id=None, customer_id=None,
            action="send", scheduled_at=None, message_id=None, now=None):
    """Save a message from ``sender``: ``action`` is "send" (now), "schedule" (未发送 until
    ``scheduled_at``) or "draft". ``message_id`` edits an existing draft or scheduled message
    of the sender. Commits; nothing is saved when a check fails."""
    now = now or datetime.now()
    try:
        subject = (subject or "").strip()
        if not subject:
            raise DomainError("请填写主题", "subject")
        if len(subject) > MAX_SUBJECT:
            raise DomainError(f"主题不能超过 {MAX_SUBJECT} 个字", "subject")
        if action not in ("send", "schedule", "draft"):
            raise DomainError("未知的操作", "action")
        user_ids, role_ids, department_ids = _ids(user_ids), _ids(role_ids), _ids(department_ids)
        loan_id = int(loan_id) if loan_id else None
        customer_id = int(customer_id) if customer_id else None
        if loan_id:
            from app.services import loans

            loan = db.session.get(Loan, loan_id)
            if loan is None or not loans.can_see(loan, sender):
                raise DomainError("所选项目不存在或无权查看", "loan")
            customer_id = customer_id or loan.customer_id
        if customer_id:
            from app.services.scope import can_see_branch

            customer = db.session.get(Customer, customer_id)
            if customer is None or not can_see_branch(customer.branch_id, sender):
                raise DomainError("所选客户不存在或无权查看", "customer")
        recipients = resolve_audience(user_ids, role_ids, department_ids)
        if action != "draft" and not recipients:
            raise DomainError("请选择收件人（用户、角色或部门，且其中有启用的用户）", "users")
        if action == "schedule":
            if scheduled_at is None:
                raise DomainError("请填写定时发送的时间", "scheduled_at")
            if scheduled_at <= now:
                raise DomainError("定时发送的时间必须晚于现在", "scheduled_at")
        if message_id:
            message = db.session.get(Message, int(message_id))
            if message is None or message.sender_id != sender.id or message.status == "sent":
                raise DomainError("只能修改自己的草稿或未发送的消息", "subject")
        else:
            message = Message(sender_id=sender.id, source="user")
            db.session.add(message)
        message.subject, message.body = subject, (body or "").strip()
        message.loan_id, message.customer_id = loan_id, customer_id
        message.link = link_for(loan_id, customer_id)
        message.audience = json.dumps({"users": user_ids, "roles": role_ids, "departments": department_ids})
        message.audience_label = _audience_label(user_ids, role_ids, department_ids)
        message.status = {"send": "sent", "schedule": "scheduled", "draft": "draft"}[action]
        message.scheduled_at = scheduled_at if action == "schedule" else None
        if action == "send":
            _add_recipients(message, recipients, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return message


def audience_of(message):
    try:
        data = json.loads(message.audience or "{}")
    except ValueError:
        data = {}
    return {k: data.get(k, []) for k in ("users", "roles", "departments")}


def _add_recipients(message, user_ids, now):
    message.status = "sent"
    message.sent_at = now
    for user_id in user_ids:
        message.recipients.append(MessageRecipient(user_id=user_id))


def deliver(user_ids, subject, body=None, link=None, source="system", loan_id=None, customer_id=None, sender_id=None):
    """Write a sent message to ``user_ids`` in the caller's transaction (flush only)."""
    ids = sorted({int(u) for u in user_ids if u})
    if not ids:
        return None
    message = Message(sender_id=sender_id, subject=(subject or "")[:MAX_SUBJECT], body=body, link=link,
                      source=source, loan_id=loan_id, customer_id=customer_id, audience_label="")
    db.session.add(message)
    _add_recipients(message, ids, datetime.now())
    names = db.session.execute(select(AppUser.real_name, AppUser.username).where(AppUser.id.in_(ids))).all()
    message.audience_label = "、".join(r or u for r, u in names)[:500]
    db.session.flush()
    return message


def send_scheduled(now=None):
    """Send the scheduled messages whose time has come (the outbox job). Each is claimed by
    one UPDATE so two runners never send one twice. Returns how many were sent."""
    now = now or datetime.now()
    ids = db.session.execute(select(Message.id).where(Message.status == "scheduled", Message.scheduled_at <= now)
                             .order_by(Message.id)).scalars().all()
    db.session.commit()
    sent = 0
    for message_id in ids:
        claimed = db.session.execute(
            update(Message).where(Message.id == message_id, Message.status == "scheduled")
            .values(status="sending").execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            db.session.rollback()
            continue
        message = db.session.get(Message, message_id)
        db.session.refresh(message)
        audience = audience_of(message)
        recipients = resolve_audience(audience["users"], audience["roles"], audience["departments"])
        _add_recipients(message, recipients, now)
        db.session.commit()
        sent += 1
    return sent


# -- folders ------------------------------------------------------------------------------
def inbox_query(user):
    return (select(MessageRecipient).join(Message)
            .where(MessageRecipient.user_id == user.id, MessageRecipient.deleted_at.is_(None),
                   Message.status == "sent").order_by(Message.sent_at.desc(), Message.id.desc()))


def folder_query(user, folder):
    if folder == "inbox":
        return inbox_query(user)
    status = {"sent": "sent", "drafts": "draft", "unsent": "scheduled"}.get(folder)
    if status is None:
        raise DomainError("没有这个文件夹")
    return (select(Message).where(Message.sender_id == user.id, Message.status == status,
                                  Message.sender_deleted.is_(False))
            .order_by(Message.id.desc()))


def folder(user, name, page=0, page_size=20):
    """(rows, total) of one folder; inbox rows are MessageRecipient (with .message)."""
    query = folder_query(user, name)
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar()
    rows = db.session.execute(query.limit(page_size).offset(page * page_size)).scalars().all()
    return rows, total


def unread_count(user):
    if user is None or not getattr(user, "id", None):
        return 0
    return db.session.execute(
        select(func.count()).select_from(MessageRecipient).join(Message)
        .where(MessageRecipient.user_id == user.id, MessageRecipient.read_at.is_(None),
               MessageRecipient.deleted_at.is_(None), Message.status == "sent")).scalar() or 0


def _recipient_row(message, user):
    return db.session.execute(select(MessageRecipient).where(MessageRecipient.message_id == message.id,
                                                             MessageRecipient.user_id == user.id)).scalar_one_or_none()


def open_message(message_id, user, audit=False):
    """The message for ``user`` (its sender, a recipient, or an auditor with ``audit``);
    a recipient's first opening records the read receipt. Commits."""
    message = db.session.get(Message, message_id)
    if message is None:
        raise DomainError("消息不存在")
    row = _recipient_row(message, user)
    if row is not None and row.deleted_at is None and message.status == "sent":
        if row.read_at is None:
            row.read_at = datetime.now()
            if message.source == "workflow":
                # The same notice on the home page (站内通知) counts as read too.
                db.session.execute(update(Notification).where(
                    Notification.user_id == user.id, Notification.title == message.subject,
                    Notification.read_at.is_(None)).values(read_at=row.read_at)
                    .execution_options(synchronize_session=False))
            db.session.commit()
        return message
    if message.sender_id == user.id and not message.sender_deleted:
        return message
    if audit:
        return message
    raise DomainError("无权查看该消息")


def delete_for_me(message_id, user):
    """Delete a message for ``user`` only: a recipient hides it from their inbox, the sender
    from their sent folder (the others still see it); a draft or unsent message is removed.
    Commits."""
    message = db.session.get(Message, message_id)
    if message is None:
        raise DomainError("消息不存在")
    row = _recipient_row(message, user)
    if row is not None and row.deleted_at is None:
        row.deleted_at = datetime.now()
    elif message.sender_id == user.id and message.status in ("draft", "scheduled"):
        db.session.delete(message)
    elif message.sender_id == user.id and not message.sender_deleted:
        message.sender_deleted = True
    else:
        raise DomainError("无权删除该消息")
    db.session.commit()


def mark_all_read(user):
    now = datetime.now()
    ids = select(Message.id).where(Message.status == "sent")
    count = db.session.execute(
        update(MessageRecipient).where(MessageRecipient.user_id == user.id, MessageRecipient.read_at.is_(None),
                                       MessageRecipient.deleted_at.is_(None), MessageRecipient.message_id.in_(ids))
        .values(read_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return count


def receipts(message):
    """[(user, read_at, deleted_at)] of a sent message (回执)."""
    return [(r.user, r.read_at, r.deleted_at) for r in message.recipients]


def audit_query(sender_id=None, source=None, status=None, text=None, since=None, until=None):
    """短消息管理: every message, filtered (Admin)."""
    conditions = []
    if sender_id:
        conditions.append(Message.sender_id == int(sender_id))
    if source:
        conditions.append(Message.source == source)
    if status:
        conditions.append(Message.status == status)
    if text:
        pattern = f"%{text.strip()}%"
        conditions.append(or_(Message.subject.like(pattern), Message.body.like(pattern),
                              Message.audience_label.like(pattern)))
    if since:
        conditions.append(Message.created_at >= since)
    if until:
        conditions.append(Message.created_at < until)
    return select(Message).where(and_(*conditions) if conditions else True).order_by(Message.id.desc())
