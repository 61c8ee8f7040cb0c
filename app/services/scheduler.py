"""定时任务: recurring jobs registered in code, their times editable by an administrator, and a
record of every run.

Times are Beijing time (Asia/Shanghai, UTC+8 all year: no daylight saving since 1991);
``ScheduledJob.next_run_at`` is stored in UTC (naive) because RQ and its cron strings count
in UTC: 01:00 Beijing is ``0 17 * * *`` in UTC, on the previous UTC day.

How jobs start:

- ``run_due(now)`` claims every enabled job whose ``next_run_at`` has passed with one
  conditional UPDATE (``… WHERE id = :id AND next_run_at = :seen``): of two runners that see
  the same due job, one wins, so a job starts once however many runners tick. It then
  records a ``JobRun`` and hands it to ``app.jobs.enqueue`` (RQ when REDIS_URL is set,
  in-process otherwise).
- In production RQ's own cron (``rq cron app/jobs/cron.py``, started by ``make worker``)
  enqueues ``run_due`` every minute and ``rq worker --with-scheduler`` runs the jobs.
- Without Redis, ``flask jobs run-due`` (e.g. from the system cron every minute) runs what is
  due in-process; ``flask jobs loop`` does the same in a loop.
- ``run_now(job)`` (the "run now" button, ``flask jobs run CODE``) records a manual run.

Faults (docs/faults.md):

- Redis down: a run is recorded as "queued" but not handed to RQ (``when_down="defer"``;
  the CLI runs it in-process instead). Each tick first calls ``requeue_waiting``, which
  queues such runs again, and those whose RQ job vanished (a Redis restart without
  persistence), so they start when Redis is back.
- A worker killed mid-run: the RQ job is enqueued with ``retries`` and a fixed id
  (``rq_job_id_of``); RQ puts an abandoned job back on the queue, and ``execute(resume=True)``
  takes the run over. Every built-in job is idempotent (the batch re-runs a date without
  change, reminders are once per object/kind/day, the outbox claims each message, the backup
  keeps the archive the dead attempt finished), so its effects happen once. A run whose RQ
  job died for good is marked failed instead of staying "running".
"""
import json
import os
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.domain.errors import DomainError
from app.extensions import db
from app.models.messages import JobRun, ScheduledJob

#: Beijing time. A fixed offset is exact for China (no DST) and needs no tz database.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
SCHEDULE_KINDS = {"daily": "每天定时", "interval": "按间隔"}
RUNS_KEPT_ON_PAGE = 10
#: RQ attempts after the first when a run's worker dies (RQ's abandoned-job retry).
RUN_RETRIES = 3
#: RQ's time limit of one run (the default 180 s is too short for a batch or a backup).
RUN_TIMEOUT_SECONDS = 4 * 3600
#: A run recorded this long ago and still not on RQ (Redis was down) is queued again.
REQUEUE_AFTER_SECONDS = 60


@dataclass
class JobSpec:
    """A recurring job: ``func(run)`` does the work and returns a dict of counts (or None);
    ``result`` in that dict, if present, is the one-line summary shown on the jobs page."""

    code: str
    name: str
    func: Callable
    schedule_kind: str = "daily"
    time_of_day: Optional[str] = None      # "HH:MM", Beijing time
    interval_minutes: Optional[int] = None
    description: str = ""
    options: dict = field(default_factory=dict)


JOBS = {}


def register_job(spec):
    """Register a recurring job (a later module adds its own the same way)."""
    if spec.schedule_kind == "daily":
        parse_time(spec.time_of_day)
    elif not spec.interval_minutes:
        raise ValueError(f"job {spec.code}: an interval job needs interval_minutes")
    JOBS[spec.code] = spec
    return spec


def spec_of(code):
    spec = JOBS.get(code)
    if spec is None:
        raise DomainError(f"任务“{code}”未在程序中注册")
    return spec


