"""Command-line entry points (``flask --app run <command>``)."""
import os

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext


def register_cli(app):
    app.cli.add_command(init_command)
    app.cli.add_command(sync_roles_command)
    app.cli.add_command(demo_group)


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
