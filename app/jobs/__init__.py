"""Background jobs on RQ. Without REDIS_URL a job runs in-process, synchronously, so the
embedded default (``make run``) needs no server; with it, ``rq worker`` processes run them.

Job functions are thin: they open an app context, act as the system user and call a service.
"""
from flask import current_app

QUEUE_NAME = "microloan"


def get_queue():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis
    from rq import Queue

    return Queue(queue_name(), connection=Redis.from_url(url))


def queue_name():
    """The RQ queue: RQ_QUEUE in the config or the environment, "microloan" by default."""
    import os

    return current_app.config.get("RQ_QUEUE") or os.environ.get("RQ_QUEUE") or QUEUE_NAME


def enqueue(func, *args, **kwargs):
    """Queue ``func`` on RQ, or run it now when there is no Redis. Returns the RQ job or the result."""
    queue = get_queue()
    if queue is None:
        return func(*args, **kwargs)
    return queue.enqueue(func, *args, **kwargs)


def enqueue_in(seconds, func, *args, **kwargs):
    """Queue ``func`` to run in ``seconds`` (RQ's scheduler: ``rq worker --with-scheduler``).
    Without Redis nothing is queued and None is returned: the caller's periodic job (e.g.
    the outbox job for SMS retries) picks the work up when it is due."""
    from datetime import timedelta

    queue = get_queue()
    if queue is None:
        return None
    return queue.enqueue_in(timedelta(seconds=seconds), func, *args, **kwargs)