# -- time ---------------------------------------------------------------------------------
def utc_now():
    """Now in UTC, naive (how ``next_run_at`` is stored)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_beijing(utc_naive):
    """A naive UTC datetime as an aware Beijing datetime."""
    return utc_naive.replace(tzinfo=timezone.utc).astimezone(BEIJING)


def beijing_to_utc(local_naive):
    """A naive Beijing datetime as a naive UTC datetime."""
    return local_naive.replace(tzinfo=BEIJING).astimezone(timezone.utc).replace(tzinfo=None)


def beijing_today(now_utc=None):
    return to_beijing(now_utc or utc_now()).date()


def parse_time(text):
    """"HH:MM" → (hour, minute); DomainError otherwise."""
    raw = (text or "").strip()
    try:
        hour, minute = raw.split(":")
        hour, minute = int(hour), int(minute)
    except ValueError:
        raise DomainError("运行时间格式应为 HH:MM（北京时间），例如 09:00", "time_of_day") from None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise DomainError("运行时间应在 00:00 到 23:59 之间", "time_of_day")
    return hour, minute


def cron_utc(time_of_day=None, interval_minutes=None):
    """The RQ/cron string (UTC) of a daily Beijing time or of an interval: 09:00 → "0 1 * * *",
    01:00 → "0 17 * * *" (the day before in UTC), every 5 minutes → "*/5 * * * *"."""
    if interval_minutes:
        if interval_minutes < 60 and 60 % interval_minutes == 0:
            return f"*/{interval_minutes} * * * *"
        return None
    hour, minute = parse_time(time_of_day)
    utc_hour = (hour - 8) % 24
    return f"{minute} {utc_hour} * * *"


def next_run_after(job, after_utc):
    """The first run time (naive UTC) strictly after ``after_utc``."""
    if job.schedule_kind == "interval":
        return after_utc.replace(second=0, microsecond=0) + timedelta(minutes=int(job.interval_minutes))
    hour, minute = parse_time(job.time_of_day)
    local = to_beijing(after_utc).replace(tzinfo=None)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return beijing_to_utc(candidate)


# -- jobs ---------------------------------------------------------------------------------
def ensure_jobs(now_utc=None):
    """Insert the registered jobs that have no row yet (with their default times); commits."""
    _register_builtin_jobs()
    existing = set(db.session.execute(select(ScheduledJob.code)).scalars())
    missing = [spec for code, spec in JOBS.items() if code not in existing]
    if not missing:
        return 0
    now_utc = now_utc or utc_now()
    for spec in missing:
        job = ScheduledJob(code=spec.code, name=spec.name, schedule_kind=spec.schedule_kind,
                           time_of_day=spec.time_of_day, interval_minutes=spec.interval_minutes, enabled=True)
        job.next_run_at = next_run_after(job, now_utc)
        db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:  # another process inserted them at the same moment
        db.session.rollback()
    return len(missing)


def jobs():
    ensure_jobs()
    return db.session.execute(select(ScheduledJob).order_by(ScheduledJob.id)).scalars().all()


def job_by_code(code):
    ensure_jobs()
    job = db.session.execute(select(ScheduledJob).where(ScheduledJob.code == code)).scalar_one_or_none()
    if job is None:
        raise DomainError(f"没有代码为“{code}”的定时任务", "code")
    return job


def check_job(job):
    """Validate an edited job in place (form and service)."""
    if job.schedule_kind not in SCHEDULE_KINDS:
        raise DomainError("运行方式只能是每天定时或按间隔", "schedule_kind")
    if job.schedule_kind == "daily":
        hour, minute = parse_time(job.time_of_day)
        job.time_of_day = f"{hour:02d}:{minute:02d}"
    else:
        try:
            minutes = int(job.interval_minutes)
        except (TypeError, ValueError):
            raise DomainError("间隔分钟数必须是整数", "interval_minutes") from None
        if not 1 <= minutes <= 1440:
            raise DomainError("间隔分钟数应在 1 到 1440 之间", "interval_minutes")
        job.interval_minutes = minutes


def update_job(job_id, user=None, time_of_day=None, interval_minutes=None, enabled=None, now_utc=None):
    """Change a job's time (Beijing) or interval and its enabled flag; the next run is
    recomputed from now. Commits; nothing is saved when the input is wrong."""
    job = db.session.get(ScheduledJob, job_id)
    if job is None:
        raise DomainError("定时任务不存在")
    try:
        if time_of_day is not None and job.schedule_kind == "daily":
            job.time_of_day = time_of_day
        if interval_minutes is not None and job.schedule_kind == "interval":
            job.interval_minutes = interval_minutes
        if enabled is not None:
            job.enabled = bool(enabled)
        check_job(job)
        job.next_run_at = next_run_after(job, now_utc or utc_now())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return job


def last_runs(job, limit=RUNS_KEPT_ON_PAGE):
    return db.session.execute(select(JobRun).where(JobRun.job_id == job.id).order_by(JobRun.id.desc())
                              .limit(limit)).scalars().all()


# -- starting runs ------------------------------------------------------------------------
def run_due(now_utc=None, when_down="defer"):
    """Start every enabled job that is due (each exactly once, see the module docstring),
    after queuing again the runs Redis missed. Returns the JobRun ids started."""
    now_utc = now_utc or utc_now()
    ensure_jobs(now_utc)
    requeue_waiting(when_down=when_down)
    due = db.session.execute(
        select(ScheduledJob.id, ScheduledJob.next_run_at).where(
            ScheduledJob.enabled.is_(True), ScheduledJob.next_run_at.is_not(None),
            ScheduledJob.next_run_at <= now_utc).order_by(ScheduledJob.next_run_at)).all()
    db.session.commit()
    started = []
    for job_id, seen in due:
        job = db.session.get(ScheduledJob, job_id)
        following = next_run_after(job, now_utc)
        claimed = db.session.execute(
            update(ScheduledJob).where(ScheduledJob.id == job_id, ScheduledJob.next_run_at == seen,
                                       ScheduledJob.enabled.is_(True))
            .values(next_run_at=following, last_enqueued_at=now_utc)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            db.session.rollback()
            continue
        run = JobRun(job_id=job_id, trigger="schedule", status="queued", scheduled_for=seen)
        db.session.add(run)
        db.session.flush()
        run_id = run.id
        db.session.commit()   # no read after this: an in-process run writes on another session
        started.append(run_id)
        _enqueue(run_id, when_down)
    return started


def run_now(job_id, user=None, trigger="manual", when_down=None):
    """Record a manual run of a job (enabled or not) and start it. Returns the JobRun id.
    With Redis down, a run from the page waits for Redis (a batch or a backup must not hold
    a web request); one from the command line runs in-process (someone is waiting)."""
    job = db.session.get(ScheduledJob, job_id)
    if job is None:
        raise DomainError("定时任务不存在")
    spec_of(job.code)
    run = JobRun(job_id=job.id, trigger=trigger, status="queued", scheduled_for=utc_now(),
                 triggered_by_id=getattr(user, "id", None))
    db.session.add(run)
    db.session.flush()
    run_id = run.id
    db.session.commit()   # no read after this: an in-process run writes on another session
    _enqueue(run_id, when_down or ("inline" if trigger == "cli" else "defer"))
    return run_id


def rq_job_id_of(run_id):
    """The RQ job id of a run: fixed, so a retry or a second enqueue is recognisably the same."""
    from app.jobs import queue_name

    return f"{queue_name()}-run-{run_id}"


def _enqueue(run_id, when_down="defer"):
    """Hand the run to RQ (or run it in-process without Redis). Returns "queued", "ran" or
    "waiting" (Redis down: the run stays queued in the database for ``requeue_waiting``)."""
    from app.jobs import get_queue, submit
    from app.jobs.tasks import run_job

    on_redis = get_queue() is not None
    result = submit(run_job, (run_id,), when_down=when_down, job_id=rq_job_id_of(run_id), retries=RUN_RETRIES,
                    timeout=RUN_TIMEOUT_SECONDS)
    rq_id = getattr(result, "id", None)
    if rq_id:
        db.session.execute(update(JobRun).where(JobRun.id == run_id).values(rq_job_id=rq_id)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        return "queued"
    return "waiting" if on_redis and result is None and when_down == "defer" else "ran"


def is_waiting(run_id):
    """True when the run is recorded but not on RQ (Redis was down when it was started)."""
    run = db.session.get(JobRun, run_id)
    return run is not None and run.status == "queued" and not run.rq_job_id


def requeue_waiting(now=None, when_down="defer"):
    """Queue again the runs that never reached RQ (Redis down) or whose RQ job vanished
    (Redis restarted without its data), and mark failed the runs left "running" by an RQ job
    that died for good. Returns the ids queued again."""
    from app.jobs import DEAD_STATUSES, get_queue, job_status, redis_errors, redis_reachable

    cutoff = (now or datetime.now()) - timedelta(seconds=REQUEUE_AFTER_SECONDS)
    rows = db.session.execute(select(JobRun.id, JobRun.status, JobRun.rq_job_id).where(
        JobRun.status.in_(("queued", "running")),
        func.coalesce(JobRun.started_at, JobRun.enqueued_at) <= cutoff).order_by(JobRun.id)).all()
    db.session.commit()
    requeued = []
    on_redis = get_queue() is not None
    if not rows or (on_redis and when_down == "defer" and not redis_reachable()):
        return requeued   # nothing to do, or Redis still down: the next tick tries again
    for run_id, status, rq_id in rows:
        try:
            rq_status = job_status(rq_id) if (on_redis and rq_id) else None
        except redis_errors():
            return requeued   # Redis down: try again at the next tick
        lost = rq_status is None or rq_status in DEAD_STATUSES
        if status == "queued" and (not rq_id or (on_redis and lost)):
            if _enqueue(run_id, when_down) != "waiting":
                requeued.append(run_id)
        elif status == "running" and rq_id and on_redis and lost:
            _mark_interrupted(run_id, rq_status)
    return requeued


def _mark_interrupted(run_id, rq_status):
    db.session.execute(update(JobRun).where(JobRun.id == run_id, JobRun.status == "running").values(
        status="failed", finished_at=datetime.now(),
        error=f"运行中断：执行它的进程已退出，重试次数已用完（RQ 状态：{rq_status or '已不存在'}）")
        .execution_options(synchronize_session=False))
    db.session.commit()


def queue_overview():
    """The queue's state for the jobs page: RQ's counts (app.jobs.queue_state) and the runs
    waiting in the database for Redis."""
    from app.jobs import queue_state

    state = queue_state()
    state["waiting"] = db.session.execute(select(func.count(JobRun.id)).where(
        JobRun.status == "queued", JobRun.rq_job_id.is_(None))).scalar() or 0
    state["running"] = db.session.execute(select(func.count(JobRun.id)).where(
        JobRun.status == "running")).scalar() or 0
    return state


# -- running ------------------------------------------------------------------------------
def execute(run_id, resume=False):
    """Run one recorded JobRun (called by the RQ task or in-process): status, times, counts
    and the error are recorded; a run that is not queued any more is left alone (so the same
    run delivered twice runs once). ``resume``: RQ runs this run's job again after an attempt
    that died, so a run still "running" under that job is taken over. Returns the JobRun."""
    runnable = JobRun.status == "queued"
    if resume:
        runnable = runnable | ((JobRun.status == "running") & (JobRun.rq_job_id == rq_job_id_of(run_id)))
    resumed = resume and db.session.execute(select(JobRun.status).where(JobRun.id == run_id)).scalar() == "running"
    claimed = db.session.execute(
        update(JobRun).where(JobRun.id == run_id, runnable)
        .values(status="running", started_at=func.coalesce(JobRun.started_at, datetime.now()))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    run = db.session.get(JobRun, run_id)
    if run is None or claimed != 1:
        return run
    if resumed:
        from flask import current_app

        current_app.logger.warning("job run %s (%s): taking over after an interrupted attempt", run_id, run.job.code)
    run.resumed = resumed   # read by idempotent jobs (the backup)
    spec = JOBS.get(run.job.code) or (_register_builtin_jobs() or JOBS.get(run.job.code))
    status, counts, error = "success", None, None
    try:
        if spec is None:
            raise DomainError(f"任务“{run.job.code}”未在程序中注册")
        counts = spec.func(run) or {}
        if resumed and isinstance(counts, dict):
            counts["resumed"] = 1
        db.session.commit()
    except Exception as exc:  # the run is recorded as failed whatever went wrong
        db.session.rollback()
        status = "failed"
        message = getattr(exc, "message", None) or str(exc)
        error = f"{type(exc).__name__}: {message}\n" + "".join(traceback.format_exc(limit=5))[-3000:]
    run = db.session.get(JobRun, run_id)
    run.status = status
    run.finished_at = datetime.now()
    run.error = error
    if counts:
        result = counts.pop("result", None) if isinstance(counts, dict) else None
        run.result = result
        run.counts = json.dumps(counts, ensure_ascii=False, default=str)
    db.session.commit()
    return run


def counts_of(run):
    try:
        return json.loads(run.counts) if run.counts else {}
    except ValueError:
        return {}


# -- the built-in jobs --------------------------------------------------------------------
def _nightly_batch(run):
    """日终批处理 up to the Beijing date of the scheduled time (01:00 → that day)."""
    from app.services import batch
    from app.services.setup import act_as_system

    user = act_as_system()
    as_of = to_beijing(run.scheduled_for or utc_now()).date()
    runs = batch.run(as_of, user=user, trigger="job")
    return {"result": "、".join(f"{r.as_of} {r.status_label}" for r in runs), "dates": len(runs)}


def _reminders(run):
    from app.services import reminders, settings
    from app.services.setup import act_as_system

    act_as_system()
    as_of = settings.business_date()
    counts = reminders.run(as_of)
    counts.update(reminders.dispatch_outbox())
    counts["result"] = f"{as_of} 生成提醒 {counts.get('reminders', 0)} 条"
    return counts


def _outbox(run):
    from app.services import reminders
    from app.services.setup import act_as_system

    act_as_system()
    counts = reminders.dispatch_outbox()
    counts["result"] = "；".join(f"{k} {v}" for k, v in counts.items())
    return counts


def _daily_backup(run):
    """数据备份, once per run: when the run is taken over after its worker died and that
    attempt had already finished an archive (named by its local time, at or after the run
    started), it is kept and only pruning is done; a half-written ``.part`` is removed."""
    from app.services import backup

    folder = backup.backup_folder()
    since = (run.started_at or datetime.now()).replace(microsecond=0)
    if getattr(run, "resumed", False) and os.path.isdir(folder):
        names = sorted(os.listdir(folder))
        for name in names:
            path = os.path.join(folder, name)
            if name.startswith(backup.ARCHIVE_PREFIX) and name.endswith(".part"):
                os.remove(path)   # the dead attempt's unfinished archive
        done = [n for n in names if backup.ARCHIVE_RE.match(n)
                and datetime.strptime(backup.ARCHIVE_RE.match(n).group(1), "%Y%m%d-%H%M%S") >= since]
        if done:
            deleted = backup.prune(folder)
            return {"result": f"中断前已备份到 {done[-1]}，未重复备份；清理过期备份 {len(deleted)} 个",
                    "archive": os.path.join(folder, done[-1]), "pruned": len(deleted)}
    return backup.scheduled_job(run)


def _register_builtin_jobs():
    if "nightly_batch" in JOBS:
        return
    register_job(JobSpec("nightly_batch", "日终批处理", _nightly_batch, "daily", "01:00",
                         description="逾期标记、罚息复利、五级分类、拨备，并推进营业日期"))
    register_job(JobSpec("reminders", "业务提醒", _reminders, "daily", "09:00",
                         description="按营业日期生成还款、逾期、展期、贷后、审批等提醒并发送"))
    register_job(JobSpec("outbox", "消息发送", _outbox, "interval", interval_minutes=5,
                         description="发送到时的定时短消息、待发送和待重试的短信、待发送的邮件"))
    # issue #14: backup and restore (app.services.backup), made once-per-run by _daily_backup
    register_job(JobSpec("daily_backup", "数据备份", _daily_backup, "daily", "02:00",
                         description="备份数据库与附件目录，并删除超过“备份保留天数”的备份"))
