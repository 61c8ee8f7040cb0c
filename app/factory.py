"""The application factory: one Flask app, one AppBuilder, every view registered once."""
import logging
import os

from flask import Flask, flash, g, redirect, request, url_for
from flask_appbuilder import AppBuilder
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event

from config import CONFIGS

from .extensions import db, mail, migrate

log = logging.getLogger(__name__)


def create_app(config_name=None, **overrides):
    app = Flask(__name__, instance_path=os.path.abspath(
        os.environ.get("MICROLOAN_INSTANCE_DIR",
                       os.path.join(os.path.dirname(__file__), os.pardir, "instance"))))
    app.config.from_object(CONFIGS[config_name or os.environ.get("MICROLOAN_CONFIG", "default")])
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)

    from . import models  # noqa: F401  (every table on the metadata before Alembic looks)
    from .security import check_password_complexity
    from .services import audit

    app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"] = check_password_complexity
    audit.install()
    from sqlalchemy.orm import Session

    from .services import ledger
    ledger.install_balance_keeping(Session)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            _use_sqlite_transactions(engine)
            _no_postgres_jit(engine)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), os.pardir, "migrations"))
    mail.init_app(app)

    with app.app_context():
        appbuilder = AppBuilder()
        appbuilder.init_app(app, db.session)
        from .views import register_views

        register_views(appbuilder)
        _protect_forms(app, appbuilder)

    from .cli import register_cli

    register_cli(app)
    _install_request_hooks(app)
    return app


def _use_sqlite_transactions(engine):
    """Let SQLAlchemy, not Python's sqlite3 driver, open and close SQLite transactions.

    The driver only emits BEGIN before INSERT/UPDATE/DELETE and never before a SAVEPOINT,
    so a SAVEPOINT could become the outer transaction and its RELEASE commit for good; it
    also commits before DDL. SQLAlchemy's documented recipe for pysqlite: switch the driver's
    own transaction handling off and emit BEGIN whenever SQLAlchemy starts a transaction.
    Other databases (PostgreSQL) are left alone.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _emit_begin(conn):
        conn.exec_driver_sql("BEGIN")


def _no_postgres_jit(engine):
    """PostgreSQL: JIT compilation off for the app's connections. The report queries' costs
    are estimated far above what they read (the planner cannot see that a month of unpaid
    installments is small), which makes PostgreSQL compile and optimise them with LLVM:
    1.8 s of a 2.1 s report at 100,000 loans, for queries that then run in 0.3 s."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _jit_off(dbapi_connection, connection_record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


def _protect_forms(app, appbuilder):
    """CSRF on every form POST; the REST APIs authenticate by token and are exempt."""
    from flask_appbuilder.api import BaseApi

    csrf = CSRFProtect(app)
    for view in appbuilder.baseviews:
        if isinstance(view, BaseApi) and getattr(view, "blueprint", None) is not None:
            csrf.exempt(view.blueprint)


# Endpoints a user who must change their password may still reach.
_ALLOWED_WHILE_FORCED = {
    "ResetMyPasswordView.this_form_get", "ResetMyPasswordView.this_form_post",
    "AppAuthDBView.logout", "AppAuthDBView.login", "static", "appbuilder.static",
    "LocaleView.index",
}


def _install_request_hooks(app):
    @app.before_request
    def force_password_change():
        user = g.get("user")
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if getattr(user, "must_change_password", False) and request.endpoint not in _ALLOWED_WHILE_FORCED:
            if request.endpoint and request.endpoint.startswith("appbuilder"):
                return None
            flash(str(_l("Please change your initial password before continuing.")), "warning")
            return redirect(url_for("ResetMyPasswordView.this_form_get"))
        return None

    # CSP (own scripts and styles only; nonces for inline scripts), X-Frame-Options DENY,
    # nosniff, Referrer-Policy: app/security_headers.py.
    from .security_headers import install as install_security_headers

    install_security_headers(app)
