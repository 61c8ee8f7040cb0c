"""The foundation as its users meet it: login, organisation screens, audit, parameters,
dictionaries, menus, password rules, lock-out, logout and attachments."""
import io
import json

from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, AuditLog, Branch, Department, DictItem, MenuOverride, Setting
from app.security import role_name

from ..conftest import TEST_PASSWORD


def test_login_page_is_chinese(client):
    page = client.get("/login/").get_data(as_text=True)
    assert "登录" in page
    assert "Sign In" not in page and "Password" not in page


def test_home_page_shows_user_branch_roles_and_business_date(app, login_as):
    with app.app_context():
        db.session.execute(select(Setting).where(Setting.key == "business_date")).scalar_one().value = "2026-11-30"
        db.session.commit()
    page = login_as("officer_a").get("/").get_data(as_text=True)
    assert "北京分公司" in page
    assert role_name("LoanOfficer") in page
    assert "2026-11-30" in page
    assert "营业日期" in page


def test_admin_builds_organisation_and_audit_log_records_it(app, login_as):
    admin = login_as("admin")
    r = admin.post("/branchview/add", data={"code": "GZ", "name": "广州分公司", "sort_order": "30", "is_active": "y"})
    assert r.status_code == 302
    with app.app_context():
        branch = db.session.execute(select(Branch).where(Branch.code == "GZ")).scalar_one()
        branch_id = branch.id
    r = admin.post("/departmentview/add", data={"code": "GZ-BIZ", "name": "业务部", "branch": str(branch_id),
                                               "sort_order": "0", "is_active": "y"})
    assert r.status_code == 302
    with app.app_context():
        dept_id = db.session.execute(select(Department.id).where(Department.code == "GZ-BIZ")).scalar_one()
        officer_role = app.appbuilder.sm.find_role(role_name("LoanOfficer"))
        role_id = officer_role.id
    r = admin.post("/users/add", data={
        "username": "gz_officer", "last_name": "陈", "first_name": "晨", "branch": str(branch_id),
        "department": str(dept_id), "mobile": "13900000000", "email": "gz@example.com", "active": "y",
        "roles": str(role_id), "password": "Gz@2026pass", "conf_password": "Gz@2026pass"})
    assert r.status_code == 302
    with app.app_context():
        user = db.session.execute(select(AppUser).where(AppUser.username == "gz_officer")).scalar_one()
        assert user.real_name == "陈晨" and user.branch_id == branch_id
        logs = db.session.execute(select(AuditLog).where(AuditLog.action == "insert")).scalars().all()
        tables = {(log.table_name, log.username) for log in logs if log.username == "admin"}
        assert {("branch", "admin"), ("department", "admin"), ("ab_user", "admin")} <= tables
        user_log = next(log for log in logs if log.table_name == "ab_user" and log.row_id == str(user.id))
        changes = json.loads(user_log.changes)
        assert changes["username"] == [None, "gz_officer"]
        assert changes["password"][1] == "***"  # never the hash
    # The new officer logs in and sees only the menus its role allows.
    officer = login_as("gz_officer", "Gz@2026pass")
    home = officer.get("/").get_data(as_text=True)
    assert "广州分公司" in home
    assert "/branchview/list/" not in home and "/settingview/list/" not in home
    assert officer.get("/branchview/list/").status_code == 403
    # Edits are logged with old and new values, and the log screen shows them.
    admin.post(f"/branchview/edit/{branch_id}", data={"code": "GZ", "name": "广州分公司（新）", "sort_order": "30", "is_active": "y"})
    with app.app_context():
        log = db.session.execute(select(AuditLog).where(AuditLog.table_name == "branch", AuditLog.action == "update")).scalars().first()
        assert json.loads(log.changes)["name"] == ["广州分公司", "广州分公司（新）"]
    page = admin.get("/auditlogview/list/").get_data(as_text=True)
    assert "机构管理（branch）" in page and "修改" in page


def test_audit_log_cannot_be_edited_or_deleted(app, login_as):
    admin = login_as("admin")
    with app.app_context():
        log_id = db.session.execute(select(AuditLog.id)).scalars().first()
    assert admin.get(f"/auditlogview/edit/{log_id}").status_code in (403, 404)
    assert admin.post(f"/auditlogview/delete/{log_id}").status_code in (403, 404, 405)
    with app.app_context():
        assert db.session.get(AuditLog, log_id) is not None


