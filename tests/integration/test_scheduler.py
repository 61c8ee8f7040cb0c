"""定时管理: Beijing time vs UTC (RQ cron strings), due jobs started once, runs recorded,
the admin's time and enabled flag, "run now", ``flask jobs run-due``, and the reminder job
on a real RQ worker against Redis."""
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.messages import JobRun, Reminder, ScheduledJob, SmsMessage

from .message_helpers import in_process  # noqa: F401 (autouse: jobs run in-process)
from .message_helpers import portfolio_loan
from .test_loans import acting, set_setting

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_beijing_times_as_utc():
    from app.services import scheduler as s

    assert s.cron_utc("01:00") == "0 17 * * *"        # the nightly batch: 17:00 UTC the day before
    assert s.cron_utc("09:00") == "0 1 * * *"         # reminders
    assert s.cron_utc("07:30") == "30 23 * * *"
    assert s.cron_utc(interval_minutes=5) == "*/5 * * * *"
    batch = ScheduledJob(schedule_kind="daily", time_of_day="01:00")
    # 16:59 UTC on 15 March is 00:59 on 16 March in Beijing: the next 01:00 is a minute away.
    assert s.next_run_after(batch, datetime(2026, 3, 15, 16, 59)) == datetime(2026, 3, 15, 17, 0)
    assert s.next_run_after(batch, datetime(2026, 3, 15, 17, 0)) == datetime(2026, 3, 16, 17, 0)
    reminders = ScheduledJob(schedule_kind="daily", time_of_day="09:00")
    assert s.next_run_after(reminders, datetime(2026, 3, 15, 20, 0)) == datetime(2026, 3, 16, 1, 0)
    assert s.to_beijing(datetime(2026, 3, 15, 17, 0)).date() == date(2026, 3, 16)
    with pytest.raises(DomainError, match="HH:MM"):
        s.parse_time("9点")
    with pytest.raises(DomainError, match="00:00 到 23:59"):
        s.parse_time("24:00")


def _job(app, code):
    from app.services import scheduler

    with app.app_context():
        job = scheduler.job_by_code(code)
        db.session.expunge(job)
        return job


def _runs(app, code):
    with app.app_context():
        return db.session.execute(select(JobRun.status, JobRun.trigger, JobRun.error).join(ScheduledJob)
                                  .where(ScheduledJob.code == code).order_by(JobRun.id)).all()


def test_due_jobs_start_once_and_move_to_the_next_day(app):
    from app.services import scheduler

    with app.app_context():
        scheduler.ensure_jobs(datetime(2026, 3, 15, 0, 0))
        now = datetime(2026, 3, 16, 1, 0, 30)       # 09:00:30 Beijing
        job = scheduler.job_by_code("reminders")
        job.next_run_at = datetime(2026, 3, 16, 1, 0)
        batch = scheduler.job_by_code("nightly_batch")
        batch.next_run_at = datetime(2026, 3, 15, 17, 0)
        batch.enabled = False                         # disabled: never started
        outbox = scheduler.job_by_code("outbox")
        outbox.next_run_at = now + timedelta(minutes=3)
        scheduler.job_by_code("daily_backup").enabled = False   # not part of this scenario
        db.session.commit()
        started = scheduler.run_due(now)
        assert len(started) == 1
        assert scheduler.run_due(now) == []          # a second tick (or a second runner) starts nothing
        assert scheduler.job_by_code("reminders").next_run_at == datetime(2026, 3, 17, 1, 0)
    (status, trigger, error), = _runs(app, "reminders")
    assert (status, trigger) == ("success", "schedule"), error
    assert _runs(app, "nightly_batch") == [] and _runs(app, "outbox") == []


def test_nightly_batch_runs_for_the_beijing_date(app):
    """01:00 Beijing on 17 March is 17:00 UTC on 16 March: the batch runs for 17 March."""
    from app.models.risk import BatchRun
    from app.services import scheduler

    set_setting(app, "business_date", "2026-03-16")
    with app.app_context():
        scheduler.ensure_jobs()
        job = scheduler.job_by_code("nightly_batch")
        job.next_run_at = datetime(2026, 3, 16, 17, 0)
        db.session.commit()
        scheduler.run_due(datetime(2026, 3, 16, 17, 0, 5))
    (status, _trigger, error), = _runs(app, "nightly_batch")
    assert status == "success", error
    with app.app_context():
        assert db.session.execute(select(BatchRun.as_of)).scalars().all() == [date(2026, 3, 17)]
    assert _job(app, "nightly_batch").next_run_at == datetime(2026, 3, 17, 17, 0)


