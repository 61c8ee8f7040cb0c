"""Faults (issue #14, item 5; docs/faults.md): Redis down, an RQ worker killed mid-job, the
database connection dropping in the middle of a repayment posting, the SMS gateway down or
answering after the timeout, and two outbox runs at once.

Redis-down tests point REDIS_URL at a closed port (or at a socket that never answers), so
they run everywhere; the tests with a real RQ worker need Redis (``redis_url``), the
connection-drop test PostgreSQL (``postgres``).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from app.extensions import db
from app.models.messages import JobRun, Reminder, SmsMessage

from .fault_gateway import fault_gateway, gateway_settings
from .message_helpers import in_process  # noqa: F401 (autouse: no Redis unless a test sets it)
from .message_helpers import portfolio_loan
from .test_loans import acting, business_date, set_setting  # noqa: F401 (autouse: business date)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUEUE = "microloan-test-faults"


def _closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def redis_at(app, url, queue=QUEUE):
    saved = {k: app.config.get(k) for k in ("REDIS_URL", "RQ_QUEUE")}
    app.config.update(REDIS_URL=url, RQ_QUEUE=queue)
    try:
        yield
    finally:
        app.config.update(saved)


def _dead_redis():
    return f"redis://127.0.0.1:{_closed_port()}/11"


def _run(app, run_id):
    with app.app_context():
        run = db.session.get(JobRun, run_id)
        db.session.expunge(run)
        return run


def _count(app, model, *where):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()


# -- Redis down ---------------------------------------------------------------------------------
def _answer(value):
    return value * 2


@contextmanager
def app_warnings(app):
    """The warnings the app logs (its logger may have been disabled by Alembic's
    fileConfig when the test database was migrated)."""
    import logging

    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    saved = app.logger.disabled
    app.logger.disabled = False
    app.logger.addHandler(handler)
    try:
        yield records
    finally:
        app.logger.removeHandler(handler)
        app.logger.disabled = saved


def test_enqueue_runs_in_process_when_redis_is_down_and_logs_a_warning(app):
    from app import jobs

    # A refused connection answers at once: with a 5 s connect timeout set here, three calls in
    # well under 5 s prove none waited for it (a bound well above the calls' own time on a
    # loaded CI machine, and below one timeout).
    saved = app.config.get("REDIS_CONNECT_TIMEOUT")
    app.config["REDIS_CONNECT_TIMEOUT"] = 5
    try:
        with redis_at(app, _dead_redis()), app.app_context(), app_warnings(app) as warnings:
            began = time.monotonic()
            assert jobs.enqueue(_answer, 21) == 42                       # run here, result returned
            assert jobs.submit(_answer, (1,), when_down="defer") is None  # recorded elsewhere: nothing runs
            assert jobs.enqueue_in(60, _answer, 1) is None
            assert time.monotonic() - began < 4.5
            state = jobs.queue_state()
    finally:
        app.config["REDIS_CONNECT_TIMEOUT"] = saved
    assert state["mode"] == "redis" and state["reachable"] is False and "ConnectionError" in state["error"]
    assert any("Redis unreachable" in w and "in-process" in w for w in warnings), warnings


def test_a_redis_that_never_answers_does_not_hang_the_request(app):
    """A socket that accepts and says nothing (a hung Redis, a firewall): the short socket
    timeout gives up within seconds and the job runs in-process."""
    from app import jobs

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        with redis_at(app, f"redis://127.0.0.1:{silent.getsockname()[1]}/11"), app.app_context():
            began = time.monotonic()
            assert jobs.enqueue(_answer, 2) == 4
            assert time.monotonic() - began < jobs.REDIS_SOCKET_TIMEOUT + 1.5
    finally:
        silent.close()


def test_web_app_keeps_working_with_redis_down(app, login_as):
    """Composing an SMS hands the outbox to RQ: with Redis down it is delivered in-process."""
    officer = login_as("officer_a")
    with redis_at(app, _dead_redis()):
        began = time.monotonic()
        r = officer.post("/sms/compose/", data={"mobiles": "13800138111", "content": "Redis 停了也要发", "action": "send"})
        assert r.status_code == 302
        assert time.monotonic() - began < 3
    with app.app_context():
        status = db.session.execute(select(SmsMessage.status).where(SmsMessage.content == "Redis 停了也要发")).scalar()
    assert status == "sent"   # the log backend, run in-process


def test_run_now_with_redis_down_waits_and_the_admin_sees_it(app, login_as):
    from app.services import scheduler

    admin = login_as("admin")
    job = _job_id(app, "outbox")
    with redis_at(app, _dead_redis()):
        r = admin.post(f"/jobs/run/{job}", follow_redirects=True)
        assert r.status_code == 200
        assert "Redis" in r.get_data(as_text=True)          # the warning flash
        page = admin.get("/jobs/list/").get_data(as_text=True)
    assert 'data-mode="redis" data-reachable="no"' in page
    assert 'data-kind="waiting">' in page and _kind(page, "waiting") == 1
    with app.app_context():
        (run_id, status, rq_id), = db.session.execute(select(JobRun.id, JobRun.status, JobRun.rq_job_id)).all()
        assert (status, rq_id) == ("queued", None) and scheduler.is_waiting(run_id)
    # Without Redis configured at all the page says jobs run in-process.
    assert 'data-mode="inline"' in admin.get("/jobs/list/").get_data(as_text=True)


def test_waiting_runs_are_run_by_the_next_tick_without_redis(app):
    """A run recorded while Redis was down and then no Redis at all (or the process died
    before running it): the next tick (``flask jobs run-due``) runs it, once."""
    from app.services import scheduler

    job_id = _job_id(app, "outbox")
    with acting(app, "admin") as admin, redis_at(app, _dead_redis()):
        run_id = scheduler.run_now(job_id, admin)
        assert scheduler.run_due(datetime(2026, 1, 1)) == []   # still down: still waiting
        assert scheduler.is_waiting(run_id)
    with app.app_context():
        db.session.get(JobRun, run_id).enqueued_at = datetime.now() - timedelta(minutes=5)
        db.session.commit()
        scheduler.run_due(datetime(2026, 1, 1))
        scheduler.run_due(datetime(2026, 1, 1))                # a second tick: nothing again
    assert _run(app, run_id).status == "success"
    assert _count(app, JobRun) == 1


def test_a_run_from_the_command_line_runs_in_process_with_redis_down(app):
    with redis_at(app, _dead_redis()):
        result = app.test_cli_runner().invoke(args=["jobs", "run", "outbox"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.execute(select(JobRun.status, JobRun.trigger)).all() == [("success", "cli")]


def _job_id(app, code):
    from app.services import scheduler

    with app.app_context():
        return scheduler.job_by_code(code).id


def _kind(page, kind):
    marker = f'data-kind="{kind}">'
    start = page.index(marker)
    chunk = page[start:start + 200]
    return int(chunk.split("<b>")[1].split("</b>")[0])


# -- jobs idempotent, taken over after a dead attempt (no Redis needed) -------------------------------
def test_a_run_left_running_by_a_dead_attempt_is_taken_over_once(app):
    from app.services import scheduler

    as_of = date(2026, 5, 20)
    portfolio_loan(app, "黄忠", [as_of + timedelta(days=3)], mobile="13300133001")
    set_setting(app, "business_date", as_of.isoformat())
    with acting(app, "admin"):
        job = scheduler.job_by_code("reminders")
        run = JobRun(job_id=job.id, trigger="schedule", status="queued", scheduled_for=datetime(2026, 5, 20, 1))
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        # The dead attempt: it claimed the run under its RQ job, and got as far as the reminders.
        db.session.execute(text("UPDATE job_run SET status = 'running', rq_job_id = :rq, started_at = :t "
                                "WHERE id = :id"), {"rq": scheduler.rq_job_id_of(run_id), "id": run_id,
                                                     "t": datetime.now() - timedelta(minutes=3)})
        db.session.commit()
        from app.services import reminders

        assert reminders.run(as_of)["reminders"] == 1
        db.session.commit()
        assert scheduler.execute(run_id).status == "running"    # a plain second delivery: left alone
        run = scheduler.execute(run_id, resume=True)             # RQ's retry of the dead attempt
        assert run.status == "success", run.error
        assert scheduler.counts_of(run)["resumed"] == 1 and "生成提醒 0 条" in run.result
        assert scheduler.execute(run_id, resume=True).status == "success"   # finished: not again
    assert _count(app, Reminder) == 1 and _count(app, SmsMessage) == 1


def test_backup_taken_over_keeps_the_archive_the_dead_attempt_finished(app, tmp_path):
    from app.services import scheduler

    app.config["BACKUP_FOLDER"] = str(tmp_path)
    try:
        with app.app_context():
            started = datetime.now().replace(microsecond=0) - timedelta(minutes=2)
            finished = tmp_path / f"microloan-backup-{(started + timedelta(seconds=30)):%Y%m%d-%H%M%S}.tar.gz"
            finished.write_bytes(b"archive")
            (tmp_path / "microloan-backup-20990101-000000.tar.gz.part").write_bytes(b"half")
            run = JobRun(job_id=scheduler.job_by_code("daily_backup").id, status="running", started_at=started)
            run.resumed = True
            counts = scheduler._daily_backup(run)
        assert "未重复备份" in counts["result"]
        assert sorted(p.name for p in tmp_path.iterdir()) == [finished.name]   # no second archive, no .part
    finally:
        app.config["BACKUP_FOLDER"] = None


# -- SMS gateway down, slow, or two outbox runs at once --------------------------------------------
def _queue_sms(app, *mobiles, content="网关故障测试"):
    from app.services import sms

    with acting(app, "officer_a") as user:
        return [r.id for r in sms.compose(user, content, mobiles=",".join(mobiles))]


def _sms(app, sms_id):
    with app.app_context():
        row = db.session.get(SmsMessage, sms_id)
        db.session.expunge(row)
        return row


def test_gateway_down_messages_wait_with_backoff_and_go_once_when_it_returns(app):
    from app.services import sms

    (sms_id,) = _queue_sms(app, "13700137100")
    now = datetime(2026, 3, 16, 10, 0, 0)
    with fault_gateway(app) as gateway:
        gateway.stop()                                   # down: connection refused
        waited, attempt_at = [], now
        with app.app_context():
            # More attempts than sms_max_attempts (3): an outage does not use them up.
            for _ in range(5):
                assert sms.dispatch(attempt_at) == {"retry": 1}
                row = db.session.get(SmsMessage, sms_id)
                waited.append(int((row.next_attempt_at - attempt_at).total_seconds()))
                assert sms.dispatch(row.next_attempt_at - timedelta(seconds=1)) == {}   # not due yet
                attempt_at = row.next_attempt_at
                db.session.commit()
        row = _sms(app, sms_id)
        assert waited == [60, 120, 240, 480, 960]          # backoff doubles
        assert (row.status, row.attempts) == ("retry", 5) and "无法连接短信网关" in row.last_error
        gateway.start()                                  # back
        with app.app_context():
            assert sms.dispatch(attempt_at) == {"sent": 1}
            assert sms.dispatch(attempt_at + timedelta(days=1)) == {}
    assert gateway.ids() == [str(sms_id)]                # received once
    row = _sms(app, sms_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("sent", 6, None)


def test_an_answer_after_the_timeout_is_never_sent_twice(app):
    """The gateway took the request but answered after our timeout: it may have sent the
    message, so it is not sent again by itself; it stays in the outbox, failed with the
    reason, and a person may resend it."""
    from app.services import sms

    (sms_id,) = _queue_sms(app, "13700137200")
    with fault_gateway(app, SMS_HTTP_TIMEOUT="0.5") as gateway:
        gateway.delay = 1.5
        with app.app_context():
            assert sms.dispatch() == {"failed": 1}
            for later in (timedelta(minutes=5), timedelta(hours=2), timedelta(days=2)):
                assert sms.dispatch(datetime.now() + later) == {}
        assert gateway.ids() == [str(sms_id)]
        row = _sms(app, sms_id)
        assert row.status == "failed" and "结果未知" in row.last_error and "无应答" in row.last_error
        # A person checks with the gateway and resends: that is a deliberate second send.
        gateway.delay = 0
        with app.app_context():
            sms.resend(sms_id)
            assert sms.dispatch() == {"sent": 1}
        assert gateway.ids() == [str(sms_id), str(sms_id)]


def test_a_deduplicating_gateway_gets_the_unknown_outcome_retried(app):
    """SMS_HTTP_DEDUPLICATES: the gateway drops a repeated {id}, so a timeout is retried."""
    from app.services import sms

    (sms_id,) = _queue_sms(app, "13700137300")
    with fault_gateway(app, SMS_HTTP_TIMEOUT="0.5", SMS_HTTP_DEDUPLICATES="1") as gateway:
        gateway.delay = 1.5
        with app.app_context():
            assert sms.dispatch() == {"retry": 1}
    assert _sms(app, sms_id).next_attempt_at is not None


def test_a_sender_that_died_mid_send_leaves_the_message_visible_and_unsent_again(app, monkeypatch):
    """The process sending it dies after the claim (simulated by an exception no one
    catches): the message stays "sending" under its lease, then is marked failed with the
    reason; it is never sent again by itself."""
    from app.services import sms

    (sms_id,) = _queue_sms(app, "13700137400")
    now = datetime.now()

    class Dies:
        def send(self, message):
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(sms, "gateway", lambda: Dies())
    with app.app_context(), pytest.raises(KeyboardInterrupt):
        sms.send_one(sms_id, now)
    assert _sms(app, sms_id).status == "sending"
    monkeypatch.undo()
    with fault_gateway(app) as gateway:
        with app.app_context():
            assert sms.dispatch(now + timedelta(minutes=5)) == {}           # within the lease: its sender may live
            assert sms.dispatch(now + timedelta(minutes=11)) == {"interrupted": 1}
            assert sms.dispatch(now + timedelta(days=1)) == {}
    assert gateway.count() == 0
    row = _sms(app, sms_id)
    assert row.status == "failed" and "发送过程中断" in row.last_error


def test_two_overlapping_outbox_runs_send_each_message_once(app):
    from app.services import sms

    ids = _queue_sms(app, *[f"1370013750{n}" for n in range(6)])
    with fault_gateway(app) as gateway:
        gateway.delay = 0.15
        barrier = threading.Barrier(2)
        results = [None, None]

        def outbox(n):
            try:
                with app.app_context():
                    barrier.wait(timeout=10)
                    results[n] = sms.dispatch()
            except Exception as exc:  # noqa: BLE001 - reported below
                results[n] = exc
            finally:
                with app.app_context():
                    db.session.remove()

        threads = [threading.Thread(target=outbox, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r.get("sent", 0) for r in results) == 6
    assert all(r.get("sent", 0) > 0 for r in results), results   # they really overlapped
    assert sorted(gateway.ids()) == sorted(str(i) for i in ids)  # each exactly once
    assert {_sms(app, i).status for i in ids} == {"sent"}


# -- a real RQ worker killed mid-job -------------------------------------------------------------
def _worker_cmd(redis_url, *args):
    return [os.path.join(os.path.dirname(sys.executable), "rq"), "worker", *args, "--url", redis_url, QUEUE]


def _worker_env(app, extra=None):
    env = dict(os.environ, PYTHONPATH=ROOT, MICROLOAN_CONFIG="test", RQ_QUEUE=QUEUE,
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"])
    env.pop("REDIS_URL", None)
    env.update(extra or {})
    return env


def _run_worker(app, redis_url, extra=None):
    """A real worker in burst mode: runs what is queued, then exits."""
    subprocess.run(_worker_cmd(redis_url, "--burst"), cwd=ROOT, env=_worker_env(app, extra), timeout=120,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _kill_9(worker):
    """SIGKILL the worker and its work horse (what a crash or the OOM killer does)."""
    for pid in _children(worker.pid) + [worker.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait(timeout=10)


def _wait_for(check, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def rq_queue(redis_url):
    """The test queue, emptied before and after: every key of it and of its jobs (whose ids
    carry the queue's name) goes."""
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(redis_url)
    queue = Queue(QUEUE, connection=connection)

    def clear():
        keys = list(connection.scan_iter(match=f"*{QUEUE}*", count=500))
        if keys:
            connection.delete(*keys)

    clear()
    yield queue
    clear()


def test_worker_killed_mid_job_is_retried_and_its_effects_happen_once(app, redis_url, rq_queue):
    """The reminder job on a real worker, held while it hands the SMS to the gateway; the
    worker and its work horse are killed with SIGKILL. RQ finds the job abandoned and puts it
    back (its retry); a second worker takes the run over: one reminder, one SMS, one request
    at the gateway, one run."""
    from rq.job import Job
    from rq.registry import StartedJobRegistry

    from app.services import scheduler

    as_of = date(2026, 5, 20)
    portfolio_loan(app, "魏延", [as_of + timedelta(days=3)], mobile="13300133002")
    set_setting(app, "business_date", as_of.isoformat())
    with fault_gateway(app) as gateway:
        gateway.hold()
        with redis_at(app, redis_url), acting(app, "admin") as admin:
            run_id = scheduler.run_now(scheduler.job_by_code("reminders").id, admin)
        rq_id = _run(app, run_id).rq_job_id
        assert rq_id == f"{QUEUE}-run-{run_id}"
        # The worker's gateway timeout outlasts the hold: it is killed while waiting.
        sms_env = {k: str(v) for k, v in gateway_settings(gateway, SMS_HTTP_TIMEOUT="60").items()}
        first = subprocess.Popen(_worker_cmd(redis_url), cwd=ROOT, env=_worker_env(app, sms_env),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            assert gateway.arrived.wait(90), "the job never reached the gateway"
            _kill_9(first)
        finally:
            if first.poll() is None:
                _kill_9(first)
        assert _run(app, run_id).status == "running"
        assert Job.fetch(rq_id, connection=rq_queue.connection).get_status() == "started"
        # What the next worker's maintenance does once the dead worker's heartbeat has expired
        # (≥ 60 s): here the clock is moved forward instead of waiting.
        StartedJobRegistry(queue=rq_queue).cleanup(timestamp=time.time() + 600)
        job = Job.fetch(rq_id, connection=rq_queue.connection)
        assert job.get_status() == "queued" and job.retries_left == scheduler.RUN_RETRIES - 1
        gateway.release()
        _run_worker(app, redis_url, sms_env)
        assert _wait_for(lambda: _run(app, run_id).status in ("success", "failed"))
        run = _run(app, run_id)
        assert run.status == "success", run.error
        assert json.loads(run.counts)["resumed"] == 1
        assert gateway.count() == 1                        # the SMS went to the gateway once
    assert _count(app, JobRun) == 1
    assert _count(app, Reminder) == 1
    with app.app_context():
        (sms_id, status), = db.session.execute(select(SmsMessage.id, SmsMessage.status)).all()
    assert status == "sending"   # its sender died mid-request: outcome unknown, under its lease
    from app.services import sms

    with app.app_context():
        assert sms.dispatch(datetime.now() + timedelta(minutes=11)) == {"interrupted": 1}
    row = _sms(app, sms_id)
    assert row.status == "failed" and "结果未知" in row.last_error   # visible, never resent by itself


def test_work_horse_killed_mid_job_is_retried_by_its_worker_once(app, redis_url, rq_queue):
    """Only the work horse dies (the OOM killer's choice): the worker sees it, fails the
    attempt and, the run having retries, runs it again at once; the run is taken over."""
    from app.services import scheduler

    as_of = date(2026, 5, 20)
    portfolio_loan(app, "姜维", [as_of + timedelta(days=3)], mobile="13300133003")
    set_setting(app, "business_date", as_of.isoformat())
    with fault_gateway(app) as gateway:
        gateway.hold()
        with redis_at(app, redis_url), acting(app, "admin") as admin:
            run_id = scheduler.run_now(scheduler.job_by_code("reminders").id, admin)
        sms_env = {k: str(v) for k, v in gateway_settings(gateway, SMS_HTTP_TIMEOUT="60").items()}
        worker = subprocess.Popen(_worker_cmd(redis_url), cwd=ROOT, env=_worker_env(app, sms_env),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            assert gateway.arrived.wait(90), "the job never reached the gateway"
            horses = _children(worker.pid)
            assert horses, "no work horse found"
            for pid in horses:
                os.kill(pid, signal.SIGKILL)
            gateway.release()
            assert _wait_for(lambda: _run(app, run_id).status in ("success", "failed"), 60)
        finally:
            _kill_9(worker)
        run = _run(app, run_id)
        assert run.status == "success", run.error
        assert json.loads(run.counts)["resumed"] == 1
        assert gateway.count() == 1
    assert (_count(app, JobRun), _count(app, Reminder), _count(app, SmsMessage)) == (1, 1, 1)


def test_runs_recorded_while_redis_was_down_are_queued_when_it_returns(app, redis_url, rq_queue, login_as):
    from app.services import scheduler

    with acting(app, "admin") as admin, redis_at(app, _dead_redis()):
        run_id = scheduler.run_now(scheduler.job_by_code("outbox").id, admin)
    assert _run(app, run_id).rq_job_id is None
    with redis_at(app, _dead_redis()), app.app_context():
        assert scheduler.requeue_waiting(datetime.now() + timedelta(minutes=2)) == []   # still down
    with redis_at(app, redis_url):
        with app.app_context():
            assert scheduler.requeue_waiting() == []                          # too recent: it may be on its way
            assert scheduler.requeue_waiting(datetime.now() + timedelta(minutes=2)) == [run_id]
        with app.app_context():
            assert _run(app, run_id).rq_job_id == scheduler.rq_job_id_of(run_id)
        page = login_as("admin").get("/jobs/list/").get_data(as_text=True)
        assert 'data-mode="redis" data-reachable="yes"' in page
        assert _kind(page, "queued") == 1 and _kind(page, "waiting") == 0
        _run_worker(app, redis_url)
        assert _wait_for(lambda: _run(app, run_id).status in ("success", "failed"))
        assert _run(app, run_id).status == "success", _run(app, run_id).error
        with app.app_context():
            assert scheduler.requeue_waiting(datetime.now() + timedelta(hours=1)) == []   # done: not again
    assert _count(app, JobRun) == 1


def test_a_run_whose_rq_job_died_for_good_is_marked_failed(app, redis_url, rq_queue):
    from rq.job import Job

    from app.services import scheduler

    with redis_at(app, redis_url), acting(app, "admin"):
        job = scheduler.job_by_code("outbox")
        run = JobRun(job_id=job.id, status="running", started_at=datetime.now() - timedelta(minutes=5))
        db.session.add(run)
        db.session.commit()
        run.rq_job_id = scheduler.rq_job_id_of(run.id)
        db.session.commit()
        dead = Job.create(_answer, args=(1,), id=run.rq_job_id, connection=rq_queue.connection)
        dead.save()
        dead.set_status("failed")   # RQ gave up on it (retries used up)
        assert scheduler.requeue_waiting() == []
        run = db.session.get(JobRun, run.id)
        assert run.status == "failed" and "运行中断" in run.error


# -- the database connection drops in the middle of a repayment posting (PostgreSQL) ----------------
@contextmanager
def connection_killed_at_commit(app):
    """While armed, the first COMMIT on the app's engine finds its server process gone: just
    before COMMIT is sent (everything flushed: voucher, journal lines, receipt, balances),
    another connection terminates it with pg_terminate_backend and waits until it is gone."""
    killer = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    seen = {}

    def before_commit(conn):
        if "pid" in seen:
            return
        seen["pid"] = pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        seen["vouchers_inside"] = conn.exec_driver_sql("SELECT count(*) FROM voucher").scalar()
        seen["lines_inside"] = conn.exec_driver_sql("SELECT count(*) FROM journal_line").scalar()
        seen["receipts_inside"] = conn.exec_driver_sql("SELECT count(*) FROM repayment").scalar()
        with killer.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            for _ in range(100):
                if not other.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).first():
                    break
                time.sleep(0.05)

    engine = db.engine
    event.listen(engine, "commit", before_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", before_commit)
        killer.dispose()


def _ledger_state(loan_id):
    from app.models import FundAccount, Installment, JournalLine, Loan, Voucher
    from app.models.servicing import Repayment
    from app.services import ledger

    installments = db.session.execute(
        select(Installment.seq, Installment.principal_paid, Installment.interest_paid, Installment.penalty_paid,
               Installment.compound_paid, Installment.paid_off_on)
        .where(Installment.loan_id == loan_id).order_by(Installment.seq)).all()
    return {
        "vouchers": db.session.execute(select(func.count(Voucher.id))).scalar(),
        "lines": db.session.execute(select(func.count(JournalLine.id))).scalar(),
        "receipts": db.session.execute(select(func.count(Repayment.id))).scalar(),
        "installments": [tuple(row) for row in installments],
        "principal_balance": db.session.execute(select(Loan.principal_balance).where(Loan.id == loan_id)).scalar(),
        "fund_posted_net": [tuple(r) for r in db.session.execute(
            select(FundAccount.id, FundAccount.posted_net).order_by(FundAccount.id))],
        "totals": ledger.totals(),
    }


def test_connection_dropped_mid_posting_leaves_no_partial_voucher(postgres, login_as):
    from sqlalchemy.exc import DBAPIError

    from app.services import ledger, repayments

    from .servicing_helpers import D, active_loan, capital, finance_user, fund, key, on

    app = postgres
    capital(app)
    loan_id = active_loan(app, login_as)
    with app.app_context():
        from app.models import Installment

        first_due = db.session.execute(select(Installment.due_date).where(
            Installment.loan_id == loan_id, Installment.seq == 1)).scalar_one()
    on(app, first_due)
    idempotency_key = key()
    with app.app_context():
        before = _ledger_state(loan_id)
        assert ledger.balance_differences() == []
        db.session.rollback()
    with app.app_context():
        user, account = finance_user(), fund()
        with connection_killed_at_commit(app) as seen, pytest.raises(DBAPIError):
            repayments.post_repayment(loan_id, D("3000.00"), first_due, account, user, idempotency_key)
        db.session.remove()
    # Inside the doomed transaction everything had been written …
    assert seen["vouchers_inside"] == before["vouchers"] + 1 and seen["lines_inside"] > before["lines"]
    assert seen["receipts_inside"] == before["receipts"] + 1
    # … and a fresh session sees none of it.
    with app.app_context():
        after = _ledger_state(loan_id)
        assert after == before
        assert ledger.balance_differences() == []
        debit, credit = after["totals"]
        assert debit == credit
    # Posting again with the same key succeeds, once.
    with app.app_context():
        user, account = finance_user(), fund()
        receipt = repayments.post_repayment(loan_id, D("3000.00"), first_due, account, user, idempotency_key)
        again = repayments.post_repayment(loan_id, D("3000.00"), first_due, account, user, idempotency_key)
        assert again.id == receipt.id
    with app.app_context():
        final = _ledger_state(loan_id)
        assert final["vouchers"] == before["vouchers"] + 1 and final["receipts"] == before["receipts"] + 1
        assert final["fund_posted_net"] != before["fund_posted_net"]
        assert final["installments"] != before["installments"]
        assert ledger.balance_differences() == []
        debit, credit = final["totals"]
        assert debit == credit