def test_parameter_edit_is_validated_and_applied(app, login_as):
    admin = login_as("admin")
    with app.app_context():
        row = db.session.execute(select(Setting).where(Setting.key == "penalty_markup_pct")).scalar_one()
        pk = row.id
    # Out of range (30–50 %): refused with a Chinese message, nothing saved.
    page = admin.post(f"/settingview/edit/{pk}", data={"value": "80"}, follow_redirects=True).get_data(as_text=True)
    assert "不能大于 50" in page
    # Not a number.
    page = admin.post(f"/settingview/edit/{pk}", data={"value": "abc"}, follow_redirects=True).get_data(as_text=True)
    assert "必须是数字" in page
    with app.app_context():
        assert db.session.get(Setting, pk).value == "50"
    assert admin.post(f"/settingview/edit/{pk}", data={"value": "40"}).status_code == 302
    with app.app_context():
        from app.services import settings

        assert str(settings.get("penalty_markup_pct")) == "40"


def test_business_date_parameter(app):
    from datetime import date

    from app.services import settings

    with app.app_context():
        settings.set_value("business_date", "2027-01-05")
        assert settings.business_date() == date(2027, 1, 5)
        settings.set_value("business_date", "")
        assert settings.business_date() == date.today()


def test_lpr_lookup(app):
    from datetime import date
    from decimal import Decimal

    from app.services import settings

    with app.app_context():
        assert settings.lpr_on(date(2026, 11, 28)).rate_1y == Decimal("3.00")
        assert settings.lpr_on(date(2024, 8, 1)).rate_1y == Decimal("3.35")
        assert settings.lpr_on(date(2019, 1, 1)) is None


