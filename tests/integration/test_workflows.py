"""审批流程 (issue #6): the engine against the database (two- and five-step flows, return,
resubmit, reject, committees, version pinning, to-do lists, notifications, permissions,
concurrency on PostgreSQL) and the loan's two flows as their users meet them in the UI."""
import threading
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.domain import workflow as flow
from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Customer
from app.models.loan import Loan
from app.models.workflow import (
    ApprovalRecord, Notification, Workflow, WorkflowInstance, WorkflowStep, WorkflowTask,
)
from app.services import loan_approval
from app.services import workflow as ws

from ..conftest import TEST_PASSWORD
from .test_loans import business_date  # noqa: F401 (an autouse fixture: pins the business date)
from .test_loans import acting, create_loan, loan_form, make_customer, submit, text_of

# Every test writes; reset the database afterwards whatever the audit log says.
pytestmark = pytest.mark.dirty

TEST_TYPE = "wf_test"
RISK, APPROVER, FINANCE = "风控审查", "审批人", "财务"


# --------------------------------------------------------------------------- engine helpers


@pytest.fixture
def kind(app):
    """A throwaway business type on customers: ``amounts`` feeds the amount condition and
    ``finished`` records every on_finish call."""
    state = SimpleNamespace(finished=[], amounts={})

    def on_finish(obj, status, user, opinion):
        state.finished.append((obj.id, status, user.username, opinion))

    ws.register(ws.BusinessType(
        code=TEST_TYPE, label="测试业务", model=Customer,
        context=lambda c: {"amount": state.amounts.get(c.id, 100000)},
        title=lambda c: f"测试 {c.name}", link=lambda c: f"/customerview/show/{c.id}",
        branch_of=lambda c: c.branch_id, on_finish=on_finish, fields={"amount": "金额"}))
    yield state
    ws.BUSINESS_TYPES.pop(TEST_TYPE, None)


def role(name):
    from flask import current_app

    found = current_app.appbuilder.sm.find_role(name)
    assert found is not None, name
    return found


def user_named(username):
    return db.session.execute(select(AppUser).where(AppUser.username == username)).scalar_one()


def make_step(seq, name, role_name=None, user=None, voters=(), **kw):
    step = WorkflowStep(seq=seq, name=name, **kw)
    if voters:
        step.actor_kind = kw.get("actor_kind", "role")
        step.voters = [user_named(v) for v in voters]
    elif role_name:
        step.actor_kind, step.role = "role", role(role_name)
    elif user:
        step.actor_kind, step.user = "user", user_named(user)
    return step


def define(app, steps, code=TEST_TYPE, name="测试流程", priority=0, only=True):
    """Add an active definition from [(name, {role_name|user|voters|actor_kind, …})]; ``only``
    deactivates the others of the business type. Returns its id."""
    with app.app_context():
        if only:
            for other in db.session.execute(select(Workflow).where(Workflow.business_type == code)).scalars():
                other.is_active = False
        definition = Workflow(business_type=code, name=name, version=1, is_active=True, priority=priority)
        for n, (step_name, spec) in enumerate(steps, 1):
            definition.steps.append(make_step(n * 10, step_name, **spec))
        db.session.add(definition)
        db.session.flush()   # column defaults (allow_return, committee_mode…) apply on flush
        ws.check_workflow(definition)
        db.session.commit()
        return definition.id


def customer(app, name="张三", documents=False):
    return make_customer(app, name=name, documents=documents)


def start(app, object_id, username="officer_a", code=TEST_TYPE, model=Customer):
    with acting(app, username) as user:
        instance = ws.start(code, db.session.get(model, object_id), user)
        db.session.commit()
        return instance.id


def act(app, instance_id, username, action="approve", opinion=None, expected_index=None):
    with acting(app, username) as user:
        instance = ws.act(instance_id, user, action, opinion, expected_index)
        return instance.status, instance.current_index


def refused(app, instance_id, username, action="approve", opinion="意见", expected_index=None):
    """act must raise; returns the message and checks nothing was written."""
    before = counts(app, instance_id)
    with acting(app, username) as user:
        with pytest.raises(DomainError) as err:
            ws.act(instance_id, user, action, opinion, expected_index)
        db.session.rollback()
    assert counts(app, instance_id) == before
    return err.value.message


def counts(app, instance_id):
    with app.app_context():
        instance = db.session.get(WorkflowInstance, instance_id)
        records = db.session.execute(select(func.count()).select_from(ApprovalRecord)
                                     .where(ApprovalRecord.instance_id == instance_id)).scalar_one()
        open_tasks = db.session.execute(select(func.count()).select_from(WorkflowTask).where(
            WorkflowTask.instance_id == instance_id, WorkflowTask.is_open.is_(True))).scalar_one()
        return instance.status, instance.current_index, instance.version, records, open_tasks


def state(app, instance_id):
    with app.app_context():
        instance = db.session.get(WorkflowInstance, instance_id)
        return instance.status, instance.current_index


def records(app, instance_id):
    with app.app_context():
        return [(r.step_index, r.actor.username, r.action, r.is_vote, r.opinion) for r in db.session.execute(
            select(ApprovalRecord).where(ApprovalRecord.instance_id == instance_id)
            .order_by(ApprovalRecord.id)).scalars()]


def open_tasks(app, instance_id):
    with app.app_context():
        return sorted((t.step_index, t.step_name, t.role.name if t.role else None, t.user.username if t.user else None)
                      for t in db.session.execute(select(WorkflowTask).where(
                          WorkflowTask.instance_id == instance_id, WorkflowTask.is_open.is_(True))).scalars())


def lists(app, username):
    """The four to-do tabs of a user as instance ids."""
    with acting(app, username) as user:
        return {"waiting": [t.instance_id for t in ws.waiting(user)],
                "done": [i.id for i in ws.done(user)],
                "future": [i.id for i, _step in ws.future(user)],
                "returned": [i.id for i in ws.returned(user)]}


def notifications(app, username):
    with app.app_context():
        uid = user_named(username).id
        return [n.title for n in db.session.execute(
            select(Notification).where(Notification.user_id == uid).order_by(Notification.id)).scalars()]


def add_user(app, username, role_code):
    from app.models import Branch
    from app.services.setup import ensure_user

    with app.app_context():
        hq = db.session.execute(select(Branch).where(Branch.code == "HQ")).scalar_one()
        ensure_user(username, [role_code], TEST_PASSWORD, username, "测试", branch=hq)


