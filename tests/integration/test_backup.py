"""Backup and restore (issue #14 §6): a small portfolio is backed up, restored into another
database and compared table by table (row counts, hashes) and by ledger totals."""
import io
import json
import os
import tarfile
import uuid
from datetime import date, datetime, timedelta
from unittest import mock

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker

from app.domain.errors import DomainError
from app.extensions import db

from .servicing_helpers import active_loan, capital, repay

pytestmark = pytest.mark.usefixtures("clean_database")


def _portfolio(app, login_as):
    capital(app)
    loan_id = active_loan(app, login_as)
    repay(app, loan_id, "5000", date(2026, 4, 16))
    upload = os.path.join(app.config["UPLOAD_FOLDER"], "backup-test", "借款合同.txt")
    os.makedirs(os.path.dirname(upload), exist_ok=True)
    with open(upload, "w", encoding="utf-8") as fh:
        fh.write("合同正文")
    return upload


def _totals_on(url):
    """ledger.totals() read from another database (db.session pointed at it for the call)."""
    from app.services import ledger

    engine = create_engine(url)
    session = scoped_session(sessionmaker(bind=engine))
    try:
        with mock.patch.object(db, "session", session):
            return ledger.totals()
    finally:
        session.remove()
        engine.dispose()


def _fingerprints(url):
    from app.services import backup

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return backup.table_fingerprints(conn)
    finally:
        engine.dispose()


def _round_trip(app, login_as, tmp_path, target_url):
    from app.services import backup, ledger

    upload = _portfolio(app, login_as)
    with app.app_context():
        archive = backup.create_backup(str(tmp_path / "out"))
        source = _fingerprints(db.engine.url)
        source_totals = ledger.totals()
        manifest = backup.read_manifest(archive)
        restored_uploads = tmp_path / "restored_uploads"
        backup.restore_backup(archive, target_url, str(restored_uploads))
        with pytest.raises(DomainError, match="空"):      # a second restore finds a non-empty target
            backup.restore_backup(archive, target_url, str(restored_uploads))
    assert os.path.basename(archive).startswith("microloan-backup-") and archive.endswith(".tar.gz")
    assert manifest["tables"] == source
    assert manifest["alembic_revision"] and manifest["dialect"] == make_url(target_url).get_backend_name()
    assert source["loan"]["rows"] >= 1 and source["journal_line"]["rows"] >= 4
    restored = _fingerprints(target_url)
    assert {t: v["rows"] for t, v in restored.items()} == {t: v["rows"] for t, v in source.items()}
    assert restored == source
    assert _totals_on(target_url) == source_totals and source_totals[0] == source_totals[1] > 0
    copy = restored_uploads / "backup-test" / "借款合同.txt"
    assert copy.read_text(encoding="utf-8") == "合同正文"
    os.remove(upload)


def test_sqlite_backup_restores_identically(app, login_as, tmp_path):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the SQLite round trip runs on the SQLite suite")
    _round_trip(app, login_as, tmp_path, f"sqlite:///{tmp_path / 'restored.db'}")


def test_postgres_backup_restores_into_a_new_database(postgres, login_as, tmp_path):
    app = postgres
    name = f"microloan_trust_restore_{uuid.uuid4().hex[:8]}"
    with app.app_context():
        admin_url = db.engine.url.set(database="postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _round_trip(app, login_as, tmp_path, admin_url.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_restore_refuses_a_damaged_or_foreign_archive(app, tmp_path):
    from app.services import backup

    with app.app_context():
        archive = backup.create_backup(str(tmp_path))
        manifest = backup.read_manifest(archive)
        manifest["files"][manifest["database_file"]] = "0" * 64
        bad = tmp_path / "microloan-backup-20000101-000000.tar.gz"
        with tarfile.open(archive) as src, tarfile.open(bad, "w:gz") as dst:
            for member in src.getmembers():
                if member.name == "manifest.json":
                    data = json.dumps(manifest).encode()
                    member.size = len(data)
                    dst.addfile(member, io.BytesIO(data))
                else:
                    dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        target = (f"sqlite:///{tmp_path / 'target.db'}" if manifest["dialect"] == "sqlite"
                  else db.engine.url.set(database="microloan_trust_absent").render_as_string(hide_password=False))
        with pytest.raises(DomainError, match="校验值不符"):
            backup.restore_backup(str(bad), target, str(tmp_path / "u"))
        other = tmp_path / "not-a-backup.tar.gz"
        other.write_bytes(b"nonsense")
        with pytest.raises(DomainError, match="不是有效的备份文件"):
            backup.restore_backup(str(other), target)
        wrong = "postgresql://nobody@127.0.0.1/none" if manifest["dialect"] == "sqlite" else "sqlite:///x.db"
        with pytest.raises(DomainError, match="不能恢复到"):
            backup.restore_backup(archive, wrong)


def test_daily_backup_prunes_archives_past_the_retention(app, tmp_path):
    from app.services import backup

    folder = tmp_path / "daily"
    folder.mkdir()
    now = datetime(2026, 5, 1, 2, 0, 0)
    old = folder / f"microloan-backup-{(now - timedelta(days=31)):%Y%m%d-%H%M%S}.tar.gz"
    recent = folder / f"microloan-backup-{(now - timedelta(days=29)):%Y%m%d-%H%M%S}.tar.gz"
    unrelated = folder / "notes.txt"
    for path in (old, recent, unrelated):
        path.write_bytes(b"x")
    with app.app_context():
        summary = backup.daily_backup(str(folder), now=now)     # retention: the 30-day default
    assert summary["pruned"] == 1 and not old.exists() and recent.exists() and unrelated.exists()
    assert os.path.basename(summary["archive"]) == "microloan-backup-20260501-020000.tar.gz"


def test_daily_backup_is_a_scheduled_job_at_two_in_the_morning(app):
    from app.jobs import tasks
    from app.services import scheduler

    assert callable(tasks.daily_backup)
    with app.app_context():
        job = scheduler.job_by_code("daily_backup")
        assert (job.schedule_kind, job.time_of_day) == ("daily", "02:00")


def test_cli_backup_create(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup", "create", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "备份完成" in result.output and len(list(tmp_path.glob("microloan-backup-*.tar.gz"))) == 1
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(next(tmp_path.glob("*.tar.gz")))])
    assert result.exit_code != 0 and "空数据库" in result.output
