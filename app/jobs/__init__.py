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

    return Queue(QUEUE_NAME, connection=Redis.from_url(url))


def enqueue(func, *args, **kwargs):
    """Queue ``func`` on RQ, or run it now when there is no Redis. Returns the RQ job or the result."""
    queue = get_queue()
    if queue is None:
        return func(*args, **kwargs)
    return queue.enqueue(func, *args, **kwargs)
