"""Big Excel exports in the background: a list report of more than ``threshold()`` rows (the
loan reports, the statistics tabs, the finance lists) is
written by a job (app.jobs.enqueue: RQ with Redis, in-process without) into the instance
folder, under the requesting user's id, and a message with the download link is delivered
to that user (app.services.messages.deliver). The download view serves only the caller's
own files, so a link forwarded to someone else does not work.

No table is needed: the file name is a random token, the folder is the owner.
"""
import os
import secrets
from dataclasses import asdict
from datetime import date

from flask import current_app
from sqlalchemy import select

from app.services import settings

DEFAULT_THRESHOLD = 20000
TOKEN_LENGTH = 32


def threshold():
    """Rows above which an export runs as a job (parameter ``report_export_async_rows``)."""
    try:
        value = settings.get("report_export_async_rows", DEFAULT_THRESHOLD)
        return max(1, int(value if value not in (None, "") else DEFAULT_THRESHOLD))
    except (TypeError, ValueError, KeyError):
        return DEFAULT_THRESHOLD


def export_dir(user_id):
    path = os.path.join(current_app.instance_path, "exports", str(int(user_id)))
    os.makedirs(path, exist_ok=True)
    return path


def file_path(user_id, token):
    if not token or len(token) > 64 or not all(c.isalnum() or c in "-_" for c in token):
        return None
    path = os.path.join(export_dir(user_id), f"{token}.xlsx")
    return path if os.path.exists(path) else None


# Report families whose exports can run as a job: name → module. Each module has
# ``workbook(code, filters, user, output)``, ``export_filters(dict)`` (the job's filters from
# what was queued) and ``export_title(code)``. Modules, not functions, so that an RQ worker
# needs only this module's name in the job.
FAMILIES = {
    "loans": "app.services.reports.business",
    "statistics": "app.services.reports.statistics",
    "finance": "app.services.reports.finance",
}


def _family(name):
    import importlib

    if name not in FAMILIES:
        raise ValueError(f"unknown export family {name!r}")
    return importlib.import_module(FAMILIES[name])


def filters_dict(filters):
    """A filters dataclass as JSON-able values (dates as ISO strings) for the job."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(filters).items()}


def dates_from(values, keys=("start", "end", "as_of")):
    """The inverse of ``filters_dict`` for the date fields."""
    data = dict(values)
    for key in keys:
        if data.get(key):
            data[key] = date.fromisoformat(data[key])
    return data


def enqueue_export(family, code, filters, user):
    """Queue the export of ``family``'s report ``code``; returns the token of the file to come."""
    from app.extensions import db
    from app.jobs import submit

    _family(family)
    # End the caller's read transaction first: without Redis the job runs right here on its
    # own connection, and SQLite would keep it waiting on this request's read lock.
    user_id = user.id
    db.session.commit()
    token = secrets.token_urlsafe(24)[:TOKEN_LENGTH]
    # A worker killed mid-export: RQ retries the job (same token, same file); Redis down: here.
    submit(run_export, (family, code, filters_dict(filters), user_id, token), retries=2, job_id=f"export-{token}")
    return token


def run_export(family, code, filters, user_id, token):
    """The job: write the workbook as the user (their data scope), then message them the link.
    Run twice with the same token (a retried job), it writes the same file again."""
    from flask import g

    from app.extensions import db
    from app.jobs.tasks import app_context
    from app.models import AppUser

    module = _family(family)
    with app_context():
        user = db.session.get(AppUser, user_id)
        g.user = user
        path = os.path.join(export_dir(user_id), f"{token}.xlsx")
        partial = path + ".part"
        with open(partial, "wb") as fh:
            module.workbook(code, module.export_filters(filters), user, output=fh)
        os.replace(partial, path)
        title = module.export_title(code)
        link = f"/reports/loans/download/{token}"
        try:
            from app.services import messages
        except ImportError:  # the message center is not installed: the file is still there
            return path
        from app.models.messages import Message

        if db.session.execute(select(Message.id).where(Message.link == link)).first() is None:  # not on a retry
            messages.deliver([user_id], f"{title} 已导出，点击下载",
                             body=f"{title}（{settings.business_date()}）导出完成。", link=link, source="report")
            db.session.commit()
        return path