TWO_STEPS = [("风控审查", {"role_name": RISK}),
             ("总经理审批", {"role_name": APPROVER, "condition_field": "amount", "condition_op": ">=",
                        "condition_value": "300000"})]


# --------------------------------------------------------------------------- engine: flows


def test_one_step_flow(app, kind):
    define(app, [("风控审查", {"role_name": RISK})])
    cid = customer(app)
    iid = start(app, cid)
    assert state(app, iid) == (flow.RUNNING, 0)
    assert open_tasks(app, iid) == [(0, "风控审查", RISK, None)]
    assert records(app, iid) == [(None, "officer_a", "submit", False, None)]
    assert lists(app, "risk")["waiting"] == [iid]
    assert notifications(app, "risk") == ["待签批：测试 张三（风控审查）"]

    assert act(app, iid, "risk", "approve", "  同意  ") == (flow.APPROVED, None)
    assert open_tasks(app, iid) == []
    assert records(app, iid)[-1] == (0, "risk", "approve", False, "同意")
    assert kind.finished == [(cid, flow.APPROVED, "risk", "  同意  ")]
    assert notifications(app, "officer_a") == ["测试 张三：审批已通过"]
    assert lists(app, "risk") == {"waiting": [], "done": [iid], "future": [], "returned": []}
    with app.app_context():
        instance = db.session.get(WorkflowInstance, iid)
        assert instance.finished_at is not None and instance.current_index is None
    assert "已结束（已通过）" in refused(app, iid, "risk")


def test_starting_twice_is_refused_and_resubmitting_after_the_end_is_not(app, kind):
    define(app, [("风控审查", {"role_name": RISK})])
    cid = customer(app)
    first = start(app, cid)
    with pytest.raises(DomainError, match="已在审批中，不能重复提交"):
        start(app, cid)
    act(app, first, "risk", "reject", "不符合条件")
    second = start(app, cid)
    assert second != first and state(app, second) == (flow.RUNNING, 0)


def test_two_step_flow_with_a_condition(app, kind):
    define(app, TWO_STEPS)
    small, large = customer(app, "小额"), customer(app, "大额")
    kind.amounts.update({small: 299999, large: 300000})

    i_small = start(app, small)
    assert act(app, i_small, "risk") == (flow.APPROVED, None)   # 总经理审批 does not apply

    i_large = start(app, large)
    assert lists(app, "approver")["future"] == [i_large]
    assert act(app, i_large, "risk") == (flow.RUNNING, 1)
    assert open_tasks(app, i_large) == [(1, "总经理审批", APPROVER, None)]
    # The approver of the next step is notified.
    assert notifications(app, "approver") == ["待签批：测试 大额（总经理审批）"]
    assert lists(app, "approver")["waiting"] == [i_large] and lists(app, "risk")["waiting"] == []
    assert act(app, i_large, "approver", "approve", "同意放款") == (flow.APPROVED, None)
    assert [f[:3] for f in kind.finished] == [(small, flow.APPROVED, "risk"), (large, flow.APPROVED, "approver")]
    assert [r[:3] for r in records(app, i_large)] == [
        (None, "officer_a", "submit"), (0, "risk", "approve"), (1, "approver", "approve")]


def test_five_step_flow_and_the_to_do_lists_of_each_user(app, kind):
    from app.models import Department

    with app.app_context():
        officer = user_named("officer_a")
        department = Department(code="XD", name="信贷部", branch_id=officer.branch_id,
                                head_id=user_named("manager").id)
        db.session.add(department)
        db.session.flush()
        officer.department_id = department.id
        db.session.commit()
    define(app, [
        ("风控审查", {"role_name": RISK}),
        ("指定审批人", {"user": "approver"}),
        ("部门负责人", {"actor_kind": "department_head"}),
        ("申请人确认", {"actor_kind": "applicant"}),
        ("财务复核", {"role_name": FINANCE, "time_limit_hours": 8}),
    ])
    cid = customer(app)
    iid = start(app, cid)
    users = ["risk", "approver", "manager", "officer_a", "finance"]
    empty = {"waiting": [], "done": [], "future": [], "returned": []}

    assert lists(app, "risk") == dict(empty, waiting=[iid])
    assert lists(app, "approver") == dict(empty, future=[iid])
    assert lists(app, "finance") == dict(empty, future=[iid])
    assert lists(app, "officer_b") == empty
    for index, actor in enumerate(users):
        assert state(app, iid) == (flow.RUNNING, index)
        assert lists(app, actor)["waiting"] == [iid], actor
        for other in users:
            if other != actor:
                assert iid not in lists(app, other)["waiting"], (actor, other)
                assert refused(app, iid, other) == "当前步骤不由您审批，或已由他人处理"
        assert notifications(app, actor)[-1].startswith("待签批：测试 张三")
        act(app, iid, actor, "approve", f"{actor} 同意")
        assert iid in lists(app, actor)["done"] and iid not in lists(app, actor)["waiting"]
        assert iid not in lists(app, actor)["future"]
    assert state(app, iid) == (flow.APPROVED, None)
    assert [r[1] for r in records(app, iid)] == ["officer_a"] + users
    with app.app_context():
        task = db.session.execute(select(WorkflowTask).where(WorkflowTask.instance_id == iid,
                                                              WorkflowTask.step_index == 4)).scalar_one()
        assert task.due_at is not None and task.due_at - task.created_at <= timedelta(hours=8, seconds=5)
    for username in users + ["officer_b"]:
        assert lists(app, username)["waiting"] == []


def test_future_lists_department_head_and_applicant_steps(app, kind):
    from app.models import Department

    with app.app_context():
        officer = user_named("officer_a")
        department = Department(code="XD", name="信贷部", branch_id=officer.branch_id,
                                head_id=user_named("manager").id)
        db.session.add(department)
        db.session.flush()
        officer.department_id = department.id
        db.session.commit()
    define(app, [("风控审查", {"role_name": RISK}), ("部门负责人", {"actor_kind": "department_head"}),
                 ("申请人确认", {"actor_kind": "applicant"})])
    iid = start(app, customer(app))
    assert lists(app, "manager")["future"] == [iid]
    assert lists(app, "officer_a")["future"] == [iid]


