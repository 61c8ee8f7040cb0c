"""系统短消息 and 公告: compose to users, roles and departments, inbox with unread count and
read receipts, delete for oneself, drafts and scheduled (未发送), workflow notices in the
inbox, announcement audience, and the screens."""
from datetime import datetime, timedelta

import pytest
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Branch, Notification
from app.models.messages import Announcement, Message, MessageRecipient

from .message_helpers import in_process  # noqa: F401 (autouse: jobs run in-process)
from .message_helpers import user_id
from .test_loans import acting


def _role_id(name):
    return db.session.execute(select(Role.id).where(Role.name == name)).scalar_one()


def _unread(app, username):
    from app.services import messages

    with acting(app, username) as user:
        return messages.unread_count(user)


def test_compose_inbox_receipts_and_delete_for_me(app):
    from app.services import messages

    with acting(app, "admin") as admin:
        message = messages.compose(admin, "周五例会", "下午三点开会", role_ids=[_role_id("客户经理")],
                                   user_ids=[user_id("finance")])
        message_id = message.id
        assert sorted(r.user.username for r in message.recipients) == ["finance", "officer_a", "officer_b"]
    assert _unread(app, "officer_a") == 1 and _unread(app, "risk") == 0
    with acting(app, "officer_a") as officer:
        rows, total = messages.folder(officer, "inbox")
        assert total == 1 and rows[0].message.subject == "周五例会"
        messages.open_message(message_id, officer)
        with pytest.raises(DomainError):
            messages.open_message(message_id, db.session.get(type(officer), user_id("risk")))
    assert _unread(app, "officer_a") == 0 and _unread(app, "officer_b") == 1
    with acting(app, "admin") as admin:
        receipts = {u.username: read for u, read, _d in messages.receipts(db.session.get(Message, message_id))}
        assert receipts["officer_a"] is not None and receipts["officer_b"] is None
    # Deleting is for oneself only.
    with acting(app, "officer_b") as officer_b:
        messages.delete_for_me(message_id, officer_b)
        assert messages.folder(officer_b, "inbox")[1] == 0
    with acting(app, "officer_a") as officer:
        assert messages.folder(officer, "inbox")[1] == 1
    with acting(app, "admin") as admin:
        assert messages.folder(admin, "sent")[1] == 1
        messages.delete_for_me(message_id, admin)
        assert messages.folder(admin, "sent")[1] == 0
    with acting(app, "finance") as finance:
        assert messages.folder(finance, "inbox")[1] == 1


def test_drafts_scheduled_and_bad_input(app):
    from app.services import messages

    with acting(app, "officer_a") as officer:
        with pytest.raises(DomainError, match="请选择收件人"):
            messages.compose(officer, "无人", "x")
        with pytest.raises(DomainError, match="请填写主题"):
            messages.compose(officer, " ", "x", user_ids=[user_id("risk")])
        with pytest.raises(DomainError, match="晚于现在"):
            messages.compose(officer, "定时", "x", user_ids=[user_id("risk")], action="schedule",
                             scheduled_at=datetime.now() - timedelta(minutes=1))
        assert db.session.execute(select(func.count()).select_from(Message)).scalar() == 0
        draft = messages.compose(officer, "草稿", "未写完", action="draft")
        assert messages.folder(officer, "drafts")[1] == 1
        later = datetime.now() + timedelta(hours=1)
        scheduled = messages.compose(officer, "明天的提醒", "x", user_ids=[user_id("risk")], action="schedule",
                                     scheduled_at=later, message_id=draft.id)
        assert scheduled.id == draft.id and messages.folder(officer, "drafts")[1] == 0
        assert messages.folder(officer, "unsent")[1] == 1
        assert messages.send_scheduled(datetime.now()) == 0
    assert _unread(app, "risk") == 0
    with acting(app, "officer_a"):
        assert messages.send_scheduled(later + timedelta(seconds=1)) == 1
        assert messages.send_scheduled(later + timedelta(seconds=2)) == 0
    assert _unread(app, "risk") == 1


def test_workflow_notices_arrive_in_the_inbox(app):
    from app.services import messages, workflow

    with acting(app, "admin"):
        workflow.notify([user_id("risk"), user_id("approver")], "待签批：DK001 张三（风控审查）", "/todo/waiting")
        db.session.commit()
    with acting(app, "risk") as risk:
        rows, total = messages.folder(risk, "inbox")
        assert total == 1 and rows[0].message.source == "workflow" and rows[0].message.link == "/todo/waiting"
        messages.open_message(rows[0].message_id, risk)
        # The same notice on the home page counts as read.
        assert db.session.execute(select(Notification.read_at).where(Notification.user_id == risk.id)).scalar()
    assert _unread(app, "approver") == 1


