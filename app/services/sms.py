"""手机短信: templates, compose, the outbox with per-message status, retries with backoff, a
daily cap per phone number, and replies (上行) the gateway posts back.

The gateway is configuration (app config, or the environment of the same name):

- ``SMS_BACKEND`` = ``log`` (default): nothing leaves the machine, the message is only
  written to the outbox as sent;
- ``SMS_BACKEND`` = ``http``: ``SMS_HTTP_URL``, ``SMS_HTTP_METHOD`` (GET / POST),
  ``SMS_HTTP_BODY`` (``form`` or ``json`` for POST), ``SMS_HTTP_PARAMS`` (a JSON object whose
  values may use ``{mobile}``, ``{content}``, ``{sign}``, ``{id}``: how typical Chinese
  gateways take account, password, number and text), ``SMS_HTTP_SUCCESS`` (a regular
  expression the answer must match, e.g. ``"code"\\s*:\\s*0``; empty: any 2xx is success),
  ``SMS_HTTP_TIMEOUT`` (seconds);
- ``SMS_SIGNATURE`` (短信签名, e.g. 【示例小贷】) is put in front of the text;
- ``SMS_CALLBACK_TOKEN``: the secret in the callback URL ``/api/v1/sms/callback/<token>``;
  ``SMS_CALLBACK_MOBILE`` / ``SMS_CALLBACK_CONTENT`` name the parameters of a reply.

Sending one message (``send_one``) is claimed by one UPDATE (queued or due retry → sending),
so two workers never send one twice; the daily cap is counted in ``SmsQuota`` with an atomic
``UPDATE … WHERE count < cap``. The parameters ``sms_daily_cap``, ``sms_max_attempts`` and
``sms_retry_backoff_seconds`` are editable in 系统参数.

Faults (docs/faults.md) — never lost, never sent twice:

- gateway down (connection refused or timed out before the request was sent): retried with
  backoff (doubling, at most ``MAX_BACKOFF_SECONDS``) for up to ``OUTAGE_ATTEMPTS`` attempts,
  so an outage of hours does not use up ``sms_max_attempts``;
- the gateway answered "no" (HTTP error, answer not matching ``SMS_HTTP_SUCCESS``):
  retried up to ``sms_max_attempts``;
- outcome unknown (the request went out but no answer came: a read timeout, a dropped
  connection, or a worker killed while sending, seen as a "sending" claim older than
  ``SENDING_LEASE_SECONDS``): the gateway may have sent it, so it is NOT sent again by
  itself; it is marked failed with the reason, visible in the outbox, and a person resends
  it after checking. ``SMS_HTTP_DEDUPLICATES`` = 1 declares that the gateway drops a repeated
  ``{id}`` (which must then be in ``SMS_HTTP_PARAMS``): such outcomes are retried like any
  failure.
"""
import http.client
import json
import os
import re
import string
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import select, text, update

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Customer
from app.models.messages import SmsMessage, SmsQuota, SmsTemplate
from app.services import settings

PLACEHOLDERS = {
    "customer_name": "客户名称", "loan_no": "业务编号", "amount_due": "应还金额（元）", "due_date": "到期日",
    "overdue_days": "逾期天数", "company_name": "公司名称", "company_phone": "公司电话",
}
#: Built-in texts of the reminder templates (an administrator's row with the same code wins).
DEFAULT_TEMPLATES = {
    "due_soon": ("还款提醒（到期前）", "尊敬的{customer_name}，您的借款{loan_no}将于{due_date}到期，应还{amount_due}元，"
                                "请按时足额还款。如已还款请忽略。{company_name} {company_phone}"),
    "due_today": ("还款提醒（到期日）", "尊敬的{customer_name}，您的借款{loan_no}今日（{due_date}）到期，应还{amount_due}元，"
                                 "请于今日足额还款。{company_name} {company_phone}"),
    "overdue": ("逾期提醒", "尊敬的{customer_name}，您的借款{loan_no}已逾期{overdue_days}天，欠款{amount_due}元，"
                        "请尽快还款以免影响您的信用。{company_name} {company_phone}"),
}
MOBILE = re.compile(r"^1\d{10}$")
MAX_LENGTH = 500
DEFAULT_CAP, DEFAULT_ATTEMPTS, DEFAULT_BACKOFF = 5, 3, 60
#: Attempts while the gateway cannot be reached at all (≈ 4 h with the default backoff).
OUTAGE_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 3600
#: A "sending" claim older than this belongs to a sender that died (longer than any timeout).
SENDING_LEASE_SECONDS = 600
UNKNOWN_OUTCOME = "结果未知，为避免重复发送未自动重发，请向短信网关核实后再重发"