def test_dictionary_item_edit(app, login_as):
    admin = login_as("admin")
    with app.app_context():
        item = db.session.execute(select(DictItem).where(DictItem.code == "working_capital")).scalar_one()
        pk, type_id = item.id, item.dict_type_id
    r = admin.post(f"/dictitemview/edit/{pk}", data={"dict_type": str(type_id), "code": "working_capital",
                                                     "label": "生产经营周转", "sort_order": "10", "is_active": "y"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(DictItem, pk).label == "生产经营周转"
    assert "生产经营周转" in admin.get("/dictitemview/list/?_flt_0_code=working_capital").get_data(as_text=True)


def test_menu_rename_hide_and_reorder(app, login_as):
    admin = login_as("admin")
    r = admin.post("/menuoverrideview/add", data={"name": "Branches", "label": "分支机构管理", "sort_order": "5"})
    assert r.status_code == 302
    r = admin.post("/menuoverrideview/add", data={"name": "Positions", "label": "", "hidden": "y"})
    assert r.status_code == 302
    page = admin.get("/").get_data(as_text=True)
    assert "分支机构管理" in page
    assert "/positionview/list/" not in page
    # Hiding is cosmetic: the page itself still opens for whoever may open it.
    assert admin.get("/positionview/list/").status_code == 200
    with app.app_context():
        assert db.session.execute(select(MenuOverride)).scalars().all()


def test_password_complexity_on_user_creation(app, login_as):
    admin = login_as("admin")
    with app.app_context():
        role_id = app.appbuilder.sm.find_role(role_name("Finance")).id
    page = admin.post("/users/add", data={
        "username": "weak", "last_name": "弱", "first_name": "密码", "email": "weak@example.com",
        "active": "y", "roles": str(role_id), "password": "12345678", "conf_password": "12345678"},
        follow_redirects=True).get_data(as_text=True)
    assert "密码须包含字母" in page
    with app.app_context():
        assert app.appbuilder.sm.find_user(username="weak") is None


def test_initial_admin_must_change_password(app, login_as):
    with app.app_context():
        user = app.appbuilder.sm.find_user(username="admin")
        user.must_change_password = True
        db.session.commit()
    admin = login_as("admin")
    r = admin.get("/branchview/list/")
    assert r.status_code == 302 and "/resetmypassword/form" in r.headers["Location"]
    r = admin.post("/resetmypassword/form", data={"password": "New@Pass2026", "conf_password": "New@Pass2026"})
    assert r.status_code == 302
    assert admin.get("/branchview/list/").status_code == 200
    with app.app_context():
        assert app.appbuilder.sm.find_user(username="admin").must_change_password is False


def test_logout_needs_post(login_as):
    officer = login_as("officer_a")
    assert officer.get("/logout/").status_code == 200  # a confirmation page, still logged in
    assert officer.get("/").status_code == 200
    assert officer.post("/logout/").status_code == 302
    assert officer.get("/").status_code == 302  # back to the login page


def test_lockout_after_repeated_failures_and_login_events_logged(app, client):
    for _ in range(5):
        client.post("/login/", data={"username": "finance", "password": "wrong-password"})
    r = client.post("/login/", data={"username": "finance", "password": TEST_PASSWORD}, follow_redirects=True)
    assert "锁定" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302
    with app.app_context():
        actions = [a for a, in db.session.execute(select(AuditLog.action).where(AuditLog.username == "finance"))]
        assert actions.count("login_failed") == 5 and "login_locked" in actions
        # An admin's password reset unlocks the account and forces a change.
        sm = app.appbuilder.sm
        sm.reset_password(sm.find_user(username="finance").id, "Unlock@2026")
    r = client.post("/login/", data={"username": "finance", "password": "Unlock@2026"})
    assert r.status_code == 302


def test_session_cookie_flags(app, client):
    r = client.post("/login/", data={"username": "risk", "password": TEST_PASSWORD})
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_attachment_upload_keeps_chinese_name_and_checks_type(app, login_as):
    officer = login_as("officer_a")
    with app.app_context():
        bj = db.session.execute(select(Branch).where(Branch.code == "BJ")).scalar_one().id
        sh = db.session.execute(select(Branch).where(Branch.code == "SH")).scalar_one().id
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = officer.post("/attachmentview/upload", data={
        "owner_type": "branch", "owner_id": str(bj), "doc_type": "business_licence",
        "file": (io.BytesIO(pdf), "营业执照.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 302
    from app.models import Attachment

    with app.app_context():
        att = db.session.execute(select(Attachment)).scalar_one()
        assert att.original_name == "营业执照.pdf" and att.size == len(pdf) and att.uploaded_by.username == "officer_a"
        att_id = att.id
    r = officer.get(f"/attachmentview/file/{att_id}")
    assert r.status_code == 200 and r.data == pdf
    assert "%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf" in r.headers["Content-Disposition"]
    assert r.headers["Content-Disposition"].startswith("attachment")
    # Another branch's officer can neither download it nor upload to a branch they cannot see.
    other = login_as("officer_b")
    assert other.get(f"/attachmentview/file/{att_id}").status_code == 403
    assert other.post("/attachmentview/upload", data={
        "owner_type": "branch", "owner_id": str(bj), "file": (io.BytesIO(pdf), "x.pdf")},
        content_type="multipart/form-data").status_code == 403
    assert "营业执照.pdf" not in other.get("/attachmentview/list/").get_data(as_text=True)
    # An executable renamed to .pdf is refused with a clear message; nothing saved.
    page = officer.post("/attachmentview/upload", data={
        "owner_type": "branch", "owner_id": str(bj), "file": (io.BytesIO(b"MZ\x90\x00" * 100), "合同.pdf")},
        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "文件内容与扩展名 .pdf 不符" in page
    page = officer.post("/attachmentview/upload", data={
        "owner_type": "branch", "owner_id": str(bj), "file": (io.BytesIO(b"#!/bin/sh"), "run.sh")},
        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "不支持的文件类型" in page
    with app.app_context():
        assert db.session.query(Attachment).count() == 1
    assert sh  # the SH branch exists for the scope check above


def test_path_traversal_in_file_name_is_dropped():
    from app.services.attachments import clean_name

    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\temp\\借款合同.docx") == "借款合同.docx"


def test_init_is_idempotent(app):
    from app.services.setup import init_all

    with app.app_context():
        counts = {t: db.session.execute(select(db.func.count()).select_from(db.metadata.tables[t])).scalar()
                  for t in ("setting", "dict_item", "lpr_rate", "ab_role", "ab_permission_view", "ab_user")}
        db.session.remove()  # end the read transaction: init's migrations use their own connection
        user, password = init_all()
        assert password is None  # admin exists: no new password
        again = {t: db.session.execute(select(db.func.count()).select_from(db.metadata.tables[t])).scalar()
                 for t in counts}
    assert again == counts


def test_migrations_match_the_models(app):
    """The equivalent of `flask db check`: no difference between models and migrations."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_unticked_checkbox_saves_false(app, login_as):
    admin = login_as("admin")
    with app.app_context():
        pk = db.session.execute(select(Branch.id).where(Branch.code == "SH")).scalar_one()
    r = admin.post(f"/branchview/edit/{pk}", data={"code": "SH", "name": "上海分公司", "sort_order": "20"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Branch, pk).is_active is False


def test_branch_cannot_sit_below_itself_or_be_deleted_with_children(app, login_as):
    admin = login_as("admin")
    with app.app_context():
        head = db.session.execute(select(Branch).where(Branch.parent_id.is_(None))).scalars().first()
        bj = db.session.execute(select(Branch.id).where(Branch.code == "BJ")).scalar_one()
        head_id, head_code, head_name = head.id, head.code, head.name
    page = admin.post(f"/branchview/edit/{head_id}", data={"code": head_code, "name": head_name, "parent": str(bj),
                                                           "sort_order": "0", "is_active": "y"},
                      follow_redirects=True).get_data(as_text=True)
    assert "不能设为自己或自己下级机构的下级" in page
    page = admin.post(f"/branchview/delete/{head_id}", follow_redirects=True).get_data(as_text=True)
    assert "还有下级机构" in page
    with app.app_context():
        assert db.session.get(Branch, head_id).parent_id is None