def test_department_head_step_needs_a_head(app, kind):
    define(app, [("部门负责人", {"actor_kind": "department_head"})])
    cid = customer(app)
    with pytest.raises(DomainError, match="没有部门或部门未设负责人"):
        start(app, cid)


def test_return_to_the_applicant_and_resubmit(app, kind):
    define(app, [("风控审查", {"role_name": RISK}), ("总经理审批", {"role_name": APPROVER})])
    cid = customer(app)
    first = start(app, cid)
    act(app, first, "risk")
    assert "“退回”须说明理由" in refused(app, first, "approver", "return", "  ")
    assert act(app, first, "approver", "return", "请补充银行流水") == (flow.RETURNED, None)
    assert open_tasks(app, first) == []
    assert kind.finished == [(cid, flow.RETURNED, "approver", "请补充银行流水")]
    assert notifications(app, "officer_a")[-1] == "测试 张三：审批已退回"
    assert lists(app, "officer_a")["returned"] == [first]
    with acting(app, "officer_a") as user:
        assert ws.counts(user) == {"waiting": 0, "returned": 1}
    assert "已结束（已退回）" in refused(app, first, "approver")

    second = start(app, cid)   # resubmitted: a new instance from the first step
    assert second != first and state(app, second) == (flow.RUNNING, 0)
    assert state(app, first) == (flow.RETURNED, None)
    assert lists(app, "officer_a")["returned"] == []
    act(app, second, "risk")
    assert act(app, second, "approver") == (flow.APPROVED, None)
    with app.app_context():
        assert ws.latest_instance(TEST_TYPE, cid).id == second


def test_return_to_the_previous_step(app, kind):
    define(app, [("风控审查", {"role_name": RISK, "return_to": "previous"}),
                 ("总经理审批", {"role_name": APPROVER, "return_to": "previous"})])
    iid = start(app, customer(app))
    act(app, iid, "risk", "approve", "初审同意")
    assert act(app, iid, "approver", "return", "请风控补充意见") == (flow.RUNNING, 0)
    assert open_tasks(app, iid) == [(0, "风控审查", RISK, None)]
    assert lists(app, "risk")["waiting"] == [iid] and lists(app, "approver")["waiting"] == []
    assert kind.finished == []
    act(app, iid, "risk", "approve", "已补充")
    assert act(app, iid, "approver") == (flow.APPROVED, None)
    assert [r[1:3] for r in records(app, iid)] == [
        ("officer_a", "submit"), ("risk", "approve"), ("approver", "return"), ("risk", "approve"),
        ("approver", "approve")]
    # "previous" from the first step goes back to the applicant.
    other = start(app, customer(app, "李四"))
    assert act(app, other, "risk", "return", "退回") == (flow.RETURNED, None)


def test_reject_ends_the_flow(app, kind):
    define(app, [("风控审查", {"role_name": RISK}), ("总经理审批", {"role_name": APPROVER})])
    cid = customer(app)
    iid = start(app, cid)
    assert "“否决”须说明理由" in refused(app, iid, "risk", "reject", None)
    assert act(app, iid, "risk", "reject", "征信不良") == (flow.REJECTED, None)
    assert kind.finished == [(cid, flow.REJECTED, "risk", "征信不良")]
    assert open_tasks(app, iid) == [] and lists(app, "approver")["future"] == []
    assert notifications(app, "officer_a")[-1] == "测试 张三：审批已否决"
    assert "已结束（已否决）" in refused(app, iid, "approver")
    assert lists(app, "officer_a")["returned"] == []


def test_step_rules_are_enforced(app, kind):
    define(app, [("风控审查", {"role_name": RISK, "allow_return": False, "allow_reject": False,
                               "opinion_required": True})])
    iid = start(app, customer(app))
    assert "请填写审批意见" in refused(app, iid, "risk", "approve", "")
    assert "不允许“退回”" in refused(app, iid, "risk", "return", "x")
    assert "不允许“否决”" in refused(app, iid, "risk", "reject", "x")
    assert "未知的审批操作" in refused(app, iid, "risk", "submit", "x")
    assert "页面已过期" in refused(app, iid, "risk", "approve", "同意", expected_index=1)
    assert act(app, iid, "risk", "approve", "同意", expected_index="0") == (flow.APPROVED, None)


def test_permissions_only_the_assigned_role_or_user_acts(app, kind):
    define(app, TWO_STEPS)
    iid = start(app, customer(app))
    for username in ("officer_a", "approver", "finance", "manager", "admin"):
        assert refused(app, iid, username) == "当前步骤不由您审批，或已由他人处理"
        assert lists(app, username)["waiting"] == []
    assert lists(app, "risk")["waiting"] == [iid]


def test_panel_shows_the_chain_and_the_actions_of_the_current_approver(app, kind):
    define(app, TWO_STEPS)
    cid = customer(app)
    kind.amounts[cid] = 1000
    iid = start(app, cid)
    with acting(app, "risk") as user:
        panel = ws.panel(TEST_TYPE, cid, user)
        assert panel["instance"].id == iid and panel["can_act"] is True
        assert [(s["name"], s["state"]) for s in panel["chain"]] == [("风控审查", "current"), ("总经理审批", "skipped")]
        assert panel["chain"][1]["condition"] == "amount ≥ 300000"
        assert panel["actions"] == [("approve", "同意"), ("return", "退回"), ("reject", "否决")]
        assert panel["overdue"] is False
    with acting(app, "officer_a") as user:
        panel = ws.panel(TEST_TYPE, cid, user)
        assert panel["can_act"] is False and panel["actions"] == []
        assert ws.panel(TEST_TYPE, cid + 1000, user) is None
    act(app, iid, "risk")
    with acting(app, "risk") as user:
        panel = ws.panel(TEST_TYPE, cid, user)
        assert [s["state"] for s in panel["chain"]] == ["done", "skipped"] and panel["can_act"] is False
        assert panel["chain"][0]["record"].actor.username == "risk"


def test_an_overdue_step_is_flagged(app, kind):
    define(app, [("风控审查", {"role_name": RISK, "time_limit_hours": 2})])
    cid = customer(app)
    iid = start(app, cid)
    with app.app_context():
        db.session.get(WorkflowInstance, iid).step_entered_at = datetime.now() - timedelta(hours=3)
        db.session.commit()
    with acting(app, "risk") as user:
        assert ws.panel(TEST_TYPE, cid, user)["overdue"] is True


