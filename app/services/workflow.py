"""审批流程 engine, database side: start a flow for a business object, act on its current
step, list to-dos, and show its panel. The rules themselves are in app/domain/workflow.py.

Business types register here (``register``); the loan module registers loan_application
and disbursement, later issues add extension, write_off and so on. Each action is one
transaction: the approval record, the tasks, the instance and the business object's status
move together. The instance row is locked (PostgreSQL) and version-checked, so two
approvers pressing "approve" at once produce one transition and one clear refusal.
"""
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from app.domain import workflow as flow
from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser
from app.models.workflow import (
    ApprovalRecord, Notification, Workflow, WorkflowInstance, WorkflowTask,
)


@dataclass
class BusinessType:
    code: str
    label: str
    model: type
    context: Callable      # obj → {field: value} for step conditions
    title: Callable        # obj → str shown in to-do lists
    link: Callable         # obj → URL of the object's page (with its approval panel)
    branch_of: Callable    # obj → branch id
    on_finish: Callable    # (obj, status, user, opinion) → None, in the same transaction
    fields: dict           # condition field → Chinese label, for the definition screen


BUSINESS_TYPES = {}


def register(business_type):
    BUSINESS_TYPES[business_type.code] = business_type


def business_type(code):
    if code not in BUSINESS_TYPES:
        raise DomainError(f"未知的业务类型“{code}”")
    return BUSINESS_TYPES[code]


# -- definitions -----------------------------------------------------------------------
def steps_of_definition(workflow):
    steps = []
    for s in workflow.steps:
        condition = None
        if s.condition_field:
            condition = flow.Condition(s.condition_field, s.condition_op or ">=", s.condition_value or "")
        actor = s.role.name if s.actor_kind == "role" and s.role else (str(s.user_id) if s.user_id else "")
        steps.append(flow.Step(
            name=s.name, actor_kind=s.actor_kind, actor=actor, condition=condition, allow_return=s.allow_return,
            return_to=s.return_to, allow_reject=s.allow_reject, opinion_required=s.opinion_required,
            time_limit_hours=s.time_limit_hours, voters=tuple(sorted(v.id for v in s.voters)),
            quorum=s.quorum or 0, committee_mode=s.committee_mode))
    return steps


def check_step(step):
    """Validate one step in place (admin screen)."""
    step.condition_field = step.condition_field or None
    step.condition_op = step.condition_op or None
    step.quorum = step.quorum or 0
    if step.condition_field and not (step.condition_op and step.condition_value):
        raise DomainError("设置了条件字段时请同时填写运算符和条件值", "condition_op")
    if step.actor_kind == "role" and step.role is None and not step.voters:
        raise DomainError("审批人类型为角色时请选择角色", "role")
    if step.actor_kind == "user" and step.user is None and not step.voters:
        raise DomainError("审批人类型为指定用户时请选择用户", "user")
    if step.voters and not 1 <= step.quorum <= len(step.voters):
        raise DomainError(f"法定人数应在 1 至委员人数 {len(step.voters)} 之间", "quorum")


def bump_version(workflow):
    """Editing a definition makes a new version; running flows keep their snapshot."""
    workflow.version = (workflow.version or 0) + 1


def check_workflow(workflow, require_steps=True):
    """Validate a definition (admin screen and seed)."""
    if workflow.business_type not in BUSINESS_TYPES:
        raise DomainError(f"未知的业务类型“{workflow.business_type}”", "business_type")
    if not require_steps:
        return
    steps = steps_of_definition(workflow)
    flow.check_definition(steps)
    fields = BUSINESS_TYPES[workflow.business_type].fields
    for step in steps:
        if step.condition and step.condition.field not in fields:
            raise DomainError(f"步骤“{step.name}”的条件字段“{step.condition.field}”无效，可选："
                              f"{'、'.join(f'{k}（{v}）' for k, v in fields.items())}", "steps")


