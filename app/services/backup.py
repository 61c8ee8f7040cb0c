"""备份与恢复: one timestamped ``.tar.gz`` holding the database, the upload folder and a manifest.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent image
  while the app keeps running; the row counts and hashes are taken from that copy.
- PostgreSQL: ``pg_dump --format=custom``. The counts and hashes are read in a
  REPEATABLE READ transaction whose snapshot is exported and handed to ``pg_dump
  --snapshot``, so the dump and the manifest describe the same instant.
- ``manifest.json``: format, app version, Alembic revision, dialect, creation time, and per
  table its row count and a SHA-256 over its rows (in primary-key order), plus the SHA-256 of
  every file in the archive.

Restore goes into an EMPTY database only (a non-empty target is refused), checks the manifest
and the file checksums first, and after restoring recomputes every table's count and hash
and compares them with the manifest. ``prune()`` deletes archives older than the
``backup_retention_days`` parameter; ``scheduled_job`` is the daily job (02:00 Beijing).
"""
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app.domain.errors import DomainError
from app.extensions import db

FORMAT = 1
ARCHIVE_PREFIX = "microloan-backup-"
ARCHIVE_RE = re.compile(r"^microloan-backup-(\d{8}-\d{6})\.tar\.gz$")
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.dump"
UPLOADS_MEMBER = "uploads"


# -- helpers ------------------------------------------------------------------------------
def backup_folder():
    """Where archives go by default: config BACKUP_FOLDER, else instance/backups."""
    return (current_app.config.get("BACKUP_FOLDER") or os.environ.get("BACKUP_FOLDER")
            or os.path.join(current_app.instance_path, "backups"))


def _app_version():
    try:
        from importlib.metadata import version

        return version("microloan")
    except Exception:  # noqa: BLE001 - not installed as a package: the git-less fallback
        return getattr(__import__("app"), "__version__", "dev")


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _value(value):
    """One column value as stable text (the same database type always gives the same text)."""
    if value is None:
        return "\\N"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "x" + bytes(value).hex()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def table_fingerprints(connection):
    """{table: {"rows": n, "sha256": hex}} for every table of the connection's database.
    Rows are read in primary-key order (all columns when a table has no key)."""
    metadata = MetaData()
    metadata.reflect(bind=connection)
    result = {}
    for name in sorted(metadata.tables):
        table = metadata.tables[name]
        order = list(table.primary_key.columns) or list(table.columns)
        digest = hashlib.sha256()
        digest.update(",".join(c.name for c in table.columns).encode())
        count = 0
        rows = connection.execution_options(stream_results=True, yield_per=2000).execute(
            select(*table.columns).order_by(*order))
        for row in rows:
            digest.update(b"\x1e" + "\x1f".join(_value(v) for v in row).encode("utf-8"))
            count += 1
        result[name] = {"rows": count, "sha256": digest.hexdigest()}
    return result


def _alembic_revision(connection):
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _libpq_url(url):
    """A SQLAlchemy URL as a libpq connection URI (what pg_dump/pg_restore take)."""
    url = make_url(url) if isinstance(url, str) else url
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(args, what):
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DomainError(f"找不到 {args[0]}：请安装 PostgreSQL 客户端工具（postgresql-client）") from None
    if done.returncode != 0:
        raise DomainError(f"{what}失败：{(done.stderr or done.stdout).strip()[-1500:]}")
    return done


