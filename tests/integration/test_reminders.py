"""提醒: the exact reminders of a prepared portfolio on a business date, channels per kind,
at most once per object, kind and day (run twice, and two workers at once on PostgreSQL),
and the daily job end to end (outbox and loopback gateway)."""
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.messages import Message, MessageRecipient, Reminder, SmsMessage

from .message_helpers import in_process  # noqa: F401 (autouse: jobs run in-process)
from .message_helpers import loopback_gateway, portfolio_loan, user_id
from .test_loans import BUSINESS_DATE, acting, set_setting

AS_OF = date(2026, 5, 20)


def _portfolio(app):
    """Loans whose installments make every kind of reminder fall (or not) on AS_OF."""
    d = lambda n: AS_OF + timedelta(days=n)  # noqa: E731
    return {
        "soon": portfolio_loan(app, "王小明", [d(3), d(33)], mobile="13800000001"),       # due in 3 days
        "today": portfolio_loan(app, "李晓红", [d(0), d(40)], mobile="13800000002"),      # due today
        "late3": portfolio_loan(app, "赵大海", [d(-3), d(27)], mobile="13800000003"),     # overdue day 3
        "late2": portfolio_loan(app, "钱多多", [d(-2), d(28)], mobile="13800000004"),     # overdue day 2: none
        "late14": portfolio_loan(app, "孙悟空", [d(-14), d(16)], mobile="13800000005"),   # overdue day 14 (weekly)
        "paid": portfolio_loan(app, "周芷若", [d(-3), d(3)], mobile="13800000006", paid_seqs=(1, 2)),  # paid: none
        "mature": portfolio_loan(app, "吴用", [d(-20), d(30)], mobile="13800000007", paid_seqs=(1,)),  # matures in 30
    }


def _reminders(app, as_of=AS_OF):
    with app.app_context():
        return sorted((r.kind, r.object_type, r.loan_id) for r in db.session.execute(
            select(Reminder).where(Reminder.remind_on == as_of)).scalars())


def _count(app, model, *where):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def test_overdue_reminder_days():
    from app.services import reminders

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reminders, "_int_list", lambda key, default: [1, 3, 7])
        mp.setattr(reminders, "_int", lambda key, default: 7)
        assert [n for n in range(0, 36) if reminders.overdue_reminder_day(n)] == [1, 3, 7, 14, 21, 28, 35]


def test_reminders_for_a_business_date_exactly_once(app):
    loans = _portfolio(app)
    set_setting(app, "business_date", AS_OF.isoformat())
    from app.services import reminders

    with acting(app, "admin"):
        counts = reminders.run(AS_OF)
    ids = {k: v[0] for k, v in loans.items()}
    assert _reminders(app) == sorted([
        ("due_soon", "installment", ids["soon"]),
        ("due_today", "installment", ids["today"]),
        ("maturity", "loan", ids["mature"]),
        ("overdue", "loan", ids["late14"]),
        ("overdue", "loan", ids["late3"]),
    ])
    assert counts["reminders"] == 5 and counts["overdue"] == 2
    # Customer SMS for the customer-facing kinds (queued in the outbox), none for maturity.
    with app.app_context():
        sms_rows = db.session.execute(select(SmsMessage.mobile, SmsMessage.content, SmsMessage.status)
                                      .order_by(SmsMessage.mobile)).all()
    assert [m for m, _c, _s in sms_rows] == ["13800000001", "13800000002", "13800000003", "13800000005"]
    assert all(s == "queued" for _m, _c, s in sms_rows)
    soon = sms_rows[0][1]
    assert "王小明" in soon and (AS_OF + timedelta(days=3)).isoformat() in soon and "1,050.00" in soon
    assert "已逾期3天" in sms_rows[2][1] or "逾期3天" in sms_rows[2][1]
    # Internal messages: the officer for each of the 5, the manager too for the 2 overdue loans.
    with app.app_context():
        officer, manager = user_id("officer_a"), user_id("manager")
    assert _count(app, MessageRecipient, MessageRecipient.user_id == officer) == 5
    with app.app_context():
        manager_subjects = db.session.execute(
            select(Message.subject).join(MessageRecipient).where(MessageRecipient.user_id == manager)).scalars().all()
    assert len(manager_subjects) == 2 and all(s.startswith("逾期提醒") for s in manager_subjects)

    # The job runs again the same day: nothing new anywhere.
    with acting(app, "admin"):
        again = reminders.run(AS_OF)
    assert again["reminders"] == 0 and again["skipped"] == 5
    assert _count(app, Reminder) == 5 and _count(app, SmsMessage) == 4 and _count(app, Message) == 5

    # Next day: today's installment is overdue day 1 and the 2-days-late one day 3 (reminded);
    # day 4 and day 15 are not reminder days, the due-soon installment is 2 days away.
    with acting(app, "admin"):
        reminders.run(AS_OF + timedelta(days=1))
    assert _reminders(app, AS_OF + timedelta(days=1)) == sorted([
        ("overdue", "loan", ids["today"]), ("overdue", "loan", ids["late2"])])


