"""Views of the message center (issue #10), registered from app/views/__init__.py under the
"Messages" menu category.

- ``MessageView`` (every staff member): inbox, sent, drafts, unsent, compose, read receipts.
- ``AnnouncementView`` (every staff member): 公告查看 with read state.
- ``AnnouncementAdminView`` (Admin): 公告管理.
- ``MessageAdminView`` (Admin): 短消息管理, every internal message with filters (audit).
- ``SmsView`` (officers, finance, Admin): compose, outbox, drafts, inbox (上行), resend.
- ``SmsAdminView`` (Admin): every SMS with filters (audit); ``SmsTemplateView``: templates.
- ``MailView``: compose e-mail and the outbox with status.
- ``ReminderView`` (Admin, Manager): the reminders sent, by day and kind.
- ``JobScheduleView`` (Admin): 定时管理 — jobs, last runs, time and enabled flag, run now.
- ``SmsCallbackApi``: where the SMS gateway posts replies (token in the URL, no login).

Views hold no business logic: each action calls one service function and turns its
DomainError into a message next to the input, which is kept.
"""
from datetime import datetime

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_appbuilder.security.sqla.models import Role
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Customer, Department
from app.models.messages import (
    EMAIL_STATUSES, SMS_STATUSES, Announcement, EmailMessage, Message, Reminder, SmsMessage,
    SmsTemplate,
)
from app.services import announcements, mail, messages, scheduler, sms
from app.views.base import AppInterface, AppModelView, CheckedModelView

PAGE_SIZE = 20


def _page():
    return max(request.args.get("page", 0, type=int) or 0, 0)


def _is_admin(user):
    from flask import current_app

    return any(r.name == current_app.appbuilder.sm.auth_role_admin for r in getattr(user, "roles", []))


