"""The real services CI provides: PostgreSQL for the database, Redis for RQ."""
import os
import subprocess
import sys
import time

from sqlalchemy import text

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_postgresql_is_the_database(postgres):
    from app.extensions import db

    with postgres.app_context():
        version = db.session.execute(text("select version()")).scalar()
    assert version.startswith("PostgreSQL")


def test_rq_job_runs_on_a_real_worker(app, redis_url):
    """Enqueue on Redis, run a real worker in burst mode in a subprocess, read the result."""
    from redis import Redis
    from rq import Queue

    from app.jobs.tasks import count_users

    queue = Queue("microloan-test", connection=Redis.from_url(redis_url))
    queue.empty()
    job = queue.enqueue(count_users)
    env = dict(os.environ, PYTHONPATH=ROOT, MICROLOAN_CONFIG="test",
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"])
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    subprocess.run([rq, "worker", "--burst", "--url", redis_url,
                    "microloan-test"], check=True, cwd=ROOT, env=env, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        job.refresh()
        if job.is_finished:
            break
        time.sleep(0.1)
    assert job.is_finished, job.get_status()
    assert job.return_value() >= 9  # the system user, admin and the test users


def test_enqueue_runs_in_process_without_redis(app):
    from app.jobs import enqueue
    from app.jobs.tasks import count_users

    with app.app_context():
        app.config["REDIS_URL"] = None
        assert enqueue(count_users) >= 9
