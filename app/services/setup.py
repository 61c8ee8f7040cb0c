"""Initialisation (``flask init``): migrate, sync permissions and roles, admin, seed data.

Idempotent: run twice, it adds only what is missing and never overwrites an admin's edits.
Order matters (ARCHITECTURE.md): the schema comes from Alembic first, then FAB's roles and
permissions are created on the existing tables.
"""
from decimal import Decimal
import secrets
import string

from flask import current_app, g
from flask_migrate import upgrade
from sqlalchemy import select

from app.extensions import db
from app.models import (
    DictItem, DictType, LoanProduct, LprRate, MaterialRequirement, Position, ProductFee, ProductLtv, Setting,
    Workflow, WorkflowStep,
)
from app.security import ROLE_NAMES
from app.services import contracts, defaults, ledger

SYSTEM_USERNAME = "system"


def migrate_database():
    upgrade()


def sync_permissions():
    """FAB's roles (Admin, Public) and every view's permissions, then our built-in roles."""
    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    current_app.config["FAB_CREATE_DB"] = True  # tables exist now: this only adds roles
    try:
        sm.create_db()
    finally:
        current_app.config["FAB_CREATE_DB"] = False
    appbuilder.add_permissions(update_perms=True)
    sm.sync_roles()


def seed_reference_data():
    """Parameters, dictionaries, LPR and positions that are missing."""
    existing = set(db.session.execute(select(Setting.key)).scalars())
    for order, (key, value, vtype, label, group, desc, vmin, vmax) in enumerate(defaults.SETTINGS):
        if key not in existing:
            db.session.add(Setting(key=key, value=value, value_type=vtype, label=label, group_name=group,
                                   description=desc, min_value=vmin, max_value=vmax, sort_order=order))
    types = {t.code: t for t in db.session.execute(select(DictType)).scalars()}
    for code, (name, desc, items) in defaults.DICTIONARIES.items():
        dict_type = types.get(code)
        if dict_type is None:
            dict_type = DictType(code=code, name=name, description=desc)
            db.session.add(dict_type)
            db.session.flush()
        have = set(db.session.execute(select(DictItem.code).where(DictItem.dict_type_id == dict_type.id)).scalars())
        for order, (item_code, label, extra) in enumerate(items):
            if item_code not in have:
                db.session.add(DictItem(dict_type_id=dict_type.id, code=item_code, label=label,
                                        sort_order=(order + 1) * 10, extra=extra, is_active=True))
    have_lpr = set(db.session.execute(select(LprRate.effective_date)).scalars())
    for day, one, five in defaults.LPR_RATES:
        if day not in have_lpr:
            db.session.add(LprRate(effective_date=day, rate_1y=one, rate_5y=five))
    have_pos = set(db.session.execute(select(Position.code)).scalars())
    for code, name in defaults.POSITIONS:
        if code not in have_pos:
            db.session.add(Position(code=code, name=name))
    # Loan products: only those whose code is missing (an admin's edits stay).
    have_products = set(db.session.execute(select(LoanProduct.code)).scalars())
    for spec in defaults.PRODUCTS:
        if spec["code"] in have_products:
            continue
        fields = {k: v for k, v in spec.items() if k not in ("fees", "ltv")}
        product = LoanProduct(**fields)
        for fee_type, basis, value, timing, account in spec["fees"]:
            product.fees.append(ProductFee(fee_type=fee_type, basis=basis, value=Decimal(value), timing=timing,
                                           account=account))
        for collateral_type, pct in spec["ltv"]:
            product.ltv_limits.append(ProductLtv(collateral_type=collateral_type, max_ltv_pct=Decimal(pct)))
        db.session.add(product)
    # Approval flows: only for a business type that has none (an admin's design stays).
    have_flows = set(db.session.execute(select(Workflow.business_type)).scalars())
    for business_type, name, steps in defaults.WORKFLOWS:
        if business_type in have_flows:
            continue
        definition = Workflow(business_type=business_type, name=name, version=1, is_active=True)
        for order, (step_name, role_code, condition, opinion, hours) in enumerate(steps):
            role = current_app.appbuilder.sm.find_role(ROLE_NAMES[role_code])
            field, op, value = condition or (None, None, None)
            definition.steps.append(WorkflowStep(
                seq=(order + 1) * 10, name=step_name, actor_kind="role", role_id=role.id if role else None,
                condition_field=field, condition_op=op, condition_value=value, opinion_required=opinion,
                time_limit_hours=hours))
        db.session.add(definition)
    contracts.seed_builtin_templates()
    ledger.seed_chart()
    from app.services import scorecards   # statement layouts and default scorecards (issue #9)

    scorecards.seed_reference_data()
    # Materials checklists: only for a kind that has none yet (an admin's edits stay).
    kinds_with_list = set(db.session.execute(select(MaterialRequirement.customer_kind)).scalars())
    for kind, doc_types in defaults.MATERIALS.items():
        if kind not in kinds_with_list:
            for order, doc_type in enumerate(doc_types):
                db.session.add(MaterialRequirement(customer_kind=kind, doc_type=doc_type, is_required=True,
                                                   sort_order=(order + 1) * 10))
    db.session.commit()


