"""Command-line entry points (``flask --app run <command>``)."""
import os

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext


def register_cli(app):
    app.cli.add_command(init_command)
    app.cli.add_command(sync_roles_command)
    app.cli.add_command(demo_group)
    app.cli.add_command(schedule_command)
    app.cli.add_command(batch_group)
    app.cli.add_command(jobs_group)
    app.cli.add_command(backup_group)


@click.command("init")
@click.option("--admin-password", envvar="ADMIN_PASSWORD", default=None,
              help="Initial admin password (default: generated and printed once).")
@with_appcontext
def init_command(admin_password):
    """Migrate the database, sync roles and permissions, create admin and seed data."""
    from app.services.setup import init_all

    user, password = init_all(admin_password)
    click.echo("数据库已初始化 / database initialised.")
    if password:
        path = os.path.join(current_app.instance_path, "initial_admin_password")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
        os.chmod(path, 0o600)
        click.echo(f"管理员账号 admin 的初始密码 / initial password of admin: {password}")
        click.echo(f"(也保存在 / also saved in {path}; 首次登录须修改 / must be changed at first login)")


@click.command("sync-roles")
@with_appcontext
def sync_roles_command():
    """Create missing permissions and grant the built-in roles their rules."""
    from app.services.setup import sync_permissions

    sync_permissions()
    click.echo("角色与权限已同步 / roles and permissions synced.")


batch_group = AppGroup("batch", help="日终批处理 / the nightly batch.")


@batch_group.command("run")
@click.option("--date", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Business date to run up to (default: today); missed dates are run first.")
def batch_run(as_of):
    """Run the nightly batch (overdue, penalty, classification, provisions, business date)."""
    from app.domain.errors import DomainError
    from app.services import batch
    from app.services.setup import act_as_system

    user = act_as_system()
    try:
        runs = batch.run(as_of.date() if as_of else None, user=user, trigger="cli")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    for record in runs:
        steps = "  ".join(f"{s['label']} {s['count']} ({s['seconds']:.3f}s)" for s in batch.step_seconds(record))
        click.echo(f"{record.as_of} {record.status_label} {record.seconds}s  {steps}")


@batch_group.command("rebuild-balances")
def batch_rebuild_balances():
    """Set the stored loan and fund-account balances from the journal (after the nightly
    batch's 账务余额核对 step reported a difference and its cause was fixed)."""
    from app.extensions import db
    from app.services import ledger

    before = ledger.balance_differences(limit=1000)
    ledger.rebuild_stored_balances()
    db.session.commit()
    click.echo(f"rebuilt; {len(before)} differences corrected")


demo_group = AppGroup("demo", help="Demo data.")


@demo_group.command("load")
@click.option("--password", envvar="DEMO_PASSWORD", default=None,
              help="One password for every demo user (default: a random one each).")
def demo_load(password):
    """Branches, departments and one user per role."""
    from app.services.demo import load_demo
    from app.services.setup import act_as_system

    act_as_system()
    created = load_demo(password)
    for username, roles, pwd in created:
        click.echo(f"演示用户 / demo user  {username:<12} {pwd:<16} {','.join(roles)}")
    path = os.path.join(current_app.instance_path, "demo_logins.txt")
    click.echo(f"演示账号与密码保存在 / demo logins are in {path}")
    from app.services.demo import load_demo_customers

    click.echo(f"演示客户 / demo customers created: {load_demo_customers()}")
    from app.services.demo import load_demo_loans

    click.echo(f"演示贷款 / demo loans created: {load_demo_loans()}")


@demo_group.command("generate")
@click.option("--customers", default=60000, show_default=True, help="客户数 / number of customers")
@click.option("--loans", default=100000, show_default=True, help="贷款数 / number of loans")
@click.option("--seed", default=42, show_default=True, help="随机种子：同一种子生成相同数据 / same seed, same rows")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="数据截止日（默认营业日期）/ as-of date (default: the business date)")
@click.option("--no-batch", is_flag=True, help="不运行日终批处理 / skip the nightly batch")
def demo_generate(customers, loans, seed, as_of, no_batch):
    """Generate a realistic portfolio (branches, officers, customers, loans, receipts, vouchers)."""
    from app.domain.errors import DomainError
    from app.services.generator import generate

    try:
        summary = generate(customers=customers, loans=loans, seed=seed, as_of=as_of.date() if as_of else None,
                           run_batch=not no_batch, progress=click.echo)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    for line in summary.lines():
        click.echo(line)


@click.command("schedule")
@click.option("--principal", required=True, help="贷款金额 loan amount, e.g. 100000")
@click.option("--rate", "annual_rate", required=True, help="年利率 %% annual rate, e.g. 12")
@click.option("--term", default=None, help="期数 number of periods")
@click.option("--method", default="equal_installment",
              help="bullet | monthly_interest | quarterly_interest | interest_first | equal_principal | "
                   "equal_installment | flat | custom")