def test_channels_come_from_the_parameters(app):
    _portfolio(app)
    set_setting(app, "reminder_channels_due_soon", "message")
    set_setting(app, "reminder_channels_overdue", "")
    from app.services import reminders

    with acting(app, "admin"):
        counts = reminders.run(AS_OF)
    assert "overdue" not in counts and counts["due_soon"] == 1
    with app.app_context():
        mobiles = sorted(db.session.execute(select(SmsMessage.mobile)).scalars())
    assert mobiles == ["13800000002"]   # only due_today still texts the customer


def test_post_loan_and_approval_reminders(app):
    pytest.importorskip("app.models.post_loan")
    from app.models.post_loan import PostLoanTask
    from app.models.workflow import Workflow, WorkflowInstance, WorkflowTask
    from app.services import reminders

    loan_id, _ = portfolio_loan(app, "郑成功", [AS_OF + timedelta(days=100)])
    with app.app_context():
        loan = db.session.get(__import__("app.models", fromlist=["Loan"]).Loan, loan_id)
        task = PostLoanTask(loan_id=loan_id, kind="periodic", due_date=AS_OF + timedelta(days=3), triggered_on=AS_OF,
                            officer_id=loan.officer_id, branch_id=loan.branch_id, status="open")
        late = PostLoanTask(loan_id=loan_id, kind="first", due_date=AS_OF - timedelta(days=1), triggered_on=AS_OF,
                            officer_id=loan.officer_id, branch_id=loan.branch_id, status="open")
        flow = db.session.execute(select(Workflow)).scalars().first()
        instance = WorkflowInstance(workflow_id=flow.id, workflow_version=1, business_type=flow.business_type,
                                    object_id=loan_id, title="测试审批", link="/todo/waiting",
                                    applicant_id=loan.officer_id, steps_snapshot="[]", context_snapshot="{}")
        db.session.add_all([task, late, instance])
        db.session.flush()
        approver = user_id("approver")
        db.session.add(WorkflowTask(instance_id=instance.id, step_index=0, step_name="总经理审批", user_id=approver,
                                    due_at=datetime.now() - timedelta(hours=5)))
        db.session.add(WorkflowTask(instance_id=instance.id, step_index=0, step_name="未超时", user_id=approver,
                                    due_at=datetime.now() + timedelta(hours=5)))
        db.session.commit()
    with acting(app, "admin"):
        counts = reminders.run(AS_OF)
    assert counts.get("post_loan_due") == 1 and counts.get("post_loan_late") == 1
    assert counts.get("approval_overdue") == 1
    with app.app_context():
        subjects = db.session.execute(select(Message.subject).join(MessageRecipient)
                                      .where(MessageRecipient.user_id == user_id("approver"))).scalars().all()
    assert any(s.startswith("审批超时：测试审批（总经理审批）") for s in subjects)


def test_daily_job_end_to_end_with_the_loopback_gateway(app, login_as):
    """A disbursed loan; the business date moves to 3 days before its first due date; the
    reminders job sends exactly one SMS (outbox and gateway), the officer gets a message,
    and running the job again sends nothing."""
    from .servicing_helpers import active_loan, capital, due_date
    from app.services import scheduler

    capital(app)
    loan_id = active_loan(app, login_as, disbursed_on=BUSINESS_DATE, name="张三")
    first_due = due_date(app, loan_id, 1)
    set_setting(app, "business_date", (first_due - timedelta(days=3)).isoformat())
    with loopback_gateway(app) as gateway:
        with acting(app, "admin") as admin:
            job_id = scheduler.job_by_code("reminders").id
            run_id = scheduler.run_now(job_id, admin)
        with acting(app, "admin") as admin:
            run = db.session.get(__import__("app.models.messages", fromlist=["JobRun"]).JobRun, run_id)
            assert run.status == "success", run.error
            scheduler.run_now(job_id, admin)
        assert len(gateway.requests) == 1
        sent = gateway.requests[0]["values"]
        assert sent["mobile"] == "13800138000" and sent["account"] == "ml"
        assert sent["content"].startswith("【测试小贷】尊敬的张三") and first_due.isoformat() in sent["content"]
    with app.app_context():
        rows = db.session.execute(select(SmsMessage).where(SmsMessage.loan_id == loan_id)).scalars().all()
        assert [(r.status, r.attempts) for r in rows] == [("sent", 1)]
    officer = login_as("officer_a")
    page = officer.get("/messages/inbox/").get_data(as_text=True)
    assert "还款提醒" in page and 'id="navbar-unread-count"' in page


def test_two_workers_at_once_send_one_reminder(postgres):
    """Two threads (two connections) run the same day's reminders at the same moment."""
    app = postgres
    loans = _portfolio(app)
    from app.services import reminders
    from app.services.setup import act_as_system

    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            with app.app_context():
                act_as_system()
                barrier.wait(timeout=30)
                results.append(reminders.run(AS_OF))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r["reminders"] for r in results) == 5
    assert _count(app, Reminder) == 5 and _count(app, SmsMessage) == 4
    assert len(_reminders(app)) == len(set(_reminders(app)))
    assert loans
