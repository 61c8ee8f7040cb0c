"""Background jobs on RQ. Without REDIS_URL a job runs in-process, synchronously, so the
embedded default (``make run``) needs no server; with it, ``rq worker`` processes run them.

Job functions are thin: they open an app context, act as the system user and call a service.

Redis configured but down (docs/faults.md): the web process talks to Redis with short
timeouts (``REDIS_CONNECT_TIMEOUT`` 0.5 s, ``REDIS_SOCKET_TIMEOUT`` 2 s, no retries), so a
page never hangs on it, and each call site says what happens instead:

- ``when_down="inline"`` (``enqueue``'s default): the job runs here and now, as without
  Redis. For work a user waits for (an export, delivering what they just composed).
- ``when_down="defer"``: nothing runs and None is returned; the caller has a durable record
  that is queued when Redis is back (the scheduler's ``JobRun`` rows, see
  ``app.services.scheduler.requeue_waiting``; SMS retries, picked up by the outbox job).

Either way a warning is logged. Jobs must be idempotent: RQ retries a job whose worker died
(``retries``), and a fallback may run work that also reached Redis just before it failed.
"""
import logging
import os

from flask import current_app, has_app_context

QUEUE_NAME = "microloan"
REDIS_CONNECT_TIMEOUT = 0.5
REDIS_SOCKET_TIMEOUT = 2.0
#: RQ statuses after which a job will not run again by itself.
DEAD_STATUSES = ("failed", "stopped", "canceled")

log = logging.getLogger(__name__)


def _logger():
    return current_app.logger if has_app_context() else log


def redis_url():
    return current_app.config.get("REDIS_URL") or None


def redis_connection(url=None):
    """A Redis client with short timeouts and no retries (a web request must not hang)."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    config = current_app.config
    return Redis.from_url(url or redis_url(),
                          socket_connect_timeout=float(config.get("REDIS_CONNECT_TIMEOUT") or REDIS_CONNECT_TIMEOUT),
                          socket_timeout=float(config.get("REDIS_SOCKET_TIMEOUT") or REDIS_SOCKET_TIMEOUT),
                          retry=Retry(NoBackoff(), 0))


def get_queue():
    url = redis_url()
    if not url:
        return None
    from rq import Queue

    return Queue(queue_name(), connection=redis_connection(url))


def queue_name():
    """The RQ queue: RQ_QUEUE in the config or the environment, "microloan" by default."""
    return current_app.config.get("RQ_QUEUE") or os.environ.get("RQ_QUEUE") or QUEUE_NAME


def redis_errors():
    """The exceptions that mean "Redis is not usable now" (refused, timed out, not Redis…)."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)


def _describe(func):
    return getattr(func, "__qualname__", None) or repr(func)


def submit(func, args=(), kwargs=None, when_down="inline", job_id=None, retries=0, timeout=None):
    """Queue ``func(*args, **kwargs)`` on RQ; returns the RQ job. Without REDIS_URL it runs
    here and its result is returned. Redis configured but unreachable: ``when_down`` says
    what to do ("inline": run here, return the result; "defer": return None)."""
    kwargs = kwargs or {}
    queue = get_queue()
    if queue is None:
        return func(*args, **kwargs)
    options = {"job_id": job_id}
    if retries:
        from rq import Retry

        options["retry"] = Retry(max=retries)
    if timeout:
        options["job_timeout"] = timeout
    try:
        return queue.enqueue(func, args=args, kwargs=kwargs, **options)
    except redis_errors() as exc:
        action = "running it in-process" if when_down == "inline" else "it is queued when Redis is back"
        _logger().warning("Redis unreachable (%s: %s): %s not queued, %s", type(exc).__name__, exc,
                          _describe(func), action)
    if when_down == "inline":
        return func(*args, **kwargs)
    return None


def enqueue(func, *args, **kwargs):
    """Queue ``func`` on RQ, or run it now when there is no Redis or Redis is down. Returns
    the RQ job or the result."""
    return submit(func, args, kwargs, when_down="inline")


def enqueue_in(seconds, func, *args, **kwargs):
    """Queue ``func`` to run in ``seconds`` (RQ's scheduler: ``rq worker --with-scheduler``).
    Without Redis, or with Redis down, nothing is queued and None is returned: the caller's
    periodic job (e.g. the outbox job for SMS retries) picks the work up when it is due."""
    from datetime import timedelta

    queue = get_queue()
    if queue is None:
        return None
    try:
        return queue.enqueue_in(timedelta(seconds=seconds), func, *args, **kwargs)
    except redis_errors() as exc:
        _logger().warning("Redis unreachable (%s: %s): %s not scheduled; the periodic job picks it up",
                          type(exc).__name__, exc, _describe(func))
        return None


def redis_reachable():
    """True when Redis is configured and answers a PING (within the short timeouts)."""
    if not redis_url():
        return False
    try:
        return bool(redis_connection().ping())
    except redis_errors():
        return False


def job_status(job_id):
    """RQ's status of ``job_id`` ("queued", "started", "failed" …), None when Redis has no
    such job (finished and expired, or lost with a Redis restart). Raises a Redis error when
    Redis is down."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    queue = get_queue()
    if queue is None:
        return None
    try:
        status = Job.fetch(job_id, connection=queue.connection).get_status(refresh=False)
    except NoSuchJobError:
        return None
    return getattr(status, "value", status)


def is_retry_of_a_dead_attempt(retries):
    """True inside an RQ job that RQ is running again after an attempt that died or raised
    (its worker killed, the job abandoned): ``retries_left`` went below what it was given."""
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover - rq is a requirement
        return False
    job = get_current_job()
    left = getattr(job, "retries_left", None)
    return job is not None and left is not None and left < retries


def queue_state():
    """What the jobs page shows about the queue: {"mode": "inline" | "redis", "reachable",
    "error", "queued", "started", "scheduled", "failed", "workers", "queue"}."""
    state = {"mode": "inline", "reachable": None, "error": None, "queue": queue_name()}
    queue = get_queue()
    if queue is None:
        return state
    state["mode"] = "redis"
    try:
        from rq import Worker
        from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

        queue.connection.ping()
        state.update(
            reachable=True, queued=queue.count,
            # Counting the started registry also moves abandoned jobs (dead workers) on: to a
            # retry when they have retries left, to failed otherwise (RQ's own clean-up).
            started=StartedJobRegistry(queue=queue).count,
            scheduled=ScheduledJobRegistry(queue=queue).count,
            failed=FailedJobRegistry(queue=queue).count,
            workers=Worker.count(queue=queue))
    except redis_errors() as exc:
        state.update(reachable=False, error=f"{type(exc).__name__}: {exc}")
    return state
