"""A small demo data set for ``make run``: branches, departments and a user for every role."""
import os

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Branch, Department, Position
from app.services.setup import ensure_user, generate_password

BRANCHES = [("BJ", "北京分公司", "北京市朝阳区建国路 88 号"), ("SH", "上海分公司", "上海市浦东新区世纪大道 100 号")]
# username, roles, family name, given name, branch code (None = head office), position code
USERS = [
    ("officer_bj", ["LoanOfficer"], "李", "明", "BJ", "loan_officer"),
    ("officer_sh", ["LoanOfficer"], "王", "芳", "SH", "loan_officer"),
    ("risk", ["RiskReviewer"], "赵", "磊", None, "risk_reviewer"),
    ("approver", ["Approver"], "孙", "伟", None, "general_manager"),
    ("finance", ["Finance"], "周", "静", None, "finance"),
    ("manager", ["Manager"], "吴", "强", None, "general_manager"),
    ("archivist", ["Archivist"], "郑", "丽", None, "archivist"),
]


def load_demo(password=None):
    """Create what is missing; returns [(username, roles, password)] for users created now."""
    head = db.session.execute(select(Branch).where(Branch.parent_id.is_(None)).order_by(Branch.id)).scalars().first()
    branches = {None: head}
    for code, name, address in BRANCHES:
        branch = db.session.execute(select(Branch).where(Branch.code == code)).scalar_one_or_none()
        if branch is None:
            branch = Branch(code=code, name=name, address=address, parent=head, sort_order=len(branches) * 10)
            db.session.add(branch)
            db.session.flush()
            db.session.add(Department(code=f"{code}-BIZ", name="业务部", branch=branch))
        branches[code] = branch
    if db.session.execute(select(Department).where(Department.code == "HQ-RISK")).scalar_one_or_none() is None:
        db.session.add(Department(code="HQ-RISK", name="风险管理部", branch=head))
        db.session.add(Department(code="HQ-FIN", name="财务部", branch=head))
    db.session.commit()
    positions = {p.code: p for p in db.session.execute(select(Position)).scalars()}
    created = []
    for username, roles, family, given, branch_code, position in USERS:
        pwd = password or generate_password(12)
        user, is_new = ensure_user(username, roles, pwd, given, family, branch=branches[branch_code],
                                   position=positions.get(position), mobile="13800000000")
        if is_new:
            created.append((username, roles, pwd))
    if created:
        path = os.path.join(current_app.instance_path, "demo_logins.txt")
        with open(path, "a", encoding="utf-8") as fh:
            for username, roles, pwd in created:
                fh.write(f"{username}\t{pwd}\t{','.join(roles)}\n")
        os.chmod(path, 0o600)
    return created