def test_failed_run_is_recorded(app, monkeypatch):
    from app.services import scheduler

    def broken(run):
        raise DomainError("网关配置错误")

    monkeypatch.setitem(scheduler.JOBS, "outbox", scheduler.JobSpec("outbox", "消息发送", broken, "interval",
                                                                     interval_minutes=5))
    with acting(app, "admin") as admin:
        scheduler.run_now(scheduler.job_by_code("outbox").id, admin)
    (status, trigger, error), = _runs(app, "outbox")
    assert (status, trigger) == ("failed", "manual") and "网关配置错误" in error


def test_admin_edits_time_and_flag_and_runs_now(app, login_as):
    admin = login_as("admin")
    page = admin.get("/jobs/list/").get_data(as_text=True)
    assert "0 17 * * *" in page and "0 1 * * *" in page   # UTC cron next to the Beijing times
    job = _job(app, "reminders")
    r = admin.post(f"/jobs/edit/{job.id}", data={"time_of_day": "25:00", "enabled": "1"})
    assert r.status_code == 200 and "00:00 到 23:59" in r.get_data(as_text=True)
    assert _job(app, "reminders").time_of_day == "09:00"
    r = admin.post(f"/jobs/edit/{job.id}", data={"time_of_day": "08:30"})       # unticked: disabled
    assert r.status_code == 302
    edited = _job(app, "reminders")
    assert (edited.time_of_day, edited.enabled) == ("08:30", False)
    assert edited.next_run_at.hour == 0 and edited.next_run_at.minute == 30       # 08:30 Beijing = 00:30 UTC
    r = admin.post(f"/jobs/run/{job.id}")
    assert r.status_code == 302
    runs = admin.get(f"/jobs/runs/{job.id}").get_data(as_text=True)
    assert "成功" in runs and "手动" in runs
    assert login_as("officer_a").get("/jobs/list/").status_code == 403


def test_cli_run_due_without_redis(app):
    from app.services import scheduler

    app.config["REDIS_URL"] = None
    with app.app_context():
        scheduler.ensure_jobs()
        for job in db.session.execute(select(ScheduledJob)).scalars():
            job.next_run_at = datetime(2026, 1, 1) if job.code == "outbox" else datetime(2099, 1, 1)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0, result.output
    assert "started 1 due job" in result.output and "outbox: 成功" in result.output
    assert [s for s, _t, _e in _runs(app, "outbox")] == ["success"]
    listing = app.test_cli_runner().invoke(args=["jobs", "list"])
    assert "UTC cron: 0 17 * * *" in listing.output


def test_reminder_job_on_a_real_rq_worker(app, redis_url):
    """Enqueue the reminder job on Redis, run a real worker in burst mode in a subprocess,
    then read the run, the reminders and the SMS from the database."""
    from redis import Redis
    from rq import Queue

    from app.services import scheduler

    queue_name = "microloan-test-messages"
    Queue(queue_name, connection=Redis.from_url(redis_url)).empty()
    as_of = date(2026, 5, 20)
    portfolio_loan(app, "马超", [as_of + timedelta(days=3)], mobile="13300133000")
    set_setting(app, "business_date", as_of.isoformat())
    saved = {k: app.config.get(k) for k in ("REDIS_URL", "RQ_QUEUE")}
    app.config.update(REDIS_URL=redis_url, RQ_QUEUE=queue_name)
    try:
        with acting(app, "admin") as admin:
            run_id = scheduler.run_now(scheduler.job_by_code("reminders").id, admin)
        with app.app_context():
            run = db.session.get(JobRun, run_id)
            assert run.status == "queued" and run.rq_job_id
    finally:
        app.config.update(saved)
    env = dict(os.environ, PYTHONPATH=ROOT, MICROLOAN_CONFIG="test", RQ_QUEUE=queue_name,
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"])
    env.pop("REDIS_URL", None)
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    subprocess.run([rq, "worker", "--burst", "--with-scheduler", "--url", redis_url, queue_name], check=True,
                   cwd=ROOT, env=env, timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        with app.app_context():
            run = db.session.get(JobRun, run_id)
            if run.status in ("success", "failed"):
                break
        time.sleep(0.1)
    with app.app_context():
        run = db.session.get(JobRun, run_id)
        assert run.status == "success", run.error
        assert run.started_at and run.finished_at and "生成提醒 1 条" in run.result
        assert db.session.execute(select(Reminder.kind)).scalars().all() == ["due_soon"]
        sms_rows = db.session.execute(select(SmsMessage.mobile, SmsMessage.status)).all()
        assert sms_rows == [("13300133000", "sent")]
        assert db.session.execute(select(func.count()).select_from(JobRun)).scalar() == 1
