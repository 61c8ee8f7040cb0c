"""Message center (消息中心): internal messages, announcements, e-mail and SMS outboxes,
templates, reminders and scheduled jobs (issue #10).

- ``Message`` + ``MessageRecipient``: 系统短消息. A message is a draft (草稿), scheduled
  (未发送: waits for ``scheduled_at``) or sent; each recipient row carries its own read
  receipt and "deleted for me" mark, the sender has ``sender_deleted``.
- ``Announcement``: 站内公告 with an audience (roles, branches; none = everyone), publish and
  expiry times and a pin; ``AnnouncementRead`` records who read which.
- ``EmailMessage``: 邮件 outbox, one row per recipient with its status and error.
- ``SmsTemplate``, ``SmsMessage``: 手机短信 templates and the outbox/inbox (``direction``);
  ``SmsQuota`` counts the messages sent to one number on one day (daily cap, bumped by one
  atomic statement so two workers cannot both take the last one).
- ``Reminder``: one reminder sent, unique per (kind, object, day): the database refuses the
  second even when two workers run the job at once.
- ``ScheduledJob`` + ``JobRun``: 定时任务 (times in Beijing time, ``next_run_at`` in UTC) and
  the record of every run.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint,
)
from sqlalchemy.orm import relationship

MESSAGE_STATUSES = {"draft": "草稿", "scheduled": "未发送", "sent": "已发送"}
MESSAGE_SOURCES = {"user": "用户", "workflow": "审批流程", "reminder": "提醒", "system": "系统"}
EMAIL_STATUSES = {"draft": "草稿", "queued": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}
SMS_STATUSES = {
    "draft": "草稿", "queued": "待发送", "sending": "发送中", "retry": "等待重试", "sent": "已发送",
    "failed": "发送失败", "capped": "超出当日上限", "received": "已接收",
}
SMS_DIRECTIONS = {"out": "发送", "in": "接收（上行）"}
JOB_RUN_STATUSES = {"queued": "排队中", "running": "运行中", "success": "成功", "failed": "失败"}
JOB_TRIGGERS = {"schedule": "定时", "manual": "手动", "cli": "命令行"}


class Message(Model):
    """系统短消息: one message to one or more users."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_sender_status", "sender_id", "status"),
        Index("ix_message_status_scheduled", "status", "scheduled_at"),
    )
    id = Column(Integer, primary_key=True)
    sender_id = Column(Integer, ForeignKey("ab_user.id"))
    sender = relationship("AppUser", foreign_keys=[sender_id])
    subject = Column(String(200), nullable=False)
    body = Column(Text)
    link = Column(String(300))
    loan_id = Column(Integer, ForeignKey("loan.id"), index=True)
    loan = relationship("Loan")
    customer_id = Column(Integer, ForeignKey("customer.id"), index=True)
    customer = relationship("Customer")
    # What the sender chose (JSON: {"users": [...], "roles": [...], "departments": [...]}),
    # kept so a draft can be edited; the recipients rows are written when it is sent.
    audience = Column(Text)
    audience_label = Column(String(500))
    status = Column(String(20), nullable=False, default="draft")
    source = Column(String(20), nullable=False, default="user", index=True)
    scheduled_at = Column(DateTime)
    sent_at = Column(DateTime, index=True)
    sender_deleted = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    recipients = relationship("MessageRecipient", back_populates="message", cascade="all, delete-orphan",
                              order_by="MessageRecipient.id")

    @property
    def status_label(self):
        return MESSAGE_STATUSES.get(self.status, self.status)

    @property
    def source_label(self):
        return MESSAGE_SOURCES.get(self.source, self.source)

    def __str__(self):
        return self.subject


class MessageRecipient(Model):
    """One recipient of a message: read receipt and "deleted for me"."""

    __tablename__ = "message_recipient"
    __table_args__ = (
        UniqueConstraint("message_id", "user_id", name="uq_message_recipient"),
        Index("ix_message_recipient_user_unread", "user_id", "deleted_at", "read_at"),
    )
    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("message.id"), nullable=False, index=True)
    message = relationship("Message", back_populates="recipients")
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    user = relationship("AppUser")
    read_at = Column(DateTime)
    deleted_at = Column(DateTime)


