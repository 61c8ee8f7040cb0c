"""RQ task functions. Each opens its own app context (workers run outside Flask)."""


def app_context():
    from app import create_app

    return create_app().app_context()


def count_users():
    """A harmless job used to check the queue end to end: how many users exist."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import AppUser

    with app_context():
        return db.session.execute(select(func.count(AppUser.id))).scalar()


def nightly_batch(as_of=None):
    """日终批处理 for ``as_of`` (ISO date; default: today), catching up missed dates."""
    from datetime import date

    from app.services import batch
    from app.services.setup import act_as_system

    with app_context():
        user = act_as_system()
        runs = batch.run(date.fromisoformat(as_of) if as_of else None, user=user, trigger="job")
        return [(r.as_of.isoformat(), r.status) for r in runs]


# -- message center and scheduling (issue #10) ------------------------------------------------
