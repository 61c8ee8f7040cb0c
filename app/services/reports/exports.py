"""Big Excel exports in the background: a list report of more than ``threshold()`` rows is
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

from app.services import settings
from app.services.reports import business

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


def _filters_dict(filters):
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(filters).items()}


def _filters_from(values):
    data = dict(values)
    for key in ("start", "end", "as_of"):
        if data.get(key):
            data[key] = date.fromisoformat(data[key])
    return business.Filters(**data)


def enqueue_export(code, filters, user):
    """Queue the export; returns the token of the file to come."""
    from app.extensions import db
    from app.jobs import enqueue

    # End the caller's read transaction first: without Redis the job runs right here on its
    # own connection, and SQLite would keep it waiting on this request's read lock.
    user_id = user.id
    db.session.commit()
    token = secrets.token_urlsafe(24)[:TOKEN_LENGTH]
    enqueue(run_export, code, _filters_dict(filters), user_id, token)
    return token


def run_export(code, filters, user_id, token):
    """The job: write the workbook as the user (their data scope), then message them the link."""
    from flask import g

    from app.extensions import db
    from app.jobs.tasks import app_context
    from app.models import AppUser

    with app_context():
        user = db.session.get(AppUser, user_id)
        g.user = user
        path = os.path.join(export_dir(user_id), f"{token}.xlsx")
        partial = path + ".part"
        with open(partial, "wb") as fh:
            business.workbook(code, _filters_from(filters), user, output=fh)
        os.replace(partial, path)
        title = business.REPORTS[code].title
        link = f"/reports/loans/download/{token}"
        try:
            from app.services import messages
        except ImportError:  # the message center is not installed: the file is still there
            return path
        messages.deliver([user_id], f"{title} 已导出，点击下载", body=f"{title}（{settings.business_date()}）导出完成。",
                         link=link, source="report")
        db.session.commit()
        return path
