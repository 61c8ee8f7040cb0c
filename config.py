"""Configuration from environment variables, with defaults that work on a fresh machine.

Secrets are never committed: SECRET_KEY comes from the environment or is generated once
into ``instance/secret_key``.
"""
import os
import secrets
from datetime import timedelta

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.environ.get("MICROLOAN_INSTANCE_DIR", os.path.join(BASE_DIR, "instance"))


def _env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _secret_key():
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = os.path.join(INSTANCE_DIR, "secret_key")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    os.makedirs(INSTANCE_DIR, exist_ok=True)
    key = secrets.token_hex(32)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key


def _database_url(default):
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs say postgres://, SQLAlchemy wants postgresql://
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return url


class Config:
    APP_NAME = "小额贷款业务管理系统"
    APP_THEME = ""
    SECRET_KEY = _secret_key()

    SQLALCHEMY_DATABASE_URI = _database_url(
        "sqlite:///" + os.path.join(INSTANCE_DIR, "microloan.db")
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Receipts on PostgreSQL go through server-side prepared statements (app/services/
    # repayments_fast.py). Behind a connection pooler that hands each transaction another server
    # connection (PgBouncer pool_mode=transaction) set SQL_POSTING=0: the ORM path posts them.
    SQL_POSTING = os.environ.get("SQL_POSTING", "1") != "0"

    # Flask-AppBuilder: the schema is built by Alembic only (flask init), never by FAB.
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_SECURITY_MANAGER_CLASS = "app.security.MicroLoanSecurityManager"
    FAB_INDEX_VIEW = "app.views.home.HomeIndexView"
    FAB_MENU = "app.menu.OverridableMenu"
    FAB_BASE_TEMPLATE = "microloan/baselayout.html"
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 100
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = "系统管理员"  # must equal ROLE_NAMES["Admin"] in app/security.py
    AUTH_ROLE_PUBLIC = "匿名用户"
    AUTH_USER_REGISTRATION = False
    # Lock-out after repeated failures (checked in the security manager).
    AUTH_MAX_FAILED_LOGINS = int(os.environ.get("AUTH_MAX_FAILED_LOGINS", "5"))

    # Login rate limiting: both flags are needed (ARCHITECTURE.md).
    AUTH_RATE_LIMITED = _env_bool("AUTH_RATE_LIMITED", True)
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per 1 minute")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")

    # Languages: Chinese by default, English from the language menu.
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "translations")
    LANGUAGES = {
        "zh": {"flag": "cn", "name": "简体中文"},
        "en": {"flag": "gb", "name": "English"},
    }

    # Sessions and CSRF.
    WTF_CSRF_ENABLED = True
    # A form's (and a page's AJAX) CSRF token is valid as long as the session: with Flask-WTF's
    # default of one hour, a form or the loan form's schedule preview left open over lunch was
    # refused. The token stays bound to the session (SESSION_LIFETIME_MINUTES).
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(
        minutes=int(os.environ.get("SESSION_LIFETIME_MINUTES", "480"))
    )

    # Uploads live outside static/ and are served through a permission-checked view.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", os.path.join(INSTANCE_DIR, "uploads"))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024
    UPLOAD_ALLOWED_EXTENSIONS = (
        "pdf", "jpg", "jpeg", "png", "gif", "bmp", "doc", "docx", "xls", "xlsx", "txt", "zip",
    )

    # Mail (Flask-Mail); nothing is sent unless a server is configured.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "microloan@localhost")
    MAIL_SUPPRESS_SEND = _env_bool("MAIL_SUPPRESS_SEND", False)

    # SMS gateway (app/services/sms.py reads these from the environment): SMS_BACKEND = log
    # (default: nothing leaves the machine) or http with SMS_HTTP_URL, SMS_HTTP_METHOD,
    # SMS_HTTP_BODY, SMS_HTTP_PARAMS (JSON), SMS_HTTP_SUCCESS (regex), SMS_HTTP_TIMEOUT,
    # SMS_SIGNATURE; replies arrive at /api/v1/sms/callback/<SMS_CALLBACK_TOKEN>.


class TestConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = _database_url(
        "sqlite:///" + os.path.join(INSTANCE_DIR, "test.db")
    )
    WTF_CSRF_ENABLED = False
    AUTH_RATE_LIMITED = False
    RATELIMIT_ENABLED = False
    # Cheap hashing keeps per-test user creation fast; production uses scrypt.
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    UPLOAD_FOLDER = os.path.join(INSTANCE_DIR, "test_uploads")
    MAIL_SUPPRESS_SEND = True


CONFIGS = {"default": Config, "test": TestConfig}
