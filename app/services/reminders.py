"""提醒: the daily reminder job and its kinds.

``run(as_of)`` asks every registered kind for its candidates on the business date ``as_of``
and sends each through the channels the parameter ``reminder_channels_<kind>`` lists
(``sms`` → the customer's mobile, or the staff's for staff-only kinds; ``message`` → an
internal message to the staff; ``email`` → the customer's, or the staff's, e-mail). Empty =
the kind is switched off.

Each reminder is sent at most once per (kind, object, day): a ``Reminder`` row with a unique
key is inserted with ``ON CONFLICT DO NOTHING`` in the same transaction as its SMS, e-mail
and message rows. Running the job twice, or two workers at once, inserts the row once (on
PostgreSQL the second insert waits for the first transaction and then finds the key taken),
so the second run writes nothing. SMS and e-mails are then delivered by ``dispatch_outbox``.

Kinds built in: installment due in N days (``due_soon``) and due today (``due_today``),
overdue (``overdue`` on days 1, 3, 7, then weekly), maturity without an extension request
(``maturity``), post-loan check due and late (``post_loan_due`` / ``post_loan_late``), and
approval steps past their time limit (``approval_overdue``). Another module registers its
own with ``register_kind`` — the archive issue adds ``archive_borrowing_due`` (借阅到期 →
the borrower) this way::

    reminders.register_kind(reminders.ReminderKind(
        "archive_borrowing_due", "档案借阅到期提醒", generate=my_candidates, default_channels="message"))
"""
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable, Optional

from sqlalchemy import func, select, text

from app.extensions import db
from app.models import AppUser, Branch, Installment, Loan
from app.models.messages import Reminder
from app.services import settings

CHANNELS = {"sms": "手机短信", "message": "站内短消息", "email": "邮件"}


@dataclass
class Candidate:
    """One reminder to send (before the once-a-day check)."""

    kind: str
    object_type: str
    object_id: int
    summary: str
    staff_ids: list = field(default_factory=list)
    loan: Optional[Loan] = None
    customer: object = None          # customer-facing kinds: who gets the SMS / e-mail
    sms_context: dict = field(default_factory=dict)
    link: Optional[str] = None
    body: Optional[str] = None


@dataclass
class ReminderKind:
    code: str
    label: str
    generate: Callable               # generate(as_of) → iterable of Candidate
    default_channels: str = "message"
    customer_facing: bool = False
    description: str = ""


KINDS = {}


def register_kind(kind):
    """Add a reminder kind (built-in or from another module, e.g. the archive)."""
    KINDS[kind.code] = kind
    return kind


def kind_label(code):
    kind = KINDS.get(code)
    return kind.label if kind else code


def channels_for(kind):
    """The channels of a kind from its parameter (missing parameter: the kind's default)."""
    raw = settings.get(f"reminder_channels_{kind.code}")
    if raw is None:
        raw = kind.default_channels
    return [c for c in re.split(r"[\s,，、;；]+", str(raw).lower()) if c in CHANNELS]


def _int_list(key, default):
    raw = settings.get(key)
    raw = default if raw is None else str(raw)
    values = []
    for part in re.split(r"[\s,，、;；]+", raw):
        if part.isdigit():
            values.append(int(part))
    return sorted(set(values))


def _int(key, default):
    try:
        return int(settings.get(key, default))
    except (TypeError, ValueError):
        return default


# -- running ------------------------------------------------------------------------------
def run(as_of=None, kinds=None):
    """Generate and record the reminders of the business date ``as_of`` (default: the
    business date). Returns counts: ``reminders`` (new ones), one entry per kind,
    ``skipped`` (already sent today)."""
    as_of = as_of or settings.business_date()
    counts = {"reminders": 0, "skipped": 0}
    for code, kind in list(KINDS.items()):
        if kinds and code not in kinds:
            continue
        channels = channels_for(kind)
        if not channels:
            continue
        candidates = list(kind.generate(as_of))
        db.session.commit()   # end the read transaction before the writes
        for candidate in candidates:
            if send(candidate, as_of, channels, kind):
                counts["reminders"] += 1
                counts[code] = counts.get(code, 0) + 1
            else:
                counts["skipped"] += 1
    return counts


_CLAIM = text("INSERT INTO reminder (kind, object_type, object_id, remind_on, loan_id, customer_id, summary, "
              "channels, created_at) VALUES (:kind, :object_type, :object_id, :remind_on, :loan_id, :customer_id, "
              ":summary, :channels, :created_at) ON CONFLICT (kind, object_type, object_id, remind_on) DO NOTHING")