def active_definition(code):
    row = db.session.execute(
        select(Workflow).where(Workflow.business_type == code, Workflow.is_active.is_(True), Workflow.steps.any())
        .order_by(Workflow.priority.desc(), Workflow.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        raise DomainError(f"尚未配置启用的“{business_type(code).label}”审批流程，请管理员在流程管理中配置")
    return row


def _snapshot(steps):
    return json.dumps([dict(asdict(s), condition=asdict(s.condition) if s.condition else None) for s in steps],
                      ensure_ascii=False)


def steps_of(instance):
    steps = []
    for raw in json.loads(instance.steps_snapshot):
        condition = flow.Condition(**raw.pop("condition")) if raw.get("condition") else None
        raw.pop("condition", None)
        raw["voters"] = tuple(raw.get("voters") or ())
        steps.append(flow.Step(condition=condition, **raw))
    return steps


def context_of(instance):
    return json.loads(instance.context_snapshot)


# -- start -----------------------------------------------------------------------------
def latest_instance(code, object_id):
    return db.session.execute(
        select(WorkflowInstance).where(WorkflowInstance.business_type == code, WorkflowInstance.object_id == object_id)
        .order_by(WorkflowInstance.id.desc()).limit(1)).scalar_one_or_none()


def start(code, obj, user, opinion=None):
    """Start the active flow of ``code`` for ``obj``; the caller commits."""
    kind = business_type(code)
    current = latest_instance(code, obj.id)
    if current is not None and current.status == flow.RUNNING:
        raise DomainError("该业务已在审批中，不能重复提交")
    definition = active_definition(code)
    steps = steps_of_definition(definition)
    flow.check_definition(steps)
    context = {key: _plain(value) for key, value in kind.context(obj).items()}
    index = flow.first_index(steps, context)
    instance = WorkflowInstance(
        workflow_id=definition.id, workflow_version=definition.version, business_type=code, object_id=obj.id,
        title=kind.title(obj), link=kind.link(obj), applicant_id=user.id, branch_id=kind.branch_of(obj),
        status=flow.RUNNING, current_index=index, steps_snapshot=_snapshot(steps),
        context_snapshot=json.dumps(context, ensure_ascii=False), step_entered_at=datetime.now())
    db.session.add(instance)
    db.session.flush()
    db.session.add(ApprovalRecord(instance_id=instance.id, step_index=None, step_name="提交", actor_id=user.id,
                                  action="submit", opinion=opinion))
    _open_tasks(instance, steps, index)
    return instance


def _plain(value):
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _open_tasks(instance, steps, index):
    step = steps[index]
    due = datetime.now() + timedelta(hours=step.time_limit_hours) if step.time_limit_hours else None
    tasks = []
    if step.is_committee:
        tasks = [WorkflowTask(user_id=voter) for voter in step.voters]
    elif step.actor_kind == "role":
        role = current_app.appbuilder.sm.find_role(step.actor)
        if role is None:
            raise DomainError(f"步骤“{step.name}”的审批角色“{step.actor}”不存在，请管理员检查流程")
        tasks = [WorkflowTask(role_id=role.id)]
    elif step.actor_kind == "user":
        tasks = [WorkflowTask(user_id=int(step.actor))]
    elif step.actor_kind == "applicant":
        tasks = [WorkflowTask(user_id=instance.applicant_id)]
    elif step.actor_kind == "department_head":
        applicant = db.session.get(AppUser, instance.applicant_id)
        head = applicant.department.head_id if applicant.department else None
        if not head:
            raise DomainError(f"步骤“{step.name}”由申请人部门负责人审批，但申请人“{applicant}”没有部门或部门未设负责人")
        tasks = [WorkflowTask(user_id=head)]
    for task in tasks:
        task.instance_id = instance.id
        task.step_index = index
        task.step_name = step.name
        task.due_at = due
        db.session.add(task)
    db.session.flush()
    notify(_task_user_ids(tasks), f"待签批：{instance.title}（{step.name}）", instance.link)


def _task_user_ids(tasks):
    ids = {t.user_id for t in tasks if t.user_id}
    role_ids = [t.role_id for t in tasks if t.role_id]
    if role_ids:
        from flask_appbuilder.security.sqla.models import assoc_user_role

        rows = db.session.execute(select(assoc_user_role.c.user_id).where(assoc_user_role.c.role_id.in_(role_ids)))
        ids |= {row for row, in rows}
    return sorted(ids)


def notify(user_ids, title, link=None):
    for user_id in user_ids:
        db.session.add(Notification(user_id=user_id, title=title[:200], link=link))
    # The same notice arrives in the message center inbox (issue #10).
    from app.services import messages

    messages.deliver(user_ids, title, link=link, source="workflow")


# -- act -------------------------------------------------------------------------------
def _my_task(instance, user):
    role_ids = [r.id for r in user.roles]
    return db.session.execute(
        select(WorkflowTask).where(
            WorkflowTask.instance_id == instance.id, WorkflowTask.is_open.is_(True),
            WorkflowTask.step_index == instance.current_index,
            or_(WorkflowTask.user_id == user.id, WorkflowTask.role_id.in_(role_ids) if role_ids else False))
        .order_by(WorkflowTask.user_id.is_(None))).scalars().first()


def can_act(instance, user):
    return instance is not None and instance.status == flow.RUNNING and _my_task(instance, user) is not None


def act(instance_id, user, action, opinion=None, expected_index=None):
    """Approve, return or reject the current step as ``user``; commits. Returns the instance."""
    try:
        return _act(instance_id, user, action, opinion, expected_index)
    except StaleDataError:
        db.session.rollback()
        raise DomainError("该步骤已由他人同时处理，请刷新后查看最新状态")


def _act(instance_id, user, action, opinion, expected_index):
    query = select(WorkflowInstance).where(WorkflowInstance.id == instance_id).execution_options(
        populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    instance = db.session.execute(query).scalar_one_or_none()
    if instance is None:
        raise DomainError("审批记录不存在")
    if instance.status != flow.RUNNING:
        raise DomainError(f"该审批已结束（{instance.status_label}），无需再处理")
    if expected_index is not None and int(expected_index) != instance.current_index:
        raise DomainError("该步骤已由他人处理，页面已过期，请刷新后查看")
    task = _my_task(instance, user)
    if task is None:
        raise DomainError("当前步骤不由您审批，或已由他人处理")
    steps = steps_of(instance)
    step = steps[instance.current_index]
    flow.check_action(step, action, opinion)
    record = ApprovalRecord(instance_id=instance.id, step_index=instance.current_index, step_name=step.name,
                            actor_id=user.id, action=action, opinion=(opinion or "").strip() or None)
    db.session.add(record)
    if step.is_committee:
        record.is_vote = True
        task.is_open, task.closed_at = False, datetime.now()
        db.session.flush()
        votes = {r.actor_id: r.action for r in db.session.execute(select(ApprovalRecord).where(
            ApprovalRecord.instance_id == instance.id, ApprovalRecord.step_index == instance.current_index,
            ApprovalRecord.is_vote.is_(True), ApprovalRecord.id > _step_entry_record_id(instance))).scalars()}
        result = flow.tally(step, votes)
        if result is None:  # the committee is still voting
            _commit(instance)
            return instance
        action = {flow.APPROVED: flow.APPROVE, flow.REJECTED: flow.REJECT, flow.RETURNED: flow.RETURN}[result]
    _close_step_tasks(instance)
    context = context_of(instance)
    if action == flow.APPROVE:
        status, index = flow.after_approve(steps, context, instance.current_index)
    elif action == flow.RETURN:
        status, index = flow.after_return(steps, context, instance.current_index)
    else:
        status, index = flow.REJECTED, None
    if status == flow.RUNNING:
        instance.current_index = index
        instance.step_entered_at = datetime.now()
        db.session.flush()
        _open_tasks(instance, steps, index)
    else:
        instance.status = status
        instance.current_index = None
        instance.finished_at = datetime.now()
        kind = business_type(instance.business_type)
        obj = db.session.get(kind.model, instance.object_id)
        kind.on_finish(obj, status, user, opinion)
        notify([instance.applicant_id], f"{instance.title}：审批{flow.STATUS_LABELS[status]}", instance.link)
    _commit(instance)
    return instance


def _step_entry_record_id(instance):
    """Votes count from the latest time the flow entered its current step."""
    last = db.session.execute(
        select(ApprovalRecord.id).where(ApprovalRecord.instance_id == instance.id, or_(
            ApprovalRecord.is_vote.is_(False), ApprovalRecord.step_index != instance.current_index))
        .order_by(ApprovalRecord.id.desc()).limit(1)).scalar()
    return last or 0


def _close_step_tasks(instance):
    now = datetime.now()
    for task in db.session.execute(select(WorkflowTask).where(
            WorkflowTask.instance_id == instance.id, WorkflowTask.is_open.is_(True))).scalars():
        task.is_open, task.closed_at = False, now


def _commit(instance):
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise DomainError("该步骤已由他人同时处理，请刷新后查看最新状态")


# -- to-do lists -----------------------------------------------------------------------
def _role_ids(user):
    return [r.id for r in user.roles]


def waiting_query(user):
    """本人待签批: open tasks for the user or one of their roles."""
    role_ids = _role_ids(user)
    return (select(WorkflowTask).join(WorkflowInstance, WorkflowInstance.id == WorkflowTask.instance_id)
            .where(WorkflowTask.is_open.is_(True), WorkflowInstance.status == flow.RUNNING,
                   or_(WorkflowTask.user_id == user.id, WorkflowTask.role_id.in_(role_ids) if role_ids else False))
            .order_by(WorkflowTask.created_at))


def waiting(user):
    seen, result = set(), []
    for task in db.session.execute(waiting_query(user)).scalars():
        if task.instance_id not in seen:
            seen.add(task.instance_id)
            result.append(task)
    return result


def done(user, limit=200):
    """本人已签批: flows the user acted on (not as applicant)."""
    ids = select(ApprovalRecord.instance_id).where(ApprovalRecord.actor_id == user.id,
                                                   ApprovalRecord.action != "submit")
    return db.session.execute(select(WorkflowInstance).where(WorkflowInstance.id.in_(ids))
                              .order_by(WorkflowInstance.id.desc()).limit(limit)).scalars().all()


def future(user, limit=500):
    """将来待办: running flows with a later applicable step that will come to the user."""
    role_names = {r.name for r in user.roles}
    result = []
    running = db.session.execute(select(WorkflowInstance).where(WorkflowInstance.status == flow.RUNNING)
                                 .order_by(WorkflowInstance.id.desc()).limit(limit)).scalars()
    for instance in running:
        steps, context = steps_of(instance), context_of(instance)
        for index in flow.applicable(steps, context):
            if index <= instance.current_index:
                continue
            step = steps[index]
            if (user.id in step.voters or (step.actor_kind == "role" and step.actor in role_names)
                    or (step.actor_kind == "user" and step.actor == str(user.id))
                    or (step.actor_kind == "applicant" and instance.applicant_id == user.id)
                    or (step.actor_kind == "department_head" and _department_head_of(instance) == user.id)):
                result.append((instance, step))
                break
    return result


def _department_head_of(instance):
    applicant = db.session.get(AppUser, instance.applicant_id)
    return applicant.department.head_id if applicant is not None and applicant.department else None


def returned(user):
    """退回: the user's applications that came back to them and were not resubmitted."""
    rows = db.session.execute(select(WorkflowInstance).where(
        WorkflowInstance.applicant_id == user.id, WorkflowInstance.status == flow.RETURNED)
        .order_by(WorkflowInstance.id.desc())).scalars().all()
    return [r for r in rows if latest_instance(r.business_type, r.object_id).id == r.id]


def counts(user):
    return {"waiting": len(waiting(user)), "returned": len(returned(user))}


# -- the approval panel ----------------------------------------------------------------
def panel(code, object_id, user):
    """What the object's page shows: chain with states, history, and what the user may do."""
    instance = latest_instance(code, object_id)
    if instance is None:
        return None
    steps, context = steps_of(instance), context_of(instance)
    applies = set(flow.applicable(steps, context))
    records = db.session.execute(select(ApprovalRecord).where(ApprovalRecord.instance_id == instance.id)
                                 .order_by(ApprovalRecord.id)).scalars().all()
    last_by_step = {}
    for record in records:
        if record.step_index is not None:
            last_by_step[record.step_index] = record
    chain = []
    for index, step in enumerate(steps):
        if index not in applies:
            state = "skipped"
        elif instance.status == flow.RUNNING and index == instance.current_index:
            state = "current"
        elif index in last_by_step:
            state = "done"
        else:
            state = "pending"
        chain.append({"index": index, "name": step.name, "state": state, "record": last_by_step.get(index),
                      "committee": step.is_committee, "condition": step.condition.describe() if step.condition else ""})
    task = _my_task(instance, user) if instance.status == flow.RUNNING else None
    current = steps[instance.current_index] if task is not None else None
    overdue = (instance.status == flow.RUNNING and steps[instance.current_index].time_limit_hours
               and instance.step_entered_at + timedelta(hours=steps[instance.current_index].time_limit_hours)
               < datetime.now())
    return {"instance": instance, "chain": chain, "records": records, "can_act": task is not None,
            "actions": [(a, flow.ACTION_LABELS[a]) for a in current.allowed_actions()] if current else [],
            "opinion_required": bool(current and current.opinion_required), "overdue": bool(overdue)}


def unread_notifications(user, limit=10):
    return db.session.execute(select(Notification).where(Notification.user_id == user.id,
                                                         Notification.read_at.is_(None))
                              .order_by(Notification.id.desc()).limit(limit)).scalars().all()
