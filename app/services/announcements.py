"""站内公告: administrators publish announcements for an audience (roles and/or branches;
none chosen = everyone) between a publish and an expiry time, optionally pinned; the home
page shows the current ones and 公告查看 lists them with each user's read state."""
from datetime import datetime

from sqlalchemy import and_, exists, or_, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.messages import Announcement, AnnouncementRead, announcement_branch, announcement_role


def check(announcement):
    """Validate in place (form and service)."""
    announcement.title = (announcement.title or "").strip()
    announcement.body = (announcement.body or "").strip()
    if not announcement.title:
        raise DomainError("请填写公告标题", "title")
    if len(announcement.title) > 200:
        raise DomainError("公告标题不能超过 200 个字", "title")
    if not announcement.body:
        raise DomainError("请填写公告内容", "body")
    if announcement.publish_at is None:
        announcement.publish_at = datetime.now()
    if announcement.expires_at is not None and announcement.expires_at <= announcement.publish_at:
        raise DomainError("失效时间必须晚于发布时间", "expires_at")


def save(announcement, user):
    check(announcement)
    if announcement.id is None:
        announcement.created_by_id = getattr(user, "id", None)
        db.session.add(announcement)
    db.session.commit()
    return announcement


def _audience_condition(user):
    role_ids = [r.id for r in getattr(user, "roles", [])]
    no_roles = ~exists().where(announcement_role.c.announcement_id == Announcement.id)
    no_branches = ~exists().where(announcement_branch.c.announcement_id == Announcement.id)
    role_match = exists().where(announcement_role.c.announcement_id == Announcement.id,
                                announcement_role.c.role_id.in_(role_ids or [0]))
    branch_match = exists().where(announcement_branch.c.announcement_id == Announcement.id,
                                  announcement_branch.c.branch_id == (getattr(user, "branch_id", None) or 0))
    return and_(or_(no_roles, role_match), or_(no_branches, branch_match))


def visible_query(user, now=None, current_only=True):
    now = now or datetime.now()
    conditions = [Announcement.publish_at <= now, _audience_condition(user)]
    if current_only:
        conditions.append(or_(Announcement.expires_at.is_(None), Announcement.expires_at > now))
    return (select(Announcement).where(*conditions)
            .order_by(Announcement.pinned.desc(), Announcement.publish_at.desc(), Announcement.id.desc()))


def current_for(user, now=None, limit=None):
    """The announcements ``user`` should see now: pinned first, newest first."""
    query = visible_query(user, now)
    if limit:
        query = query.limit(limit)
    return db.session.execute(query).scalars().all()


def read_ids(user, announcement_ids):
    if not announcement_ids:
        return set()
    return set(db.session.execute(select(AnnouncementRead.announcement_id).where(
        AnnouncementRead.user_id == user.id, AnnouncementRead.announcement_id.in_(announcement_ids))).scalars())


def listing(user, now=None, include_expired=True):
    """[(announcement, is_read, is_current)] for 公告查看."""
    now = now or datetime.now()
    rows = db.session.execute(visible_query(user, now, current_only=not include_expired).limit(200)).scalars().all()
    read = read_ids(user, [a.id for a in rows])
    return [(a, a.id in read, a.expires_at is None or a.expires_at > now) for a in rows]


def open_for(announcement_id, user, now=None):
    """The announcement if ``user`` is in its audience and it is published; records the read.
    Commits."""
    now = now or datetime.now()
    item = db.session.execute(visible_query(user, now, current_only=False)
                              .where(Announcement.id == announcement_id)).scalar_one_or_none()
    if item is None:
        raise DomainError("公告不存在或不在您的查看范围内")
    if not read_ids(user, [item.id]):
        db.session.add(AnnouncementRead(announcement_id=item.id, user_id=user.id))
        try:
            db.session.commit()
        except Exception:  # the same user opening it twice at once: already recorded
            db.session.rollback()
    return item


def readers(announcement):
    return db.session.execute(select(AnnouncementRead).where(AnnouncementRead.announcement_id == announcement.id)
                              .order_by(AnnouncementRead.read_at)).scalars().all()


def home_section(user, limit=5):
    """The home page block: current announcements (pinned first) and my unread messages."""
    from flask_babel import gettext
    from markupsafe import Markup

    from app.services import messages

    if not getattr(user, "is_authenticated", False):
        return None
    items = current_for(user, limit=limit)
    read = read_ids(user, [a.id for a in items])
    rows = [[Markup('{}<a href="/announcements/show/{}">{}</a>{}').format(
        Markup('<span class="label label-danger">{}</span> ').format(gettext("Pinned")) if a.pinned else "",
        a.id, a.title, "" if a.id in read else Markup(' <span class="label label-primary">{}</span>').format(
            gettext("Unread"))), a.publish_at.strftime("%Y-%m-%d")] for a in items]
    return {"id": "announcements", "title": gettext("Announcements and messages"),
            "headers": [gettext("Announcement"), gettext("Publish at")], "rows": rows, "link": "/announcements/list/",
            "kpis": [(gettext("Unread messages"), messages.unread_count(user), "home-unread-messages")],
            "empty": gettext("No current announcements.")}