def _conf(key, default=None):
    if has_app_context() and current_app.config.get(key) is not None:
        return current_app.config.get(key)
    return os.environ.get(key, default)


# -- templates ----------------------------------------------------------------------------
def check_template_text(body):
    body = (body or "").strip()
    if not body:
        raise DomainError("请填写模板内容", "body")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}
    except ValueError:
        raise DomainError("模板中的花括号不成对，占位符应写成 {customer_name} 这样", "body") from None
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise DomainError("未知的占位符：" + "、".join("{" + n + "}" for n in unknown)
                          + "；可用：" + "、".join("{" + k + "}" + v for k, v in PLACEHOLDERS.items()), "body")
    if len(body) > MAX_LENGTH:
        raise DomainError(f"模板内容不能超过 {MAX_LENGTH} 个字", "body")
    return body


def check_template(template):
    template.code = (template.code or "").strip()
    template.name = (template.name or "").strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", template.code):
        raise DomainError("模板代码由小写字母、数字和下划线组成，以字母开头，例如 due_soon", "code")
    if not template.name:
        raise DomainError("请填写模板名称", "name")
    template.body = check_template_text(template.body)


def template_for(code):
    """(SmsTemplate or None, body) for ``code``: the active row, else the built-in text."""
    row = db.session.execute(select(SmsTemplate).where(SmsTemplate.code == code)).scalar_one_or_none()
    if row is not None and row.is_active:
        return row, row.body
    if row is not None and not row.is_active:
        return row, None
    default = DEFAULT_TEMPLATES.get(code)
    return None, default[1] if default else None


def render(body, context):
    values = {"company_name": settings.get("company_name", ""), "company_phone": settings.get("company_phone", "")}
    values.update({k: ("" if v is None else v) for k, v in (context or {}).items()})

    class _Blank(dict):
        def __missing__(self, key):
            return ""

    return string.Formatter().vformat(body, (), _Blank(values)).strip()


def loan_context(loan, amount_due=None, due_date=None, overdue_days=None):
    return {"customer_name": loan.customer.name if loan.customer else "", "loan_no": loan.loan_no,
            "amount_due": f"{amount_due:,.2f}" if amount_due is not None else "",
            "due_date": due_date.isoformat() if due_date else "", "overdue_days": overdue_days or ""}


# -- compose ------------------------------------------------------------------------------
def normalise_mobile(mobile, field="mobile"):
    value = re.sub(r"[\s-]", "", mobile or "")
    if value.startswith("+86"):
        value = value[3:]
    if not MOBILE.match(value):
        raise DomainError(f"手机号码“{mobile}”不正确：应为 11 位数字，以 1 开头", field)
    return value


def parse_mobiles(text_value):
    parts = [p.strip() for p in re.split(r"[,，;；、\n]+", text_value or "") if p.strip()]
    return [normalise_mobile(p, "mobiles") for p in parts]


def queue(mobile, content, customer_id=None, loan_id=None, reminder_id=None, template_id=None, user_id=None,
          status="queued"):
    """Add one outgoing SMS in the caller's transaction (flush only)."""
    message = SmsMessage(direction="out", mobile=normalise_mobile(mobile), content=content, status=status,
                         customer_id=customer_id, loan_id=loan_id, reminder_id=reminder_id,
                         template_id=template_id, created_by_id=user_id)
    db.session.add(message)
    db.session.flush()
    return message


def compose(user, content, mobiles="", customer_ids=(), draft=False, template_id=None, loan_id=None, message_id=None):
    """Compose SMS to typed numbers and/or customers (their mobile). ``draft`` keeps them in
    草稿箱; otherwise they are queued and sent by ``dispatch`` (the caller starts it).
    ``message_id`` edits a draft. Commits; returns the messages."""
    try:
        content = (content or "").strip()
        if not content and template_id:
            template = db.session.get(SmsTemplate, int(template_id))
            if template is None:
                raise DomainError("短信模板不存在", "template")
            context = {}
            if loan_id:
                from app.models import Loan

                loan = db.session.get(Loan, int(loan_id))
                if loan is not None:
                    context = loan_context(loan)
            content = render(template.body, context)
        if not content:
            raise DomainError("请填写短信内容", "content")
        if len(content) > MAX_LENGTH:
            raise DomainError(f"短信内容不能超过 {MAX_LENGTH} 个字", "content")
        targets = [(m, None) for m in parse_mobiles(mobiles)]
        for customer_id in customer_ids or ():
            customer = db.session.get(Customer, int(customer_id))
            if customer is None:
                raise DomainError("所选客户不存在", "customer")
            if not customer.mobile:
                raise DomainError(f"客户“{customer.name}”没有登记手机号码", "customer")
            targets.append((normalise_mobile(customer.mobile, "customer"), customer.id))
        if not targets:
            raise DomainError("请填写手机号码或选择客户", "mobiles")
        if message_id:
            old = db.session.get(SmsMessage, int(message_id))
            if old is None or old.status != "draft" or old.created_by_id != user.id:
                raise DomainError("只能修改自己的短信草稿", "content")
            db.session.delete(old)
        rows = [queue(m, content, customer_id=c, user_id=user.id, template_id=int(template_id) if template_id else None,
                      loan_id=int(loan_id) if loan_id else None, status="draft" if draft else "queued")
                for m, c in targets]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return rows


