"""手机短信 through a loopback HTTP gateway: what the gateway receives, failure and retry with
backoff, the success pattern, the daily cap per number, templates and replies (上行)."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.messages import SmsMessage, SmsQuota

from .message_helpers import in_process  # noqa: F401 (autouse: jobs run in-process)
from .message_helpers import loopback_gateway
from .test_loans import acting, make_customer, set_setting


def _row(app, sms_id):
    with app.app_context():
        row = db.session.get(SmsMessage, sms_id)
        db.session.expunge(row)
        return row


def _compose(app, mobiles, content="您好，这是一条测试短信", **kwargs):
    from app.services import sms

    with acting(app, "officer_a") as user:
        return [r.id for r in sms.compose(user, content, mobiles=mobiles, **kwargs)]


def test_sent_through_the_http_gateway(app):
    from app.services import sms

    customer_id = make_customer(app, name="刘备", documents=False)
    ids = _compose(app, "139 0013 9000", customer_ids=[customer_id])
    with loopback_gateway(app) as gateway, app.app_context():
        counts = sms.dispatch()
    assert counts == {"sent": 2}
    assert sorted(gateway.mobiles()) == ["13800138000", "13900139000"]
    assert all(r["method"] == "POST" and r["values"]["content"] == "【测试小贷】您好，这是一条测试短信"
               for r in gateway.requests)
    rows = [_row(app, i) for i in ids]
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1), ("sent", 1)]
    assert rows[1].customer_id == customer_id and '"code": 0' in rows[1].gateway_response


def test_failure_retries_with_backoff_then_gives_up(app):
    from app.services import sms

    (sms_id,) = _compose(app, "13700137000")
    now = datetime(2026, 3, 16, 10, 0, 0)
    with loopback_gateway(app) as gateway:
        gateway.fail_next = 1
        with app.app_context():
            assert sms.send_one(sms_id, now) == "retry"
        row = _row(app, sms_id)
        assert row.attempts == 1 and "HTTP 500" in row.last_error
        assert row.next_attempt_at == now + timedelta(seconds=60)
        with app.app_context():
            assert sms.dispatch(now + timedelta(seconds=30)) == {}       # not due yet
            assert sms.dispatch(now + timedelta(seconds=61)) == {"sent": 1}
        assert len(gateway.requests) == 2
        row = _row(app, sms_id)
        assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)

        # Every attempt fails: backoff doubles (60 s, 120 s), the third failure is final.
        (other,) = _compose(app, "13700137001")
        gateway.fail_next = 3
        with app.app_context():
            assert sms.send_one(other, now) == "retry"
            assert sms.send_one(other, now + timedelta(seconds=60)) == "retry"
        assert _row(app, other).next_attempt_at == now + timedelta(seconds=60 + 120)
        with app.app_context():
            assert sms.send_one(other, now + timedelta(seconds=180)) == "failed"
        row = _row(app, other)
        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
        # The quota was counted once for the message, not once per attempt.
        with app.app_context():
            assert db.session.execute(select(SmsQuota.count).where(SmsQuota.mobile == "13700137001")).scalar() == 1


def test_answer_not_matching_the_success_pattern_is_a_failure(app):
    from app.services import sms

    (sms_id,) = _compose(app, "13600136000")
    with loopback_gateway(app) as gateway:
        gateway.answer = '{"code": 40001, "msg": "余额不足"}'
        with app.app_context():
            assert sms.send_one(sms_id) == "retry"
    row = _row(app, sms_id)
    assert "余额不足" in row.last_error


def test_unreachable_gateway_is_a_failure(app):
    from app.services import sms

    (sms_id,) = _compose(app, "13600136001")
    app.config.update(SMS_BACKEND="http", SMS_HTTP_URL="http://127.0.0.1:9/none", SMS_HTTP_TIMEOUT="2")
    try:
        with app.app_context():
            assert sms.send_one(sms_id) == "retry"
    finally:
        app.config.update(SMS_BACKEND=None, SMS_HTTP_URL=None, SMS_HTTP_TIMEOUT=None)
    assert "无法连接短信网关" in _row(app, sms_id).last_error


def test_daily_cap_per_number(app):
    from app.services import sms

    set_setting(app, "sms_daily_cap", "2")
    ids = [_compose(app, "13500135000", content=f"第{n}条")[0] for n in range(3)]
    (other,) = _compose(app, "13500135001")
    with loopback_gateway(app) as gateway, app.app_context():
        counts = sms.dispatch()
    assert counts == {"sent": 3, "capped": 1}
    assert sorted(gateway.mobiles()) == ["13500135000", "13500135000", "13500135001"]
    capped = _row(app, ids[2])
    assert capped.status == "capped" and "上限" in capped.last_error
    assert _row(app, other).status == "sent"


def test_log_backend_sends_nothing_out(app):
    from app.services import sms

    (sms_id,) = _compose(app, "13400134000")
    with app.app_context():
        assert sms.dispatch() == {"sent": 1}
    assert "log" in _row(app, sms_id).gateway_response


def test_bad_input_saves_nothing(app):
    from app.services import sms

    with acting(app, "officer_a") as user:
        with pytest.raises(DomainError, match="手机号码“12345”不正确"):
            sms.compose(user, "内容", mobiles="13800138000, 12345")
        with pytest.raises(DomainError, match="请填写短信内容"):
            sms.compose(user, " ", mobiles="13800138000")
        assert db.session.execute(select(SmsMessage)).first() is None
        with pytest.raises(DomainError, match=r"未知的占位符：\{amount\}"):
            sms.check_template_text("您的{amount}元")
        assert sms.render("尊敬的{customer_name}，{company_name}", {"customer_name": "张三"}).startswith("尊敬的张三，示例")


def test_replies_posted_by_the_gateway(app, client):
    customer_id = make_customer(app, name="关羽", documents=False)
    app.config["SMS_CALLBACK_TOKEN"] = "s3cret"
    try:
        assert client.post("/api/v1/sms/callback/wrong", data={"mobile": "13800138000", "content": "x"}).status_code == 403
        r = client.post("/api/v1/sms/callback/s3cret", data={"mobile": "13800138000", "content": "已还款，谢谢"})
        assert r.status_code == 200
    finally:
        app.config["SMS_CALLBACK_TOKEN"] = None
    with app.app_context():
        row = db.session.execute(select(SmsMessage).where(SmsMessage.direction == "in")).scalar_one()
        assert (row.mobile, row.content, row.status, row.customer_id) == ("13800138000", "已还款，谢谢", "received",
                                                                          customer_id)


def test_sms_screens(app, login_as):
    officer = login_as("officer_a")
    r = officer.post("/sms/compose/", data={"mobiles": "1380013800", "content": "测试", "action": "send"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "不正确" in page and 'value="1380013800"' in page
    r = officer.post("/sms/compose/", data={"mobiles": "13800138000", "content": "草稿短信", "action": "draft"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/sms/drafts/")
    assert "草稿短信" in officer.get("/sms/drafts/").get_data(as_text=True)
    r = officer.post("/sms/compose/", data={"mobiles": "13800138000", "content": "马上发送", "action": "send"})
    assert r.status_code == 302
    outbox = officer.get("/sms/outbox/").get_data(as_text=True)
    assert "马上发送" in outbox and "已发送" in outbox     # the log backend, in-process without Redis
    assert "草稿短信" not in outbox
    # Another officer does not see it in their outbox; the admin's audit list does.
    assert "马上发送" not in login_as("officer_b").get("/sms/outbox/").get_data(as_text=True)
    assert "马上发送" in login_as("admin").get("/smsadminview/list/").get_data(as_text=True)
