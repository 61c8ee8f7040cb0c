"""来访登记 and 跟踪维护: record a prospect's visit, follow it up, and convert it into a
customer (建档) once the visit's loan officer approves."""
from datetime import datetime

from app.domain import identity
from app.domain.errors import DomainError
from app.extensions import db
from app.services import settings
from app.services.scope import can_see_branch


def check_visit(visit, user):
    """Validate a visit in place before it is saved (form and API)."""
    if not (visit.name or "").strip():
        raise DomainError("请填写来访人姓名或企业名称", "name")
    visit.mobile = identity.normalize_mobile(visit.mobile, required=True, label="联系电话（手机）")
    if visit.id_number:
        if visit.kind == "company":
            visit.id_number = identity.normalize_credit_code(visit.id_number, "id_number")
        else:
            visit.id_number = identity.normalize_id_number(visit.id_number, "id_number")
    if visit.amount_wanted is not None and visit.amount_wanted <= 0:
        raise DomainError("意向金额应大于 0", "amount_wanted")
    visit.visited_on = visit.visited_on or settings.business_date()
    identity.check_not_future(visit.visited_on, "来访日期", "visited_on", settings.business_date())
    if visit.officer is None:
        visit.officer = user
    if not visit.officer.branch_id or not can_see_branch(visit.officer.branch_id):
        raise DomainError(f"客户经理“{visit.officer}”不在您的管辖机构内", "officer")
    visit.branch_id = visit.officer.branch_id
    visit.intake_by_id = visit.intake_by_id or getattr(user, "id", None)
    visit.status = visit.status or "new"


def check_follow_up(follow_up, user):
    visit = follow_up.visit
    if visit is None:
        raise DomainError("请选择来访记录", "visit")
    if not can_see_branch(visit.branch_id):
        raise DomainError("只能跟踪本机构的来访记录", "visit")
    if visit.status in ("converted", "closed"):
        raise DomainError(f"来访记录已{visit.status_label}，不能再添加跟踪记录", "visit")
    if not (follow_up.content or "").strip():
        raise DomainError("请填写跟踪内容", "content")
    today = settings.business_date()
    follow_up.followed_on = follow_up.followed_on or today
    identity.check_not_future(follow_up.followed_on, "跟踪日期", "followed_on", today)
    if follow_up.next_date and follow_up.next_date < follow_up.followed_on:
        raise DomainError("下次跟踪日期不能早于本次跟踪日期", "next_date")
    follow_up.user_id = follow_up.user_id or getattr(user, "id", None)
    if visit.status == "new":
        visit.status = "following"


def _is_admin(user):
    from flask import current_app

    return any(role.name == current_app.appbuilder.sm.auth_role_admin for role in user.roles)


def request_conversion(visit, user):
    """Ask for 建档. The visit's own loan officer (or an admin) approves at once."""
    if not can_see_branch(visit.branch_id, user):
        raise DomainError("只能处理本机构的来访记录")
    if visit.status in ("converted", "closed"):
        raise DomainError(f"来访记录已{visit.status_label}，不能申请建档")
    visit.conversion_requested_by_id = user.id
    visit.status = "pending_conversion"
    if user.id == visit.officer_id or _is_admin(user):
        return approve_conversion(visit, user)
    db.session.commit()
    return visit


def approve_conversion(visit, user):
    if visit.status not in ("pending_conversion", "approved"):
        raise DomainError("该来访记录没有待审批的建档申请")
    if user.id != visit.officer_id and not _is_admin(user):
        raise DomainError(f"建档须由该来访记录的客户经理“{visit.officer}”审批")
    visit.status = "approved"
    visit.conversion_approved_by_id = user.id
    visit.conversion_approved_at = datetime.now()
    db.session.commit()
    return visit


def prefill(visit):
    """Customer form values taken from an approved visit."""
    if visit.status != "approved":
        raise DomainError("建档申请尚未经客户经理同意，不能建档")
    values = {"name": visit.name, "mobile": visit.mobile, "source": "walk_in", "officer": visit.officer}
    if visit.id_number:
        values["credit_code" if visit.kind == "company" else "id_number"] = visit.id_number
    return values


def link_customer(visit, customer):
    """After the customer is saved: the visit keeps a link to it and is done."""
    if visit.status != "approved":
        raise DomainError("建档申请尚未经客户经理同意，不能建档")
    visit.customer_id = customer.id
    visit.status = "converted"


def close(visit, user):
    if visit.status == "converted":
        raise DomainError("已建档的来访记录不能关闭")
    if not can_see_branch(visit.branch_id, user):
        raise DomainError("只能处理本机构的来访记录")
    visit.status = "closed"
    db.session.commit()