@click.option("--start", "start_date", required=True, help="放款日期 YYYY-MM-DD")
@click.option("--period", default="month", help="month | week | day")
@click.option("--every", default="1")
@click.option("--day-basis", default="360")
@click.option("--by-days", "interest_by_days", is_flag=True, help="按实际天数计息")
@click.option("--rounding", default="HALF_UP", help="HALF_UP | HALF_EVEN")
@click.option("--fixed-day", default=None)
@click.option("--first-due", "first_due_date", default=None)
@click.option("--grace-principal", default="0")
@click.option("--grace-interest", default="0")
@click.option("--multiple", "installment_multiple", default=None, help="还款额取整单位, e.g. 1")
@click.option("--fees", "upfront_fees", default="0", help="期初费用 fees paid at disbursement")
@click.option("--plan", "custom_plan", default=None, help='custom: "2026-02-15,30000;2026-03-15,70000"')
@click.option("--json", "as_json", is_flag=True, help="JSON output (amounts as strings)")
def schedule_command(as_json, **options):
    """还款计划试算: print the repayment schedule (needs no database)."""
    import json

    from app.domain.errors import DomainError
    from app.services.schedule_preview import preview

    if options.get("custom_plan"):
        options["custom_plan"] = options["custom_plan"].replace(";", "\n")
    try:
        result = preview(options)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message}（{exc.field}）") from None
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{'期次':>4} {'起息日':>10} {'还款日':>10} {'本金':>16} {'利息':>14} {'合计':>16} {'剩余本金':>16}")
    for r in result.rows:
        click.echo(f"{r.seq:>6} {r.start_date} {r.due_date} {r.principal:>18,.2f} {r.interest:>16,.2f} "
                   f"{r.total:>18,.2f} {r.balance:>18,.2f}")
    t = result.totals
    click.echo(f"{'合计':>4} {'':>21} {t.principal:>18,.2f} {t.interest:>16,.2f} {t.total:>18,.2f}")
    cost = f"{result.cost_rate}%" if result.cost_rate is not None else "—"
    click.echo(f"还款方式：{result.method_label}  综合年化成本：{cost}")


jobs_group = AppGroup("jobs", help="定时任务 / scheduled jobs (message center, issue #10).")


@jobs_group.command("run-due")
def jobs_run_due():
    """Start every scheduled job that is due (in-process without REDIS_URL, else on RQ)."""
    from app.services import scheduler
    from app.services.setup import act_as_system

    act_as_system()
    started = scheduler.run_due(when_down="inline")   # Redis down: run here, someone is waiting
    click.echo(f"已启动 {len(started)} 个到期任务 / started {len(started)} due job(s)")
    _echo_runs(started)


@jobs_group.command("run")
@click.argument("code")
def jobs_run(code):
    """Run one job now, whatever its schedule (codes: see `flask jobs list`)."""
    from app.domain.errors import DomainError
    from app.services import scheduler
    from app.services.setup import act_as_system

    user = act_as_system()
    try:
        run_id = scheduler.run_now(scheduler.job_by_code(code).id, user, trigger="cli")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    _echo_runs([run_id])


@jobs_group.command("list")
def jobs_list():
    """The scheduled jobs, their time (Beijing), UTC cron and next run."""
    from app.services import scheduler

    for job in scheduler.jobs():
        when = job.time_of_day if job.schedule_kind == "daily" else f"every {job.interval_minutes} min"
        cron = scheduler.cron_utc(job.time_of_day, job.interval_minutes if job.schedule_kind == "interval" else None)
        nxt = scheduler.to_beijing(job.next_run_at).strftime("%Y-%m-%d %H:%M") if job.next_run_at else "-"
        click.echo(f"{job.code:15} {'on ' if job.enabled else 'off'} {when:14} UTC cron: {cron or '-':14} "
                   f"next (Beijing): {nxt}  {job.name}")


@jobs_group.command("loop")
@click.option("--every", default=60, show_default=True, help="Seconds between two ticks.")
@click.option("--ticks", default=0, help="Stop after this many ticks (0: run until stopped).")
def jobs_loop(every, ticks):
    """Tick every N seconds: what RQ's cron does, for installations without Redis."""
    import time

    from app.extensions import db
    from app.services import scheduler
    from app.services.setup import act_as_system

    count = 0
    while True:
        act_as_system()
        started = scheduler.run_due(when_down="inline")   # Redis down: run here, someone is waiting
        _echo_runs(started)
        db.session.remove()
        count += 1
        if ticks and count >= ticks:
            break
        time.sleep(every)


def _echo_runs(run_ids):
    from app.extensions import db
    from app.models.messages import JobRun

    for run_id in run_ids:
        run = db.session.get(JobRun, run_id)
        db.session.refresh(run)
        click.echo(f"  {run.job.code}: {run.status_label} {run.result or ''} {(run.error or '').splitlines()[0] if run.error else ''}")



backup_group = AppGroup("backup", help="备份与恢复 / backup and restore (database + uploads).")


@backup_group.command("create")
@click.option("--output", "output_dir", default=None, type=click.Path(file_okay=False),
              help="备份目录 / output folder (default: instance/backups or BACKUP_FOLDER)")
def backup_create(output_dir):
    """Write one timestamped archive: database, upload folder and manifest."""
    from app.domain.errors import DomainError
    from app.services import backup

    try:
        path = backup.create_backup(output_dir)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    manifest = backup.read_manifest(path)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(f"备份完成 / backup written: {path}")
    click.echo(f"  {manifest['dialect']}  revision {manifest['alembic_revision']}  "
               f"{len(manifest['tables'])} tables, {rows} rows, {len(manifest['files']) - 1} uploaded files")


@backup_group.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--database-url", default=None, help="目标数据库（默认本应用的数据库，必须为空库）/ target (must be empty)")
@click.option("--upload-folder", default=None, help="附件目录（默认 UPLOAD_FOLDER）/ upload folder")
def backup_restore(archive, database_url, upload_folder):
    """Restore an archive into an EMPTY database and verify counts and hashes."""
    from app.domain.errors import DomainError
    from app.services import backup

    try:
        manifest = backup.restore_backup(archive, database_url, upload_folder)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"恢复完成并已校验 / restored and verified: {len(manifest['tables'])} tables "
               f"(backup of {manifest['created_at']}, revision {manifest['alembic_revision']})")
