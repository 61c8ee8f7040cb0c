"""Test fixtures: one app per session on a freshly migrated database, reset between tests.

DATABASE_URL picks the database (SQLite file by default, PostgreSQL in CI). The schema is
built by ``flask init``'s own code path (Alembic, then roles), so the tests exercise it.
Between tests every table except FAB's permission catalogue is emptied and the baseline
(parameters, dictionaries, users) is loaded again, but only when the test wrote something.
"""
import os
import re
import tempfile

import pytest
from sqlalchemy import func, inspect, select, text

os.environ.setdefault("MICROLOAN_CONFIG", "test")
_TMP = tempfile.mkdtemp(prefix="microloan-test-")
os.environ.setdefault("MICROLOAN_INSTANCE_DIR", _TMP)



def _per_worker_services():
    """Under pytest-xdist (``make test`` runs workers in parallel) each worker gets its own
    PostgreSQL database (``<name>_gw1``…, created when missing) and Redis db number, so the
    workers never reset or drain each other's data. Worker gw0 keeps the configured ones.
    Set in the environment, so subprocesses the tests start (rq workers) follow."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    if not index:
        return
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgresql", "postgres:")):
        from sqlalchemy.engine import make_url

        parsed = make_url(url.replace("postgres://", "postgresql://", 1))
        name = f"{parsed.database}_{worker}"
        import psycopg2

        admin = psycopg2.connect(parsed.set(database="postgres").render_as_string(hide_password=False)
                                 .replace("postgresql+psycopg2://", "postgresql://"))
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        os.environ["DATABASE_URL"] = parsed.set(database=name).render_as_string(hide_password=False)
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        match = re.match(r"^(redis://[^/]*)(?:/(\d+))?$", redis_url)
        if match:
            os.environ["REDIS_URL"] = f"{match.group(1)}/{(int(match.group(2) or 0) + index) % 16}"


_per_worker_services()
TEST_PASSWORD = "Test@12345"
KEEP_TABLES = {
    "ab_permission", "ab_view_menu", "ab_permission_view", "ab_role",
    "ab_permission_view_role", "alembic_version",
}
# username → (role codes, branch code: HQ head office, BJ / SH branches)
TEST_USERS = {
    "admin": (["Admin"], "HQ"),
    "officer_a": (["LoanOfficer"], "BJ"),
    "officer_b": (["LoanOfficer"], "SH"),
    "risk": (["RiskReviewer"], "HQ"),
    "approver": (["Approver"], "HQ"),
    "finance": (["Finance"], "HQ"),
    "manager": (["Manager"], "HQ"),
    "archivist": (["Archivist"], "HQ"),
}


def _database_uri():
    url = os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgres://", "postgresql://", 1)
    return "sqlite:///" + os.path.join(_TMP, "test.db")


def _drop_everything(db):
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def load_baseline():
    """Parameters, dictionaries, branches and one user per role (see TEST_USERS)."""
    from app.extensions import db
    from app.models import Branch
    from app.services.setup import ensure_admin, ensure_system_user, ensure_user, seed_reference_data

    seed_reference_data()
    ensure_system_user()
    admin, _ = ensure_admin(TEST_PASSWORD)
    admin.must_change_password = False
    head = admin.branch
    branches = {"HQ": head}
    for code, name in (("BJ", "北京分公司"), ("SH", "上海分公司")):
        branch = db.session.execute(select(Branch).where(Branch.code == code)).scalar_one_or_none()
        if branch is None:
            branch = Branch(code=code, name=name, parent=head)
            db.session.add(branch)
        branches[code] = branch
    db.session.commit()
    for username, (roles, branch_code) in TEST_USERS.items():
        if username != "admin":
            ensure_user(username, roles, TEST_PASSWORD, username, "测试", branch=branches[branch_code])


_BASELINE = {}  # table name → rows as loaded by load_baseline(), taken once per session
_EXISTING = set()  # tables the migrations created (a model may be ahead of its migration)


def _data_tables(db):
    return [t for t in db.metadata.sorted_tables if t.name not in KEEP_TABLES and t.name in _EXISTING]


def snapshot_baseline():
    """Keep the baseline rows in memory: restoring them is much cheaper than load_baseline()."""
    from app.extensions import db

    _BASELINE.clear()
    _EXISTING.clear()
    _EXISTING.update(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        for table in _data_tables(db):
            rows = [dict(row._mapping) for row in conn.execute(table.select())]
            if rows:
                _BASELINE[table.name] = rows


def _non_empty(conn, tables):
    probes = " UNION ALL ".join(f"SELECT '{t.name}' FROM (SELECT 1 FROM \"{t.name}\" LIMIT 1) AS x{i}"
                                for i, t in enumerate(tables))
    return {row[0] for row in conn.execute(text(probes))}


def reset_database():
    """Empty the tables the test wrote to and put the baseline rows back (ids included)."""
    from app.extensions import db

    db.session.rollback()
    db.session.remove()
    tables = _data_tables(db)
    engine = db.engine
    with engine.begin() as conn:
        written = _non_empty(conn, tables) | set(_BASELINE)
        touched = [t for t in tables if t.name in written]
        if engine.dialect.name == "postgresql":
            # DELETE is cheaper than TRUNCATE on small tables; replica mode skips the FK
            # triggers so the ab_user ↔ department cycle needs no ordering.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(touched):
            conn.execute(table.delete())
        for table in touched:
            rows = _BASELINE.get(table.name)
            if rows:
                conn.execute(table.insert(), rows)
        if engine.dialect.name == "postgresql":
            for table in touched:
                _restart_sequence(conn, table)
    db.session.remove()


def _restart_sequence(conn, table):
    """Move the id sequence just past the baseline rows (or back to 1 for an empty table)."""
    if "id" not in table.c:
        return
    conn.execute(text(
        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
        f"coalesce((SELECT max(id) FROM \"{table.name}\"), 0) + 1, false)"))


@pytest.fixture(scope="session")
def app():
    from app import create_app
    from app.extensions import db
    from app.services.setup import init_all

    uri = _database_uri()
    options = {"pool_pre_ping": True}
    if uri.startswith("postgresql"):
        # Tests need no durability: skipping the WAL flush on commit halves their run time.
        options["connect_args"] = {"options": "-c synchronous_commit=off"}
    application = create_app("test", SQLALCHEMY_DATABASE_URI=uri, SQLALCHEMY_ENGINE_OPTIONS=options,
                             UPLOAD_FOLDER=os.path.join(_TMP, "uploads"))
    with application.app_context():
        _drop_everything(db)
        db.session.remove()
        init_all(TEST_PASSWORD)
        load_baseline()
        db.session.remove()
        snapshot_baseline()
    yield application


def _last_write_id(db):
    from app.models import AuditLog

    return db.session.execute(
        select(func.max(AuditLog.id)).where(AuditLog.action.in_(("insert", "update", "delete")))
    ).scalar() or 0


@pytest.fixture
def clean_database(request, app):
    """Give each test the baseline; reset afterwards only if the test wrote something."""
    from app.extensions import db

    with app.app_context():
        before = _last_write_id(db)
        db.session.remove()
    yield
    with app.app_context():
        db.session.rollback()
        if _last_write_id(db) != before or request.node.get_closest_marker("dirty"):
            reset_database()
        db.session.remove()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, username, password=TEST_PASSWORD):
    response = client.post("/login/", data={"username": username, "password": password})
    assert response.status_code == 302 and "/login/" not in response.headers["Location"], \
        f"login of {username} failed"
    return client


@pytest.fixture
def login_as(app):
    """login_as("officer_a") → a test client with that user signed in."""

    def _login(username, password=TEST_PASSWORD):
        return login(app.test_client(), username, password)

    return _login


def pytest_configure(config):
    config.addinivalue_line("markers", "dirty: reset the database after this test")
    config.addinivalue_line("markers", "services: needs PostgreSQL and Redis (run by .ci/run)")


def _require_services():
    return os.environ.get("MICROLOAN_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true" and bool(os.environ.get("DATABASE_URL"))


@pytest.fixture
def redis_url():
    """The Redis URL; skips where there is none, but fails when CI says services are required."""
    url = os.environ.get("REDIS_URL")
    if not url:
        if _require_services():
            pytest.fail("REDIS_URL is not set but this run requires Redis")
        pytest.skip("no REDIS_URL: Redis tests run in .ci/run")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:  # noqa: BLE001
        if _require_services():
            pytest.fail(f"Redis at {url} is not reachable: {exc}")
        pytest.skip(f"Redis at {url} is not reachable")
    return url


@pytest.fixture
def postgres(app):
    """Skip unless the suite runs on PostgreSQL (fail instead where services are required)."""
    from app.extensions import db

    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect != "postgresql":
        if _require_services():
            pytest.fail("this run requires PostgreSQL but DATABASE_URL is not PostgreSQL")
        pytest.skip("runs on PostgreSQL only (set DATABASE_URL; .ci/run does)")
    return app


def png_bytes():
    """A real 1×1 PNG (uploads check the magic bytes), for tests that upload an image."""
    import struct
    import zlib

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))