def test_definitions_are_checked_and_chosen_by_priority(app, kind):
    with app.app_context():
        bad = Workflow(business_type=TEST_TYPE, name="坏流程", is_active=True)
        bad.steps.append(make_step(10, "期限审查", role_name=RISK, condition_field="term", condition_op=">=",
                                   condition_value="12"))
        with pytest.raises(DomainError, match="条件字段“term”无效"):
            ws.check_workflow(bad)
        unknown = Workflow(business_type="nothing", name="x")
        with pytest.raises(DomainError, match="未知的业务类型"):
            ws.check_workflow(unknown)
        empty = Workflow(business_type=TEST_TYPE, name="空流程")
        with pytest.raises(DomainError, match="至少需要一个步骤"):
            ws.check_workflow(empty)
        db.session.rollback()
    cid = customer(app)
    with pytest.raises(DomainError, match="尚未配置启用的“测试业务”审批流程"):
        start(app, cid)
    define(app, [("风控审查", {"role_name": RISK})], name="低优先级")
    define(app, [("财务审查", {"role_name": FINANCE})], name="高优先级", priority=5, only=False)
    define(app, [("审批人审查", {"role_name": APPROVER})], name="停用", priority=9, only=False)
    with app.app_context():
        db.session.execute(select(Workflow).where(Workflow.name == "停用")).scalar_one().is_active = False
        db.session.commit()
    iid = start(app, cid)
    assert open_tasks(app, iid) == [(0, "财务审查", FINANCE, None)]


def test_a_condition_on_a_field_the_business_lacks_is_refused_at_start(app, kind):
    with app.app_context():
        definition = Workflow(business_type=TEST_TYPE, name="未校验", version=1, is_active=True)
        definition.steps.append(make_step(10, "期限审查", role_name=RISK, condition_field="term",
                                          condition_op=">=", condition_value="12"))
        db.session.add(definition)   # saved without check_workflow
        db.session.commit()
    cid = customer(app)
    with pytest.raises(DomainError, match="条件字段“term”在该业务中不存在"):
        start(app, cid)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(WorkflowInstance)).scalar_one() == 0


# --------------------------------------------------------------------------- engine: version pinning


def test_editing_a_definition_does_not_change_flows_in_progress(app, kind):
    from app.services.workflow import bump_version

    wid = define(app, [("风控审查", {"role_name": RISK}), ("复核", {"role_name": APPROVER})])
    first_customer, second_customer = customer(app, "甲"), customer(app, "乙")
    first = start(app, first_customer)
    with app.app_context():
        definition = db.session.get(Workflow, wid)
        definition.steps[1].role = role(FINANCE)                   # the reviewer changes
        definition.steps.append(make_step(30, "总经理审批", role_name=APPROVER))  # and a step is added
        db.session.commit()
        bump_version(definition)
        db.session.commit()
        assert definition.version == 2
        instance = db.session.get(WorkflowInstance, first)
        assert instance.workflow_version == 1
        assert [s.name for s in ws.steps_of(instance)] == ["风控审查", "复核"]
        assert ws.steps_of(instance)[1].actor == APPROVER

    act(app, first, "risk")
    assert open_tasks(app, first) == [(1, "复核", APPROVER, None)]   # the snapshot, not 财务
    assert refused(app, first, "finance") == "当前步骤不由您审批，或已由他人处理"
    assert act(app, first, "approver") == (flow.APPROVED, None)       # no third step

    second = start(app, second_customer)
    with app.app_context():
        instance = db.session.get(WorkflowInstance, second)
        assert instance.workflow_version == 2
        assert [(s.name, s.actor) for s in ws.steps_of(instance)] == [
            ("风控审查", RISK), ("复核", FINANCE), ("总经理审批", APPROVER)]
    act(app, second, "risk")
    act(app, second, "finance")
    assert act(app, second, "approver") == (flow.APPROVED, None)


def test_snapshot_round_trips_every_step_field(app, kind):
    define(app, [
        ("贷审会", {"voters": ("risk", "approver", "finance"), "quorum": 2, "committee_mode": "majority",
                 "condition_field": "amount", "condition_op": ">=", "condition_value": "1",
                 "allow_return": False, "return_to": "previous", "allow_reject": True,
                 "opinion_required": True, "time_limit_hours": 5}),
    ])
    iid = start(app, customer(app))
    with app.app_context():
        definition = db.session.execute(select(Workflow).where(Workflow.is_active.is_(True),
                                                               Workflow.business_type == TEST_TYPE)).scalar_one()
        instance = db.session.get(WorkflowInstance, iid)
        assert ws.steps_of(instance) == ws.steps_of_definition(definition)
        step = ws.steps_of(instance)[0]
        assert step.is_committee and step.quorum == 2 and step.committee_mode == "majority"
        assert step.condition == flow.Condition("amount", ">=", "1") and step.time_limit_hours == 5


# --------------------------------------------------------------------------- engine: committees


COMMITTEE = ("贷审会", {"voters": ("risk", "approver", "finance"), "quorum": 2})


def test_committee_two_approvals_approve(app, kind):
    define(app, [COMMITTEE])
    cid = customer(app)
    iid = start(app, cid)
    assert open_tasks(app, iid) == [(0, "贷审会", None, "approver"), (0, "贷审会", None, "finance"),
                                    (0, "贷审会", None, "risk")]
    for username in ("risk", "approver", "finance"):
        assert lists(app, username)["waiting"] == [iid]
        assert notifications(app, username) == ["待签批：测试 张三（贷审会）"]
    assert act(app, iid, "risk", "approve", "同意") == (flow.RUNNING, 0)
    assert "当前步骤不由您审批" in refused(app, iid, "risk")          # one vote each
    assert lists(app, "risk")["waiting"] == [] and lists(app, "risk")["done"] == [iid]
    assert kind.finished == []
    assert act(app, iid, "approver") == (flow.APPROVED, None)
    assert kind.finished == [(cid, flow.APPROVED, "approver", None)]
    assert open_tasks(app, iid) == [] and lists(app, "finance")["waiting"] == []
    assert "已结束" in refused(app, iid, "finance")
    assert [r[1:4] for r in records(app, iid)] == [
        ("officer_a", "submit", False), ("risk", "approve", True), ("approver", "approve", True)]