def send(candidate, as_of, channels, kind=None):
    """Record and send one reminder unless it was already sent today; one transaction.
    Returns the Reminder id, or None when it had been sent."""
    from app.services import mail, messages, sms

    kind = kind or KINDS[candidate.kind]
    customer = candidate.customer
    try:
        inserted = db.session.execute(_CLAIM, {
            "kind": candidate.kind, "object_type": candidate.object_type, "object_id": candidate.object_id,
            "remind_on": as_of, "loan_id": candidate.loan.id if candidate.loan is not None else None,
            "customer_id": getattr(customer, "id", None), "summary": candidate.summary[:300],
            "channels": ",".join(channels), "created_at": datetime.now()}).rowcount
        if inserted != 1:
            db.session.rollback()
            return None
        reminder_id = db.session.execute(select(Reminder.id).where(
            Reminder.kind == candidate.kind, Reminder.object_type == candidate.object_type,
            Reminder.object_id == candidate.object_id, Reminder.remind_on == as_of)).scalar_one()
        loan_id = candidate.loan.id if candidate.loan is not None else None
        staff = _active_users(candidate.staff_ids)
        if "message" in channels and staff:
            messages.deliver([u.id for u in staff], candidate.summary, body=candidate.body, link=candidate.link,
                             source="reminder", loan_id=loan_id, customer_id=getattr(customer, "id", None))
        if "sms" in channels:
            if kind.customer_facing:
                _customer_sms(candidate, customer, reminder_id, loan_id)
            else:
                for user in staff:
                    if user.mobile and sms.MOBILE.match(user.mobile):
                        sms.queue(user.mobile, candidate.summary, loan_id=loan_id, reminder_id=reminder_id)
        if "email" in channels:
            targets = [customer] if kind.customer_facing else staff
            for target in targets:
                address = getattr(target, "email", None)
                if address and mail.ADDRESS.match(address):
                    mail.queue(address, candidate.summary, candidate.body or candidate.summary,
                               name=getattr(target, "name", None) or getattr(target, "real_name", None),
                               user_id=getattr(target, "id", None) if not kind.customer_facing else None,
                               customer_id=getattr(customer, "id", None) if kind.customer_facing else None,
                               reminder_id=reminder_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return reminder_id


def _customer_sms(candidate, customer, reminder_id, loan_id):
    from app.services import sms

    mobile = getattr(customer, "mobile", None)
    if not mobile:
        return None
    try:
        mobile = sms.normalise_mobile(mobile)
    except Exception:   # a badly registered number: no SMS, the staff message still goes
        return None
    template, body = sms.template_for(candidate.kind)
    if not body:
        return None
    return sms.queue(mobile, sms.render(body, candidate.sms_context), customer_id=customer.id, loan_id=loan_id,
                     reminder_id=reminder_id, template_id=template.id if template else None)


def _active_users(user_ids):
    ids = sorted({int(u) for u in user_ids or () if u})
    if not ids:
        return []
    return db.session.execute(select(AppUser).where(AppUser.id.in_(ids), AppUser.active.is_(True))
                              .order_by(AppUser.id)).scalars().all()


def dispatch_outbox():
    """Deliver what waits: scheduled internal messages, queued / due SMS, queued e-mails."""
    from app.services import mail, messages, sms

    counts = {"scheduled_messages": messages.send_scheduled()}
    counts.update({f"sms_{k}": v for k, v in sms.dispatch().items()})
    counts.update({f"email_{k}": v for k, v in mail.dispatch().items()})
    return counts


def sent_on(as_of):
    return db.session.execute(select(Reminder).where(Reminder.remind_on == as_of)
                              .order_by(Reminder.kind, Reminder.object_type, Reminder.object_id)).scalars().all()


# -- helpers for the built-in kinds ---------------------------------------------------------
def _loan_link(loan_id):
    return f"/loanview/show/{loan_id}"


def _unpaid(inst):
    return (Decimal(inst.principal or 0) - Decimal(inst.principal_paid or 0) + Decimal(inst.interest or 0)
            - Decimal(inst.interest_paid or 0) - Decimal(inst.interest_waived or 0))


def managers_of(loan):
    """Who hears of an overdue loan besides its officer: the officer's department head, and
    the users holding the Manager role in the loan's branch or a branch above it."""
    from flask_appbuilder.security.sqla.models import Role, assoc_user_role

    from app.security import role_name

    ids = set()
    officer = loan.officer
    if officer is not None and officer.department is not None and officer.department.head_id:
        ids.add(officer.department.head_id)
    branch_ids, current = [], db.session.get(Branch, loan.branch_id)
    while current is not None and current.id not in branch_ids:
        branch_ids.append(current.id)
        current = current.parent
    ids |= set(db.session.execute(
        select(AppUser.id).join(assoc_user_role, assoc_user_role.c.user_id == AppUser.id)
        .join(Role, Role.id == assoc_user_role.c.role_id)
        .where(Role.name == role_name("Manager"), AppUser.branch_id.in_(branch_ids or [0]))).scalars())
    ids.discard(loan.officer_id)
    return sorted(ids)


def _due_installments(due_date):
    return db.session.execute(
        select(Installment, Loan).join(Loan, Loan.id == Installment.loan_id)
        .where(Loan.status == "active", Installment.paid_off_on.is_(None), Installment.due_date == due_date)
        .order_by(Loan.loan_no, Installment.seq)).all()


def _installment_candidates(kind, as_of, due_date):
    from app.services.sms import loan_context

    result = []
    for inst, loan in _due_installments(due_date):
        amount = _unpaid(inst)
        if amount <= 0:
            continue
        customer = loan.customer
        when = "今日到期" if due_date == as_of else f"将于 {due_date} 到期"
        summary = (f"还款提醒：{loan.loan_no}（{customer.name}）第 {inst.seq} 期{when}，"
                   f"应还 {amount:,.2f} 元")
        result.append(Candidate(kind, "installment", inst.id, summary, [loan.officer_id], loan, customer,
                                loan_context(loan, amount, due_date), _loan_link(loan.id)))
    return result


def due_soon(as_of):
    lead = _int("reminder_lead_days", 3)
    if lead <= 0:
        return []
    return _installment_candidates("due_soon", as_of, as_of + timedelta(days=lead))


def due_today(as_of):
    return _installment_candidates("due_today", as_of, as_of)


def overdue_reminder_day(days):
    """Is ``days`` overdue a reminder day? Days 1, 3, 7 (parameter), then every 7 days."""
    days_list = _int_list("reminder_overdue_days", "1,3,7")
    every = _int("reminder_overdue_every_days", 7)
    if days in days_list:
        return True
    last = max(days_list) if days_list else 0
    return every > 0 and days > last and (days - last) % every == 0


def overdue(as_of):
    from app.services.sms import loan_context

    oldest = (select(Installment.loan_id, func.min(Installment.due_date).label("due"))
              .join(Loan, Loan.id == Installment.loan_id)
              .where(Loan.status == "active", Installment.paid_off_on.is_(None), Installment.due_date < as_of)
              .group_by(Installment.loan_id).subquery())
    result = []
    for loan_id, due in db.session.execute(select(oldest.c.loan_id, oldest.c.due).order_by(oldest.c.loan_id)).all():
        days = (as_of - due).days
        if not overdue_reminder_day(days):
            continue
        loan = db.session.get(Loan, loan_id)
        late = db.session.execute(select(Installment).where(
            Installment.loan_id == loan_id, Installment.paid_off_on.is_(None),
            Installment.due_date < as_of)).scalars().all()
        amount = sum((_unpaid(i) for i in late), Decimal("0.00"))
        customer = loan.customer
        summary = f"逾期提醒：{loan.loan_no}（{customer.name}）已逾期 {days} 天，逾期本息 {amount:,.2f} 元"
        result.append(Candidate("overdue", "loan", loan.id, summary, [loan.officer_id] + managers_of(loan), loan,
                                customer, loan_context(loan, amount, due, days), _loan_link(loan.id)))
    return result


def maturity(as_of):
    """展期提醒: active loans maturing in one of the parameter's days with no extension request
    in approval or approved (an extension must be applied for before maturity)."""
    from app.models.servicing import ServicingRequest

    days_list = _int_list("reminder_maturity_days", "30,7")
    if not days_list:
        return []
    maturity_of = (select(Installment.loan_id, func.max(Installment.due_date).label("maturity"))
                   .join(Loan, Loan.id == Installment.loan_id).where(Loan.status == "active")
                   .group_by(Installment.loan_id).subquery())
    dates = [as_of + timedelta(days=d) for d in days_list]
    pending = select(ServicingRequest.loan_id).where(ServicingRequest.kind == "extension",
                                                     ServicingRequest.status.in_(("in_approval", "approved")))
    rows = db.session.execute(select(maturity_of.c.loan_id, maturity_of.c.maturity)
                              .where(maturity_of.c.maturity.in_(dates), maturity_of.c.loan_id.not_in(pending))
                              .order_by(maturity_of.c.loan_id)).all()
    result = []
    for loan_id, when in rows:
        loan = db.session.get(Loan, loan_id)
        summary = (f"展期提醒：{loan.loan_no}（{loan.customer.name}）将于 {when} 到期（还有 {(when - as_of).days} 天），"
                   f"尚无展期申请；如需展期须在到期前申请")
        result.append(Candidate("maturity", "loan", loan.id, summary, [loan.officer_id], loan,
                                link=_loan_link(loan.id)))
    return result


def _post_loan_model():
    try:
        from app.models.post_loan import PostLoanTask
    except ImportError:  # the post-loan module is not installed
        return None
    return PostLoanTask


def post_loan_due(as_of):
    model = _post_loan_model()
    if model is None:
        return []
    lead = _int("reminder_post_loan_lead_days", 3)
    dates = sorted({as_of, as_of + timedelta(days=max(lead, 0))})
    rows = db.session.execute(select(model).where(model.status == "open", model.due_date.in_(dates))
                              .order_by(model.id)).scalars().all()
    return [Candidate("post_loan_due", "post_loan_task", t.id,
                      f"贷后检查提醒：{t.loan.loan_no}（{t.loan.customer.name}）{t.kind_label}应于 {t.due_date} 前完成",
                      [t.officer_id], t.loan, link=f"/postloantaskview/show/{t.id}") for t in rows]


def post_loan_late(as_of):
    model = _post_loan_model()
    if model is None:
        return []
    every = _int("reminder_overdue_every_days", 7)
    rows = db.session.execute(select(model).where(model.status == "open", model.due_date < as_of)
                              .order_by(model.id)).scalars().all()
    result = []
    for t in rows:
        days = (as_of - t.due_date).days
        if days == 1 or (every > 0 and days > 1 and (days - 1) % every == 0):
            result.append(Candidate(
                "post_loan_late", "post_loan_task", t.id,
                f"贷后检查逾期：{t.loan.loan_no}（{t.loan.customer.name}）{t.kind_label}已超期 {days} 天（应于 {t.due_date} 完成）",
                [t.officer_id], t.loan, link=f"/postloantaskview/show/{t.id}"))
    return result


def approval_overdue(as_of, now=None):
    """Open approval tasks past their step's time limit (WorkflowStep.time_limit_hours) → the
    approver (the task's user, or every holder of its role)."""
    from app.models.workflow import WorkflowTask
    from app.services import workflow

    now = now or datetime.now()
    rows = db.session.execute(select(WorkflowTask).where(
        WorkflowTask.is_open.is_(True), WorkflowTask.due_at.is_not(None), WorkflowTask.due_at < now)
        .order_by(WorkflowTask.id)).scalars().all()
    result = []
    for task in rows:
        hours = int((now - task.due_at).total_seconds() // 3600)
        summary = (f"审批超时：{task.instance.title}（{task.step_name}）应于 {task.due_at:%Y-%m-%d %H:%M} 前处理，"
                   f"已超时 {hours} 小时")
        result.append(Candidate("approval_overdue", "workflow_task", task.id, summary,
                                workflow._task_user_ids([task]), link=task.instance.link))
    return result


register_kind(ReminderKind("due_soon", "到期前还款提醒", due_soon, "sms,message", True,
                           "到期前 N 天（参数 reminder_lead_days）提醒客户与客户经理"))
register_kind(ReminderKind("due_today", "到期日还款提醒", due_today, "sms,message", True, "到期当日提醒客户与客户经理"))
register_kind(ReminderKind("overdue", "逾期提醒", overdue, "sms,message", True,
                           "逾期第 1、3、7 天，之后每 7 天提醒客户、客户经理及其负责人"))
register_kind(ReminderKind("maturity", "展期提醒", maturity, "message", False, "贷款到期前尚无展期申请时提醒客户经理"))
register_kind(ReminderKind("post_loan_due", "贷后检查到期提醒", post_loan_due, "message", False))
register_kind(ReminderKind("post_loan_late", "贷后检查逾期提醒", post_loan_late, "message", False))
register_kind(ReminderKind("approval_overdue", "审批超时提醒", approval_overdue, "message", False))