def send_draft(sms_id, user):
    row = db.session.get(SmsMessage, sms_id)
    if row is None or row.status != "draft" or row.created_by_id != user.id:
        raise DomainError("只能发送自己的短信草稿")
    row.status = "queued"
    db.session.commit()
    return row


def delete_draft(sms_id, user):
    row = db.session.get(SmsMessage, sms_id)
    if row is None or row.status != "draft" or row.created_by_id != user.id:
        raise DomainError("只能删除自己的短信草稿")
    db.session.delete(row)
    db.session.commit()


def resend(sms_id):
    """A failed or capped message back to the queue (attempts start again)."""
    row = db.session.get(SmsMessage, sms_id)
    if row is None or row.direction != "out" or row.status not in ("failed", "capped"):
        raise DomainError("只有发送失败或超出上限的短信可以重发")
    row.status, row.attempts, row.next_attempt_at, row.quota_taken = "queued", 0, None, False
    db.session.commit()
    return row


# -- gateway ------------------------------------------------------------------------------
@dataclass
class GatewayResult:
    ok: bool
    response: str = ""
    error: str = ""
    unreachable: bool = False   # nothing reached the gateway: safe to retry, an outage
    uncertain: bool = False     # the request went out, no answer: it may have been sent


class LogGateway:
    """Writes nothing anywhere but the outbox: the default, for installations without an SMS
    contract and for demos."""

    name = "log"

    def send(self, message):
        current_app.logger.info("SMS (log backend) to %s: %s", message.mobile, message.content)
        return GatewayResult(True, "log: not sent to any gateway")