# -- create -------------------------------------------------------------------------------
def create_backup(output_dir=None, engine=None, upload_folder=None, now=None):
    """Write one archive and return its path (``microloan-backup-YYYYMMDD-HHMMSS.tar.gz``)."""
    engine = engine or db.engine
    upload_folder = upload_folder if upload_folder is not None else current_app.config.get("UPLOAD_FOLDER")
    output_dir = output_dir or backup_folder()
    os.makedirs(output_dir, exist_ok=True)
    now = now or datetime.now()
    stamp = now.strftime("%Y%m%d-%H%M%S")
    dialect = engine.dialect.name
    with tempfile.TemporaryDirectory(prefix="microloan-backup-") as work:
        if dialect == "sqlite":
            member = SQLITE_MEMBER
            revision, tables = _dump_sqlite(engine, os.path.join(work, member))
        elif dialect == "postgresql":
            member = PG_MEMBER
            revision, tables = _dump_postgres(engine, os.path.join(work, member))
        else:
            raise DomainError(f"不支持备份 {dialect} 数据库")
        manifest = {
            "format": FORMAT, "app_version": _app_version(), "alembic_revision": revision,
            "dialect": dialect, "created_at": now.isoformat(timespec="seconds"),
            "database_file": member, "tables": tables,
            "files": {member: _file_sha256(os.path.join(work, member))},
        }
        uploads = []
        if upload_folder and os.path.isdir(upload_folder):
            for root, _dirs, names in os.walk(upload_folder):
                for name in sorted(names):
                    full = os.path.join(root, name)
                    if os.path.islink(full) or not os.path.isfile(full):
                        continue
                    arcname = f"{UPLOADS_MEMBER}/" + os.path.relpath(full, upload_folder).replace(os.sep, "/")
                    manifest["files"][arcname] = _file_sha256(full)
                    uploads.append((full, arcname))
        final = os.path.join(output_dir, f"{ARCHIVE_PREFIX}{stamp}.tar.gz")
        partial = final + ".part"
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime, info.mode = len(data), int(now.timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(os.path.join(work, member), arcname=member)
            for full, arcname in uploads:
                tar.add(full, arcname=arcname)
        os.chmod(partial, 0o600)
        os.replace(partial, final)  # never a half-written archive under the final name
    return final


def _dump_sqlite(engine, target):
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise DomainError("内存数据库无法备份")
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    copy_engine = create_engine(f"sqlite:///{target}")
    try:
        with copy_engine.connect() as conn:
            return _alembic_revision(conn), table_fingerprints(conn)
    finally:
        copy_engine.dispose()


def _dump_postgres(engine, target):
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            revision = _alembic_revision(conn)
            tables = table_fingerprints(conn)
            # The snapshot stays importable while this transaction is open.
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={target}", f"--dbname={_libpq_url(engine.url)}"], "pg_dump 备份")
    return revision, tables


# -- restore ------------------------------------------------------------------------------
def read_manifest(archive):
    """The manifest of an archive (DomainError when the file is not one of our backups)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.loads(member.read().decode("utf-8"))
    except (OSError, KeyError, tarfile.TarError, ValueError, AttributeError):
        raise DomainError(f"{archive} 不是有效的备份文件（缺少或无法读取 manifest.json）") from None
    if manifest.get("format") != FORMAT or "tables" not in manifest or "dialect" not in manifest:
        raise DomainError("备份清单格式不受支持")
    return manifest


def _is_empty(engine):
    try:
        names = inspect(engine).get_table_names()
    except OperationalError as exc:
        raise DomainError(f"无法连接目标数据库：{str(exc.orig).strip()[:300]}（PostgreSQL 须先新建空数据库）") from None
    return not names


def restore_backup(archive, database_url=None, upload_folder=None):
    """Restore ``archive`` into an EMPTY database (default: the app's own) and the upload folder,
    then verify every table's row count and hash against the manifest. Returns the manifest."""
    manifest = read_manifest(archive)
    url = make_url(database_url) if database_url else db.engine.url
    dialect = url.get_backend_name()
    if dialect != manifest["dialect"]:
        raise DomainError(f"备份来自 {manifest['dialect']} 数据库，不能恢复到 {dialect} 数据库")
    upload_folder = upload_folder if upload_folder is not None else current_app.config.get("UPLOAD_FOLDER")
    with tempfile.TemporaryDirectory(prefix="microloan-restore-") as work:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work, filter="data")   # no absolute paths, no "..", no links out
        for name, expected in manifest.get("files", {}).items():
            path = os.path.join(work, name)
            if not os.path.isfile(path) or _file_sha256(path) != expected:
                raise DomainError(f"备份文件已损坏：{name} 的校验值不符")
        engine = create_engine(url)
        try:
            if not _is_empty(engine):
                raise DomainError("目标数据库不是空库：只能恢复到空数据库，请新建一个空数据库后再恢复")
            dump = os.path.join(work, manifest["database_file"])
            if dialect == "sqlite":
                _restore_sqlite(dump, url)
            else:
                _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                      f"--dbname={_libpq_url(url)}", dump], "pg_restore 恢复")
            engine.dispose()
            with engine.connect() as conn:
                actual = table_fingerprints(conn)
            problems = compare(manifest["tables"], actual)
            if problems:
                raise DomainError("恢复后校验不一致：" + "；".join(problems[:20]))
            source = os.path.join(work, UPLOADS_MEMBER)
            if upload_folder and os.path.isdir(source):
                shutil.copytree(source, upload_folder, dirs_exist_ok=True)
        finally:
            engine.dispose()
    return manifest


def _restore_sqlite(dump, url):
    target = url.database
    if not target or target == ":memory:":
        raise DomainError("不能恢复到内存数据库")
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    source = sqlite3.connect(dump)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()


def compare(expected, actual):
    """The differences between two {table: {rows, sha256}} maps, as Chinese sentences."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None:
            problems.append(f"多出表 {name}")
        elif got is None:
            problems.append(f"缺少表 {name}")
        elif want["rows"] != got["rows"]:
            problems.append(f"表 {name} 行数 {got['rows']}，应为 {want['rows']}")
        elif want["sha256"] != got["sha256"]:
            problems.append(f"表 {name} 内容校验值不符")
    return problems


# -- retention and the daily job ----------------------------------------------------------
def _archive_time(path):
    match = ARCHIVE_RE.match(os.path.basename(path))
    if match:
        return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
    return datetime.fromtimestamp(os.path.getmtime(path))


def prune(folder=None, retention_days=None, now=None):
    """Delete our archives older than ``retention_days`` (default: parameter
    ``backup_retention_days``). Returns the deleted paths."""
    from app.services import settings

    folder = folder or backup_folder()
    if retention_days is None:
        retention_days = int(settings.get("backup_retention_days", 30) or 30)
    if retention_days < 1:
        raise DomainError("备份保留天数至少为 1 天")
    cutoff = (now or datetime.now()) - timedelta(days=retention_days)
    deleted = []
    if not os.path.isdir(folder):
        return deleted
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if ARCHIVE_RE.match(name) and os.path.isfile(path) and _archive_time(path) < cutoff:
            os.remove(path)
            deleted.append(path)
    return deleted


def daily_backup(output_dir=None, now=None):
    """Create today's archive and prune old ones. Returns a summary dict (for the jobs page)."""
    path = create_backup(output_dir, now=now)
    deleted = prune(output_dir, now=now)
    return {"result": f"已备份到 {os.path.basename(path)}，清理过期备份 {len(deleted)} 个",
            "archive": path, "size": os.path.getsize(path), "pruned": len(deleted)}


def scheduled_job(run):
    """The scheduler's entry (``JobSpec.func``): the daily backup with retention."""
    return daily_backup()
