"""The approval state machine (审批流程), pure: which steps apply, who may do what, where an
action leads, and how a committee (贷审会) vote is tallied.

A flow is a list of ``Step`` (the definition as it was when the flow started: editing a
definition never changes flows in progress). Its state is (status, current index).
"""
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .errors import DomainError

RUNNING, APPROVED, RETURNED, REJECTED = "running", "approved", "returned", "rejected"
STATUS_LABELS = {RUNNING: "审批中", APPROVED: "已通过", RETURNED: "已退回", REJECTED: "已否决"}
APPROVE, RETURN, REJECT = "approve", "return", "reject"
ACTION_LABELS = {APPROVE: "同意", RETURN: "退回", REJECT: "否决", "submit": "提交", "vote": "投票"}
ACTOR_KINDS = {"role": "角色", "user": "指定用户", "department_head": "申请人部门负责人", "applicant": "申请人本人"}
CONDITION_OPERATORS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "等于", "!=": "不等于", "in": "属于", "not_in": "不属于"}
RETURN_TARGETS = {"applicant": "退回申请人", "previous": "退回上一步"}
COMMITTEE_MODES = {"quorum_veto": "达到法定人数同意即通过，任一否决即否决", "majority": "多数决（同意过半通过）"}


@dataclass(frozen=True)
class Condition:
    """``field op value``, e.g. amount >= 300000, product_code in GRJYD,QYLDZJ."""

    field: str
    op: str
    value: str

    def holds(self, context):
        if self.field not in context:
            raise DomainError(f"条件字段“{self.field}”在该业务中不存在", "condition_field")
        actual = context[self.field]
        if self.op in ("in", "not_in"):
            options = [v.strip() for v in self.value.replace("，", ",").split(",") if v.strip()]
            found = str(actual) in options
            return found if self.op == "in" else not found
        left, right = _comparable(actual), _comparable(self.value)
        if type(left) is not type(right):
            if self.op in (">=", ">", "<=", "<"):
                raise DomainError(f"条件“{self.describe()}”的值须为数字（如 300000，不要写“30万”或千分位逗号）",
                                  "condition_value")
            left, right = str(actual), self.value
        if self.op == ">=":
            return left >= right
        if self.op == ">":
            return left > right
        if self.op == "<=":
            return left <= right
        if self.op == "<":
            return left < right
        if self.op == "==":
            return left == right
        if self.op == "!=":
            return left != right
        raise DomainError(f"不支持的条件运算符“{self.op}”", "condition_op")

    def describe(self):
        return f"{self.field} {CONDITION_OPERATORS.get(self.op, self.op)} {self.value}"


def _comparable(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)


@dataclass(frozen=True)
class Step:
    name: str
    actor_kind: str = "role"
    actor: str = ""              # role name, or user id for "user"
    condition: Condition | None = None
    allow_return: bool = True
    return_to: str = "applicant"
    allow_reject: bool = True
    opinion_required: bool = False
    time_limit_hours: int | None = None
    voters: tuple = ()           # user ids: a committee step when not empty
    quorum: int = 0
    committee_mode: str = "quorum_veto"

    @property
    def is_committee(self):
        return bool(self.voters)

    def allowed_actions(self):
        actions = [APPROVE]
        if self.allow_return:
            actions.append(RETURN)
        if self.allow_reject:
            actions.append(REJECT)
        return actions


def check_definition(steps):
    """Refuse a definition that could never finish."""
    if not steps:
        raise DomainError("流程至少需要一个步骤", "steps")
    for index, step in enumerate(steps, 1):
        if not step.name.strip():
            raise DomainError(f"第 {index} 步缺少名称", "steps")
        if step.actor_kind not in ACTOR_KINDS:
            raise DomainError(f"第 {index} 步“{step.name}”的审批人类型无效", "steps")
        if step.actor_kind in ("role", "user") and not step.is_committee and not step.actor:
            raise DomainError(f"第 {index} 步“{step.name}”未指定审批角色或用户", "steps")
        if step.is_committee:
            if not 1 <= step.quorum <= len(step.voters):
                raise DomainError(
                    f"第 {index} 步“{step.name}”的法定人数 {step.quorum} 应在 1 至委员人数 {len(step.voters)} 之间", "steps")
            if step.committee_mode not in COMMITTEE_MODES:
                raise DomainError(f"第 {index} 步“{step.name}”的表决方式无效", "steps")


def applicable(steps, context):
    """Indexes of the steps whose condition holds (a step without one always applies)."""
    return [i for i, step in enumerate(steps) if step.condition is None or step.condition.holds(context)]


def first_index(steps, context):
    indexes = applicable(steps, context)
    if not indexes:
        raise DomainError("按当前业务条件，流程中没有任何适用的审批步骤，请管理员检查流程条件", "steps")
    return indexes[0]


def after_approve(steps, context, current):
    """(status, next index): the next applicable step, or APPROVED after the last."""
    later = [i for i in applicable(steps, context) if i > current]
    return (RUNNING, later[0]) if later else (APPROVED, None)


def after_return(steps, context, current):
    """RETURN goes to the applicant (the flow ends as RETURNED) or to the previous applicable step."""
    step = steps[current]
    if step.return_to == "previous":
        earlier = [i for i in applicable(steps, context) if i < current]
        if earlier:
            return RUNNING, earlier[-1]
    return RETURNED, None


def check_action(step, action, opinion):
    if action not in (APPROVE, RETURN, REJECT):
        raise DomainError(f"未知的审批操作“{action}”")
    if action not in step.allowed_actions():
        raise DomainError(f"步骤“{step.name}”不允许“{ACTION_LABELS[action]}”")
    if (step.opinion_required or action in (RETURN, REJECT)) and not (opinion or "").strip():
        raise DomainError(f"请填写审批意见（“{ACTION_LABELS[action]}”须说明理由）", "opinion")


def tally(step, votes):
    """A committee's result from {voter id: action}: APPROVED, REJECTED or None (pending).

    quorum_veto: any reject rejects; ``quorum`` approvals approve.
    majority: approvals > half of the voters approve; rejections ≥ half reject.
    A return from any voter returns the item (RETURNED).
    """
    approvals = sum(1 for a in votes.values() if a == APPROVE)
    rejections = sum(1 for a in votes.values() if a == REJECT)
    if any(a == RETURN for a in votes.values()):
        return RETURNED
    total = len(step.voters)
    if step.committee_mode == "majority":
        if approvals * 2 > total:
            return APPROVED
        if rejections * 2 >= total:
            return REJECTED
    else:
        if rejections:
            return REJECTED
        if approvals >= step.quorum:
            return APPROVED
    if len(votes) >= total:
        return REJECTED  # everyone voted and the quorum was not reached
    return None