def _datetime(value, field):
    text = (value or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise DomainError("时间格式应为 YYYY-MM-DD HH:MM", field)


def _start_outbox():
    """Deliver what was just queued: on RQ when Redis is configured, here otherwise."""
    from app.jobs import enqueue
    from app.jobs.tasks import dispatch_outbox

    try:
        enqueue(dispatch_outbox)
    except Exception as exc:  # noqa: BLE001 - the periodic outbox job sends it later
        db.session.rollback()
        flash(f"消息已保存，稍后由定时任务发送（{exc}）", "warning")


def _choices():
    users = db.session.execute(select(AppUser).where(AppUser.active.is_(True)).order_by(AppUser.username)).scalars().all()
    roles = db.session.execute(select(Role).order_by(Role.name)).scalars().all()
    departments = db.session.execute(select(Department).order_by(Department.name)).scalars().all()
    return users, roles, departments


# -- 系统短消息 ------------------------------------------------------------------------------
class MessageView(BaseView):
    route_base = "/messages"
    default_view = "inbox"

    def _folder(self, name):
        rows, total = messages.folder(g.user, name, _page(), PAGE_SIZE)
        return self.render_template("microloan/message_folder.html", title=messages.FOLDERS[name], folder=name,
                                    folders=messages.FOLDERS, rows=rows, total=total, page=_page(),
                                    page_size=PAGE_SIZE, unread=messages.unread_count(g.user))

    @expose("/inbox/")
    @has_access
    @permission_name("list")
    def inbox(self):
        return self._folder("inbox")

    @expose("/sent/")
    @has_access
    @permission_name("list")
    def sent(self):
        return self._folder("sent")

    @expose("/drafts/")
    @has_access
    @permission_name("list")
    def drafts(self):
        return self._folder("drafts")

    @expose("/unsent/")
    @has_access
    @permission_name("list")
    def unsent(self):
        return self._folder("unsent")

    @expose("/compose/", methods=["GET", "POST"])
    @has_access
    @permission_name("add")
    def compose(self):
        form = request.form if request.method == "POST" else {}
        error = None
        message_id = request.values.get("message_id", type=int)
        if request.method == "POST":
            action = form.get("action") or "send"
            try:
                message = messages.compose(
                    g.user, form.get("subject"), form.get("body"), user_ids=form.getlist("users"),
                    role_ids=form.getlist("roles"), department_ids=form.getlist("departments"),
                    loan_id=form.get("loan") or None, customer_id=form.get("customer") or None, action=action,
                    scheduled_at=_datetime(form.get("scheduled_at"), "scheduled_at"), message_id=message_id)
            except DomainError as exc:
                db.session.rollback()
                error = exc
            else:
                flash({"send": "消息已发送", "draft": "已存入草稿箱",
                       "schedule": "已定时，发送前在“未发送”中可以修改"}[action], "success")
                folder = {"send": "sent", "draft": "drafts", "schedule": "unsent"}[action]
                return redirect(url_for(f"MessageView.{folder}") if folder != "sent"
                                else url_for("MessageView.show", pk=message.id))
        draft, audience = None, {"users": [], "roles": [], "departments": []}
        if request.method == "GET" and message_id:
            draft = db.session.get(Message, message_id)
            if draft is None or draft.sender_id != g.user.id or draft.status == "sent":
                abort(404)
            audience = messages.audience_of(draft)
        elif request.method == "GET" and request.args.get("reply"):
            original = db.session.get(Message, request.args.get("reply", type=int))
            if original is not None and original.sender_id:
                audience["users"] = [original.sender_id]
                draft = Message(subject="回复：" + original.subject)
        elif request.method == "POST":
            audience = {k: [int(x) for x in form.getlist(k) if x.isdigit()] for k in ("users", "roles", "departments")}
        users, roles, departments = _choices()
        loan_choice = customer_choice = None
        if draft is not None and draft.loan is not None:
            loan_choice = draft.loan
        if draft is not None and draft.customer is not None:
            customer_choice = draft.customer
        return self.render_template("microloan/message_compose.html", title=_l("Compose message"), form=form,
                                    draft=draft, audience=audience, users=users, roles=roles,
                                    departments=departments, error=error, message_id=message_id,
                                    loan_choice=loan_choice, customer_choice=customer_choice)

    @expose("/show/<int:pk>")
    @has_access
    @permission_name("show")
    def show(self, pk):
        try:
            message = messages.open_message(pk, g.user)
        except DomainError:
            abort(404)
        is_sender = message.sender_id == g.user.id
        return self.render_template("microloan/message_show.html", title=message.subject, message=message,
                                    receipts=messages.receipts(message) if is_sender else None,
                                    is_sender=is_sender)

    @expose("/delete/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("delete")
    def delete(self, pk):
        try:
            messages.delete_for_me(pk, g.user)
            flash("已删除（只对您自己删除，其他人仍可看到）", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(request.form.get("next") or url_for("MessageView.inbox"))

    @expose("/read-all/", methods=["POST"])
    @has_access
    @permission_name("list")
    def read_all(self):
        count = messages.mark_all_read(g.user)
        flash(f"已将 {count} 条消息标为已读", "success")
        return redirect(url_for("MessageView.inbox"))


class MessageAdminView(AppModelView):
    """短消息管理: every internal message (Admin, for audit)."""

    datamodel = AppInterface(Message)
    list_title = _l("All internal messages")
    show_title = _l("Internal message")
    base_permissions = ["can_list", "can_show"]
    label_columns = {"subject": _l("Subject"), "sender": _l("Sender"), "audience_label": _l("Recipients"),
                     "status_label": _l("Status"), "status": _l("Status"), "source_label": _l("Source"),
                     "source": _l("Source"), "sent_at": _l("Sent at"), "created_at": _l("Created at"),
                     "body": _l("Content"), "link": _l("Link"), "scheduled_at": _l("Scheduled for"),
                     "loan": _l("Loan"), "customer": _l("Customer")}
    list_columns = ["subject", "sender", "audience_label", "source_label", "status_label", "sent_at"]
    show_columns = ["subject", "sender", "audience_label", "source_label", "status_label", "scheduled_at",
                    "sent_at", "created_at", "link", "body"]
    search_columns = ["subject", "audience_label", "source", "status", "created_at"]
    order_columns = ["sent_at", "created_at"]
    base_order = ("id", "desc")

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        message = db.session.get(Message, int(pk)) if str(pk).isdigit() else None
        if message is None:
            abort(404)
        return self.render_template("microloan/message_show.html", title=message.subject, message=message,
                                    receipts=messages.receipts(message), is_sender=False, audit=True)


# -- 公告 ---------------------------------------------------------------------------------
class AnnouncementView(BaseView):
    """公告查看: the announcements of my audience, with my read state."""

    route_base = "/announcements"
    default_view = "list"

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        return self.render_template("microloan/announcement_list.html", title=_l("Announcements"),
                                    rows=announcements.listing(g.user))

    @expose("/show/<int:pk>")
    @has_access
    @permission_name("show")
    def show(self, pk):
        try:
            item = announcements.open_for(pk, g.user)
        except DomainError:
            abort(404)
        return self.render_template("microloan/announcement_show.html", title=item.title, item=item, readers=None)


class AnnouncementAdminView(CheckedModelView):
    """公告管理 (Admin): title, body, audience by role and branch, publish and expiry, pin."""

    datamodel = AppInterface(Announcement)
    list_title = _l("Manage announcements")
    show_title = _l("Announcement")
    add_title = _l("New announcement")
    edit_title = _l("Edit announcement")
    label_columns = {"title": _l("Title"), "body": _l("Content"), "roles": _l("Audience roles"),
                     "branches": _l("Audience branches"), "publish_at": _l("Publish at"),
                     "expires_at": _l("Expires at"), "pinned": _l("Pinned"), "created_by": _l("Created by"),
                     "created_at": _l("Created at"), "audience_label": _l("Audience")}
    description_columns = {"roles": _l("Leave roles and branches empty to show it to everyone."),
                           "expires_at": _l("Empty: shown until deleted.")}
    list_columns = ["title", "audience_label", "publish_at", "expires_at", "pinned", "created_by"]
    add_columns = edit_columns = ["title", "body", "roles", "branches", "publish_at", "expires_at", "pinned"]
    show_columns = ["title", "body", "audience_label", "publish_at", "expires_at", "pinned", "created_by",
                    "created_at"]
    search_columns = ["title", "publish_at", "expires_at", "pinned"]
    order_columns = ["publish_at", "expires_at"]
    base_order = ("publish_at", "desc")

    def check_form(self, form, pk):
        item = Announcement(title=form.title.data, body=form.body.data, publish_at=form.publish_at.data,
                            expires_at=form.expires_at.data)
        announcements.check(item)

    def pre_add(self, item):
        announcements.check(item)
        item.created_by_id = getattr(g.user, "id", None)

    def pre_update(self, item):
        announcements.check(item)

    @expose("/readers/<int:pk>")
    @has_access
    @permission_name("show")
    def readers(self, pk):
        item = db.session.get(Announcement, pk)
        if item is None:
            abort(404)
        users = {u.id: u for u in db.session.execute(select(AppUser)).scalars()}
        readers = [(users.get(r.user_id), r.read_at) for r in announcements.readers(item)]
        return self.render_template("microloan/announcement_show.html", title=item.title, item=item,
                                    readers=readers)


# -- 手机短信 -------------------------------------------------------------------------------
SMS_FOLDERS = {"outbox": _l("Outbox"), "drafts": _l("Drafts"), "inbox": _l("Replies received")}


class SmsView(BaseView):
    route_base = "/sms"
    default_view = "outbox"

    def _query(self, folder):
        query = select(SmsMessage)
        if folder == "inbox":
            query = query.where(SmsMessage.direction == "in")
        elif folder == "drafts":
            query = query.where(SmsMessage.direction == "out", SmsMessage.status == "draft",
                                SmsMessage.created_by_id == g.user.id)
        else:
            query = query.where(SmsMessage.direction == "out", SmsMessage.status != "draft")
            if not _is_admin(g.user):
                query = query.where(SmsMessage.created_by_id == g.user.id)
            status = request.args.get("status")
            if status:
                query = query.where(SmsMessage.status == status)
        return query

    def _folder(self, folder):
        query = self._query(folder)
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar()
        rows = db.session.execute(query.order_by(SmsMessage.id.desc()).limit(PAGE_SIZE)
                                  .offset(_page() * PAGE_SIZE)).scalars().all()
        return self.render_template("microloan/sms_folder.html", title=_l("SMS"), folder=folder,
                                    folders=SMS_FOLDERS, rows=rows, total=total, page=_page(), page_size=PAGE_SIZE,
                                    statuses=SMS_STATUSES, status=request.args.get("status") or "")

    @expose("/outbox/")
    @has_access
    @permission_name("list")
    def outbox(self):
        return self._folder("outbox")

    @expose("/drafts/")
    @has_access
    @permission_name("list")
    def drafts(self):
        return self._folder("drafts")

    @expose("/inbox/")
    @has_access
    @permission_name("list")
    def inbox(self):
        return self._folder("inbox")

    @expose("/compose/", methods=["GET", "POST"])
    @has_access
    @permission_name("add")
    def compose(self):
        form = request.form if request.method == "POST" else {}
        error = None
        draft_id = request.values.get("draft_id", type=int)
        if request.method == "POST":
            is_draft = form.get("action") == "draft"
            try:
                rows = sms.compose(g.user, form.get("content"), mobiles=form.get("mobiles"),
                                   customer_ids=[form["customer"]] if form.get("customer") else [],
                                   draft=is_draft, template_id=form.get("template") or None,
                                   loan_id=form.get("loan") or None, message_id=draft_id)
            except DomainError as exc:
                db.session.rollback()
                error = exc
            else:
                if is_draft:
                    flash(f"已存入草稿箱（{len(rows)} 条）", "success")
                    return redirect(url_for("SmsView.drafts"))
                _start_outbox()
                flash(f"已提交发送 {len(rows)} 条短信，发送结果见发件箱", "success")
                return redirect(url_for("SmsView.outbox"))
        draft = None
        if draft_id and request.method == "GET":
            draft = db.session.get(SmsMessage, draft_id)
            if draft is None or draft.status != "draft" or draft.created_by_id != g.user.id:
                abort(404)
        templates = db.session.execute(select(SmsTemplate).where(SmsTemplate.is_active.is_(True))
                                       .order_by(SmsTemplate.code)).scalars().all()
        customer_choice = db.session.get(Customer, int(form["customer"])) if form.get("customer") else (
            draft.customer if draft is not None else None)
        return self.render_template("microloan/sms_compose.html", title=_l("Send SMS"), form=form, error=error,
                                    draft=draft, draft_id=draft_id, templates=templates,
                                    placeholders=sms.PLACEHOLDERS, customer_choice=customer_choice)

    @expose("/send-draft/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("add")
    def send_draft(self, pk):
        try:
            sms.send_draft(pk, g.user)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("SmsView.drafts"))
        _start_outbox()
        flash("草稿已提交发送", "success")
        return redirect(url_for("SmsView.outbox"))

    @expose("/delete-draft/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("add")
    def delete_draft(self, pk):
        try:
            sms.delete_draft(pk, g.user)
            flash("草稿已删除", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for("SmsView.drafts"))

    @expose("/resend/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("add")
    def resend(self, pk):
        row = db.session.get(SmsMessage, pk)
        if row is None or (row.created_by_id != g.user.id and not _is_admin(g.user)):
            abort(404)
        try:
            sms.resend(pk)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            _start_outbox()
            flash("已重新提交发送", "success")
        return redirect(url_for("SmsView.outbox"))


class SmsAdminView(AppModelView):
    """短信管理: every SMS sent or received (Admin, for audit)."""

    datamodel = AppInterface(SmsMessage)
    list_title = _l("All SMS")
    show_title = _l("SMS")
    base_permissions = ["can_list", "can_show"]
    label_columns = {"mobile": _l("Mobile"), "content": _l("Content"), "status": _l("Status"),
                     "status_label": _l("Status"), "direction": _l("Direction"), "direction_label": _l("Direction"),
                     "attempts": _l("Attempts"), "last_error": _l("Last error"), "created_at": _l("Created at"),
                     "sent_at": _l("Sent at"), "customer": _l("Customer"), "loan": _l("Loan"),
                     "created_by": _l("Created by"), "next_attempt_at": _l("Next attempt"),
                     "gateway_response": _l("Gateway response"), "reminder_id": _l("Reminder")}
    list_columns = ["mobile", "content", "direction_label", "status_label", "attempts", "created_by", "created_at",
                    "sent_at"]
    show_columns = ["mobile", "content", "direction_label", "status_label", "attempts", "next_attempt_at",
                    "last_error", "gateway_response", "customer", "loan", "reminder_id", "created_by", "created_at",
                    "sent_at"]
    search_columns = ["mobile", "content", "status", "direction", "created_at"]
    order_columns = ["created_at", "sent_at"]
    base_order = ("id", "desc")


class SmsTemplateView(CheckedModelView):
    """短信模板: the reminder kinds use the template whose code is the kind (due_soon,
    due_today, overdue); placeholders are checked when saved."""

    datamodel = AppInterface(SmsTemplate)
    list_title = _l("SMS templates")
    show_title = add_title = edit_title = _l("SMS template")
    label_columns = {"code": _l("Code"), "name": _l("Name"), "body": _l("Text"), "is_active": _l("Active")}
    description_columns = {
        "code": _l("Reminder templates use the reminder kind as code: due_soon, due_today, overdue."),
        "body": _l("Placeholders: {customer_name} {loan_no} {amount_due} {due_date} {overdue_days} {company_name} {company_phone}"),
    }
    list_columns = ["code", "name", "body", "is_active"]
    add_columns = edit_columns = show_columns = ["code", "name", "body", "is_active"]
    search_columns = ["code", "name", "is_active"]
    order_columns = ["code", "name"]
    base_order = ("code", "asc")

    def check_form(self, form, pk):
        existing = db.session.execute(select(SmsTemplate.id).where(SmsTemplate.code == (form.code.data or "").strip())
                                      ).scalar()
        if existing and existing != (int(pk) if pk else None):
            raise DomainError("已有同一代码的模板", "code")
        sms.check_template(SmsTemplate(code=form.code.data, name=form.name.data, body=form.body.data))

    def pre_add(self, item):
        sms.check_template(item)

    def pre_update(self, item):
        sms.check_template(item)


# -- 邮件 ---------------------------------------------------------------------------------
class MailView(BaseView):
    route_base = "/mail"
    default_view = "outbox"

    @expose("/outbox/")
    @has_access
    @permission_name("list")
    def outbox(self):
        query = select(EmailMessage)
        if not _is_admin(g.user):
            query = query.where(EmailMessage.created_by_id == g.user.id)
        status = request.args.get("status")
        if status:
            query = query.where(EmailMessage.status == status)
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar()
        rows = db.session.execute(query.order_by(EmailMessage.id.desc()).limit(PAGE_SIZE)
                                  .offset(_page() * PAGE_SIZE)).scalars().all()
        return self.render_template("microloan/mail_outbox.html", title=_l("E-mail outbox"), rows=rows, total=total,
                                    page=_page(), page_size=PAGE_SIZE, statuses=EMAIL_STATUSES,
                                    status=status or "")

    @expose("/compose/", methods=["GET", "POST"])
    @has_access
    @permission_name("add")
    def compose(self):
        form = request.form if request.method == "POST" else {}
        error = None
        if request.method == "POST":
            is_draft = form.get("action") == "draft"
            try:
                rows = mail.compose(g.user, form.get("subject"), form.get("body"), user_ids=form.getlist("users"),
                                    customer_ids=[form["customer"]] if form.get("customer") else [],
                                    addresses=form.get("addresses"), draft=is_draft)
            except DomainError as exc:
                db.session.rollback()
                error = exc
            else:
                if not is_draft:
                    _start_outbox()
                flash(f"{'已保存草稿' if is_draft else '已提交发送'} {len(rows)} 封邮件，状态见发件箱", "success")
                return redirect(url_for("MailView.outbox"))
        users = db.session.execute(select(AppUser).where(AppUser.active.is_(True), AppUser.email.is_not(None))
                                   .order_by(AppUser.username)).scalars().all()
        customer_choice = db.session.get(Customer, int(form["customer"])) if form.get("customer") else None
        return self.render_template("microloan/mail_compose.html", title=_l("Send e-mail"), form=form, error=error,
                                    users=users, selected=[int(x) for x in form.getlist("users")] if form else [],
                                    customer_choice=customer_choice)

    @expose("/resend/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("add")
    def resend(self, pk):
        row = db.session.get(EmailMessage, pk)
        if row is None or (row.created_by_id != g.user.id and not _is_admin(g.user)):
            abort(404)
        try:
            mail.resend(pk)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            _start_outbox()
            flash("已重新提交发送", "success")
        return redirect(url_for("MailView.outbox"))


# -- 提醒 ---------------------------------------------------------------------------------
class ReminderView(AppModelView):
    """提醒记录: each reminder sent (one per object, kind and day)."""

    datamodel = AppInterface(Reminder)
    list_title = _l("Reminders sent")
    show_title = _l("Reminder")
    base_permissions = ["can_list", "can_show"]
    label_columns = {"kind": _l("Reminder kind"), "kind_label": _l("Reminder kind"), "remind_on": _l("Business date"),
                     "summary": _l("Reminder"), "channels": _l("Channels"), "loan": _l("Loan"),
                     "customer": _l("Customer"), "created_at": _l("Created at"), "object_type": _l("Object type"),
                     "object_id": _l("Object id")}
    list_columns = ["remind_on", "kind_label", "summary", "channels", "created_at"]
    show_columns = ["remind_on", "kind_label", "summary", "channels", "loan", "customer", "object_type", "object_id",
                    "created_at"]
    search_columns = ["remind_on", "kind", "summary"]
    order_columns = ["remind_on", "created_at"]
    base_order = ("id", "desc")


# -- 定时管理 -------------------------------------------------------------------------------
class JobScheduleView(BaseView):
    """定时管理 (Admin): the recurring jobs, their last runs, time (Beijing) and enabled flag,
    and "run now"."""

    route_base = "/jobs"
    default_view = "list"

    def _render(self, errors=None):
        rows = [(job, scheduler.last_runs(job, 5)) for job in scheduler.jobs()]
        # The queue's state (Redis reachable, RQ's counts, runs waiting for Redis): short
        # timeouts in app.jobs, so a Redis that is down costs this page two seconds at most.
        return self.render_template("microloan/job_list.html", title=_l("Scheduled jobs"), rows=rows,
                                    errors=errors or {}, scheduler=scheduler, specs=scheduler.JOBS,
                                    counts_of=scheduler.counts_of, queue=scheduler.queue_overview())

    @expose("/list/")
    @has_access
    @permission_name("list")
    def list(self):
        return self._render()

    @expose("/edit/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def edit(self, pk):
        form = request.form
        try:
            job = scheduler.update_job(pk, g.user, time_of_day=form.get("time_of_day"),
                                       interval_minutes=form.get("interval_minutes"),
                                       enabled=form.get("enabled") in ("1", "on", "y", "true"))
        except DomainError as exc:
            db.session.rollback()
            flash(f"未保存：{exc.message}", "danger")
            return self._render({pk: exc.message})
        when = scheduler.to_beijing(job.next_run_at).strftime("%Y-%m-%d %H:%M")
        flash(f"已保存“{job.name}”：{'启用' if job.enabled else '停用'}，下次运行（北京时间）{when}", "success")
        return redirect(url_for("JobScheduleView.list"))

    @expose("/run/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("run")
    def run(self, pk):
        try:
            run_id = scheduler.run_now(pk, g.user)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("JobScheduleView.list"))
        if scheduler.is_waiting(run_id):
            from flask_babel import gettext

            flash(gettext("Redis is unreachable: the run is recorded and starts when Redis is back "
                          "(or run it now with flask jobs run on the server)."), "warning")
        else:
            flash("已开始运行，结果见运行记录", "success")
        return redirect(url_for("JobScheduleView.runs", pk=pk, highlight=run_id))

    @expose("/runs/<int:pk>")
    @has_access
    @permission_name("list")
    def runs(self, pk):
        from app.models.messages import ScheduledJob

        job = db.session.get(ScheduledJob, pk)
        if job is None:
            abort(404)
        return self.render_template("microloan/job_runs.html", title=job.name, job=job,
                                    runs=scheduler.last_runs(job, 100), counts_of=scheduler.counts_of,
                                    highlight=request.args.get("highlight", type=int))


# -- SMS gateway callback (上行) -------------------------------------------------------------
class SmsCallbackApi(BaseApi):
    """Replies the gateway posts (or GETs) back; the shared token in the URL is the check."""

    resource_name = "sms"

    @expose("/callback/<token>", methods=["GET", "POST"])
    def callback(self, token):
        try:
            sms.check_callback_token(token)
        except DomainError:
            return self.response(403, message="forbidden")
        values = request.form.to_dict() or (request.get_json(silent=True) or {}) or request.args.to_dict()
        try:
            row = sms.receive(values)
        except DomainError as exc:
            db.session.rollback()
            return self.response(422, message=exc.message)
        return self.response(200, id=row.id)


def unread_context():
    """Jinja: ``message_unread_count()`` for the top bar."""

    def message_unread_count():
        user = g.get("user")
        if user is None or not getattr(user, "is_authenticated", False):
            return 0
        try:
            return messages.unread_count(user)
        except Exception:  # noqa: BLE001 - the top bar must never break a page
            db.session.rollback()
            return 0

    return {"message_unread_count": message_unread_count}


def register_views(appbuilder):
    """Add this module's views and menu entries (category "Messages")."""
    add = appbuilder.add_view
    add(MessageView, "Messages", label=_l("Internal messages"), icon="fa-envelope-o", category="Messages")
    add(AnnouncementView, "Announcements", label=_l("Announcements"), icon="fa-bullhorn", category="Messages")
    add(SmsView, "SMS", label=_l("SMS"), icon="fa-mobile", category="Messages")
    add(MailView, "E-mail", label=_l("E-mail"), icon="fa-at", category="Messages")
    add(ReminderView, "Reminders sent", label=_l("Reminders sent"), icon="fa-bell", category="Messages")
    add(AnnouncementAdminView, "Manage announcements", label=_l("Manage announcements"), icon="fa-bullhorn",
        category="Messages")
    add(MessageAdminView, "Message management", label=_l("Message management"), icon="fa-archive",
        category="Messages")
    add(SmsAdminView, "SMS management", label=_l("SMS management"), icon="fa-list", category="Messages")
    add(SmsTemplateView, "SMS templates", label=_l("SMS templates"), icon="fa-file-text-o", category="Messages")
    add(JobScheduleView, "Scheduled jobs", label=_l("Scheduled jobs"), icon="fa-clock-o", category="Messages")
    appbuilder.add_api(SmsCallbackApi)
    from flask import current_app

    current_app.context_processor(unread_context)

