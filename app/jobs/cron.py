"""RQ's own cron (``rq cron app/jobs/cron.py``, started by ``make worker``).

It enqueues one job every minute: the scheduler's tick, which reads the job table
(定时管理: times in Beijing time, editable by an administrator, each run recorded) and starts
what is due. The times therefore live in the database, not here, and a changed time or a
disabled job takes effect at the next tick without restarting anything. Several cron
processes may run: each due job is claimed once in the database.
"""
import os

from rq import cron

from app.jobs import QUEUE_NAME
from app.jobs.tasks import run_due_jobs

TICK_SECONDS = 60

cron.register(run_due_jobs, queue_name=os.environ.get("RQ_QUEUE") or QUEUE_NAME, interval=TICK_SECONDS)