def generate_password(length=14):
    """A random password that passes the complexity policy."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(length - 2))
        password = body + secrets.choice("!@#$%^&*") + secrets.choice(string.digits)
        if any(c.isalpha() for c in password):
            return password


def ensure_user(username, role_codes, password, first_name, last_name, email=None, branch=None,
                must_change_password=False, **fields):
    """Create the user if missing (returns (user, created))."""
    sm = current_app.appbuilder.sm
    user = sm.find_user(username=username)
    if user is not None:
        return user, False
    roles = [sm.find_role(ROLE_NAMES[code]) for code in role_codes]
    user = sm.add_user(username, first_name, last_name, email or f"{username}@example.com",
                       roles, password=password)
    if not user:
        raise RuntimeError(f"could not create user {username}")
    user.real_name = f"{last_name}{first_name}"
    user.branch = branch
    user.must_change_password = must_change_password
    for key, value in fields.items():
        setattr(user, key, value)
    db.session.commit()
    return user, True


def ensure_system_user():
    """The inactive user that jobs and CLI commands act as (AuditMixin reads g.user)."""
    sm = current_app.appbuilder.sm
    user = sm.find_user(username=SYSTEM_USERNAME)
    if user is None:
        user, _ = ensure_user(SYSTEM_USERNAME, ["Admin"], generate_password(24), "系统", "",
                              email="system@localhost")
        user.active = False
        user.real_name = "系统"
        db.session.commit()
    return user


def act_as_system():
    """Make the system user the actor for audit rows and AuditMixin in jobs and the CLI."""
    user = ensure_system_user()
    g.user = _SystemActor(user)
    return user


class _SystemActor:
    """Wraps the inactive system user so it counts as authenticated for auditing only."""

    def __init__(self, user):
        self._user = user
        self.id = user.id
        self.username = user.username
        self.branch_id = None
        self.roles = user.roles

    is_authenticated = True
    is_active = True


def ensure_admin(password=None):
    """The first administrator; returns (user, password or None when it already existed)."""
    from app.models import Branch

    head = db.session.execute(select(Branch).where(Branch.parent_id.is_(None)).order_by(Branch.id)).scalars().first()
    if head is None:
        head = Branch(code="HQ", name="总公司", sort_order=0)
        db.session.add(head)
        db.session.commit()
    password = password or generate_password()
    user, created = ensure_user("admin", ["Admin"], password, "管理员", "系统", email="admin@example.com",
                                branch=head, must_change_password=True)
    return user, (password if created else None)


def init_all(admin_password=None):
    migrate_database()
    sync_permissions()
    seed_reference_data()
    ensure_system_user()
    return ensure_admin(admin_password)