def test_committee_one_reject_rejects(app, kind):
    define(app, [COMMITTEE])
    cid = customer(app)
    iid = start(app, cid)
    act(app, iid, "risk", "approve")
    assert act(app, iid, "finance", "reject", "抵押不足") == (flow.REJECTED, None)
    assert kind.finished == [(cid, flow.REJECTED, "finance", "抵押不足")]
    assert open_tasks(app, iid) == []


def test_committee_majority_mode(app, kind):
    define(app, [("贷审会", {"voters": ("risk", "approver", "finance"), "quorum": 1,
                            "committee_mode": "majority"})])
    iid = start(app, customer(app))
    assert act(app, iid, "risk", "approve") == (flow.RUNNING, 0)       # quorum 1 is not the rule here
    assert act(app, iid, "approver", "reject", "不同意") == (flow.RUNNING, 0)   # no veto either
    assert act(app, iid, "finance", "approve") == (flow.APPROVED, None)


def test_committee_return_counts_only_the_votes_of_the_new_round(app, kind):
    define(app, [("风控审查", {"role_name": RISK}),
                 ("贷审会", {"voters": ("approver", "finance", "manager"), "quorum": 2,
                          "return_to": "previous"})])
    iid = start(app, customer(app))
    act(app, iid, "risk")
    act(app, iid, "approver", "approve")
    assert act(app, iid, "finance", "return", "请风控复核") == (flow.RUNNING, 0)
    assert open_tasks(app, iid) == [(0, "风控审查", RISK, None)]
    act(app, iid, "risk", "approve", "已复核")
    assert len(open_tasks(app, iid)) == 3
    # The approver's approval of the first round no longer counts.
    assert act(app, iid, "manager", "approve") == (flow.RUNNING, 1)
    assert act(app, iid, "approver", "approve") == (flow.APPROVED, None)


def test_committee_reentered_from_a_later_committee_starts_a_new_round(app, kind):
    add_user(app, "risk2", "RiskReviewer")
    define(app, [("贷审会", {"voters": ("risk", "approver", "manager"), "quorum": 2}),
                 ("复核会", {"voters": ("finance", "risk2"), "quorum": 2, "return_to": "previous"})])
    iid = start(app, customer(app))
    act(app, iid, "risk")
    assert act(app, iid, "approver") == (flow.RUNNING, 1)
    assert act(app, iid, "finance", "return", "请贷审会重议") == (flow.RUNNING, 0)
    # A fresh round: one approval of three is not the quorum of two.
    assert act(app, iid, "manager", "approve") == (flow.RUNNING, 0)


# --------------------------------------------------------------------------- engine: concurrency


def _race(app, jobs):
    """Run each job(app) in its own thread at the same moment; returns [(ok, result)]."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(n, job):
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results[n] = (True, job())
        except DomainError as exc:
            results[n] = (False, exc.message)
        except Exception as exc:  # noqa: BLE001
            results[n] = (None, repr(exc))

    threads = [threading.Thread(target=run, args=(n, job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _approve_as(username, instance_id, action="approve", expected_index=None):
    def job():
        user = user_named(username)
        instance = ws.act(instance_id, user, action, "同意", expected_index)
        return instance.status, instance.current_index
    return job


@pytest.mark.parametrize("expected_index", [0, None])
def test_two_approvers_of_one_step_make_one_transition_on_postgres(postgres, kind, expected_index):
    app = postgres
    add_user(app, "risk2", "RiskReviewer")
    define(app, TWO_STEPS)
    cid = customer(app)
    kind.amounts[cid] = 500000
    iid = start(app, cid)
    results = _race(app, [_approve_as("risk", iid, expected_index=expected_index),
                          _approve_as("risk2", iid, expected_index=expected_index)])
    outcomes = [ok for ok, _ in results]
    assert outcomes.count(True) == 1 and outcomes.count(False) == 1, results
    assert [r for ok, r in results if ok] == [(flow.RUNNING, 1)]
    message = [r for ok, r in results if not ok][0]
    assert "已由他人" in message, message
    assert [r[2] for r in records(app, iid)] == ["submit", "approve"]
    assert open_tasks(app, iid) == [(1, "总经理审批", APPROVER, None)]
    assert counts(app, iid)[2] == 2   # one version bump


def test_simultaneous_final_committee_votes_decide_once_on_postgres(postgres, kind):
    app = postgres
    define(app, [COMMITTEE])
    cid = customer(app)
    iid = start(app, cid)
    results = _race(app, [_approve_as("risk", iid), _approve_as("approver", iid)])
    assert all(ok for ok, _ in results), results
    assert state(app, iid) == (flow.APPROVED, None)
    assert len(kind.finished) == 1 and open_tasks(app, iid) == []


# --------------------------------------------------------------------------- the loan flows in the UI


def approval_instance(app, loan_id, code="loan_application"):
    with app.app_context():
        instance = ws.latest_instance(code, loan_id)
        return None if instance is None else (instance.id, instance.status, instance.current_index)


def loan_status(app, loan_id):
    with app.app_context():
        return db.session.get(Loan, loan_id).status


def loan_no(app, loan_id):
    with app.app_context():
        return db.session.get(Loan, loan_id).loan_no


def post_act(client, instance_id, action, opinion="", step_index=None):
    data = {"action": action, "opinion": opinion}
    if step_index is not None:
        data["step_index"] = str(step_index)
    r = client.post(f"/approval/act/{instance_id}", data=data)
    assert r.status_code == 302, r.status_code
    return text_of(client.get(r.headers["Location"]))


def submitted_loan(app, login_as, amount="100000", name="张三"):
    """officer_a's loan that passes every submit check, submitted; returns (client, loan id)."""
    cid = make_customer(app, name=name)
    client = login_as("officer_a")
    loan_id = create_loan(app, client, cid, amount=amount)
    page = submit(client, loan_id)
    assert "已提交审批" in page, page[:500]
    return client, loan_id, cid