announcement_role = Table(
    "announcement_role", Model.metadata,
    Column("id", Integer, primary_key=True),
    Column("announcement_id", Integer, ForeignKey("announcement.id"), nullable=False, index=True),
    Column("role_id", Integer, ForeignKey("ab_role.id"), nullable=False),
    UniqueConstraint("announcement_id", "role_id", name="uq_announcement_role"),
)
announcement_branch = Table(
    "announcement_branch", Model.metadata,
    Column("id", Integer, primary_key=True),
    Column("announcement_id", Integer, ForeignKey("announcement.id"), nullable=False, index=True),
    Column("branch_id", Integer, ForeignKey("branch.id"), nullable=False),
    UniqueConstraint("announcement_id", "branch_id", name="uq_announcement_branch"),
)


class Announcement(Model):
    """站内公告: shown to its audience from ``publish_at`` until ``expires_at``."""

    __tablename__ = "announcement"
    __table_args__ = (Index("ix_announcement_window", "publish_at", "expires_at"),)
    id = Column(Integer, primary_key=True)
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    roles = relationship("Role", secondary=announcement_role)
    branches = relationship("Branch", secondary=announcement_branch)
    publish_at = Column(DateTime, nullable=False, default=datetime.now)
    expires_at = Column(DateTime)
    pinned = Column(Boolean, nullable=False, default=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_by = relationship("AppUser")
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def audience_label(self):
        parts = []
        if self.roles:
            parts.append("角色：" + "、".join(r.name for r in self.roles))
        if self.branches:
            parts.append("机构：" + "、".join(b.name for b in self.branches))
        return "；".join(parts) or "全体用户"

    def __str__(self):
        return self.title


class AnnouncementRead(Model):
    __tablename__ = "announcement_read"
    __table_args__ = (UniqueConstraint("announcement_id", "user_id", name="uq_announcement_read"),)
    id = Column(Integer, primary_key=True)
    announcement_id = Column(Integer, ForeignKey("announcement.id"), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    read_at = Column(DateTime, default=datetime.now, nullable=False)


class EmailMessage(Model):
    """邮件: one e-mail to one address, with its delivery status."""

    __tablename__ = "email_message"
    id = Column(Integer, primary_key=True)
    to_address = Column(String(200), nullable=False, index=True)
    to_name = Column(String(100))
    user_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    user = relationship("AppUser", foreign_keys=[user_id])
    customer_id = Column(Integer, ForeignKey("customer.id"), index=True)
    customer = relationship("Customer")
    subject = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    status = Column(String(20), nullable=False, default="queued", index=True)
    attempts = Column(Integer, nullable=False, default=0)
    error = Column(Text)
    reminder_id = Column(Integer, ForeignKey("reminder.id"), index=True)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    created_by = relationship("AppUser", foreign_keys=[created_by_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    sent_at = Column(DateTime)
    # When a sender claimed it ("sending"): past the lease, the sender is taken to have died
    # mid-delivery (app/services/mail.py ``recover_interrupted``).
    claimed_at = Column(DateTime)

    @property
    def status_label(self):
        return EMAIL_STATUSES.get(self.status, self.status)

    def __str__(self):
        return self.subject


class SmsTemplate(Model):
    """短信模板: text with placeholders such as {customer_name} {loan_no} {amount_due}
    {due_date} {overdue_days}; reminder kinds use the template whose code is the kind."""

    __tablename__ = "sms_template"
    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    body = Column(Text, nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


class SmsMessage(Model):
    """手机短信: outgoing (发件箱 / 草稿) or incoming (上行 replies posted by the gateway)."""

    __tablename__ = "sms_message"
    __table_args__ = (
        Index("ix_sms_message_status_next", "status", "next_attempt_at"),
        Index("ix_sms_message_mobile_created", "mobile", "created_at"),
    )
    id = Column(Integer, primary_key=True)
    direction = Column(String(10), nullable=False, default="out", index=True)
    mobile = Column(String(20), nullable=False)
    content = Column(Text, nullable=False)
    status = Column(String(20), nullable=False, default="queued")
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime)
    quota_taken = Column(Boolean, nullable=False, default=False)
    last_error = Column(Text)
    gateway_response = Column(Text)
    template_id = Column(Integer, ForeignKey("sms_template.id"), index=True)
    template = relationship("SmsTemplate")
    customer_id = Column(Integer, ForeignKey("customer.id"), index=True)
    customer = relationship("Customer")
    loan_id = Column(Integer, ForeignKey("loan.id"), index=True)
    loan = relationship("Loan")
    reminder_id = Column(Integer, ForeignKey("reminder.id"), index=True)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    created_by = relationship("AppUser")
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    sent_at = Column(DateTime)

    @property
    def status_label(self):
        return SMS_STATUSES.get(self.status, self.status)

    @property
    def direction_label(self):
        return SMS_DIRECTIONS.get(self.direction, self.direction)

    def __str__(self):
        return f"{self.mobile} {self.content[:20]}"


class SmsQuota(Model):
    """How many SMS went to one number on one (Beijing) day."""

    __tablename__ = "sms_quota"
    __table_args__ = (UniqueConstraint("mobile", "day", name="uq_sms_quota_mobile_day"),)
    id = Column(Integer, primary_key=True)
    mobile = Column(String(20), nullable=False)
    day = Column(Date, nullable=False)
    count = Column(Integer, nullable=False, default=0)


class Reminder(Model):
    """提醒: one reminder of one kind about one object on one business day (sent once)."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("kind", "object_type", "object_id", "remind_on", name="uq_reminder_once_a_day"),
        Index("ix_reminder_remind_on_kind", "remind_on", "kind"),
    )
    id = Column(Integer, primary_key=True)
    kind = Column(String(40), nullable=False)
    object_type = Column(String(40), nullable=False)
    object_id = Column(Integer, nullable=False)
    remind_on = Column(Date, nullable=False)
    loan_id = Column(Integer, ForeignKey("loan.id"), index=True)
    loan = relationship("Loan")
    customer_id = Column(Integer, ForeignKey("customer.id"), index=True)
    customer = relationship("Customer")
    summary = Column(String(300), nullable=False)
    channels = Column(String(100))
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def kind_label(self):
        from app.services.reminders import kind_label

        return kind_label(self.kind)


class ScheduledJob(Model):
    """定时任务: a recurring job registered in code; the time (Beijing) and the flag are the
    admin's. ``next_run_at`` is in UTC (naive)."""

    __tablename__ = "scheduled_job"
    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    schedule_kind = Column(String(20), nullable=False, default="daily")
    time_of_day = Column(String(5))
    interval_minutes = Column(Integer)
    enabled = Column(Boolean, nullable=False, default=True)
    next_run_at = Column(DateTime)
    last_enqueued_at = Column(DateTime)
    updated_at = Column(DateTime, default=datetime.now, onupdate=datetime.now, nullable=False)
    runs = relationship("JobRun", back_populates="job", order_by="JobRun.id.desc()", lazy="dynamic")

    def __str__(self):
        return self.name


class JobRun(Model):
    """One run of a scheduled job: when, how it ended, counts and error."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_id_desc", "job_id", "id"),)
    id = Column(Integer, primary_key=True)
    job_id = Column(Integer, ForeignKey("scheduled_job.id"), nullable=False)
    job = relationship("ScheduledJob", back_populates="runs")
    trigger = Column(String(20), nullable=False, default="schedule")
    status = Column(String(20), nullable=False, default="queued", index=True)
    scheduled_for = Column(DateTime)
    enqueued_at = Column(DateTime, default=datetime.now, nullable=False)
    started_at = Column(DateTime)
    finished_at = Column(DateTime)
    result = Column(Text)
    counts = Column(Text)
    error = Column(Text)
    rq_job_id = Column(String(64))
    triggered_by_id = Column(Integer, ForeignKey("ab_user.id"))
    triggered_by = relationship("AppUser")

    @property
    def status_label(self):
        return JOB_RUN_STATUSES.get(self.status, self.status)

    @property
    def trigger_label(self):
        return JOB_TRIGGERS.get(self.trigger, self.trigger)