class HttpGateway:
    """A generic HTTP SMS API (see the module docstring for the settings)."""

    name = "http"

    def __init__(self):
        self.url = _conf("SMS_HTTP_URL")
        self.method = (_conf("SMS_HTTP_METHOD", "POST") or "POST").upper()
        self.body = (_conf("SMS_HTTP_BODY", "form") or "form").lower()
        raw = _conf("SMS_HTTP_PARAMS", '{"mobile": "{mobile}", "content": "{content}"}')
        self.params = raw if isinstance(raw, dict) else json.loads(raw)
        self.success = _conf("SMS_HTTP_SUCCESS", "") or ""
        self.timeout = float(_conf("SMS_HTTP_TIMEOUT", "10"))
        if not self.url:
            raise DomainError("短信网关未配置：请设置 SMS_HTTP_URL")

    def _values(self, message):
        fields = {"mobile": message.mobile, "content": message.content, "sign": _conf("SMS_SIGNATURE", "") or "",
                  "id": str(message.id)}
        return {k: (str(v).replace("{mobile}", fields["mobile"]).replace("{content}", fields["content"])
                    .replace("{sign}", fields["sign"]).replace("{id}", fields["id"]))
                for k, v in self.params.items()}

    def send(self, message):
        values = self._values(message)
        url, data, headers = self.url, None, {}
        if self.method == "GET":
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(values)
        elif self.body == "json":
            data = json.dumps(values, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        else:
            data = urllib.parse.urlencode(values).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        request = urllib.request.Request(url, data=data, headers=headers, method=self.method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(4000).decode("utf-8", "replace")
                status = response.status
        except urllib.error.HTTPError as exc:
            return GatewayResult(False, exc.read(2000).decode("utf-8", "replace"), f"网关返回 HTTP {exc.code}")
        except urllib.error.URLError as exc:
            # urllib wraps what fails while connecting and sending the request: the gateway
            # got no complete request, so a retry cannot send the message twice.
            return GatewayResult(False, "", f"无法连接短信网关：{exc.reason}", unreachable=True)
        except (OSError, http.client.HTTPException) as exc:
            # Failing while waiting for the answer (timeout, connection dropped): the request
            # was sent, and the gateway may well have sent the message.
            return GatewayResult(False, "", f"短信网关无应答（{type(exc).__name__}: {exc}）", uncertain=True)
        if not 200 <= status < 300:
            return GatewayResult(False, body, f"网关返回 HTTP {status}")
        if self.success and not re.search(self.success, body):
            return GatewayResult(False, body, "网关应答不表示成功：" + body[:200])
        return GatewayResult(True, body)


def gateway():
    backend = (_conf("SMS_BACKEND", "log") or "log").lower()
    if backend == "http":
        return HttpGateway()
    if backend == "log":
        return LogGateway()
    raise DomainError(f"未知的短信网关类型：{backend}（可用 log、http）")


# -- sending ------------------------------------------------------------------------------
def _int_setting(key, default):
    try:
        return int(settings.get(key, default))
    except (TypeError, ValueError):
        return default


def take_quota(mobile, day, cap):
    """Count one message to ``mobile`` on ``day`` if fewer than ``cap`` went out; False when
    the cap is reached. One atomic UPDATE: concurrent senders cannot both take the last one."""
    db.session.execute(text("INSERT INTO sms_quota (mobile, day, count) VALUES (:m, :d, 0) "
                            "ON CONFLICT (mobile, day) DO NOTHING"), {"m": mobile, "d": day})
    taken = db.session.execute(
        update(SmsQuota).where(SmsQuota.mobile == mobile, SmsQuota.day == day, SmsQuota.count < cap)
        .values(count=SmsQuota.count + 1).execution_options(synchronize_session=False)).rowcount
    return taken == 1


def backoff_seconds(attempts):
    """Wait before the next attempt after ``attempts`` failures: base × 2^(attempts-1), at
    most MAX_BACKOFF_SECONDS."""
    base = _int_setting("sms_retry_backoff_seconds", DEFAULT_BACKOFF)
    return min(base * (2 ** min(max(attempts - 1, 0), 20)), max(MAX_BACKOFF_SECONDS, base))


def _gateway_deduplicates():
    """The operator declares that the gateway drops a repeated message id ({id} in the params)."""
    flag = str(_conf("SMS_HTTP_DEDUPLICATES", "") or "").lower() in ("1", "true", "yes", "on")
    return flag and "{id}" in str(_conf("SMS_HTTP_PARAMS", "") or "")


def _max_attempts(result):
    limit = _int_setting("sms_max_attempts", DEFAULT_ATTEMPTS)
    return max(limit, OUTAGE_ATTEMPTS) if result.unreachable else limit


@dataclass
class Outgoing:
    """What a gateway needs of a message: a plain copy, so no database read (and on SQLite
    no lock) is held while the gateway is called."""

    id: int
    mobile: str
    content: str
    attempts: int


def send_one(sms_id, now=None):
    """Try to send one message; returns its status afterwards (or None when another worker
    has it or it is not due)."""
    now = now or datetime.now()
    # The claim also sets a lease (next_attempt_at): a "sending" row past it was left by a
    # sender that died mid-attempt (recover_interrupted).
    claimed = db.session.execute(
        update(SmsMessage).where(
            SmsMessage.id == sms_id, SmsMessage.direction == "out",
            (SmsMessage.status == "queued") | ((SmsMessage.status == "retry") & (SmsMessage.next_attempt_at <= now)))
        .values(status="sending", next_attempt_at=now + timedelta(seconds=SENDING_LEASE_SECONDS))
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        db.session.rollback()
        return None
    outgoing = _take_quota_or_cap(sms_id)
    if outgoing is None:
        return "capped"
    try:
        result = gateway().send(outgoing)
    except DomainError as exc:
        result = GatewayResult(False, "", exc.message)
    values = _after_attempt(outgoing.attempts + 1, result, now)
    retry_in = backoff_seconds(values["attempts"]) if values["status"] == "retry" else None
    # Settings were read above: end that read so the UPDATE starts its own transaction (on
    # SQLite a read upgraded to a write can deadlock with an overlapping outbox run).
    db.session.commit()
    db.session.execute(update(SmsMessage).where(SmsMessage.id == sms_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    if retry_in is not None:
        _schedule_retry(sms_id, retry_in)
    return values["status"]


def _take_quota_or_cap(sms_id):
    """In the claim's transaction: count the message against the daily cap (once per
    message) and commit. Returns an ``Outgoing`` copy, or None when it was capped."""
    from app.services.scheduler import beijing_today

    message = db.session.get(SmsMessage, sms_id)
    db.session.refresh(message)
    if not message.quota_taken:
        cap = _int_setting("sms_daily_cap", DEFAULT_CAP)
        if not take_quota(message.mobile, beijing_today(), cap):
            message.status, message.next_attempt_at = "capped", None
            message.last_error = f"该号码今日已发送 {cap} 条，达到每日上限"
            db.session.commit()
            return None
        message.quota_taken = True
    outgoing = Outgoing(message.id, message.mobile, message.content, message.attempts or 0)
    db.session.commit()
    return outgoing


def _after_attempt(attempts, result, now):
    """The message's columns after attempt number ``attempts`` ended with ``result``."""
    values = {"attempts": attempts, "gateway_response": (result.response or "")[:2000]}
    if result.ok:
        values.update(status="sent", sent_at=datetime.now(), last_error=None, next_attempt_at=None)
    elif result.uncertain and not _gateway_deduplicates():
        values.update(status="failed", next_attempt_at=None, last_error=f"{result.error}：{UNKNOWN_OUTCOME}")
    elif attempts < _max_attempts(result):
        values.update(status="retry", last_error=result.error,
                      next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts)))
    else:
        values.update(status="failed", last_error=result.error, next_attempt_at=None)
    return values


def _schedule_retry(sms_id, seconds):
    """With Redis, RQ's scheduler retries at the right second; without it (or if Redis is
    down) the outbox job picks the retry up when ``next_attempt_at`` has passed."""
    from app.jobs import enqueue_in
    from app.jobs.tasks import send_sms

    try:
        enqueue_in(seconds, send_sms, sms_id)
    except Exception as exc:  # noqa: BLE001 - the periodic outbox job is the fallback
        current_app.logger.warning("SMS %s: retry not scheduled on RQ (%s)", sms_id, exc)


def recover_interrupted(now=None):
    """Messages left "sending" past their lease: their sender died mid-attempt (worker
    killed, connection lost). Whether the gateway sent them cannot be known, so they are
    marked failed with the reason (kept in the outbox, resendable), never sent again by
    themselves. Returns how many."""
    now = now or datetime.now()
    stale = (SmsMessage.direction == "out") & (SmsMessage.status == "sending") & (
        SmsMessage.next_attempt_at.is_(None) | (SmsMessage.next_attempt_at <= now))
    count = db.session.execute(
        update(SmsMessage).where(stale).values(
            status="failed", next_attempt_at=None, last_error="发送过程中断（发送进程退出或网关无应答）：" + UNKNOWN_OUTCOME)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if count:
        current_app.logger.warning("SMS: %s message(s) interrupted while sending marked failed (outcome unknown)",
                                   count)
    return count


def dispatch(now=None, limit=500):
    """Send every queued message and every retry that is due (after settling the sends that
    were interrupted). Returns counts by status."""
    now = now or datetime.now()
    db.session.commit()   # each write below starts its own transaction (see send_one)
    interrupted = recover_interrupted(now)
    ids = db.session.execute(
        select(SmsMessage.id).where(SmsMessage.direction == "out",
                                    (SmsMessage.status == "queued")
                                    | ((SmsMessage.status == "retry") & (SmsMessage.next_attempt_at <= now)))
        .order_by(SmsMessage.id).limit(limit)).scalars().all()
    db.session.commit()
    counts = {"interrupted": interrupted} if interrupted else {}
    for sms_id in ids:
        status = send_one(sms_id, now)
        if status:
            counts[status] = counts.get(status, 0) + 1
    return counts


# -- replies (上行) ------------------------------------------------------------------------
def check_callback_token(token):
    expected = _conf("SMS_CALLBACK_TOKEN")
    if not expected or token != expected:
        raise DomainError("回调令牌不正确")


def receive(values):
    """Store a reply posted by the gateway (parameters named by SMS_CALLBACK_MOBILE and
    SMS_CALLBACK_CONTENT); the customer is matched by mobile. Commits."""
    mobile_key = _conf("SMS_CALLBACK_MOBILE", "mobile") or "mobile"
    content_key = _conf("SMS_CALLBACK_CONTENT", "content") or "content"
    mobile = normalise_mobile(values.get(mobile_key) or "")
    content = (values.get(content_key) or "").strip()
    if not content:
        raise DomainError("回复内容为空", "content")
    customer_id = db.session.execute(select(Customer.id).where(Customer.mobile == mobile).order_by(Customer.id)
                                     .limit(1)).scalar()
    row = SmsMessage(direction="in", mobile=mobile, content=content[:MAX_LENGTH], status="received",
                     customer_id=customer_id, sent_at=datetime.now(),
                     gateway_response=json.dumps(dict(values), ensure_ascii=False)[:2000])
    db.session.add(row)
    db.session.commit()
    return row