def test_small_loan_is_approved_by_risk_alone(app, login_as):
    officer, loan_id, _ = submitted_loan(app, login_as)
    number = loan_no(app, loan_id)
    iid, status, index = approval_instance(app, loan_id)
    assert (status, index) == (flow.RUNNING, 0) and loan_status(app, loan_id) == "in_approval"

    risk = login_as("risk")
    waiting = text_of(risk.get("/todo/waiting"))
    assert number in waiting and "风控审查" in waiting
    home = text_of(risk.get("/"))
    assert 'id="section-todo"' in home and number in home.split('id="section-todo"')[1]
    page = text_of(risk.get(f"/loanview/show/{loan_id}"))
    assert 'id="approval-panel"' in page and 'id="approval-form"' in page
    for action in ("approve", "return", "reject"):
        assert f'id="approval-{action}"' in page
    assert "总经理审批" in page   # shown in the chain, not required for this amount

    # The applicant sees the panel but no buttons; the approver has nothing waiting.
    officer_page = text_of(officer.get(f"/loanview/show/{loan_id}"))
    assert 'id="approval-panel"' in officer_page and 'id="approval-form"' not in officer_page
    assert number not in text_of(login_as("approver").get("/todo/waiting"))

    # 风控审查 requires an opinion even to approve.
    page = post_act(risk, iid, "approve", "", 0)
    assert "操作未完成：请填写审批意见" in page and loan_status(app, loan_id) == "in_approval"
    page = post_act(risk, iid, "approve", "资料齐全，同意", 0)
    assert f"已同意：{number}" in page
    assert loan_status(app, loan_id) == "approved"
    assert approval_instance(app, loan_id)[1:] == (flow.APPROVED, None)
    assert "资料齐全，同意" in page   # in the approval history
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        last = loan.status_changes[-1]
        assert (last.from_status, last.to_status, last.user.username) == ("in_approval", "approved", "risk")
        assert "贷款审批已通过：资料齐全，同意" in last.comment
    assert notifications(app, "officer_a")[-1] == f"{number} 张三 100,000.00 元：审批已通过"
    assert number in text_of(risk.get("/todo/done"))
    assert number not in text_of(risk.get("/todo/waiting"))


def test_large_loan_needs_risk_then_the_approver(app, login_as):
    _officer, loan_id, _ = submitted_loan(app, login_as, amount="300000")
    number = loan_no(app, loan_id)
    iid = approval_instance(app, loan_id)[0]
    approver = login_as("approver")
    assert number in text_of(approver.get("/todo/future"))
    assert number not in text_of(approver.get("/todo/waiting"))
    # Not the approver's step yet.
    page = post_act(approver, iid, "approve", "同意", 0)
    assert "操作未完成" in page and loan_status(app, loan_id) == "in_approval"

    post_act(login_as("risk"), iid, "approve", "风控同意", 0)
    assert approval_instance(app, loan_id)[1:] == (flow.RUNNING, 1)
    assert loan_status(app, loan_id) == "in_approval"
    assert notifications(app, "approver") == [f"待签批：{number} 张三 300,000.00 元（总经理审批）"]
    assert number in text_of(approver.get("/todo/waiting"))
    assert 'id="approval-form"' in text_of(approver.get(f"/loanview/show/{loan_id}"))
    page = post_act(approver, iid, "approve", "同意", 1)
    assert f"已同意：{number}" in page and loan_status(app, loan_id) == "approved"


def test_return_by_risk_then_edit_and_resubmit(app, login_as):
    officer, loan_id, cid = submitted_loan(app, login_as)
    number = loan_no(app, loan_id)
    first = approval_instance(app, loan_id)[0]
    risk = login_as("risk")
    page = post_act(risk, first, "return", "  ", 0)
    assert "操作未完成：请填写审批意见（“退回”须说明理由）" in page
    assert loan_status(app, loan_id) == "in_approval"
    page = post_act(risk, first, "return", "请补充经营流水", 0)
    assert f"已退回：{number}" in page
    assert loan_status(app, loan_id) == "returned"
    assert number in text_of(officer.get("/todo/returned"))
    assert number in text_of(officer.get("/loanreturnedview/list/"))
    assert notifications(app, "officer_a")[-1].endswith("审批已退回")

    r = officer.post(f"/loanview/edit/{loan_id}", data=loan_form(app, cid, amount="80000"))
    assert r.status_code == 302
    assert "已提交审批" in submit(officer, loan_id)
    second, status, index = approval_instance(app, loan_id)
    assert second != first and (status, index) == (flow.RUNNING, 0)
    assert loan_status(app, loan_id) == "in_approval"
    assert number not in text_of(officer.get("/todo/returned"))
    with app.app_context():
        assert "80000" in db.session.get(WorkflowInstance, second).context_snapshot
    post_act(risk, second, "approve", "补充后同意", 0)
    assert loan_status(app, loan_id) == "approved"


def test_reject_by_risk(app, login_as):
    officer, loan_id, _ = submitted_loan(app, login_as)
    number = loan_no(app, loan_id)
    iid = approval_instance(app, loan_id)[0]
    page = post_act(login_as("risk"), iid, "reject", "多头借贷", 0)
    assert f"已否决：{number}" in page
    assert loan_status(app, loan_id) == "rejected"
    assert number in text_of(officer.get("/loanreturnedview/list/"))
    assert number not in text_of(officer.get("/todo/returned"))
    assert "已提交审批" not in submit(officer, loan_id)   # a rejected loan cannot be resubmitted


def test_loan_officer_cannot_approve_a_risk_step(app, login_as):
    officer, loan_id, _ = submitted_loan(app, login_as)
    iid = approval_instance(app, loan_id)[0]
    page = post_act(officer, iid, "approve", "自己批", 0)
    assert "操作未完成：当前步骤不由您审批" in page
    assert loan_status(app, loan_id) == "in_approval"
    assert approval_instance(app, loan_id)[1:] == (flow.RUNNING, 0)
    with acting(app, "officer_a") as user:
        with pytest.raises(DomainError, match="当前步骤不由您审批"):
            ws.act(iid, user, "approve", "自己批")
    # An approver sees only what is assigned to them or their role.
    assert loan_no(app, loan_id) not in text_of(login_as("approver").get("/todo/waiting"))
    assert 'id="approval-form"' not in text_of(login_as("approver").get(f"/loanview/show/{loan_id}"))


def test_a_stale_page_is_refused(app, login_as):
    _officer, loan_id, _ = submitted_loan(app, login_as, amount="300000")
    iid = approval_instance(app, loan_id)[0]
    risk = login_as("risk")
    post_act(risk, iid, "approve", "同意", 0)
    page = post_act(risk, iid, "approve", "同意", 0)
    assert "操作未完成：该步骤已由他人处理，页面已过期" in page
    assert approval_instance(app, loan_id)[1:] == (flow.RUNNING, 1)


