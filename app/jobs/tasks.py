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
