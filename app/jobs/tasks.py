"""RQ task functions. Each opens its own app context (workers run outside Flask)."""


def app_context():
    """A fresh app context: of the running app when a job runs in-process (no Redis), of a
    new app in an RQ worker."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app._get_current_object().app_context()
    from app import create_app

    return create_app().app_context()


def count_users():
    """A harmless job used to check the queue end to end: how many users exist."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import AppUser

    with app_context():
        return db.session.execute(select(func.count(AppUser.id))).scalar()


def nightly_batch(as_of=None):
    """日终批处理 for ``as_of`` (ISO date; default: today), catching up missed dates."""
    from datetime import date

    from app.services import batch
    from app.services.setup import act_as_system

    with app_context():
        user = act_as_system()
        runs = batch.run(date.fromisoformat(as_of) if as_of else None, user=user, trigger="job")
        return [(r.as_of.isoformat(), r.status) for r in runs]


# -- message center and scheduling (issue #10) ------------------------------------------------
def run_due_jobs():
    """The scheduler's tick: start every scheduled job that is due (RQ cron runs it every
    minute, ``flask jobs run-due`` without Redis). Returns the JobRun ids started."""
    from app.services import scheduler

    with app_context():
        return scheduler.run_due()


def run_job(run_id):
    """Run one recorded JobRun (nightly batch, reminders, outbox …). When RQ runs it again
    because the attempt before died (worker killed: RQ's abandoned-job retry), the run left
    "running" by that attempt is taken over; the jobs themselves are idempotent, so what the
    dead attempt committed is not done twice (docs/faults.md)."""
    from app.jobs import is_retry_of_a_dead_attempt
    from app.services import scheduler

    resume = is_retry_of_a_dead_attempt(scheduler.RUN_RETRIES)
    with app_context():
        run = scheduler.execute(run_id, resume=resume)
        return None if run is None else run.status


def send_reminders(as_of=None):
    """Generate and send the reminders of ``as_of`` (ISO date; default: the business date)."""
    from datetime import date

    from app.services import reminders
    from app.services.setup import act_as_system

    with app_context():
        act_as_system()
        counts = reminders.run(date.fromisoformat(as_of) if as_of else None)
        counts.update(reminders.dispatch_outbox())
        return counts


def send_sms(sms_id):
    """Send (or retry) one SMS; a failure schedules the next attempt with backoff."""
    from app.services import sms

    with app_context():
        return sms.send_one(sms_id)


def send_email(email_id):
    from app.services import mail

    with app_context():
        return mail.send_one(email_id)


def dispatch_outbox():
    from app.services import reminders

    with app_context():
        return reminders.dispatch_outbox()


def daily_backup():
    """数据备份: one archive (database + uploads) and pruning past ``backup_retention_days``."""
    from app.services import backup

    with app_context():
        return backup.daily_backup()