def test_a_blank_step_index_is_not_a_server_error(app, login_as):
    _officer, loan_id, _ = submitted_loan(app, login_as)
    iid = approval_instance(app, loan_id)[0]
    r = login_as("risk").post(f"/approval/act/{iid}", data={"action": "approve", "opinion": "同意",
                                                              "step_index": ""})
    assert r.status_code == 302


def test_unknown_instance_is_404(app, login_as):
    r = login_as("risk").post("/approval/act/999999", data={"action": "approve", "opinion": "x"})
    assert r.status_code == 404


def test_committee_loan_flow(app, login_as):
    with app.app_context():
        seeded = db.session.execute(select(Workflow).where(Workflow.business_type == "loan_application")).scalar_one()
        seeded.is_active = False
        definition = Workflow(business_type="loan_application", name="贷审会流程", version=1, is_active=True)
        step = WorkflowStep(seq=10, name="贷审会", actor_kind="role", quorum=2, opinion_required=False)
        step.voters = [user_named(u) for u in ("risk", "approver", "finance")]
        definition.steps.append(step)
        db.session.add(definition)
        db.session.flush()
        ws.check_workflow(definition)
        db.session.commit()
    # Two approvals approve.
    _officer, approved_id, _ = submitted_loan(app, login_as)
    iid = approval_instance(app, approved_id)[0]
    assert approval_instance(app, approved_id)[1:] == (flow.RUNNING, 0)
    for username in ("risk", "approver", "finance"):
        assert loan_no(app, approved_id) in text_of(login_as(username).get("/todo/waiting"))
    page = post_act(login_as("risk"), iid, "approve", "", 0)
    assert "已同意" in page and loan_status(app, approved_id) == "in_approval"
    post_act(login_as("finance"), iid, "approve", "", 0)
    assert loan_status(app, approved_id) == "approved"
    page = post_act(login_as("approver"), iid, "approve", "", 0)
    assert "操作未完成" in page and "已结束" in page
    # One reject rejects.
    _officer, rejected_id, _ = submitted_loan(app, login_as, name="李四")
    iid = approval_instance(app, rejected_id)[0]
    post_act(login_as("approver"), iid, "approve", "", 0)
    post_act(login_as("finance"), iid, "reject", "还款来源不足", 0)
    assert loan_status(app, rejected_id) == "rejected"
    assert [r[1:4] for r in records(app, iid)] == [
        ("officer_a", "submit", False), ("approver", "approve", True), ("finance", "reject", True)]


def confirm_contract(app, loan_id, username="officer_a"):
    with acting(app, username) as user:
        loan_approval.confirm_contract_signed(db.session.get(Loan, loan_id), user)


def test_officer_confirms_the_contract_on_the_loan_page(app, login_as):
    officer, loan_id, _ = submitted_loan(app, login_as)
    post_act(login_as("risk"), approval_instance(app, loan_id)[0], "approve", "同意", 0)
    r = officer.post(f"/loanview/contract_signed/{loan_id}", follow_redirects=True)
    assert loan_status(app, loan_id) == "contracted", r.status_code
    assert "已确认签订合同" in text_of(r)


def test_contract_confirmation_rules(app, login_as):
    officer, loan_id, _ = submitted_loan(app, login_as)
    with acting(app, "officer_a") as user:
        with pytest.raises(DomainError, match="只有已批准的项目可以确认签约"):
            loan_approval.confirm_contract_signed(db.session.get(Loan, loan_id), user)
    assert loan_status(app, loan_id) == "in_approval"


def test_disbursement_flow(app, login_as):
    officer, loan_id, _ = submitted_loan(app, login_as)
    post_act(login_as("risk"), approval_instance(app, loan_id)[0], "approve", "同意", 0)
    assert loan_status(app, loan_id) == "approved"
    calls = []

    def hook(loan, user):
        calls.append((loan.id, loan.status, user.username))

    loan_approval.DISBURSEMENT_READY_HOOKS.append(hook)
    try:
        finance = login_as("finance")
        # Not before the contract is signed.
        r = finance.post(f"/disbursement/request/{loan_id}", follow_redirects=True)
        assert "签约后才能发起放款审批" in text_of(r) and approval_instance(app, loan_id, "disbursement") is None

        # The contract is confirmed through the service: the UI route is refused to everyone
        # (see test_officer_confirms_the_contract_on_the_loan_page).
        confirm_contract(app, loan_id)
        assert loan_status(app, loan_id) == "contracted"

        assert 'id="loan-request-disbursement"' in text_of(finance.get(f"/loanview/show/{loan_id}"))
        r = finance.post(f"/disbursement/request/{loan_id}", data={"opinion": "请审批"}, follow_redirects=True)
        assert "已发起放款审批" in text_of(r)
        assert loan_status(app, loan_id) == "disbursing"
        iid, status, index = approval_instance(app, loan_id, "disbursement")
        assert (status, index) == (flow.RUNNING, 0)
        assert records(app, iid) == [(None, "finance", "submit", False, "请审批")]
        assert loan_no(app, loan_id) in text_of(finance.get("/todo/waiting"))

        post_act(finance, iid, "approve", "", 0)
        assert approval_instance(app, loan_id, "disbursement")[1:] == (flow.RUNNING, 1)
        assert notifications(app, "approver")[-1].endswith("（放款复核）")
        assert calls == []
        page = post_act(login_as("approver"), iid, "approve", "复核无误", 1)
        assert "已同意" in page
        assert loan_status(app, loan_id) == "ready_to_disburse"
        assert calls == [(loan_id, "ready_to_disburse", "approver")]
        # The loan application flow is untouched.
        assert approval_instance(app, loan_id)[1] == flow.APPROVED
    finally:
        loan_approval.DISBURSEMENT_READY_HOOKS.remove(hook)


def test_disbursement_return_goes_back_to_contracted(app, login_as):
    officer, loan_id, _ = submitted_loan(app, login_as)
    post_act(login_as("risk"), approval_instance(app, loan_id)[0], "approve", "同意", 0)
    confirm_contract(app, loan_id)
    finance = login_as("finance")
    finance.post(f"/disbursement/request/{loan_id}")
    first = approval_instance(app, loan_id, "disbursement")[0]
    post_act(finance, first, "return", "账户信息有误", 0)
    assert loan_status(app, loan_id) == "contracted"
    assert loan_no(app, loan_id) in text_of(finance.get("/todo/returned"))
    finance.post(f"/disbursement/request/{loan_id}")
    assert approval_instance(app, loan_id, "disbursement")[0] != first
    assert loan_status(app, loan_id) == "disbursing"