def test_announcement_audience_and_read_state(app):
    from app.services import announcements

    with acting(app, "admin") as admin:
        everyone = announcements.save(Announcement(title="国庆放假通知", body="10 月 1 日至 7 日放假"), admin)
        officers = Announcement(title="客户经理培训", body="周六培训", pinned=True)
        officers.roles = [db.session.get(Role, _role_id("客户经理"))]
        announcements.save(officers, admin)
        beijing = Announcement(title="北京分公司搬迁", body="新地址")
        beijing.branches = [db.session.execute(select(Branch).where(Branch.code == "BJ")).scalar_one()]
        announcements.save(beijing, admin)
        announcements.save(Announcement(title="已过期", body="x", publish_at=datetime.now() - timedelta(days=3),
                                        expires_at=datetime.now() - timedelta(days=1)), admin)
        announcements.save(Announcement(title="未来公告", body="x", publish_at=datetime.now() + timedelta(days=1)), admin)
        with pytest.raises(DomainError, match="失效时间必须晚于发布时间"):
            announcements.check(Announcement(title="t", body="b", publish_at=datetime.now(),
                                             expires_at=datetime.now() - timedelta(hours=1)))
        everyone_id = everyone.id
    with acting(app, "officer_a") as officer:
        assert [a.title for a in announcements.current_for(officer)] == ["客户经理培训", "北京分公司搬迁", "国庆放假通知"]
    with acting(app, "officer_b") as officer_b:   # Shanghai
        assert [a.title for a in announcements.current_for(officer_b)] == ["客户经理培训", "国庆放假通知"]
    with acting(app, "risk") as risk:
        assert [a.title for a in announcements.current_for(risk)] == ["国庆放假通知"]
        announcements.open_for(everyone_id, risk)
        listing = {a.title: (read, current) for a, read, current in announcements.listing(risk)}
        assert listing == {"国庆放假通知": (True, True), "已过期": (False, False)}


def test_screens(app, login_as):
    officer = login_as("officer_a")
    r = officer.post("/messages/compose/", data={"subject": "没有收件人", "body": "正文", "action": "send"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "请选择收件人" in page and 'value="没有收件人"' in page
    r = officer.post("/messages/compose/", data={"subject": "请审阅", "body": "附件已上传", "action": "send",
                                                  "users": [str(user_id_of(app, "risk"))]})
    assert r.status_code == 302
    risk = login_as("risk")
    home = risk.get("/").get_data(as_text=True)
    assert 'id="navbar-unread-count">1<' in home and 'id="home-unread-messages">1<' in home
    inbox = risk.get("/messages/inbox/").get_data(as_text=True)
    assert "请审阅" in inbox
    with app.app_context():
        message_id = db.session.execute(select(Message.id).where(Message.subject == "请审阅")).scalar_one()
    assert "附件已上传" in risk.get(f"/messages/show/{message_id}").get_data(as_text=True)
    assert 'id="navbar-unread-count"' not in risk.get("/messages/inbox/").get_data(as_text=True)
    assert login_as("officer_b").get(f"/messages/show/{message_id}").status_code == 404
    sent = officer.get(f"/messages/show/{message_id}").get_data(as_text=True)
    assert 'id="read-receipts"' in sent and "测试" in sent
    # 短消息管理 for the admin lists everything; officers may not open it.
    assert "请审阅" in login_as("admin").get("/messageadminview/list/").get_data(as_text=True)
    assert officer.get("/messageadminview/list/").status_code == 403

    # An announcement published by the admin through the form reaches the officers' home page.
    admin = login_as("admin")
    with app.app_context():
        role = _role_id("客户经理")
    r = admin.post("/announcementadminview/add", data={"title": "系统升级通知", "body": "今晚升级", "roles": [str(role)],
                                                        "publish_at": "2026-01-01 00:00:00", "expires_at": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert "系统升级通知" in officer.get("/").get_data(as_text=True)
    assert "系统升级通知" not in risk.get("/").get_data(as_text=True)
    r = admin.post("/announcementadminview/add", data={"title": "", "body": "x", "publish_at": "2026-01-01 00:00:00"})
    assert r.status_code == 200
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Announcement)).scalar() == 1
    assert db is not None and MessageRecipient is not None


def user_id_of(app, username):
    with app.app_context():
        return user_id(username)