def test_home_page_shows_the_to_do_section(app, login_as):
    _officer, loan_id, _ = submitted_loan(app, login_as)
    number = loan_no(app, loan_id)
    section = text_of(login_as("risk").get("/")).split('id="section-todo"')
    assert len(section) == 2 and number in section[1] and "风控审查" in section[1]
    assert "待签批" in section[1]   # the notification line
    assert 'id="section-todo"' not in text_of(login_as("approver").get("/"))


# --------------------------------------------------------------------------- definition screens


def _step_form(workflow_id, **overrides):
    data = {"workflow": str(workflow_id), "seq": "30", "name": "合规复核", "actor_kind": "role", "role": "",
            "user": "", "condition_field": "", "condition_op": "", "condition_value": "", "allow_return": "y",
            "return_to": "applicant", "allow_reject": "y", "time_limit_hours": "", "quorum": "0",
            "committee_mode": "quorum_veto"}
    data.update(overrides)
    return data


def _admin_adds_a_step(app, login_as):
    """Admin adds a 财务 step to the loan flow through the screen; returns what the delete test needs."""
    with app.app_context():
        definition = db.session.execute(select(Workflow).where(
            Workflow.business_type == "loan_application")).scalar_one()
        wid, version = definition.id, definition.version
        finance_role = role(FINANCE).id
    admin = login_as("admin")
    assert admin.get(f"/workflowview/show/{wid}").status_code == 200
    r = admin.post(f"/workflowstepview/add?_flt_0_workflow={wid}", data=_step_form(wid, role=str(finance_role)))
    assert r.status_code == 302, text_of(r)[:2000]
    with app.app_context():
        definition = db.session.get(Workflow, wid)
        assert [s.name for s in definition.steps] == ["风控审查", "总经理审批", "合规复核"]
        assert definition.version == version + 1
        new_step = definition.steps[-1].id
    # A role step without a role is refused.
    r = admin.post(f"/workflowstepview/add?_flt_0_workflow={wid}", data=_step_form(wid, name="无角色"),
                   follow_redirects=True)
    assert "审批人类型为角色时请选择角色" in text_of(r)
    with app.app_context():
        assert db.session.get(Workflow, wid).version == version + 1
    return admin, wid, version, new_step


def test_admin_adds_a_step_and_the_version_goes_up(app, login_as):
    _admin_adds_a_step(app, login_as)


def test_deleting_a_step_makes_a_new_version(app, login_as):
    admin, wid, version, new_step = _admin_adds_a_step(app, login_as)
    r = admin.post(f"/workflowstepview/delete/{new_step}", follow_redirects=True)
    assert r.status_code == 200 and "not bound to a Session" not in text_of(r)
    with app.app_context():
        definition = db.session.get(Workflow, wid)
        assert [s.name for s in definition.steps] == ["风控审查", "总经理审批"]
        assert definition.version == version + 2


def test_approvers_may_read_but_not_edit_definitions(app, login_as):
    client = login_as("approver")
    assert client.get("/workflowview/list/").status_code == 200
    assert client.get("/workflowview/add").status_code == 403
    assert client.get("/workflowstepview/add").status_code == 403


def test_a_new_empty_workflow_does_not_block_submissions(app, login_as):
    admin = login_as("admin")
    r = admin.post("/workflowview/add", data={"business_type": "loan_application", "name": "新贷款审批流程（设计中）",
                                               "is_active": "y", "priority": "0", "description": ""})
    assert r.status_code == 302
    cid = make_customer(app)
    officer = login_as("officer_a")
    loan_id = create_loan(app, officer, cid)
    page = submit(officer, loan_id)
    assert "已提交审批" in page, "流程至少需要一个步骤" if "流程至少需要一个步骤" in page else page[:300]


def test_two_risk_reviewers_pressing_approve_on_the_loan_page_on_postgres(postgres, login_as):
    app = postgres
    add_user(app, "risk2", "RiskReviewer")
    _officer, loan_id, _ = submitted_loan(app, login_as, amount="300000")
    iid = approval_instance(app, loan_id)[0]
    clients = {"risk": login_as("risk"), "risk2": login_as("risk2")}
    barrier, pages = threading.Barrier(2), {}

    def press(username):
        barrier.wait(timeout=10)
        client = clients[username]
        r = client.post(f"/approval/act/{iid}", data={"action": "approve", "opinion": "同意", "step_index": "0"})
        pages[username] = (r.status_code, text_of(client.get(r.headers["Location"])) if r.status_code == 302 else "")

    threads = [threading.Thread(target=press, args=(u,)) for u in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(code for code, _ in pages.values()) == [302, 302], pages.keys()
    done = [u for u, (_, page) in pages.items() if "已同意" in page]
    refused_ = [u for u, (_, page) in pages.items() if "操作未完成" in page]
    assert len(done) == 1 and len(refused_) == 1, {u: p[1][:200] for u, p in pages.items()}
    assert approval_instance(app, loan_id)[1:] == (flow.RUNNING, 1)
    assert [r[2] for r in records(app, iid)] == ["submit", "approve"]


def test_the_workflow_form_offers_every_business_type_and_keeps_it_on_edit(app, login_as):
    """流程管理: the business-type drop-down lists the types registered by every module (not
    only those imported before the view was built), and editing a flow keeps its type."""
    from app.models.workflow import Workflow

    client = login_as("admin")
    page = client.get("/workflowview/add").get_data(as_text=True)
    for code in ws.BUSINESS_TYPES:
        assert f'value="{code}"' in page
    with app.app_context():
        flow_row = db.session.execute(select(Workflow).where(Workflow.business_type == "extension")).scalars().first()
        flow_id, name, priority = flow_row.id, flow_row.name, flow_row.priority
    page = client.get(f"/workflowview/edit/{flow_id}").get_data(as_text=True)
    assert 'value="extension" selected' in page or 'selected value="extension"' in page
    r = client.post(f"/workflowview/edit/{flow_id}", data={
        "business_type": "extension", "name": name, "is_active": "y", "priority": priority,
        "description": "只改说明"})
    assert r.status_code == 302
    with app.app_context():
        flow_row = db.session.get(Workflow, flow_id)
        assert (flow_row.business_type, flow_row.description) == ("extension", "只改说明")
